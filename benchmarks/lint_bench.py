"""Lint throughput on a Data Pipelines export.

Writes an N-line export (seeded: the same file every run) of product views,
cart adds, checkouts, server-side orders and identifies for the shipped D2C
workspace to a temporary file, lints it, and prints lines per second and the
peak resident memory of the process.

    python benchmarks/lint_bench.py --lines 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from simulator.lint.lint_run import lint_paths
from simulator.model.time import format_instant

WORKSPACE = Path(__file__).resolve().parent.parent / "fixtures" / "workspaces" / "dtc_store.yaml"
START = 1_785_000_000  # 2026-07-25, an arbitrary fixed start


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def write_export(path: Path, lines: int, seed: int) -> None:
    rng = random.Random(seed)
    span = 7 * 86400
    with path.open("w", encoding="utf-8") as fh:
        for n in range(lines):
            ts = START + n * span // lines
            shopper = rng.randrange(50_000)
            roll = rng.random()
            message: dict[str, object] = {
                "messageId": f"m-{n}",
                "timestamp": format_instant(ts),
                "receivedAt": format_instant(ts + rng.randrange(1, 30)),
                "userId": f"cus_{shopper}",
                "context": {"library": {"name": "analytics.js", "version": "2.1.0"}},
            }
            if roll < 0.55:
                category = rng.choice(["apparel", "coffee", "shoes"])
                message.update(
                    type="track",
                    event="product_viewed",
                    properties={"product_id": f"p_{rng.randrange(900)}", "category": category, "price": 49.0},
                )
            elif roll < 0.75:
                message.update(
                    type="track",
                    event="added_to_cart",
                    properties={"product_id": f"p_{rng.randrange(900)}", "value": 49.0},
                )
            elif roll < 0.87:
                message.update(
                    type="track",
                    event="checkout_started",
                    properties={"checkout_id": f"ck_{n}", "value": 98.0, "currency": "USD"},
                )
            elif roll < 0.95:
                message.update(
                    type="track",
                    event="order_completed",
                    properties={"order_id": f"o_{n}", "checkout_id": f"ck_{n}", "value": 98.0},
                    context={"library": {"name": "analytics-python", "version": "2.0.0"}},
                )
            else:
                message.update(type="identify", traits={"email": f"s{shopper}@example.com"})
            fh.write(json.dumps(message, separators=(",", ":")) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "pipelines.jsonl"
        began = time.perf_counter()
        write_export(log, args.lines, args.seed)
        wrote = time.perf_counter() - began
        size = log.stat().st_size / 1024 / 1024
        before = _peak_mib()
        began = time.perf_counter()
        run = lint_paths(WORKSPACE, [str(log)], START + 30 * 86400)
        took = time.perf_counter() - began
        after = _peak_mib()
    print(f"export: {args.lines:,} lines, {size:.1f} MiB, written in {wrote:.1f}s")
    print(f"lint:   {run.log_lines:,} lines in {took:.2f}s = {run.log_lines / took:,.0f} lines/s")
    print(f"peak RSS: {before:.1f} MiB before lint, {after:.1f} MiB after")
    print(f"findings: {len(run.findings)} ({sum(f.count for f in run.findings):,} occurrences)")
    for finding in run.findings[:10]:
        print("  " + finding.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
