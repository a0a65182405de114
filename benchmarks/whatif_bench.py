"""Time a 4-cell what-if grid (2 windows x 2 backend latencies) at several population sizes.

Each cell runs alone in a fresh process (generation, ideal and replay
included), so its time and peak memory are its own. Peak memory is the
largest resident set of the cell's process and of its workers.

    python benchmarks/whatif_bench.py                       # 10k and 100k shoppers, 2 workers
    python benchmarks/whatif_bench.py --populations 2000 --workers 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

WORKSPACE = Path(__file__).parents[1] / "fixtures" / "workspaces" / "dtc_store.yaml"
WINDOWS = ("30m", "2h")
LATENCIES = ("0s", "batch:30m")

_CELL = """
import json, resource, sys
from simulator.model.time import DEFAULT_START, parse_duration, parse_instant
from simulator.scenario.loader import load_workspace
from simulator.whatif.grid import plan_grid
from simulator.whatif.sweep import Sweep, run_sweep

path, segment, window, latency, population, workers = sys.argv[1:7]
ws, _ = load_workspace(path)
grid = plan_grid(ws, segment, window, (f"backend={latency}",))
sweep = Sweep(ws, grid, int(population), parse_duration("3d"), 0, parse_instant(DEFAULT_START))
row = run_sweep(sweep, int(workers)).rows()[0]
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"row": row, "peak_kib": max(own, kids)}))
"""


def run_cell(segment: str, window: str, latency: str, population: int, workers: int) -> tuple[float, int, dict]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CELL, str(WORKSPACE), segment, window, latency, str(population), str(workers)],
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - began
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return elapsed, int(result["peak_kib"]), result["row"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--populations", default="10000,100000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--segment", default="cart_abandoners")
    args = parser.parse_args()
    print(f"segment {args.segment}, horizon 3d, workers {args.workers}, workspace {WORKSPACE.name}")
    print(
        f"{'shoppers':>9} {'window':>7} {'backend':>10} {'seconds':>8} {'peak MiB':>9} {'recall':>8} {'false hold':>10}"
    )
    for population in (int(p) for p in args.populations.split(",")):
        total = 0.0
        for window in WINDOWS:
            for latency in LATENCIES:
                seconds, peak, row = run_cell(args.segment, window, latency, population, args.workers)
                total += seconds
                print(
                    f"{population:>9} {window:>7} {latency:>10} {seconds:>8.1f} {peak / 1024:>9.0f} "
                    f"{row['recall']:>8} {row['false_hold']:>10}",
                    flush=True,
                )
        print(f"{population:>9} {'4 cells':>18} {total:>8.1f}")


if __name__ == "__main__":
    main()
