"""How fast `segsim fuzz` searches: examples per second on the D2C fixture,
where the time of one example goes, the time to find and shrink the
2-hourly batch ghost, and a whole `--faults` search of the fixture (its many
distinct failures each shrunk to a short witness). Prints figures; asserts
nothing.

    python benchmarks/fuzz_bench.py
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings

from simulator.checks.violations import find_violations
from simulator.pipeline import simulate
from simulator.search.catalog import catalog_of
from simulator.search.driver import FuzzOptions, search
from simulator.search.plans import PlanBuilder
from simulator.search.stories import stories

ROOT = Path(__file__).parents[1]
D2C = ROOT / "fixtures" / "workspaces" / "dtc_store.yaml"
LATE_BATCH = ROOT / "tests" / "quality" / "workspaces" / "late_batch.yaml"


def examples_per_second(examples: int = 1000, kinds: tuple[str, ...] | None = None) -> None:
    """The search's generate phase on the fixture, `--faults`, every story
    checked afresh (the driver also skips stories it has already judged)."""
    catalog = catalog_of(D2C)
    builder = PlanBuilder(catalog)
    spent = {"build": 0.0, "simulate": 0.0, "find_violations": 0.0}
    count = [0]

    @seed(0)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate,),
    )
    @given(stories(catalog, faults=True))
    def one(story: dict[str, Any]) -> None:
        count[0] += 1
        a = time.perf_counter()
        plan = builder.build(story)
        b = time.perf_counter()
        outcome = simulate(plan)
        c = time.perf_counter()
        find_violations(outcome, kinds=kinds)
        d = time.perf_counter()
        spent["build"] += b - a
        spent["simulate"] += c - b
        spent["find_violations"] += d - c

    began = time.perf_counter()
    one()
    total = time.perf_counter() - began
    what = "all invariants" if kinds is None else ", ".join(kinds)
    print(f"D2C fixture, --faults, {what}: {count[0]} examples in {total:.2f}s = {count[0] / total:.0f} examples/s")
    ours = sum(spent.values())
    for part, seconds in spent.items():
        print(f"  {part:<16} {seconds / count[0] * 1000:6.2f} ms/example")
    print(f"  {'generation':<16} {(total - ours) / count[0] * 1000:6.2f} ms/example (Hypothesis drawing the story)")


def time_to_find_late_batch_ghost() -> None:
    options = FuzzOptions(LATE_BATCH, ("no_ghost_abandons",), seed=1)
    began = time.perf_counter()
    report = search(options)
    total = time.perf_counter() - began
    keys = [f.key for f in report.findings]
    found = next((f for f in report.findings if f.key[2] == "late_arrival"), None)
    steps = len(found.story["timeline"]) if found else 0
    print(
        f"2-hourly batch ghost: found+shrunk in {total:.2f}s ({report.examples} examples, {steps} steps), keys {keys}"
    )


def whole_search_of_the_fixture(seed: int = 4, examples: int = 50) -> None:
    """`segsim fuzz dtc_store.yaml --faults --max-examples 50 --seed 4` without
    the pinned scenarios or the writing: many distinct failures, each shrunk."""
    options = FuzzOptions(D2C, seed=seed, max_examples=examples, faults=True)
    began = time.perf_counter()
    report = search(options)
    total = time.perf_counter() - began
    steps = [len(f.story["timeline"]) for f in report.findings]
    shoppers = [len(f.story["shoppers"]) for f in report.findings]
    print(
        f"D2C fixture, --faults, seed {seed}, --max-examples {examples}: {total:.2f}s, {report.examples} examples, "
        f"{len(steps)} failures; witness steps total {sum(steps)}, max {max(steps, default=0)}; "
        f"shoppers max {max(shoppers, default=0)}"
    )


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " ")).parse_args()
    examples_per_second()
    examples_per_second(kinds=("ghost_abandon",))
    time_to_find_late_batch_ghost()
    whole_search_of_the_fixture()
