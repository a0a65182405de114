"""What each layer of the model costs: the same deliveries replayed through
the D2C fixture whole, without its journeys, and without its journeys and
segments (what is left is the plumbing every delivery goes through: drawing
arrivals, identity, dedupe, the event and its index, the trace).

    python benchmarks/layers.py                      # 10000 shoppers
    python benchmarks/layers.py --population 3000 --runs 3 --json

The population is `run.py`'s, generated once with the whole workspace and
replayed unchanged through each layer: the layers see the same sends, the
same latencies and the same arrival order. Each layer is replayed `--runs`
times and the least CPU time is kept (the collector off, as in the replay).
The JSON object on the last line holds, per layer, `replay_cpu_s`,
`deliveries_per_cpu_s` and `trace_records`, and the floor loop of `run.py`.

A layer's figure is an upper bound on the speed of any engine built the same
way: if the plumbing alone does not reach a target, no work on segments or
journeys will.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import run as bench
import yaml

from simulator.model.config import WorkspaceConfig
from simulator.model.plan import Plan
from simulator.pipeline import simulate
from simulator.scenario.loader import load_workspace

# Each layer: its name and the workspace keys it removes from the fixture.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("whole workspace", ()),
    ("without journeys", ("journeys",)),
    ("without journeys or segments", ("journeys", "segments")),
)


def stripped(removed: tuple[str, ...]) -> WorkspaceConfig:
    """The D2C fixture without the keys `removed`, compiled as any workspace is
    (time windows and ages come from what is left)."""
    data = yaml.safe_load(bench.D2C.read_text(encoding="utf-8"))
    for key in removed:
        data.pop(key, None)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "workspace.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        ws, _ = load_workspace(path)
    return ws


def replay(plan: Plan, runs: int) -> tuple[float, int, int]:
    """Least CPU time of `runs` replays of `plan`, its deliveries and trace records."""
    best = float("inf")
    deliveries = records = 0
    for _ in range(runs):
        gc.collect()
        began = time.process_time()
        outcome = simulate(plan)
        best = min(best, time.process_time() - began)
        deliveries, records = len(outcome.deliveries), len(outcome.platform.trace)
        del outcome
    return best, deliveries, records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The replay's cost, layer by layer.")
    parser.add_argument("--population", type=int, default=10_000, help="shoppers (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=2, help="replays per layer, the least CPU time kept (default 2)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)
    if args.population < 1 or args.runs < 1:
        parser.error("--population and --runs must be at least 1")
    _, settings = bench.parse_args(["--population", str(args.population), "--seed", str(args.seed), "--replay-only"])
    plan, _ = bench.build_plan(settings)
    figures: dict[str, Any] = {"population": args.population, "seed": args.seed, "runs": args.runs, "layers": []}
    for name, removed in LAYERS:
        layer_plan = dataclasses.replace(plan, workspace=stripped(removed)) if removed else plan
        cpu_s, deliveries, records = replay(layer_plan, args.runs)
        figures["deliveries"] = deliveries
        figures["layers"].append(
            {
                "layer": name,
                "replay_cpu_s": round(cpu_s, 6),
                "deliveries_per_cpu_s": round(deliveries / cpu_s) if cpu_s else None,
                "trace_records": records,
            }
        )
    outcome = simulate(plan)
    floor_s = bench.floor(outcome)
    figures["floor_s"] = round(floor_s, 4)
    figures["floor_deliveries_per_s"] = round(len(outcome.deliveries) / floor_s) if floor_s else None
    if not args.json:
        print(f"{args.population} shoppers, {figures['deliveries']} deliveries, least CPU of {args.runs} replays")
        for layer in figures["layers"]:
            print(
                f"  {layer['layer']:<30} {layer['replay_cpu_s']:>8.3f} CPU s"
                f"  {layer['deliveries_per_cpu_s']:>9,} deliveries/CPU s  {layer['trace_records']:>9,} trace records"
            )
        floor_rate = figures["floor_deliveries_per_s"]
        print(f"  {'floor (a dict lookup)':<30} {floor_s:>8.3f} s      {floor_rate:>9,} deliveries/s")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
