"""How many machine instructions the replay takes: a speed figure that does
not move with the machine's load. CPU time of identical code varies by up to
30 % on a shared machine; callgrind's instruction count for the same code,
inputs and `PYTHONHASHSEED` moves by a few instructions in a million run after
run (two runs at 300 shoppers: 350,684,424 and 350,684,422), so a change to
the engine can be judged by a fraction of a per cent.

    python benchmarks/instructions.py                    # 1000 shoppers
    python benchmarks/instructions.py --population 3000 --json

It runs `run.py`'s population twice under `valgrind --tool=callgrind`: once
generated only, once generated and replayed; the replay's instructions are
the difference. The JSON object on the last line holds `deliveries`,
`replay_instructions` and `instructions_per_delivery`. Needs valgrind
(Debian's package); a run of 1000 shoppers takes about a minute.

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLLECTED = re.compile(r"Collected : (\d+)")

# Run inside valgrind: build run.py's population, replay it when asked, print the deliveries.
CHILD = """
import sys
sys.path.insert(0, {benchmarks!r})
import run as bench
from simulator.pipeline import simulate
_args, settings = bench.parse_args(["--population", "{population}", "--seed", "{seed}", "--replay-only"])
plan, _ = bench.build_plan(settings)
print("deliveries", len(simulate(plan).deliveries) if {replay} else 0)
"""


def instructions(population: int, seed: int, replay: bool) -> tuple[int, str]:
    """Instructions of one child run, and what it printed."""
    code = CHILD.format(benchmarks=str(HERE), population=population, seed=seed, replay=replay)
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={Path(scratch) / 'callgrind.out'}",
                sys.executable,
                "-c",
                code,
            ],
            capture_output=True,
            text=True,
            env=os.environ | {"PYTHONHASHSEED": "0"},
            check=False,
        )
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(
            f"instructions.py: the run under valgrind failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    return int(found.group(1)), done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Instructions the replay takes (callgrind), per delivery.")
    parser.add_argument("--population", type=int, default=1000, help="shoppers (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)
    if args.population < 1:
        parser.error("--population: expected at least 1 shopper")
    if shutil.which("valgrind") is None:
        print("instructions.py: valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    generated, _ = instructions(args.population, args.seed, replay=False)
    total, printed = instructions(args.population, args.seed, replay=True)
    deliveries = int(printed.split()[-1])
    figures = {
        "population": args.population,
        "seed": args.seed,
        "deliveries": deliveries,
        "generate_instructions": generated,
        "replay_instructions": total - generated,
        "instructions_per_delivery": round((total - generated) / deliveries) if deliveries else None,
    }
    if not args.json:
        print(f"{args.population} shoppers, {deliveries} deliveries")
        print(f"generating: {generated:,} instructions")
        print(f"replaying:  {total - generated:,} instructions, {figures['instructions_per_delivery']:,} per delivery")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
