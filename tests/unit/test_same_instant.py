"""What time does at an instant is seen by every change at that instant: a
window closing at T, an event stamped T, an age reached at T. A delivery at
T meets the profile as it is at T (SPEC 7: membership is always current; SPEC
8: goals and held entries are re-tested whenever the profile changes), and
the incremental engine gives exactly what the exhaustive one gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from simulator.model.plan import Plan
from simulator.pipeline import Outcome, simulate

H = 3600


def runs(outcome: Outcome) -> list[tuple[Any, ...]]:
    start = outcome.plan.start
    return [
        (
            r.journey.name,
            r.entered_at - start,
            None if r.ended_at is None else r.ended_at - start,
            r.reason,
            r.trigger.seq if r.trigger else None,
            [(m.message, m.at - start) for m in r.messages],
        )
        for r in outcome.platform.runs
    ]


def segment_changes(outcome: Outcome) -> list[tuple[str, str, int]]:
    return [
        (r["kind"], r["segment"], r["at"] - outcome.plan.start)
        for r in outcome.platform.trace.records
        if r["kind"] in ("segment_entered", "segment_left")
    ]


def both(load: Callable[[str], Plan], text: str) -> Outcome:
    """The incremental outcome, after checking it is record for record the exhaustive one."""
    plan = load(text)
    fast, slow = simulate(plan), simulate(plan, exhaustive=True)
    assert fast.platform.trace.records == slow.platform.trace.records
    assert runs(fast) == runs(slow)
    return fast


CHECKOUTS = """
scenario: s
workspace:
  {extra}
  journeys:
    j:
      trigger: {{event: checkout_started}}
      {journey}
shoppers: {{ana: {{id: cus_1}}}}
timeline:
  - {{at: 0s, who: ana, source: backend, track: {first}}}
  - {{at: 1h, who: ana, source: backend, track: {second}}}
until: 8h
"""


def checkouts(journey: str, first: str = "checkout_started", second: str = "checkout_started", extra: str = "") -> str:
    return CHECKOUTS.format(journey=journey, first=first, second=second, extra=extra)


def test_a_filter_reading_a_segment_sees_the_window_that_closes_at_the_delivery(
    load: Callable[[str], Plan],
) -> None:
    outcome = both(
        load,
        checkouts(
            "filter: {in_segment: recent_browsers}\n      steps: [{send: m1}]",
            first="viewed",
            extra="segments: {recent_browsers: {rule: {performed: viewed, within: 1h}}}",
        ),
    )
    assert segment_changes(outcome) == [
        ("segment_entered", "recent_browsers", 0),
        ("segment_left", "recent_browsers", H),
    ]
    assert runs(outcome) == []  # held at 1h, expired at 1h30m: the view was an hour old


def test_a_goal_met_by_time_ends_the_run_before_the_delivery_moves_it_on(load: Callable[[str], Plan]) -> None:
    journey = (
        "goal: {not_performed: viewed, within: 1h}\n      exit: goal\n      steps:\n"
        "        - wait_until: {condition: {performed: order_completed}, max: 5h, then: [{send: thanks}]}"
    )
    outcome = both(load, checkouts(journey, second="order_completed"))
    assert runs(outcome) == [("j", 0, H, "goal", 1, [])]


def test_a_run_ended_by_time_frees_the_journey_for_the_trigger_arriving_then(load: Callable[[str], Plan]) -> None:
    journey = (
        "frequency: once_at_a_time\n      goal: {not_performed: viewed, within: 1h}\n"
        "      exit: goal\n      steps: [{wait: 5h}, {send: m1}]"
    )
    outcome = both(load, checkouts(journey))
    assert runs(outcome) == [("j", 0, H, "goal", 1, []), ("j", H, H, "goal", 2, [])]


def test_a_held_entry_passing_by_time_enters_before_the_trigger_arriving_then(load: Callable[[str], Plan]) -> None:
    journey = "filter: {not_performed: viewed, within: 1h}\n      frequency: once\n      steps: [{send: m}]"
    outcome = both(load, checkouts(journey, extra="triggers: {filter_retry: 2h}"))
    assert runs(outcome) == [("j", H, H, "completed", 1, [("m", H)])]  # the first checkout's run


VIEWS = """
scenario: s
workspace:
  segments: {{{segment}}}
shoppers: {{ana: {{id: cus_1}}}}
timeline:
  - {{at: 0s, who: ana, source: backend, track: viewed}}
  - {{at: 30m, who: ana, source: backend, track: viewed}}
  - {{at: 40m, who: ana, source: backend, track: viewed, timestamp: 5h}}
until: 8h
"""


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("recent: {rule: {performed: viewed, within: 1h}}", ["entered 0", "left 1.5", "entered 5", "left 6"]),
        ("quiet: {rule: {not_performed: viewed, within: 1h}}", ["entered 1.5", "left 5", "entered 6"]),
    ],
)
def test_a_window_empties_before_an_event_stamped_later_arrives_in_it(
    load: Callable[[str], Plan], segment: str, expected: list[str]
) -> None:
    outcome = both(load, VIEWS.format(segment=segment))
    assert [f"{k.removeprefix('segment_')} {at / H:g}" for k, _s, at in segment_changes(outcome)] == expected


def test_an_event_stamped_now_is_seen_by_a_delivery_at_that_instant(load: Callable[[str], Plan]) -> None:
    """`viewed` has no window anywhere: only its stamp makes it visible at 5h,
    and the checkout arriving at 5h already sees it through the segment."""
    text = """
scenario: s
workspace:
  segments: {ever_viewed: {rule: {performed: viewed}}}
  journeys:
    j:
      trigger: {event: checkout_started}
      filter: {in_segment: ever_viewed}
      steps: [{send: m1}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 40m, who: ana, source: backend, track: viewed, timestamp: 5h}
  - {at: 5h, who: ana, source: backend, track: checkout_started}
until: 8h
"""
    outcome = both(load, text)
    assert segment_changes(outcome) == [("segment_entered", "ever_viewed", 5 * H)]
    assert runs(outcome) == [("j", 5 * H, 5 * H, "completed", 2, [("m1", 5 * H)])]


def test_a_window_closing_after_an_earlier_one_is_seen_by_a_delivery_at_that_instant(
    load: Callable[[str], Plan],
) -> None:
    """The view at 0s leaves `last_hour` at 1h (a time check) and `last_two_hours`
    at 2h, the instant the checkout arrives: that delivery must see the view
    gone, though time already changed the profile once in between."""
    text = """
scenario: s
workspace:
  segments:
    last_hour: {rule: {performed: viewed, within: 1h}}
    last_two_hours: {rule: {performed: viewed, within: 2h}}
  journeys:
    j:
      trigger: {event: checkout_started}
      filter: {in_segment: last_two_hours}
      steps: [{send: m1}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, source: backend, track: viewed}
  - {at: 2h, who: ana, source: backend, track: checkout_started}
until: 4h
"""
    outcome = both(load, text)
    assert segment_changes(outcome) == [
        ("segment_entered", "last_hour", 0),
        ("segment_entered", "last_two_hours", 0),
        ("segment_left", "last_hour", H),
        ("segment_left", "last_two_hours", 2 * H),
    ]
    assert runs(outcome) == []  # held at 2h, never let in: the view was two hours old
