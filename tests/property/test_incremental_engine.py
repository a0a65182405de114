"""The engine re-evaluates only what a change can affect: the segments, goals,
`wait_until` conditions and held entries that read what changed, and it skips
window closings that cannot change anything. Its exhaustive mode evaluates
everything on every change. Both must give the same outcome, record for
record, on any story.

Within one instant the order can differ: a window that closes at T is noticed
in the time phase by the incremental engine, but already during a delivery
at T by the exhaustive one, which re-evaluates every segment then. So the
records are compared instant by instant, as sets, and runs by what they did
rather than by their numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from simulator import simulate
from simulator.model.plan import Plan
from simulator.pipeline import Outcome
from simulator.strategies import catalog_of, plans

ROOT = Path(__file__).parents[2]
WORKSPACES = {
    "dtc_store": ROOT / "fixtures" / "workspaces" / "dtc_store.yaml",
    "windows_everywhere": Path(__file__).parent / "workspaces" / "windows_everywhere.yaml",
    "same_instant": Path(__file__).parent / "workspaces" / "same_instant.yaml",
}
CATALOGS = {name: catalog_of(path) for name, path in WORKSPACES.items()}


def _canonical(record: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in record.items() if k != "run"))


def everything(outcome: Outcome) -> dict[str, Any]:
    platform = outcome.platform
    by_instant: dict[int, list[str]] = {}
    for record in platform.trace.records:
        by_instant.setdefault(record["at"], []).append(_canonical(record))
    return {
        "trace": {at: sorted(records) for at, records in by_instant.items()},
        "runs": sorted(
            repr(
                (
                    r.journey.name,
                    r.profile,
                    r.entered_at,
                    r.ended_at,
                    r.reason,
                    r.trigger.seq if r.trigger else None,
                    [(m.message, m.at) for m in r.messages],
                )
            )
            for r in platform.runs
        ),
        "members": {name: sorted(nums) for name, nums in platform.members_of.items()},
    }


@pytest.mark.parametrize("workspace", sorted(WORKSPACES))
def test_incremental_and_exhaustive_evaluation_agree(workspace: str) -> None:
    @settings(max_examples=150, deadline=None)
    @given(plans(CATALOGS[workspace], faults=True, max_steps=12))
    def agree(plan: Plan) -> None:
        until = plan.start + 10 * 86400
        fast = simulate(plan, until=until)
        slow = simulate(plan, until=until, exhaustive=True)
        assert everything(fast) == everything(slow)

    agree()


def test_the_exhaustive_mode_differs_from_a_broken_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: an engine that never re-tests goals on a
    window closing ends runs late, and the two modes then disagree."""
    from simulator.platform.rules import Rules, rules_of

    plan = next(iter(_a_plan_with_a_goal_on_a_window()))
    monkeypatch.setattr(Rules, "depends", lambda self, cond, names: False)
    assert rules_of(plan.workspace).depends(None, frozenset(("x",))) is False
    fast = simulate(plan, until=plan.start + 86400)
    slow = simulate(plan, until=plan.start + 86400, exhaustive=True)
    assert everything(fast)["runs"] != everything(slow)["runs"]


def _a_plan_with_a_goal_on_a_window() -> list[Plan]:
    from simulator.scenario.loader import load_plan_text

    text = f"""
scenario: a goal met by time passing
workspace: {WORKSPACES["windows_everywhere"]}
overrides: {{sources: {{web: {{latency: 0s}}}}}}
shoppers: {{ana: {{id: cus_1}}}}
timeline:
  - {{at: 0s, who: ana, source: web, device: phone, identify: true}}
  - {{at: 1m, who: ana, source: web, device: phone, track: product_viewed, properties: {{category: tea}}}}
"""
    return [load_plan_text(text, "<goal>", ROOT)]


@pytest.mark.parametrize("workspace", sorted(WORKSPACES))
def test_a_story_without_until_ends_once_nothing_it_waits_for_is_left(workspace: str) -> None:
    """SPEC 11: without `until`, the story ends when every delivery is processed,
    every held event offered, every hold and every run ended. The count of what
    is still awaited is exact: zero at the end (a timer of a run that ended, or
    a hold that entered, is not awaited), never below, and nothing left on the
    queue that would still act."""

    @settings(max_examples=100, deadline=None)
    @given(plans(CATALOGS[workspace], faults=True, max_steps=12))
    def ends(plan: Plan) -> None:
        outcome = simulate(plan)
        platform = outcome.platform
        assert platform._mandatory == 0
        assert all(not r.open for r in platform.runs)
        assert not any(h.alive for holds in platform.holds_on.values() for h in holds)
        # The end is the last thing awaited: an arrival, a held event offered, a hold
        # that ran out, a run that ended. Not a later instant a dead timer named.
        awaited = ("arrived", "event_released", "entry_expired", "journey_exited")
        last = max((r["at"] for r in platform.trace.records if r["kind"] in awaited), default=plan.start)
        assert outcome.end == max(last, plan.start)

    ends()
