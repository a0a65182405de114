"""How the replay grows with the population: `run.py --replay-only` once per
population, each in its own process so that each peak resident set is its
own, printed as a Markdown table and a line on growth per pair of rows.

    python benchmarks/scaling.py                                  # 10000, 100000, 1000000 shoppers
    python benchmarks/scaling.py --populations 1000,10000 --timeout 600
    python benchmarks/scaling.py --json                           # the rows as one JSON array

A population that fails (a non-zero exit, killed by a signal, a MemoryError,
past `--timeout`) gets a row saying why instead of figures, and the next
population still runs; the exit status is 0 only when every population ran.

`--run-script` runs another script in place of `run.py`: it is given
`--population N --replay-only --json` and must print one JSON object on its
last line with the figures `run.py --replay-only` prints.

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RUN_SCRIPT = HERE / "run.py"
DEFAULT_POPULATIONS = (10_000, 100_000, 1_000_000)

# (heading, figure, format)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("shoppers", "shoppers", "{:,}"),
    ("deliveries", "deliveries", "{:,}"),
    ("replay (wall)", "replay_s", "{:,.2f} s"),
    ("replay (CPU)", "replay_cpu_s", "{:,.2f} s"),
    ("deliveries/s (wall)", "deliveries_per_s", "{:,}"),
    ("deliveries/CPU s", "deliveries_per_cpu_s", "{:,}"),
    ("peak RSS", "peak_rss_mb", "{:,.1f} MB"),
    ("bytes per delivery", "bytes_per_delivery", "{:,}"),
)


@dataclass(frozen=True, slots=True)
class Row:
    """One population: its figures, or why it has none."""

    population: int
    figures: dict[str, Any] | None = None
    failure: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"population": self.population, "ok": self.figures is not None, "failure": self.failure} | (
            self.figures or {}
        )


def failure_reason(returncode: int, stderr: str) -> str:
    """Why a run failed, in a few words."""
    if "MemoryError" in stderr:
        return "out of memory (MemoryError)"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        hint = " (the out-of-memory killer?)" if returncode == -signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    last = next((line.strip() for line in reversed(stderr.splitlines()) if line.strip()), "")
    return f"exit status {returncode}" + (f": {last[:120]}" if last else "")


def run_population(script: Path, population: int, timeout: float | None) -> Row:
    command = [sys.executable, str(script), "--population", str(population), "--replay-only", "--json"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Row(population, failure=f"timed out after {timeout:g} s")
    if done.returncode != 0:
        return Row(population, failure=failure_reason(done.returncode, done.stderr))
    lines = done.stdout.strip().splitlines()
    try:
        figures = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        figures = None
    if not isinstance(figures, dict):
        return Row(population, failure="no JSON object on the last line of its output")
    return Row(population, figures=figures)


def cell(value: Any, form: str) -> str:
    return "n/a" if value is None else form.format(value)


def table(rows: list[Row]) -> list[str]:
    """The rows as a Markdown table; a failed row carries its reason."""
    lines = [
        "| " + " | ".join(heading for heading, _, _ in COLUMNS) + " |",
        "|" + "---:|" * len(COLUMNS),
    ]
    for row in rows:
        if row.figures is None:
            reason = (row.failure or "failed").replace("|", "\\|")
            cells = [f"{row.population:,}", f"failed: {reason}", *("" for _ in COLUMNS[2:])]
        else:
            cells = [cell(row.figures.get(key), form) for _, key, form in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def growth(rows: list[Row]) -> list[str]:
    """For each pair of consecutive rows that ran: the deliveries ratio, the CPU
    time ratio, and the CPU per delivery ratio (1.0: linear)."""
    ran = [row.figures for row in rows if row.figures is not None]
    lines = []
    for small, large in zip(ran, ran[1:], strict=False):
        deliveries = large["deliveries"] / small["deliveries"] if small.get("deliveries") else None
        cpu = large["replay_cpu_s"] / small["replay_cpu_s"] if small.get("replay_cpu_s") else None
        if deliveries is None or cpu is None:
            continue
        lines.append(
            f"{small['shoppers']:,} -> {large['shoppers']:,} shoppers: {deliveries:.1f}x the deliveries took "
            f"{cpu:.1f}x the CPU ({cpu / deliveries:.2f}x the CPU per delivery)"
        )
    return lines


def populations(text: str) -> list[int]:
    try:
        found = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of whole numbers: {text!r}") from None
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError("every population must be at least 1")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Replay figures at several populations, each in its own process, as a Markdown table."
    )
    parser.add_argument(
        "--populations",
        type=populations,
        default=list(DEFAULT_POPULATIONS),
        help="comma-separated shopper counts (default 10000,100000,1000000)",
    )
    parser.add_argument("--timeout", type=float, help="seconds allowed per population (default: no limit)")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON array instead of the table")
    parser.add_argument(
        "--run-script",
        type=Path,
        default=RUN_SCRIPT,
        help="the script run per population, given --population N --replay-only --json; it prints one JSON "
        "object on its last line (default: run.py beside this file)",
    )
    args = parser.parse_args(argv)
    if args.timeout is not None and args.timeout <= 0:
        parser.error("--timeout must be positive")
    rows: list[Row] = []
    for population in args.populations:
        if not args.json:
            print(f"{population:,} shoppers ...", file=sys.stderr, flush=True)
        rows.append(run_population(args.run_script, population, args.timeout))
    if args.json:
        print(json.dumps([row.as_json() for row in rows], sort_keys=True))
    else:
        print("\n".join(table(rows)))
        notes = growth(rows)
        if notes:
            print()
            print("\n".join(notes))
    return 0 if all(row.figures is not None for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
