"""SPEC section 8: journeys, entries, frequency, goals, steps and exits."""

from __future__ import annotations

import pytest
from acceptance_support import passes, plan_of

from simulator.scenario.errors import InputError

SECTION_8_JOURNEY = """
  journeys:
    cart_recovery:
      trigger: {event: checkout_started, where: {value: {gt: 0}}}   # or {segment: NAME}
      filter: {not_performed: order_completed, after: checkout_started}
      frequency: every_time        # every_time | once | {once_per: 7d} | once_at_a_time
      goal: {performed: order_completed, where: {checkout_id: {trigger: checkout_id}}}
      exit: goal_or_stop_matching  # goal | stop_matching | goal_or_stop_matching | never
      steps:
        - wait: 1h
        - send: recovery_email_1
        - wait_until:
            condition: {performed: order_completed}
            max: 23h
            then: []                          # condition met: these steps, then the run ends
        - update: {last_intent_category: {trigger: category}}   # "create or update person"
        - branch:
            if: {trigger: {value: {gte: 100}}}  # tests on the triggering event's properties
            then: [{send: vip_recovery}]
            else: [{send: recovery_email_2}]
"""


def _scenario(journeys: str, timeline: str, expect: str, extra: str = "", head: str = "") -> str:
    return f"""
scenario: journeys
{head}
shoppers:
  ana: {{id: cus_1, email: ana@example.com}}
  ben: {{id: cus_2}}
workspace:
  segments:
    shoes_intent: {{rule: {{attribute: last_intent_category, eq: shoes}}}}
    browsing: {{rule: {{performed: product_viewed, within: 1h}}}}
    paid: {{rule: {{attribute: paid, eq: true}}}}
{extra}
{journeys}
timeline:
{timeline}
expect:
{expect}
"""


CHECKOUT = "{at: 0m, who: ana, track: checkout_started, properties: {value: VALUE, checkout_id: ck_1, category: shoes}}"


@pytest.mark.parametrize(
    ("value", "more", "sent", "exited"),
    [
        ("120", "", "[recovery_email_1, vip_recovery]", "completed"),
        ("80", "", "[recovery_email_1, recovery_email_2]", "completed"),
        ("120", "{at: 30m, who: ana, track: order_completed, properties: {checkout_id: ck_1}}", "[]", "goal"),
        (
            "120",
            "{at: 5h, who: ana, track: order_completed, properties: {checkout_id: ck_2}}",
            "[recovery_email_1]",
            "completed",
        ),
        ("0", "", "[]", None),
    ],
)
def test_section_8_journey_verbatim(value: str, more: str, sent: str, exited: str | None) -> None:
    timeline = "  - " + CHECKOUT.replace("VALUE", value) + ("\n  - " + more if more else "")
    expect = f"  - {{who: ana, journey: cart_recovery, sent: {sent}}}\n"
    if exited:
        expect += f"  - {{who: ana, journey: cart_recovery, exited: {exited}}}\n"
        expect += "  - {who: ana, journey: cart_recovery, entered: 1}"
    else:
        expect += "  - {who: ana, journey: cart_recovery, entered: 0}"
    result = passes(_scenario(SECTION_8_JOURNEY, timeline, expect))
    if sent.count(",") == 1:  # the run reached its update step
        assert result.outcome.platform.live_profiles()[0].attributes == {"last_intent_category": "shoes"}


def test_update_is_seen_by_segments_at_once() -> None:
    passes(
        _scenario(
            SECTION_8_JOURNEY,
            "  - " + CHECKOUT.replace("VALUE", "120"),
            "  - {at: 23h59m59s, who: ana, not_in_segment: shoes_intent}\n"
            "  - {at: 24h, who: ana, in_segment: shoes_intent}",
        )
    )


SIMPLE = """
  journeys:
    j:
      trigger: {event: go}
      FREQ
      steps: [{send: m}]
"""


def _go(*offsets: str, who: str = "ana") -> str:
    return "\n".join(f"  - {{at: {o}, who: {who}, track: go}}" for o in offsets)


@pytest.mark.parametrize(
    ("frequency", "offsets", "entered"),
    [
        ("every_time", ("0m", "0m", "1h"), 3),
        ("once", ("0m", "1h", "30d"), 1),
        ("{once_per: 7d}", ("0m", "6d23h59m59s", "7d"), 2),
        ("{once_per: 1h}", ("0m", "30m", "1h", "1h30m", "2h"), 3),
    ],
)
def test_frequency(frequency: str, offsets: tuple[str, ...], entered: int) -> None:
    passes(
        _scenario(
            SIMPLE.replace("FREQ", f"frequency: {frequency}"),
            _go(*offsets),
            f"  - {{who: ana, journey: j, entered: {entered}}}",
        )
    )


def test_frequency_default_is_every_time() -> None:
    passes(_scenario(SIMPLE.replace("FREQ", ""), _go("0m", "0m"), "  - {who: ana, journey: j, entered: 2}"))


def test_once_at_a_time() -> None:
    passes(
        _scenario(
            """
  journeys:
    j:
      trigger: {event: go}
      frequency: once_at_a_time
      steps: [{wait: 1h}, {send: m}]
""",
            _go("0m", "30m", "1h", "1h30m"),
            "  - {who: ana, journey: j, entered: 2}\n  - {who: ana, journey: j, sent: [m, m]}",
        )
    )


def test_event_trigger_needs_an_identified_profile() -> None:
    passes(
        _scenario(
            SIMPLE.replace("FREQ", ""),
            "  - {at: 0m, who: ana, device: phone, track: go}",
            "  - {who: ana, journey: j, entered: 0}",
        )
    )


def test_trigger_max_age_bounds_are_inclusive() -> None:
    passes(
        _scenario(
            SIMPLE.replace("FREQ", ""),
            """
  - {at: 0m, who: ana, track: go, latency: 72h}
  - {at: 0m, who: ben, track: go, latency: 72h1s}
""",
            "  - {who: ana, journey: j, entered: 1}\n  - {who: ben, journey: j, entered: 0}",
        )
    )


def test_trigger_max_age_is_configurable() -> None:
    passes(
        _scenario(
            SIMPLE.replace("FREQ", ""),
            "  - {at: 0m, who: ana, track: go, latency: 2h}",
            "  - {who: ana, journey: j, entered: 0}",
            extra="  triggers: {max_age: 1h}",
        )
    )


def test_a_future_stamped_event_is_held_until_its_timestamp() -> None:
    result = passes(
        _scenario(
            SIMPLE.replace("FREQ", ""),
            "  - {at: 0m, who: ana, track: go, timestamp: 2h}",
            "  - {who: ana, journey: j, entered: 1, within: [2h, 2h]}",
        )
    )
    assert [m.at - result.plan.start for r in result.outcome.platform.runs for m in r.messages] == [7200]


FILTERED = """
  journeys:
    j:
      trigger: {event: go}
      filter: {attribute: vip, eq: true}
      FREQ
      steps: [{send: m}]
"""


@pytest.mark.parametrize(("when", "entered"), [("0m", 1), ("29m", 1), ("30m", 1), ("30m1s", 0)])
def test_filter_retry_hold_ends_included(when: str, entered: int) -> None:
    passes(
        _scenario(
            FILTERED.replace("FREQ", ""),
            f"  - {{at: 0m, who: ana, track: go}}\n"
            f"  - {{at: {when}, who: ana, identify: {{attributes: {{vip: true}}}}}}",
            f"  - {{who: ana, journey: j, entered: {entered}}}",
        )
    )


def test_filter_retry_is_configurable_and_the_entry_is_at_the_passing_retest() -> None:
    result = passes(
        _scenario(
            FILTERED.replace("FREQ", ""),
            "  - {at: 0m, who: ana, track: go}\n  - {at: 50m, who: ana, identify: {attributes: {vip: true}}}",
            "  - {who: ana, journey: j, entered: 1, within: [50m, 50m]}",
            extra="  triggers: {filter_retry: 1h}",
        )
    )
    assert len(result.outcome.platform.runs) == 1


def test_filter_retry_rejudges_frequency_at_entry() -> None:
    passes(
        _scenario(
            FILTERED.replace("FREQ", "frequency: once"),
            """
  - {at: 0m, who: ana, track: go}
  - {at: 1m, who: ana, track: go}
  - {at: 10m, who: ana, identify: {attributes: {vip: true}}}
""",
            "  - {who: ana, journey: j, entered: 1}",
        )
    )


def test_a_trigger_refused_by_frequency_is_not_held() -> None:
    passes(
        _scenario(
            """
  journeys:
    j:
      trigger: {event: go}
      frequency: once_at_a_time
      steps: [{wait: 10m}, {send: m}]
""",
            _go("0m", "5m"),
            "  - {who: ana, journey: j, entered: 1}",
        )
    )


def test_frequency_counts_runs_of_profiles_merged_in() -> None:
    passes(
        _scenario(
            SIMPLE.replace("FREQ", "frequency: once"),
            """
  - {at: 0m, who: ana, source: by_email, track: go}
  - {at: 10m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
  - {at: 1m, who: ana, identify: {with: [id]}}
  - {at: 20m, who: ana, track: go}
""",
            "  - {who: ana, journey: j, entered: 1}\n  - {at: 15m, who: ana, profiles: 1}",
            extra="  sources:\n    by_email: {kind: server, latency: 0s, identify_by: email}",
        )
    )


SEGMENT_TRIGGERED = """
  journeys:
    welcome_back:
      trigger: {segment: browsing}
      FREQ
      exit: EXIT
      steps: [{wait: 2h}, {send: nudge}]
"""


def test_segment_trigger_enters_on_join_once_by_default() -> None:
    passes(
        _scenario(
            SEGMENT_TRIGGERED.replace("FREQ", "").replace("EXIT", "never"),
            "\n".join(f"  - {{at: {h}h, who: ana, track: product_viewed}}" for h in (0, 5, 10)),
            "  - {who: ana, journey: welcome_back, entered: 1}\n  - {who: ana, journey: welcome_back, sent: [nudge]}",
        )
    )


def test_segment_trigger_every_time_enters_on_each_join() -> None:
    passes(
        _scenario(
            SEGMENT_TRIGGERED.replace("FREQ", "frequency: every_time").replace("EXIT", "never"),
            "\n".join(f"  - {{at: {h}h, who: ana, track: product_viewed}}" for h in (0, 5, 10)),
            "  - {who: ana, journey: welcome_back, entered: 3}",
        )
    )


def test_segment_trigger_stop_matching_ends_the_run_when_the_segment_is_left() -> None:
    passes(
        _scenario(
            SEGMENT_TRIGGERED.replace("FREQ", "").replace("EXIT", "stop_matching"),
            "  - {at: 0m, who: ana, track: product_viewed}",
            "  - {who: ana, journey: welcome_back, sent: []}\n"
            "  - {who: ana, journey: welcome_back, exited: stopped_matching}",
        )
    )


def test_segment_trigger_stop_matching_keeps_a_profile_still_in_the_segment() -> None:
    passes(
        _scenario(
            SEGMENT_TRIGGERED.replace("FREQ", "").replace("EXIT", "stop_matching"),
            "  - {at: 0m, who: ana, track: product_viewed}\n  - {at: 1h30m, who: ana, track: product_viewed}",
            "  - {who: ana, journey: welcome_back, sent: [nudge]}\n"
            "  - {who: ana, journey: welcome_back, exited: completed}",
        )
    )


@pytest.mark.parametrize(
    "ref",
    [
        "filter: {performed: x, where: {id: {trigger: id}}}",
        "steps: [{update: {a: {trigger: b}}}]",
        "goal: {trigger: {value: 1}}",
    ],
)
def test_trigger_reference_in_a_segment_triggered_journey_is_a_load_error(ref: str) -> None:
    with pytest.raises(InputError):
        plan_of(
            _scenario(
                f"""
  journeys:
    seg_j:
      trigger: {{segment: browsing}}
      {ref}
""",
                "  []",
                "  []",
            )
        )


GOAL = """
  journeys:
    j:
      trigger: {event: checkout_started}
      goal: GOAL
      exit: EXIT
      steps: [{wait: 1h}, {send: first}, {wait: 1h}, {send: second}]
"""


def test_goal_already_true_at_entry_ends_the_run_with_goal_running_no_step() -> None:
    passes(
        _scenario(
            GOAL.replace("GOAL", "{attribute: paid, eq: true}")
            .replace("EXIT", "goal")
            .replace("steps: [", "steps: [{update: {touched: true}}, "),
            "  - {at: 0m, who: ana, identify: {attributes: {paid: true}}}\n"
            "  - {at: 1m, who: ana, track: checkout_started}",
            """
  - {who: ana, journey: j, entered: 1}
  - {who: ana, journey: j, exited: goal}
  - {who: ana, journey: j, sent: []}
""",
        )
    )


def test_goal_looks_forward_from_the_trigger() -> None:
    passes(
        _scenario(
            GOAL.replace("GOAL", "{performed: order_completed}").replace("EXIT", "goal"),
            "  - {at: 0m, who: ana, track: order_completed}\n  - {at: 1m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, sent: [first, second]}\n  - {who: ana, journey: j, exited: completed}",
        )
    )


def test_goal_later_by_processing_order_at_one_timestamp() -> None:
    # same timestamp, processed after the trigger: later, so it meets the goal
    passes(
        _scenario(
            GOAL.replace("GOAL", "{performed: order_completed}").replace("EXIT", "goal"),
            "  - {at: 0m, who: ana, track: checkout_started}\n  - {at: 0m, who: ana, track: order_completed}",
            "  - {who: ana, journey: j, sent: []}\n  - {who: ana, journey: j, exited: goal}",
        )
    )


def test_goal_by_processing_order_an_earlier_processed_event_does_not_count() -> None:
    passes(
        _scenario(
            GOAL.replace("GOAL", "{performed: order_completed}").replace("EXIT", "goal"),
            "  - {at: 0m, who: ana, track: order_completed}\n  - {at: 0m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, sent: [first, second]}",
        )
    )


@pytest.mark.parametrize(
    ("exit", "sent", "exited"),
    [
        ("goal", "[first]", "goal"),
        ("goal_or_stop_matching", "[first]", "goal"),
        ("stop_matching", "[first, second]", "completed"),
        ("never", "[first, second]", "completed"),
    ],
)
def test_goal_ends_runs_only_under_goal_exits(exit: str, sent: str, exited: str) -> None:
    passes(
        _scenario(
            GOAL.replace("GOAL", "{performed: order_completed}").replace("EXIT", exit),
            "  - {at: 0m, who: ana, track: checkout_started}\n  - {at: 1h30m, who: ana, track: order_completed}",
            f"  - {{who: ana, journey: j, sent: {sent}}}\n  - {{who: ana, journey: j, exited: {exited}}}",
        )
    )


def test_goal_met_by_an_attribute_update_or_segment_join() -> None:
    passes(
        _scenario(
            GOAL.replace("GOAL", "{in_segment: paid}").replace("EXIT", "goal"),
            "  - {at: 0m, who: ana, track: checkout_started}\n"
            "  - {at: 30m, who: ana, identify: {attributes: {paid: true}}}",
            "  - {who: ana, journey: j, sent: []}\n  - {who: ana, journey: j, exited: goal}",
        )
    )


def test_goal_met_by_a_window_closing() -> None:
    result = passes(
        _scenario(
            GOAL.replace("GOAL", "{not: {in_segment: browsing}}").replace("EXIT", "goal"),
            "  - {at: 0m, who: ana, track: product_viewed}\n  - {at: 10m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, sent: []}\n  - {who: ana, journey: j, exited: goal}",
        )
    )
    (run,) = result.outcome.platform.runs
    assert run.ended_at is not None and run.ended_at - result.plan.start == 3600


FILTER_EXIT = """
  journeys:
    j:
      trigger: {event: checkout_started}
      filter: {not_performed: order_completed, after: checkout_started}
      exit: EXIT
      steps:
        - wait: 1h
        - branch:
            if: {performed: product_viewed}
            then: [{send: then_message}]
            else: [{send: else_message}]
        - send: after_branch
"""


@pytest.mark.parametrize(
    ("exit", "sent", "exited"),
    [
        ("stop_matching", "[]", "stopped_matching"),
        ("goal_or_stop_matching", "[]", "stopped_matching"),
        ("never", "[else_message, after_branch]", "completed"),
        ("goal", "[else_message, after_branch]", "completed"),
    ],
)
def test_stop_matching_retests_the_filter_when_a_wait_ends(exit: str, sent: str, exited: str) -> None:
    passes(
        _scenario(
            FILTER_EXIT.replace("EXIT", exit),
            "  - {at: 0m, who: ana, track: checkout_started}\n  - {at: 30m, who: ana, track: order_completed}",
            f"  - {{who: ana, journey: j, sent: {sent}}}\n  - {{who: ana, journey: j, exited: {exited}}}",
        )
    )


def test_exit_defaults_to_stop_matching() -> None:
    passes(
        _scenario(
            FILTER_EXIT.replace("      exit: EXIT\n", ""),
            "  - {at: 0m, who: ana, track: checkout_started}\n  - {at: 30m, who: ana, track: order_completed}",
            "  - {who: ana, journey: j, exited: stopped_matching}",
        )
    )


def test_branch_continues_with_the_step_after_it_and_sees_the_whole_profile() -> None:
    passes(
        _scenario(
            FILTER_EXIT.replace("EXIT", "stop_matching"),
            "  - {at: -1h, who: ana, track: product_viewed}\n  - {at: 0m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, sent: [then_message, after_branch]}\n"
            "  - {who: ana, journey: j, exited: completed}",
            head="start: 2026-01-01T01:00:00Z",
        ).replace("at: -1h", "at: 2026-01-01T00:00:00Z")
    )


def test_stop_matching_retests_before_a_send_inside_a_branch() -> None:
    # the filter turns false at the same instant the wait ends, before the branch's send
    passes(
        _scenario(
            """
  journeys:
    j:
      trigger: {event: checkout_started}
      filter: {not: {attribute: unsubscribed, eq: true}}
      exit: stop_matching
      steps:
        - update: {unsubscribed: true}
        - branch:
            if: {attribute: unsubscribed, eq: true}
            then: [{send: then_message}]
            else: [{send: else_message}]
""",
            "  - {at: 0m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, sent: []}\n  - {who: ana, journey: j, exited: stopped_matching}",
        )
    )


WAIT_UNTIL = """
  journeys:
    j:
      trigger: {event: checkout_started}
      exit: never
      steps:
        - wait_until:
            condition: {performed: order_completed}
            max: 2h
            then: [{send: thanks}, {wait: 1h}, {send: review_request}]
        - send: reminder
"""


def test_wait_until_met_runs_then_steps_with_a_wait_then_ends_completed() -> None:
    result = passes(
        _scenario(
            WAIT_UNTIL,
            "  - {at: 0m, who: ana, track: checkout_started}\n  - {at: 30m, who: ana, track: order_completed}",
            """
  - {who: ana, journey: j, sent: [thanks, review_request]}
  - {who: ana, journey: j, exited: completed}
  - {who: ana, journey: j, sent: [thanks], within: [30m, 30m]}
  - {who: ana, journey: j, sent: [review_request], within: [1h30m, 1h30m]}
""",
        )
    )
    (run,) = result.outcome.platform.runs
    assert run.ended_at is not None and run.ended_at - result.plan.start == 5400


def test_wait_until_not_met_by_max_goes_on_with_the_next_step() -> None:
    passes(
        _scenario(
            WAIT_UNTIL,
            "  - {at: 0m, who: ana, track: checkout_started}\n  - {at: 3h, who: ana, track: order_completed}",
            "  - {who: ana, journey: j, sent: [reminder], within: [2h, 2h]}\n"
            "  - {who: ana, journey: j, exited: completed}",
        )
    )


def test_wait_until_already_true_does_not_wait() -> None:
    passes(
        _scenario(
            WAIT_UNTIL.replace("{performed: order_completed}", "{attribute: paid, eq: true}"),
            "  - {at: 0m, who: ana, identify: {attributes: {paid: true}}}\n"
            "  - {at: 1m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, sent: [thanks], within: [1m, 1m]}",
        )
    )


def test_wait_until_looks_forward_from_the_trigger() -> None:
    passes(
        _scenario(
            WAIT_UNTIL,
            "  - {at: 0m, who: ana, track: order_completed}\n  - {at: 1m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, sent: [reminder]}",
        )
    )


def test_wait_until_empty_then_ends_the_run_at_once() -> None:
    passes(
        _scenario(
            WAIT_UNTIL.replace("then: [{send: thanks}, {wait: 1h}, {send: review_request}]", "then: []"),
            "  - {at: 0m, who: ana, track: checkout_started}\n  - {at: 30m, who: ana, track: order_completed}",
            "  - {who: ana, journey: j, sent: []}\n  - {who: ana, journey: j, exited: completed}",
        )
    )


def test_segment_triggered_goal_counts_events_stamped_after_entry() -> None:
    passes(
        _scenario(
            """
  journeys:
    j:
      trigger: {segment: browsing}
      goal: {performed: product_viewed}
      exit: goal
      steps: [{wait: 30m}, {send: m}]
""",
            "  - {at: 0m, who: ana, track: product_viewed}\n  - {at: 10m, who: ben, track: product_viewed}"
            "\n  - {at: 20m, who: ben, track: product_viewed}",
            """
  - {who: ana, journey: j, sent: [m]}
  - {who: ben, journey: j, sent: []}
  - {who: ben, journey: j, exited: goal}
""",
        )
    )


def test_until_cuts_a_run_open() -> None:
    passes(
        _scenario(
            GOAL.replace("GOAL", "{performed: order_completed}").replace("EXIT", "goal"),
            "  - {at: 0m, who: ana, track: checkout_started}",
            "  - {who: ana, journey: j, exited: open}\n  - {who: ana, journey: j, sent: [first]}",
            head="until: 90m",
        )
    )


def test_a_run_with_no_next_step_ends_completed() -> None:
    result = passes(
        _scenario(
            SIMPLE.replace("FREQ", ""),
            "  - {at: 0m, who: ana, track: go}",
            "  - {who: ana, journey: j, exited: completed}",
        )
    )
    (run,) = result.outcome.platform.runs
    assert run.ended_at == result.plan.start


def test_trigger_reference_stands_for_the_triggering_events_property() -> None:
    passes(
        _scenario(
            """
  journeys:
    j:
      trigger: {event: checkout_started}
      goal: {performed: order_completed, where: {checkout_id: {trigger: checkout_id}}}
      exit: goal
      steps: [{wait: 1h}, {send: m}]
""",
            """
  - {at: 0m, who: ana, track: checkout_started, properties: {checkout_id: ck_1}}
  - {at: 0m, who: ben, track: checkout_started, properties: {checkout_id: ck_2}}
  - {at: 10m, who: ana, track: order_completed, properties: {checkout_id: ck_1}}
  - {at: 10m, who: ben, track: order_completed, properties: {checkout_id: ck_1}}
""",
            "  - {who: ana, journey: j, sent: []}\n  - {who: ben, journey: j, sent: [m]}",
        )
    )
