"""Hypothesis strategies for your own `@given` tests, derived from your workspace.

    from hypothesis import given
    from simulator import find_violations, simulate
    from simulator.strategies import catalog_of, plans

    CATALOG = catalog_of("fixtures/workspaces/dtc_store.yaml")

    @given(plans(CATALOG))
    def test_no_ghost_abandons(plan):
        ghosts = [v for v in find_violations(simulate(plan)) if v.kind == "ghost_abandon"]
        assert not ghosts, ghosts[0].explanation

`stories(catalog)` gives the same stories as plain mappings in the scenario
file format (write one with `dump_witness` and `segsim run` replays it);
`faults=True` adds drops, duplicates, delays, skew, partial identifies,
drifted names and mistyped values. `shopper_profiles()`, `devices()`,
`gaps()` and `latencies()` are the building blocks; `shoppers`, `timelines`
and `latency` are the same strategies under the SPEC's words.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from simulator.model.plan import Plan
from simulator.search.catalog import Catalog, catalog_of
from simulator.search.dump import Witness, dump_witness, load_witness
from simulator.search.plans import PlanBuilder
from simulator.search.stories import devices, gaps, latencies, shopper_profiles, stories

__all__ = [
    "Catalog",
    "Witness",
    "catalog_of",
    "devices",
    "dump_witness",
    "gaps",
    "latencies",
    "load_witness",
    "plans",
    "latency",
    "shopper_profiles",
    "shoppers",
    "stories",
    "timelines",
]

# The SPEC's words for the same strategies (section 12: "strategies for
# shoppers, timelines and latency").
shoppers = shopper_profiles
timelines = stories
latency = latencies


def plans(
    catalog: Catalog, *, faults: bool = False, max_shoppers: int = 3, max_steps: int = 8
) -> st.SearchStrategy[Plan]:
    """Compiled scenarios (`Plan`s) ready for `simulate`."""
    builder = PlanBuilder(catalog)

    def build(story: dict[str, Any]) -> Plan:
        return builder.build(story)

    return stories(catalog, faults=faults, max_shoppers=max_shoppers, max_steps=max_steps).map(build)
