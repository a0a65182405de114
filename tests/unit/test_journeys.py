"""SPEC 8 (journeys) and the processing order of SPEC 4: triggers, holds,
filters and their retry, frequency, goals, steps, the four exit settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.model.plan import Plan
from simulator.model.time import parse_instant
from simulator.pipeline import Outcome
from simulator.scenario.errors import InputError

START = parse_instant("2026-01-01T00:00:00Z")
H = 3600


def story(journey: str, steps: str, extra_ws: str = "", until: str = "") -> str:
    """A workspace with one journey `j` (its YAML body, indented 4), shoppers ana and ben, and timeline steps."""
    return (
        "scenario: s\n"
        + (f"until: {until}\n" if until else "")
        + "workspace:\n"
        + extra_ws
        + "  journeys:\n    j:\n"
        + "".join(f"      {line}\n" for line in journey.strip().splitlines())
        + "shoppers: {ana: {id: cus_1, email: ana@example.com}, ben: {id: cus_2}}\n"
        + "timeline:\n"
        + "".join(f"  - {line.strip()}\n" for line in steps.strip().splitlines())
    )


def runs(outcome: Outcome) -> list[tuple[int, int | None, str, list[str]]]:
    """(entered offset, ended offset, reason, messages) of every run."""
    return [
        (
            r.entered_at - START,
            None if r.ended_at is None else r.ended_at - START,
            r.reason,
            [m.message for m in r.messages],
        )
        for r in outcome.platform.runs
    ]


def sent(outcome: Outcome) -> list[tuple[str, int]]:
    return [(m.message, m.at - START) for m in outcome.platform.messages]


SIMPLE = "trigger: {event: checkout_started}\nsteps: [{send: hello}]"


# ------------------------------------------------------------------ event triggers


def test_an_event_trigger_enters_runs_and_completes(play: Callable[..., Outcome]) -> None:
    outcome = play(story(SIMPLE, "{at: 10m, who: ana, track: checkout_started}"))
    assert runs(outcome) == [(600, 600, "completed", ["hello"])]
    (run,) = outcome.platform.runs
    assert run.shopper == "ana" and run.trigger is not None and run.trigger.name == "checkout_started"


def test_the_trigger_where_filters_events(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: checkout_started, where: {value: {gt: 0}}}\nsteps: [{send: hello}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: checkout_started, properties: {value: 0}}
            {at: 1m, who: ana, track: checkout_started, properties: {value: "50"}}
            {at: 2m, who: ana, track: checkout_started, properties: {value: 50}}
            """,
        )
    )
    assert [r.trigger.props["value"] for r in outcome.platform.runs if r.trigger] == [50]


@pytest.mark.parametrize(("age", "enters"), [("72h", True), ("72h1s", False)])
def test_max_age_bounds_the_trigger_timestamp(play: Callable[..., Outcome], age: str, enters: bool) -> None:
    outcome = play(story(SIMPLE, f"{{at: 0s, who: ana, track: checkout_started, latency: {age}}}"))
    assert bool(outcome.platform.runs) is enters


def test_max_age_is_configurable(play: Callable[..., Outcome]) -> None:
    outcome = play(
        story(
            SIMPLE,
            "{at: 0s, who: ana, track: checkout_started, latency: 2h}",
            extra_ws="  triggers: {max_age: 1h}\n",
        )
    )
    assert outcome.platform.runs == []


def test_a_future_stamped_event_is_held_until_its_timestamp(play: Callable[..., Outcome]) -> None:
    outcome = play(story(SIMPLE, "{at: 0s, who: ana, track: checkout_started, timestamp: 2h}"))
    assert runs(outcome) == [(2 * H, 2 * H, "completed", ["hello"])]
    kinds = [r["kind"] for r in outcome.platform.trace.records]
    assert kinds.index("event_held") < kinds.index("event_released") < kinds.index("journey_entered")


def test_anonymous_events_are_offered_at_the_merge_within_max_age(play: Callable[..., Outcome]) -> None:
    outcome = play(
        story(
            SIMPLE,
            """
            {at: 0s, who: ana, device: phone, track: checkout_started}
            {at: 71h, who: ben, device: phone, track: checkout_started}
            {at: 72h, who: ana, device: phone, identify: true}
            {at: 72h, who: ben, device: phone, identify: true}
            """,
        )
    )
    # ana's checkout is exactly max_age old at her identify: offered; ben's too
    assert [(r.shopper, r.entered_at - START) for r in outcome.platform.runs] == [("ana", 72 * H), ("ben", 72 * H)]


def test_anonymous_events_older_than_max_age_are_not_offered(play: Callable[..., Outcome]) -> None:
    outcome = play(
        story(
            SIMPLE,
            """
            {at: 0s, who: ana, device: phone, track: checkout_started}
            {at: 72h1s, who: ana, device: phone, identify: true}
            """,
        )
    )
    assert outcome.platform.runs == []


def test_events_inherited_through_a_merge_call_never_start_runs(play: Callable[..., Outcome]) -> None:
    outcome = play(
        story(
            SIMPLE,
            """
            {at: 0s, who: ana, source: mail, track: checkout_started}
            {at: 1m, who: ana, identify: {with: [id]}}
            {at: 2m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
            """,
            extra_ws="  sources: {mail: {kind: server, identify_by: email}}\n",
        )
    )
    # the one run is the email profile's own, entered at 0s; the merge starts none
    assert [(r.entered_at - START, r.profile) for r in outcome.platform.runs] == [(0, 1)]


def test_an_inherited_event_stays_inherited_when_an_anonymous_merge_moves_it_again(
    play: Callable[..., Outcome],
) -> None:
    # Ben's anonymous `a` is merged by Merge People into ana's anonymous profile; ana's
    # identify then moves both to her known profile: only her own `a` may start a run.
    text = (
        "scenario: s\nworkspace:\n  journeys:\n    on_a: {trigger: {event: a}, steps: [{send: m}]}\n"
        "shoppers: {ana: {id: cus_1}, ben: {id: cus_2}}\ntimeline:\n"
        "  - {at: 0m, who: ana, device: phone, track: a}\n"
        "  - {at: 1m, who: ben, device: laptop, track: a}\n"
        "  - {at: 2m, merge: {primary: {cio_id: cio_1}, secondary: {cio_id: cio_2}}}\n"
        "  - {at: 3m, who: ana, device: phone, identify: true}\n"
    )
    outcome = play(text)
    assert [(r.shopper, r.entered_at - START) for r in outcome.platform.runs] == [("ana", 180)]


def test_journeys_are_entered_in_workspace_order(play: Callable[..., Outcome]) -> None:
    text = (
        "scenario: s\nworkspace:\n  journeys:\n"
        "    zeta: {trigger: {event: go}, steps: [{send: z}]}\n"
        "    alpha: {trigger: {event: go}, steps: [{send: a}]}\n"
        "shoppers: {ana: {id: cus_1}}\ntimeline:\n  - {at: 0s, who: ana, track: go}\n"
    )
    outcome = play(text)
    assert [r.journey.name for r in outcome.platform.runs] == ["zeta", "alpha"]
    assert [m.message for m in outcome.platform.messages] == ["z", "a"]


# ------------------------------------------------------------------ filters and their retry

VIP_FILTER = "trigger: {event: checkout_started}\nfilter: {attribute: vip, eq: true}\nsteps: [{send: hello}]"


@pytest.mark.parametrize(("change", "entered"), [("10m", 600), ("30m", 1800), ("30m1s", None)])
def test_a_failing_filter_holds_the_trigger_for_filter_retry_ends_included(
    play: Callable[..., Outcome], change: str, entered: int | None
) -> None:
    outcome = play(
        story(
            VIP_FILTER,
            f"""
            {{at: 0s, who: ana, track: checkout_started}}
            {{at: {change}, who: ana, identify: {{attributes: {{vip: true}}}}}}
            """,
        )
    )
    assert [r.entered_at - START for r in outcome.platform.runs] == ([entered] if entered is not None else [])
    kinds = [r["kind"] for r in outcome.platform.trace.records]
    assert "entry_held" in kinds
    assert ("entry_expired" in kinds) is (entered is None)


def test_filter_retry_is_configurable(play: Callable[..., Outcome]) -> None:
    outcome = play(
        story(
            VIP_FILTER,
            """
            {at: 0s, who: ana, track: checkout_started}
            {at: 10m, who: ana, identify: {attributes: {vip: true}}}
            """,
            extra_ws="  triggers: {filter_retry: 5m}\n",
        )
    )
    assert outcome.platform.runs == []


def test_frequency_is_judged_again_at_the_passing_retest(play: Callable[..., Outcome]) -> None:
    journey = VIP_FILTER + "\nfrequency: once"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: checkout_started}
            {at: 1m, who: ana, track: checkout_started}
            {at: 10m, who: ana, identify: {attributes: {vip: true}}}
            """,
        )
    )
    assert len(outcome.platform.runs) == 1


def test_a_trigger_refused_by_frequency_is_not_held(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nfrequency: once\nfilter: {attribute: vip, eq: true}\nsteps: [{send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, identify: {attributes: {vip: true}}}
            {at: 1m, who: ana, track: go}
            {at: 2m, who: ana, identify: {attributes: {vip: false}}}
            {at: 3m, who: ana, track: go}
            """,
        )
    )
    records = outcome.platform.trace.records
    assert [r["kind"] for r in records if r["kind"].startswith("entry_")] == ["entry_refused"]
    assert len(outcome.platform.runs) == 1


# ------------------------------------------------------------------ frequency

FOUR_TRIGGERS = """
{at: 0s, who: ana, track: go}
{at: 1h, who: ana, track: go}
{at: 1d1h, who: ana, track: go}
{at: 1d1h1s, who: ana, track: go}
"""


@pytest.mark.parametrize(
    ("frequency", "entries"),
    [
        ("every_time", [0, H, 25 * H, 25 * H + 1]),
        ("once", [0]),
        ("{once_per: 1d}", [0, 25 * H]),  # (T - D, T]: an entry exactly 1d before does not block
        ("{once_per: 1h}", [0, H, 25 * H]),
    ],
)
def test_frequency(play: Callable[..., Outcome], frequency: str, entries: list[int]) -> None:
    journey = f"trigger: {{event: go}}\nfrequency: {frequency}\nsteps: [{{send: hi}}]"
    outcome = play(story(journey, FOUR_TRIGGERS))
    assert [r.entered_at - START for r in outcome.platform.runs] == entries


def test_frequency_once_per_boundary(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nfrequency: {once_per: 1d}\nsteps: [{send: hi}]"
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}\n{at: 1d, who: ana, track: go}"))
    assert [r.entered_at - START for r in outcome.platform.runs] == [0, 86400]
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}\n{at: 23h59m59s, who: ana, track: go}"))
    assert [r.entered_at - START for r in outcome.platform.runs] == [0]


def test_frequency_once_at_a_time(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nfrequency: once_at_a_time\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: go}
            {at: 30m, who: ana, track: go}
            {at: 1h, who: ana, track: go}
            """,
        )
    )
    # the run entered at 0s ends at 1h; the trigger at 1h is processed before its timer
    assert [(r.entered_at - START, r.reason) for r in outcome.platform.runs] == [(0, "completed")]


def test_frequency_counts_runs_of_profiles_merged_in(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nfrequency: once\nsteps: [{send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, source: mail, track: go}
            {at: 1m, who: ana, identify: {with: [id]}}
            {at: 2m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
            {at: 3m, who: ana, track: go}
            """,
            extra_ws="  sources: {mail: {kind: server, identify_by: email}}\n",
        )
    )
    assert len(outcome.platform.runs) == 1


# ------------------------------------------------------------------ goals

GOAL = """
trigger: {event: checkout_started}
goal: {performed: order_completed, where: {checkout_id: {trigger: checkout_id}}}
exit: EXIT
steps: [{wait: 1h}, {send: reminder}, {wait: 1h}, {send: second}]
"""


def test_goal_ends_the_run_the_instant_it_becomes_true(play: Callable[..., Outcome]) -> None:
    outcome = play(
        story(
            GOAL.replace("EXIT", "goal"),
            """
            {at: 0s, who: ana, track: checkout_started, properties: {checkout_id: ck_1}}
            {at: 30m, who: ana, track: order_completed, properties: {checkout_id: ck_2}}
            {at: 1h30m, who: ana, track: order_completed, properties: {checkout_id: ck_1}}
            """,
        )
    )
    assert runs(outcome) == [(0, 5400, "goal", ["reminder"])]


def test_goal_already_true_at_entry_ends_the_run_at_once(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\ngoal: {attribute: bought, eq: true}\nexit: goal\nsteps: [{send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, identify: {attributes: {bought: true}}}
            {at: 1m, who: ana, track: go}
            """,
        )
    )
    assert runs(outcome) == [(60, 60, "goal", [])]


def test_goals_look_forward_only(play: Callable[..., Outcome]) -> None:
    # An order before the checkout does not meet the goal of the run that checkout starts.
    journey = "trigger: {event: checkout_started}\ngoal: {performed: order_completed}\nexit: goal\n"
    journey += "steps: [{wait: 1h}, {send: reminder}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: order_completed}
            {at: 10m, who: ana, track: checkout_started}
            {at: 10m, who: ana, track: order_completed}
            """,
        )
    )
    # the second order ties on timestamp but is processed later: it is later, the goal is met
    assert runs(outcome) == [(600, 600, "goal", [])]
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: order_completed}
            {at: 10m, who: ana, track: checkout_started}
            """,
        )
    )
    assert runs(outcome) == [(600, 600 + H, "completed", ["reminder"])]


def test_goal_met_by_a_backdated_event_stamped_before_the_trigger_does_not_count(
    play: Callable[..., Outcome],
) -> None:
    journey = "trigger: {event: checkout_started}\ngoal: {performed: order_completed}\nexit: goal\n"
    journey += "steps: [{wait: 1h}, {send: reminder}]"
    outcome = play(
        story(
            journey,
            """
            {at: 10m, who: ana, track: checkout_started}
            {at: 20m, who: ana, track: order_completed, timestamp: 5m}
            """,
        )
    )
    assert runs(outcome) == [(600, 600 + H, "completed", ["reminder"])]


@pytest.mark.parametrize("exit_setting", ["stop_matching", "never"])
def test_the_goal_ends_no_run_under_stop_matching_or_never(play: Callable[..., Outcome], exit_setting: str) -> None:
    outcome = play(
        story(
            GOAL.replace("EXIT", exit_setting),
            """
            {at: 0s, who: ana, track: checkout_started, properties: {checkout_id: ck_1}}
            {at: 30m, who: ana, track: order_completed, properties: {checkout_id: ck_1}}
            """,
        )
    )
    assert runs(outcome) == [(0, 2 * H, "completed", ["reminder", "second"])]


def test_goal_or_stop_matching_ends_on_the_goal(play: Callable[..., Outcome]) -> None:
    outcome = play(
        story(
            GOAL.replace("EXIT", "goal_or_stop_matching"),
            """
            {at: 0s, who: ana, track: checkout_started, properties: {checkout_id: ck_1}}
            {at: 30m, who: ana, track: order_completed, properties: {checkout_id: ck_1}}
            """,
        )
    )
    assert runs(outcome) == [(0, 1800, "goal", [])]


def test_the_goal_is_retested_when_a_segment_is_joined(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\ngoal: {in_segment: vips}\nexit: goal\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: go}
            {at: 10m, who: ana, identify: {attributes: {vip: true}}}
            """,
            extra_ws="  segments: {vips: {rule: {attribute: vip, eq: true}}}\n",
        )
    )
    assert runs(outcome) == [(0, 600, "goal", [])]


# ------------------------------------------------------------------ stop_matching

STOP = """
trigger: {event: checkout_started}
filter: {not_performed: order_completed, after: checkout_started}
exit: EXIT
steps: [{wait: 1h}, {send: reminder}]
"""


@pytest.mark.parametrize(
    ("exit_setting", "expected"),
    [
        ("stop_matching", [(0, H, "stopped_matching", [])]),
        ("goal_or_stop_matching", [(0, H, "stopped_matching", [])]),
        ("goal", [(0, H, "completed", ["reminder"])]),
        ("never", [(0, H, "completed", ["reminder"])]),
    ],
)
def test_the_filter_is_retested_when_a_wait_ends(
    play: Callable[..., Outcome], exit_setting: str, expected: list[object]
) -> None:
    outcome = play(
        story(
            STOP.replace("EXIT", exit_setting),
            """
            {at: 0s, who: ana, track: checkout_started}
            {at: 30m, who: ana, track: order_completed}
            """,
        )
    )
    assert runs(outcome) == expected


def test_stop_matching_is_the_default_exit(load: Callable[[str], Plan]) -> None:
    plan = load(story(SIMPLE, "{at: 0s, who: ana, track: x}"))
    assert plan.workspace.journeys[0].exit == "stop_matching"


def test_the_filter_is_retested_just_before_a_send_in_a_branch(play: Callable[..., Outcome]) -> None:
    journey = """
trigger: {event: go}
filter: {not: {attribute: unsubscribed, eq: true}}
steps:
  - update: {unsubscribed: true}
  - branch: {if: {attribute: unsubscribed, eq: true}, then: [{send: a}], else: [{send: b}]}
"""
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}"))
    assert runs(outcome) == [(0, 0, "stopped_matching", [])]


def test_a_segment_triggered_run_stops_when_the_profile_leaves_the_segment(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {segment: carts}\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: carted}
            {at: 10m, who: ana, track: ordered}
            """,
            extra_ws="  segments:\n    carts: {rule: {all: [{performed: carted}, {not_performed: ordered}]}}\n",
        )
    )
    assert runs(outcome) == [(0, H, "stopped_matching", [])]


# ------------------------------------------------------------------ segment triggers


def test_a_segment_trigger_enters_on_join_once_by_default(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {segment: carts}\nsteps: [{send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: carted}
            {at: 10m, who: ana, track: ordered}
            {at: 20m, who: ana, track: carted}
            {at: 30m, who: ana, track: ordered}
            """,
            extra_ws="  segments:\n    carts: {rule: {performed: carted, after: ordered}}\n",
        )
    )
    assert runs(outcome) == [(0, 0, "completed", ["hi"])]
    joins = [r["at"] - START for r in outcome.platform.trace.records if r["kind"] == "segment_entered"]
    assert joins == [0, 1200]


def test_a_segment_trigger_with_every_time_enters_on_each_join(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {segment: carts}\nfrequency: every_time\nsteps: [{send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: carted}
            {at: 10m, who: ana, track: ordered}
            {at: 20m, who: ana, track: carted}
            """,
            extra_ws="  segments:\n    carts: {rule: {performed: carted, after: ordered}}\n",
        )
    )
    assert [r[0] for r in runs(outcome)] == [0, 1200]


def test_trigger_references_in_a_segment_triggered_journey_are_refused(load: Callable[[str], Plan]) -> None:
    journey = "trigger: {segment: carts}\nsteps: [{update: {last: {trigger: category}}}]"
    with pytest.raises(InputError) as info:
        load(story(journey, "{at: 0s, who: ana, track: x}", extra_ws="  segments: {carts: {rule: {performed: x}}}\n"))
    assert any("trigger" in p.message for p in info.value.problems)
    assert any("workspace.journeys.j" in p.path for p in info.value.problems)


def test_a_segment_trigger_goal_looks_after_the_entry_instant(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {segment: carts}\ngoal: {performed: carted}\nexit: goal\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: carted}
            {at: 10m, who: ana, track: carted}
            """,
            extra_ws="  segments:\n    carts: {rule: {performed: carted}}\n",
        )
    )
    assert runs(outcome) == [(0, 600, "goal", [])]


# ------------------------------------------------------------------ steps


def test_wait_schedules_the_next_step(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nexit: never\nsteps: [{send: a}, {wait: 1h30m}, {send: b}, {wait: 0s}, {send: c}]"
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}"))
    assert sent(outcome) == [("a", 0), ("b", 5400), ("c", 5400)]


WAIT_UNTIL = """
trigger: {event: go}
exit: never
steps:
  - wait_until: {condition: {performed: ordered}, max: 2h, then: [{send: thanks}]}
  - send: nudge
"""


def test_wait_until_met_runs_then_and_completes(play: Callable[..., Outcome]) -> None:
    outcome = play(story(WAIT_UNTIL, "{at: 0s, who: ana, track: go}\n{at: 30m, who: ana, track: ordered}"))
    assert runs(outcome) == [(0, 1800, "completed", ["thanks"])]


def test_wait_until_not_met_by_max_goes_on(play: Callable[..., Outcome]) -> None:
    outcome = play(story(WAIT_UNTIL, "{at: 0s, who: ana, track: go}\n{at: 3h, who: ana, track: ordered}"))
    assert runs(outcome) == [(0, 2 * H, "completed", ["nudge"])]


def test_wait_until_already_true_does_not_wait(play: Callable[..., Outcome]) -> None:
    journey = WAIT_UNTIL.replace("{performed: ordered}", "{attribute: vip, eq: true}")
    outcome = play(
        story(journey, "{at: 0s, who: ana, identify: {attributes: {vip: true}}}\n{at: 1m, who: ana, track: go}")
    )
    assert runs(outcome) == [(60, 60, "completed", ["thanks"])]


def test_wait_until_looks_forward_only(play: Callable[..., Outcome]) -> None:
    outcome = play(story(WAIT_UNTIL, "{at: 0s, who: ana, track: ordered}\n{at: 1m, who: ana, track: go}"))
    assert runs(outcome) == [(60, 60 + 2 * H, "completed", ["nudge"])]


@pytest.mark.parametrize(("value", "message"), [(150, "vip"), (50, "plain"), ("150", "plain")])
def test_branch_on_the_trigger_then_continue(play: Callable[..., Outcome], value: object, message: str) -> None:
    journey = """
trigger: {event: go}
steps:
  - branch: {if: {trigger: {value: {gte: 100}}}, then: [{send: vip}], else: [{send: plain}]}
  - send: after_branch
"""
    outcome = play(story(journey, f"{{at: 0s, who: ana, track: go, properties: {{value: {value!r}}}}}"))
    assert runs(outcome) == [(0, 0, "completed", [message, "after_branch"])]


def test_update_sets_attributes_from_literals_and_the_trigger_and_segments_see_it(
    play: Callable[..., Outcome],
) -> None:
    journey = """
trigger: {event: go}
steps:
  - update: {intent: {trigger: category}, flagged: true, first_item: {trigger: "items[].sku"}}
"""
    outcome = play(
        story(
            journey,
            "{at: 0s, who: ana, track: go, properties: {category: coffee, items: [{sku: s1}, {sku: s2}]}}",
            extra_ws="  segments: {coffee_people: {rule: {attribute: intent, eq: coffee}}}\n",
        )
    )
    (p,) = outcome.platform.live_profiles()
    assert p.attributes == {"intent": "coffee", "flagged": True, "first_item": "s1"}
    assert "coffee_people" in p.segments
    kinds = [r["kind"] for r in outcome.platform.trace.records]
    assert kinds.index("attributes_updated") < kinds.index("segment_entered") < kinds.index("journey_exited")


def test_update_sets_a_mapping_that_a_dotted_path_reads(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nsteps:\n  - update: {last: {category: coffee, size: 2}}\n"
    outcome = play(
        story(
            journey,
            "{at: 0s, who: ana, track: go}",
            extra_ws="  segments: {coffee_people: {rule: {attribute: last.category, eq: coffee}}}\n",
        )
    )
    (p,) = outcome.platform.live_profiles()
    assert p.attributes == {"last": {"category": "coffee", "size": 2}}
    assert "coffee_people" in p.segments


def test_a_trigger_reference_inside_an_update_mapping_is_refused(load: Callable[[str], Plan]) -> None:
    text = (
        "scenario: s\nworkspace:\n  journeys:\n    j:\n      trigger: {event: go}\n"
        "      steps: [{update: {last: {category: {trigger: category}}}}]\n"
    )
    with pytest.raises(InputError) as info:
        load(text)
    assert [p.path for p in info.value.problems] == ["workspace.journeys.j.steps[0].update.last.category"]


def test_runs_still_waiting_at_the_end_are_open(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nsteps: [{wait: 1d}, {send: hi}]"
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}", until="2h"))
    assert runs(outcome) == [(0, None, "open", [])]
    assert [r["kind"] for r in outcome.platform.trace.records][-1] == "journey_open"


def test_without_until_the_simulation_waits_for_every_run_to_end(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nsteps: [{wait: 7d}, {send: hi}]"
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}"))
    assert runs(outcome) == [(0, 7 * 86400, "completed", ["hi"])]
    assert outcome.end == START + 7 * 86400


# ------------------------------------------------------------------ merges and runs

MERGE_WS = "  sources: {mail: {kind: server, identify_by: email}}\n"


def test_an_open_run_of_the_secondary_moves_to_the_primary(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, source: mail, track: go}
            {at: 1m, who: ana, identify: {with: [id]}}
            {at: 2m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
            """,
            extra_ws=MERGE_WS,
        )
    )
    (run,) = outcome.platform.runs
    assert (run.reason, run.profile, [m.profile for m in run.messages]) == ("completed", 2, [2])
    assert [r["kind"] for r in outcome.platform.trace.records].count("run_moved") == 1


def test_the_secondarys_run_ends_merged_when_the_primary_has_one_open(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, source: mail, track: go}
            {at: 1m, who: ana, track: go}
            {at: 2m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
            """,
            extra_ws=MERGE_WS,
        )
    )
    assert [(r.profile, r.reason) for r in outcome.platform.runs] == [(1, "merged"), (2, "completed")]
    assert [m.profile for m in outcome.platform.messages] == [2]


def test_an_inherited_event_meets_the_goal_at_the_merge_instant(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\ngoal: {performed: ordered}\nexit: goal\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: go}
            {at: 10m, who: ana, source: mail, track: ordered}
            {at: 20m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
            """,
            extra_ws=MERGE_WS,
        )
    )
    assert runs(outcome) == [(0, 1200, "goal", [])]


def test_segment_joins_caused_by_a_merge_start_segment_triggered_runs(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {segment: both}\nsteps: [{send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, track: a}
            {at: 10m, who: ana, source: mail, track: b}
            {at: 20m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
            """,
            extra_ws=MERGE_WS + "  segments: {both: {rule: {all: [{performed: a}, {performed: b}]}}}\n",
        )
    )
    assert runs(outcome) == [(1200, 1200, "completed", ["hi"])]


# ------------------------------------------------------------------ order at one instant


def test_deliveries_come_before_journey_timers_at_one_instant(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\ngoal: {performed: ordered}\nexit: goal\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}\n{at: 1h, who: ana, track: ordered}"))
    assert runs(outcome) == [(0, H, "goal", [])]


def test_held_events_come_before_journey_timers_at_one_instant(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\ngoal: {performed: ordered}\nexit: goal\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(story(journey, "{at: 0s, who: ana, track: go}\n{at: 1m, who: ana, track: ordered, timestamp: 1h}"))
    assert runs(outcome) == [(0, H, "goal", [])]


def test_window_closings_come_before_journey_timers_at_one_instant(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nfilter: {in_segment: recent}\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            "{at: 0s, who: ana, track: go}",
            extra_ws="  segments: {recent: {rule: {performed: go, within: 1h}}}\n",
        )
    )
    assert runs(outcome) == [(0, H, "stopped_matching", [])]


def test_journey_timers_fall_due_by_instant_then_entry_order(play: Callable[..., Outcome]) -> None:
    journey = "trigger: {event: go}\nsteps: [{wait: 1h}, {send: hi}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ben, track: go}
            {at: 0s, who: ana, track: go}
            """,
        )
    )
    assert [m.shopper for m in outcome.platform.messages] == ["ben", "ana"]


def test_timers_come_before_filter_retry_holds_expiring(play: Callable[..., Outcome]) -> None:
    # At +30m a timer's update makes the held filter pass: the hold's last re-test enters the run.
    text = (
        "scenario: s\nworkspace:\n  journeys:\n"
        "    setter: {trigger: {event: a}, steps: [{wait: 30m}, {update: {vip: true}}]}\n"
        "    j: {trigger: {event: b}, filter: {attribute: vip, eq: true}, steps: [{send: hi}]}\n"
        "shoppers: {ana: {id: cus_1}}\ntimeline:\n"
        "  - {at: 0s, who: ana, track: a}\n  - {at: 0s, who: ana, track: b}\n"
    )
    outcome = play(text)
    assert [(r.journey.name, r.entered_at - START) for r in outcome.platform.runs] == [("setter", 0), ("j", 1800)]


def test_a_runs_steps_up_to_its_next_wait_finish_before_the_next_delivery(play: Callable[..., Outcome]) -> None:
    text = (
        "scenario: s\nworkspace:\n  journeys:\n"
        "    tagger: {trigger: {event: a}, steps: [{update: {vip: true}}, {wait: 1h}]}\n"
        "    j: {trigger: {event: b}, filter: {attribute: vip, eq: true}, steps: [{send: hi}]}\n"
        "shoppers: {ana: {id: cus_1}}\ntimeline:\n"
        "  - {at: 0s, who: ana, track: a}\n  - {at: 0s, who: ana, track: b}\n"
    )
    outcome = play(text)
    assert [(r.journey.name, r.entered_at - START) for r in outcome.platform.runs] == [("tagger", 0), ("j", 0)]
    assert not any(r["kind"] == "entry_held" for r in outcome.platform.trace.records)


def test_moved_events_are_offered_in_order_with_frequency_over_the_merged_profile(
    play: Callable[..., Outcome],
) -> None:
    journey = "trigger: {event: checkout_started}\nfrequency: once\nsteps: [{send: hello}]"
    outcome = play(
        story(
            journey,
            """
            {at: 0s, who: ana, device: phone, track: checkout_started, properties: {n: 1}}
            {at: 5m, who: ana, device: phone, track: checkout_started, properties: {n: 2}}
            {at: 10m, who: ana, device: phone, identify: true}
            """,
        )
    )
    assert [(r.entered_at - START, r.trigger.props["n"] if r.trigger else None) for r in outcome.platform.runs] == [
        (600, 1)
    ]


@pytest.mark.parametrize("other_anonymous_event", [False, True])
def test_an_anonymous_merge_enters_segment_joins_then_moved_events_however_many_moved(
    play: Callable[..., Outcome], other_anonymous_event: bool
) -> None:
    # The moved `a` triggers ev_j (listed first) and makes the segment join for
    # seg_j. A second moved event that triggers nothing must not change the order.
    text = (
        "scenario: s\nworkspace:\n  segments: {did_a: {rule: {performed: a}}}\n  journeys:\n"
        "    ev_j:\n      trigger: {event: a}\n"
        "      steps: [{branch: {if: {attribute: vip, eq: true}, then: [{send: vip}], else: [{send: plain}]}}]\n"
        "    seg_j: {trigger: {segment: did_a}, steps: [{update: {vip: true}}, {send: seg_m}]}\n"
        "shoppers: {ana: {id: cus_1}}\ntimeline:\n"
        "  - {at: 0m, who: ana, device: phone, track: a}\n"
        + ("  - {at: 1m, who: ana, device: phone, track: x}\n" if other_anonymous_event else "")
        + "  - {at: 10m, who: ana, device: phone, identify: true}\n"
    )
    outcome = play(text)
    assert [(r.journey.name, [m.message for m in r.messages]) for r in outcome.platform.runs] == [
        ("seg_j", ["seg_m"]),
        ("ev_j", ["vip"]),
    ]


def test_runs_one_delivery_starts_take_their_steps_one_run_after_another(play: Callable[..., Outcome]) -> None:
    # j1's own update makes its filter false before its send; j2's update must not
    # have run yet (it would set `last` back to j2 and let j1 send).
    text = (
        "scenario: s\nworkspace:\n  journeys:\n"
        "    j1:\n      trigger: {event: c}\n      filter: {not: {attribute: last, eq: j1}}\n"
        "      steps: [{update: {last: j1}}, {send: m1}]\n"
        "    j2: {trigger: {event: c}, steps: [{update: {last: j2}}, {send: m2}]}\n"
        "shoppers: {ana: {id: cus_1}}\ntimeline:\n  - {at: 10m, who: ana, track: c}\n"
    )
    outcome = play(text)
    assert [(r.journey.name, r.reason, [m.message for m in r.messages]) for r in outcome.platform.runs] == [
        ("j1", "stopped_matching", []),
        ("j2", "completed", ["m2"]),
    ]


def test_runs_one_delivery_resumes_take_their_steps_one_run_after_another(play: Callable[..., Outcome]) -> None:
    text = (
        "scenario: s\nworkspace:\n  journeys:\n"
        "    j1:\n      trigger: {event: a}\n      filter: {not: {attribute: last, eq: j1}}\n"
        "      steps: [{wait_until: {condition: {performed: y}, max: 1d, then: [{update: {last: j1}}, {send: m1}]}}]\n"
        "    j2:\n      trigger: {event: b}\n"
        "      steps: [{wait_until: {condition: {performed: y}, max: 1d, then: [{update: {last: j2}}, {send: m2}]}}]\n"
        "shoppers: {ana: {id: cus_1}}\ntimeline:\n"
        "  - {at: 0s, who: ana, track: a}\n  - {at: 0s, who: ana, track: b}\n  - {at: 1h, who: ana, track: y}\n"
    )
    outcome = play(text)
    assert [(r.journey.name, r.reason, [m.message for m in r.messages]) for r in outcome.platform.runs] == [
        ("j1", "stopped_matching", []),
        ("j2", "completed", ["m2"]),
    ]


IDLE_AFTER = """
scenario: the end of a story without until
workspace:
  triggers: {filter_retry: 2h}
  segments:
    idle: {rule: {not: {performed: view, within: 30m}}}
  journeys:
    reminder: REMINDER
    winback: {trigger: {segment: idle}, frequency: every_time, steps: [{send: B}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, source: backend, track: cs}
  - {at: 10m, who: ana, source: backend, track: view}
"""


@pytest.mark.parametrize(
    ("reminder", "reason"),
    [
        ("{trigger: {event: cs}, goal: {performed: view}, exit: goal, steps: [{wait: 1h}, {send: A}]}", "goal"),
        (
            "{trigger: {event: cs}, exit: never, steps: [{wait_until: {condition: {performed: view}, max: 2h}}]}",
            "completed",
        ),
        ("{trigger: {event: cs}, filter: {performed: view}, exit: never, steps: [{send: A}]}", "completed"),
    ],
    ids=["a wait its run's goal ended", "a wait_until met before its max", "a hold that entered at a re-test"],
)
def test_a_timer_or_hold_that_will_do_nothing_does_not_keep_the_story_going(
    play: Callable[..., Outcome], reminder: str, reason: str
) -> None:
    """SPEC 11: without `until` the story ends when every delivery is processed,
    every hold has ended and every run has ended: at 10m here. The idle window
    closes at 40m, after the end, so winback is entered once, not twice."""
    out = play(IDLE_AFTER.replace("REMINDER", reminder))
    runs = {r.journey.name: r for r in out.platform.runs}
    assert runs["reminder"].reason == reason
    assert [r.journey.name for r in out.platform.runs].count("winback") == 1
    assert out.end == parse_instant("2026-01-01T00:10:00Z")
    assert out.platform._mandatory == 0


# Each journey's update moves the other's segment (not collected: see conftest.py).
PING_PONG = (Path(__file__).parent / "stories" / "never_ends.yaml").read_text(encoding="utf-8")


def test_a_story_that_never_ends_is_refused_not_run_for_ever(play: Callable[..., Outcome]) -> None:
    """Each journey's update moves the other's segment: without `until` the story
    would run (and grow) for ever. It is refused, saying what kept going."""
    with pytest.raises(InputError) as refused:
        play(PING_PONG)
    (problem,) = refused.value.problems
    assert problem.path == "until"
    assert problem.message.startswith("the story does not end: 1d4h after its last call, journeys j_off")
    assert "give the scenario an `until:`" in problem.hint
    bounded = play(PING_PONG + "until: 5h\n")
    assert [r.journey.name for r in bounded.platform.runs] == ["j_on", "j_off"] * 3  # at 0h, 1h, ..., 5h
