"""Segment membership is maintained incrementally (only the segments a change
can affect are re-evaluated, window closings and ages are scheduled), so at
any instant it must equal evaluating every rule afresh over every live
profile (SPEC section 7, without `segment_refresh`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import simulate
from simulator.model.conditions import View, holds
from simulator.model.plan import Plan
from simulator.platform.engine import Platform
from simulator.strategies import catalog_of, plans

ROOT = Path(__file__).parents[2]
CATALOG = catalog_of(ROOT / "fixtures" / "workspaces" / "dtc_store.yaml")


def fresh(platform: Platform) -> dict[str, set[int]]:
    """Every segment's members by evaluating its rule now, in workspace order."""
    ws = platform.ws
    found: dict[str, set[int]] = {seg.name: set() for seg in ws.segments}
    for p in platform.live_profiles():
        member_of: set[str] = set()
        view = View(
            now=platform.now,
            events=p.events,
            attributes=p.attributes,
            age_start=p.age_start,
            in_segment=member_of.__contains__,
            coerce=ws.coerce,
            needs_age=ws.negative_window_needs_age,
        )
        for seg in ws.segments:
            if holds(seg.rule, view):
                member_of.add(seg.name)
                found[seg.name].add(p.num)
    return found


def maintained(platform: Platform) -> dict[str, set[int]]:
    return {name: set(nums) for name, nums in platform.members_of.items()}


def kept(platform: Platform) -> dict[str, set[int]]:
    """Membership as each profile records it."""
    out: dict[str, set[int]] = {seg.name: set() for seg in platform.ws.segments}
    for p in platform.live_profiles():
        for name in p.segments:
            out[name].add(p.num)
    return out


@settings(max_examples=120, deadline=None)
@given(plans(CATALOG, faults=True), st.lists(st.integers(0, 80 * 86400), min_size=1, max_size=6))
def test_maintained_membership_equals_fresh_evaluation_at_any_instant(plan: Plan, offsets: list[int]) -> None:
    seen: list[tuple[int, dict[str, set[int]], dict[str, set[int]], dict[str, set[int]]]] = []

    def look(platform: Platform, _index: int) -> Any:
        seen.append((platform.now, maintained(platform), kept(platform), fresh(platform)))

    probes = [(plan.start + offset, i, look) for i, offset in enumerate(sorted(offsets))]
    outcome = simulate(plan, probes=probes, until=plan.start + 81 * 86400)
    look(outcome.platform, -1)
    assert len(seen) == len(offsets) + 1
    for now, ours, recorded, expected in seen:
        assert ours == expected, f"at +{now - plan.start}s"
        assert recorded == expected, f"at +{now - plan.start}s"
