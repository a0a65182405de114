"""Engine figures: one 30-step scenario in-process, the shipped suite through
`segsim run`, and what `import simulator` pulls in.

    python benchmarks/engine_bench.py [--repeat 50]

Prints one line per figure and a JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "starlette", "uvicorn", "httpx", "pandas", "duckdb", "numpy", "rich", "faker")


def thirty_steps() -> str:
    lines = [
        "scenario: thirty steps",
        "workspace: fixtures/workspaces/dtc_store.yaml",
        "shoppers:",
    ]
    for n in range(5):
        lines.append(f"  s{n}: {{id: cus_{n}, email: s{n}@example.com}}")
    lines.append("timeline:")
    for n in range(5):
        base = n * 7
        lines += [
            f"  - {{at: {base}m, who: s{n}, device: phone, track: product_viewed,"
            f" properties: {{product_id: p_{n}, category: coffee, price: 20}}}}",
            f"  - {{at: {base + 1}m, who: s{n}, device: phone, track: added_to_cart,"
            f" properties: {{product_id: p_{n}, value: 20}}}}",
            f"  - {{at: {base + 2}m, who: s{n}, device: phone, track: checkout_started,"
            f" properties: {{checkout_id: ck_{n}, value: 120}}}}",
            f"  - {{at: {base + 3}m, who: s{n}, device: phone, identify: true}}",
            f"  - {{at: {base + 4}m, who: s{n}, device: laptop, identify: true}}",
            f"  - {{at: {base + 40}m, who: s{n}, source: backend, track: order_completed,"
            f" properties: {{order_id: o_{n}, checkout_id: ck_{n}, value: 120,"
            f" items: [{{category: coffee}}]}}}}",
        ]
    lines.append("expect:\n  - {invariant: no_duplicate_entries}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    from simulator.checks.expectations import check_plan
    from simulator.scenario.loader import load_plan_text

    text = thirty_steps()
    plan = load_plan_text(text, "<bench>", ROOT)
    assert len(plan.sends) == 30
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        check_plan(load_plan_text(text, "<bench>", ROOT))
        times.append(time.perf_counter() - started)
    scenario_ms = statistics.median(times) * 1000
    print(f"30-step scenario (load + run + checks), median of {args.repeat}: {scenario_ms:.1f} ms")

    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "simulator.cli", "run", "scenarios/"], cwd=ROOT, capture_output=True, check=False
    )
    suite_s = time.perf_counter() - started
    print(f"segsim run scenarios/: {suite_s:.2f} s")

    probe = (
        "import sys, simulator; print(','.join(sorted({m.split('.')[0] for m in sys.modules}"
        f" & set({list(HEAVY)!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    heavy = [m for m in out.stdout.strip().split(",") if m]
    print(f"heavy modules imported by `import simulator`: {heavy or 'none'}")

    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "simulator.cli", "--help"], capture_output=True, check=True)
    help_s = time.perf_counter() - started
    print(f"segsim --help: {help_s:.2f} s")
    print(
        json.dumps(
            {
                "scenario_30_steps_ms": round(scenario_ms, 2),
                "suite_s": round(suite_s, 3),
                "heavy_imports": heavy,
                "cli_help_s": round(help_s, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
