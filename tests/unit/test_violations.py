"""SPEC 9: the four invariants and every cause, first that applies."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.checks.evidence import Evidence, Violation
from simulator.checks.expectations import ScenarioResult
from simulator.model.plan import Plan
from simulator.pipeline import simulate

Judge = Callable[..., ScenarioResult]

RECOVERY = """
scenario: s
workspace:
  rules: {RULES}
  identity: {IDENTITY}
  sources: {orders: {kind: server, identify_by: email}}
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed, where: {value: {gt: 0}}}
      exit: EXIT
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
"""


def recovery(steps: str, exit_setting: str = "goal", rules: str = "", identity: str = "") -> str:
    text = RECOVERY.replace("EXIT", exit_setting).replace("{RULES}", "{" + rules + "}")
    text = text.replace("{IDENTITY}", "{" + identity + "}")
    return text + "".join(f"  - {line.strip()}\n" for line in steps.strip().splitlines())


def found(result: ScenarioResult) -> list[tuple[str, str, str]]:
    return [(v.kind, v.who, v.cause) for v in result.violations]


# ------------------------------------------------------------------ clean stories


def test_a_clean_story_has_no_violation(judge: Judge) -> None:
    result = judge(
        recovery(
            """
            {at: 0s, who: ana, device: phone, identify: true}
            {at: 1m, who: ana, device: phone, track: checkout_started}
            {at: 10m, who: ana, track: order_completed, properties: {value: 5}}
            """
        )
    )
    assert result.violations == []
    assert [r.reason for r in result.outcome.platform.runs] == ["goal"]


# ------------------------------------------------------------------ ghost abandons


@pytest.mark.parametrize(
    ("order", "cause"),
    [
        ("{at: 10m, who: ana, track: order_completed, properties: {value: 5}, drop: true}", "dropped"),
        ("{at: 10m, who: ana, track: order_completed, properties: {value: 5}, latency: 2h}", "late_arrival"),
        ("{at: 10m, who: ana, track: order_completed, properties: {value: 5}, source: orders}", "identity_split"),
        ("{at: 10m, who: ana, track: Order Completed, properties: {value: 5}}", "name_mismatch"),
        ("{at: 10m, who: ana, track: order_completed, properties: {value: '5'}}", "type_mismatch"),
        ("{at: 10m, who: ana, track: order_completed, properties: {value: 5}, timestamp: 0s}", "clock_skew"),
        # stamped at its send instant it would still not count: the later cause it has
        ("{at: 10m, who: ana, track: Order Completed, properties: {value: 5}, timestamp: 0s}", "name_mismatch"),
        ("{at: 10m, who: ana, track: order_completed, properties: {value: '5'}, timestamp: 0s}", "type_mismatch"),
    ],
)
def test_ghost_abandon_causes(judge: Judge, order: str, cause: str) -> None:
    result = judge(
        recovery(
            f"""
            {{at: 1m, who: ana, track: checkout_started}}
            {order}
            """
        )
    )
    ghosts = [v for v in result.violations if v.kind == "ghost_abandon"]
    assert [(v.who, v.journey, v.message, v.cause) for v in ghosts] == [("ana", "recovery", "reminder", cause)]
    assert ghosts[0].explanation


def test_ghost_abandon_exit_setting(judge: Judge) -> None:
    result = judge(
        recovery(
            """
            {at: 0s, who: ana, track: checkout_started}
            {at: 10m, who: ana, track: order_completed, properties: {value: 5}}
            """,
            exit_setting="never",
        )
    )
    assert found(result) == [("ghost_abandon", "ana", "exit_setting")]


FILTERED = """
scenario: s
workspace:
  journeys:
    recovery:
      trigger: {event: checkout_started}
      filter: {not_performed: order_completed, after: checkout_started, where: {value: {gte: 50}}}
      GOAL
      exit: EXIT
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, device: laptop, identify: true}
"""


@pytest.mark.parametrize(
    ("order", "goal", "exit_setting", "cause"),
    [
        # The order is the goal's event and one the filter excludes: under stop_matching
        # the exit consults the filter, whose where fails only by type.
        ("properties: {value: '80'}", "goal: {performed: order_completed}", "stop_matching", "type_mismatch"),
        ("properties: {value: '80'}", "", "stop_matching", "type_mismatch"),
        # Stamped before the checkout: the filter's `after` misses it; stamped right, it would count.
        ("properties: {value: 80}, timestamp: 1m", "goal: {performed: order_completed}", "stop_matching", "clock_skew"),
        ("properties: {value: 80}, timestamp: 1m", "", "stop_matching", "clock_skew"),
        # Under `never` nothing consults either.
        ("properties: {value: '80'}", "goal: {performed: order_completed}", "never", "exit_setting"),
    ],
)
def test_an_event_both_goal_and_filter_is_judged_in_the_role_the_exit_consults(
    judge: Judge, order: str, goal: str, exit_setting: str, cause: str
) -> None:
    text = FILTERED.replace("GOAL", goal).replace("EXIT", exit_setting)
    text += "  - {at: 5m, who: ana, device: laptop, track: checkout_started}\n"
    text += f"  - {{at: 20m, who: ana, source: backend, track: order_completed, {order}}}\n"
    assert found(judge(text)) == [("ghost_abandon", "ana", cause)]


def test_an_order_no_later_than_a_checkout_stamped_ahead_is_not_clock_skew(judge: Judge) -> None:
    """The checkout is stamped 2h ahead; the order, sent an hour after it, is
    stamped 30m late. Stamped when it was sent it is still before the
    checkout's stamp, so the filter's `after` would still miss it: not its skew
    (the checkout's is a sibling's: `other`, as with the order stamped right)."""
    text = FILTERED.replace("GOAL", "").replace("EXIT", "stop_matching").replace(", where: {value: {gte: 50}}", "")
    text += "  - {at: 5m, who: ana, device: laptop, track: checkout_started, timestamp: 2h5m}\n"
    for stamp in (", timestamp: 1h35m", ""):
        story = text + f"  - {{at: 1h5m, who: ana, source: backend, track: order_completed{stamp}}}\n"
        assert found(judge(story)) == [("ghost_abandon", "ana", "other")], stamp


SKEWED = """
scenario: s
workspace:
  journeys:
    recovery:
      trigger: {event: checkout_started}
      RULE
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, device: laptop, identify: true}
"""


@pytest.mark.parametrize(
    ("rule", "steps"),
    [
        # Stamped right, the order would tie with the checkout's stamp, but it was
        # processed first (the checkout took 2h to arrive): still not later.
        (
            "goal: {performed: order_completed}\n      exit: goal",
            [
                "{at: 10m, who: ana, device: laptop, track: checkout_started, latency: 2h}",
                "{at: 10m, who: ana, source: backend, track: order_completed STAMP}",
            ],
        ),
        # The filter reads orders after the latest checkout: the one at 30m, later than
        # the order however it is stamped.
        (
            "filter: {not_performed: order_completed, after: checkout_started}\n      exit: stop_matching",
            [
                "{at: 5m, who: ana, device: laptop, track: checkout_started}",
                "{at: 20m, who: ana, source: backend, track: order_completed STAMP}",
                "{at: 30m, who: ana, device: laptop, track: checkout_started}",
            ],
        ),
    ],
    ids=["a tie processed before the trigger", "an after: event later than the trigger"],
)
def test_clock_skew_only_when_the_right_stamp_would_make_the_event_later(
    judge: Judge, rule: str, steps: list[str]
) -> None:
    """Stamped at its send instant it would not have counted either: the skew
    changed nothing, so the cause is what the same story stamped right gets."""
    for stamp in (", timestamp: 1m", ""):
        story = SKEWED.replace("RULE", rule) + "".join(f"  - {step.replace(' STAMP', stamp)}\n" for step in steps)
        assert [v.cause for v in judge(story).violations if v.kind == "ghost_abandon"] == ["other"], stamp


AFTER_CS = """
scenario: s
workspace:
  journeys:
    j:
      trigger: {event: cs}
      RULE
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, source: backend, track: cs}
"""


@pytest.mark.parametrize(
    ("rule", "steps", "cause"),
    [
        # The goal's own `after: cs` reads orders later than the 20m cs: the order sent
        # at 10m is not, however it is stamped.
        (
            "goal: {performed: order, after: cs}\n      exit: goal\n      steps: [{wait: 1h}, {send: A}]",
            [
                "{at: 10m, who: ana, source: backend, track: order, latency: 30m, timestamp: '2025-12-31T23:00:00Z'}",
                "{at: 20m, who: ana, source: backend, track: cs}",
            ],
            "other",
        ),
        # A cs stamped a day ahead is not read yet when the message goes out: the order,
        # stamped right, would have been after the cs at 0m.
        (
            "filter: {not_performed: order, after: cs}\n      exit: stop_matching\n"
            "      steps: [{wait: 1h}, {send: A}]",
            [
                "{at: 10m, who: ana, source: backend, track: order, timestamp: '2025-12-31T23:00:00Z'}",
                "{at: 20m, who: ana, source: backend, track: cs, timestamp: 1d}",
            ],
            "clock_skew",
        ),
        # A cs delivered at the message's instant but after it was not read by then.
        (
            "filter: {not_performed: order, after: cs}\n      exit: stop_matching\n      frequency: once\n"
            "      steps: [{wait_until: {condition: {performed: ping}, max: 5h, then: [{send: A}]}}]",
            [
                "{at: 10m, who: ana, source: backend, track: order, timestamp: '2025-12-31T23:00:00Z'}",
                "{at: 1h, who: ana, source: backend, track: ping}",
                "{at: 1h, who: ana, source: backend, track: cs}",
            ],
            "clock_skew",
        ),
    ],
    ids=["a goal's own after", "an after event stamped ahead", "an after event processed after the message"],
)
def test_clock_skew_weighs_the_after_events_the_rule_read_when_the_message_went_out(
    judge: Judge, rule: str, steps: list[str], cause: str
) -> None:
    story = AFTER_CS.replace("RULE", rule) + "".join(f"  - {step}\n" for step in steps)
    assert [v.cause for v in judge(story).violations if v.kind == "ghost_abandon"] == [cause]


@pytest.mark.parametrize("exit_setting", ["goal", "never"])
def test_a_goal_arriving_at_the_messages_instant_but_processed_after_it_is_late(
    judge: Judge, exit_setting: str
) -> None:
    # One batch brings the trigger and the order at 1h: the trigger's run sends at
    # once, before the order (later in send order) is processed.
    text = f"""
scenario: s
workspace:
  sources: {{app: {{kind: client, latency: {{batch: {{every: 1h}}}}}}}}
  journeys:
    browse:
      trigger: {{event: product_viewed}}
      goal: {{performed: added_to_cart}}
      exit: {exit_setting}
      steps: [{{send: browse_1}}]
shoppers: {{ben: {{email: ben@example.com}}}}
timeline:
  - {{at: 0m, who: ben, device: phone, source: app, identify: true}}
  - {{at: 26m, who: ben, device: phone, source: app, track: product_viewed}}
  - {{at: 31m, who: ben, device: phone, source: app, track: added_to_cart}}
"""
    result = judge(text)
    assert found(result) == [("ghost_abandon", "ben", "late_arrival")]


def test_an_identify_goal_arriving_at_the_messages_instant_but_processed_after_it_is_late(judge: Judge) -> None:
    text = """
scenario: s
workspace:
  sources: {app: {kind: client, latency: {batch: {every: 1h}}}}
  journeys:
    browse:
      trigger: {event: product_viewed}
      goal: {attribute: vip, eq: true}
      exit: goal
      steps: [{send: browse_1}]
shoppers: {ben: {email: ben@example.com}}
timeline:
  - {at: 0m, who: ben, device: phone, source: app, identify: true}
  - {at: 26m, who: ben, device: phone, source: app, track: product_viewed}
  - {at: 31m, who: ben, device: phone, source: app, identify: {attributes: {vip: true}}}
"""
    assert found(judge(text)) == [("ghost_abandon", "ben", "late_arrival")]


def test_other_names_a_trigger_stamped_after_the_goal(judge: Judge) -> None:
    # The goal looks forward from the trigger's stamp (+1h): the order at 10m is
    # behind it. The deciding event was stamped right, so the cause is other.
    result = judge(
        recovery(
            """
            {at: 5m, who: ana, track: checkout_started, timestamp: 1h}
            {at: 10m, who: ana, track: order_completed, properties: {value: 5}}
            """
        )
    )
    assert found(result) == [("ghost_abandon", "ana", "other")]
    assert (
        "the run's trigger, which was stamped +1h00m, not its send instant +0h05m" in result.violations[0].explanation
    )


SEGMENT_FILTER = """
scenario: s
workspace:
  rules: {RULES}
  segments:
    abandoners:
      rule:
        all:
          - {performed: checkout_started, within: 2h}
          - {not_performed: order_completed, after: checkout_started}
    buyers: {rule: {performed: order_completed}}
  journeys:
    cart:
      trigger: {event: checkout_started}
      filter: FILTER
      exit: stop_matching
      steps: [{wait: 1h}, {send: m1}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, source: backend, identify: true}
  - {at: 0m, who: ana, source: backend, track: checkout_started}
  - {at: 10m, who: ana, source: backend, track: order_completed, latency: LATENCY}
"""


@pytest.mark.parametrize(
    ("filter_", "rules", "latency", "cause"),
    [
        ("{in_segment: abandoners}", "", "55m", "late_arrival"),
        ("{not: {in_segment: buyers}}", "", "55m", "late_arrival"),
        ("{not: {in_segment: buyers}}", "segment_refresh: 1h", "0s", "refresh_lag"),
    ],
)
def test_a_filter_excludes_what_the_segments_it_reads_exclude(
    judge: Judge, filter_: str, rules: str, latency: str, cause: str
) -> None:
    """SPEC 9, read by meaning: a filter reading a debug segment waits for what the
    segment's rule excludes (an order after the checkout); the reminder sent after
    the order is a ghost, with the cause of why the filter did not see it."""
    text = SEGMENT_FILTER.replace("FILTER", filter_).replace("LATENCY", latency).replace("{RULES}", "{" + rules + "}")
    assert found(judge(text)) == [("ghost_abandon", "ana", cause)]


@pytest.mark.parametrize(
    ("counted", "ghosts"), [("{eq: 0}", [("ghost_abandon", "ana", "late_arrival")]), ("{lt: 2}", [])]
)
def test_a_count_one_order_turns_false_excludes_it(judge: Judge, counted: str, ghosts: list[object]) -> None:
    """`performed: order, count: {eq: 0}` is `not_performed: order` by meaning: the
    order it excludes, arriving after the reminder, makes a ghost; `lt: 2` still
    holds after one order, so the reminder after it is no ghost."""
    text = SEGMENT_FILTER.replace("FILTER", f"{{performed: order_completed, count: {counted}}}")
    assert found(judge(text.replace("LATENCY", "55m").replace("{RULES}", "{}"))) == ghosts


def test_a_filter_reading_a_segment_the_order_does_not_change_has_no_ghost(judge: Judge) -> None:
    text = SEGMENT_FILTER.replace("FILTER", "{in_segment: shoppers}").replace("LATENCY", "55m").replace("{RULES}", "{}")
    text = text.replace("    buyers:", "    shoppers: {rule: {performed: checkout_started}}\n    buyers:")
    assert found(judge(text)) == []


def test_an_exit_setting_ghost_says_when_consulting_the_filter_would_not_have_helped(judge: Judge) -> None:
    """SPEC 9's `exit_setting` applies (the exit never re-tests the filter), and the
    explanation adds that a re-test would still have passed: another checkout came
    after the order, and the filter reads only orders after the latest checkout."""
    text = SEGMENT_FILTER.replace("FILTER", "{not_performed: order_completed, after: checkout_started}")
    text = text.replace(
        "exit: stop_matching",
        "goal: {performed: order_completed, where: {checkout_id: {trigger: checkout_id}}}\n      exit: goal",
    )
    text = text.replace(
        "track: order_completed, latency: LATENCY}", "track: order_completed, properties: {checkout_id: c9}}"
    )
    text = text.replace("track: checkout_started}", "track: checkout_started, properties: {checkout_id: c1}}")
    text = (
        text.replace("{RULES}", "{}")
        + "  - {at: 20m, who: ana, source: backend, track: checkout_started, properties: {checkout_id: c2}}\n"
    )
    result = judge(text)
    assert found(result)[0] == ("ghost_abandon", "ana", "exit_setting")
    explanation = result.violations[0].explanation
    assert "exit: goal never re-tests the filter (consulted, it would not have ended the run either" in explanation
    assert "another checkout_started was sent at +0h20m" in explanation
    # the second checkout arriving after the message could not have kept the run on: not said
    # nor one arriving after the message, nor one stamped before the order: neither hides it
    for change in ("checkout_id: c2}, latency: 3h}", "checkout_id: c2}, timestamp: 5m}"):
        other = judge(text.replace("checkout_id: c2}}", change))
        (ghost,) = [v for v in other.violations if v.kind == "ghost_abandon"]
        assert ghost.cause == "exit_setting"
        assert ghost.explanation.endswith("exit: goal never re-tests the filter"), change


@pytest.mark.parametrize("any_of", ["{in_segment: abandoners}", "{not_performed: order_completed}"])
def test_a_compound_filter_the_shopper_still_meets_excludes_nothing(judge: Judge, any_of: str) -> None:
    """SPEC 8: a filter sees the whole profile. `any: [..., performed: checkout_started]`
    still holds after the order (the checkout before it counts), so the run rightly
    went on and the reminder is no ghost."""
    text = SEGMENT_FILTER.replace("FILTER", f"{{any: [{any_of}, {{performed: checkout_started}}]}}")
    assert found(judge(text.replace("LATENCY", "0s").replace("{RULES}", "{}"))) == []


def test_other_names_a_trigger_that_arrived_after_a_goal_stamped_the_same_second(judge: Judge) -> None:
    """SPEC 9: `other` says what differed. The order was sent the same second as the
    checkout, after it, but the checkout arrived 30s later: of one second's events
    the platform counts the one processed first as the earlier."""
    result = judge(
        recovery(
            """
            {at: 1m, who: ana, track: checkout_started, latency: 30s}
            {at: 1m, who: ana, track: order_completed, properties: {value: 5}}
            """
        )
    )
    assert found(result) == [("ghost_abandon", "ana", "other")]
    explanation = result.violations[0].explanation
    assert "stamped the same second as the run's trigger (checkout_started, sent before it)" in explanation
    assert "(+0h01m; the trigger at +0h01m30s)" in explanation


def test_other_names_a_trigger_stamped_after_the_order_a_filter_reads_after_it(judge: Judge) -> None:
    """SPEC 9: `other` says what differed. The filter excludes orders after the
    latest checkout, and the checkout was stamped after the order."""
    text = """
scenario: s
workspace:
  journeys:
    cr:
      trigger: {event: checkout_started}
      filter: {not_performed: order_completed, after: checkout_started}
      exit: stop_matching
      steps: [{wait: 1h}, {send: m1}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, source: backend, identify: true}
  - {at: 1m, who: ana, source: backend, track: checkout_started, timestamp: 50m}
  - {at: 30m, who: ana, source: backend, track: order_completed}
"""
    result = judge(text)
    assert found(result) == [("ghost_abandon", "ana", "other")]
    assert (
        "the filter reads only order_completed events after the latest checkout_started, and the run's trigger "
        "was stamped +0h50m, not its send instant +0h01m"
    ) in result.violations[0].explanation


def test_a_skewed_goal_under_an_exit_that_never_consults_it_is_still_clock_skew(judge: Judge) -> None:
    # The first cause that applies (SPEC 9): stamped at its send instant the goal would have counted
    # it (SPEC 6's "count"), as a drifted name keeps `name_mismatch` under such an exit. Unskewed,
    # the same order under that exit is `exit_setting`.
    order = "{at: 10m, who: ana, track: order_completed, properties: {value: 5}"
    skewed = recovery("{at: 1m, who: ana, track: checkout_started}\n" + order + ", timestamp: 12m}", "stop_matching")
    assert found(judge(skewed)) == [("ghost_abandon", "ana", "clock_skew")]
    plain = recovery("{at: 1m, who: ana, track: checkout_started}\n" + order + "}", "stop_matching")
    assert found(judge(plain)) == [("ghost_abandon", "ana", "exit_setting")]


def test_a_segment_triggered_run_entering_at_a_sweep_keeps_its_drifted_goals_cause(judge: Judge) -> None:
    # Refreshed, the run enters at the 1h sweep and sends at 3h; live, at 10m and
    # 2h10m: the message goes out either way, so the drifted name decides it.
    text = """
scenario: s
workspace:
  rules: {segment_refresh: 1h}
  segments: {browsers: {rule: {performed: browse}}}
  journeys:
    winback:
      trigger: {segment: browsers}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 2h}, {send: hi}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 10m, who: ana, track: browse}
  - {at: 1h30m, who: ana, track: Order Completed}
"""
    assert found(judge(text)) == [("ghost_abandon", "ana", "name_mismatch")]


@pytest.mark.parametrize(
    ("exit_setting", "order", "cause"),
    [
        ("never", "{at: 10m, who: ana, track: order_completed, properties: {order_id: o_1}}", "exit_setting"),
        (
            "goal",
            "{at: 10m, who: ana, track: order_completed, properties: {order_id: o_1}, timestamp: 2026-01-09T23:00:00Z}",
            "clock_skew",
        ),
    ],
)
def test_an_order_merged_into_the_runs_profile_before_the_message_is_judged_there(
    judge: Judge, exit_setting: str, order: str, cause: str
) -> None:
    # The order lands on the email profile; the identify at 20m merges it into the
    # run's: the split healed before the message, so what kept it from counting decides.
    text = f"""
scenario: s
start: 2026-01-10T00:00:00Z
workspace:
  sources: {{backend: {{kind: server, latency: 0s, identify_by: email}}}}
  journeys:
    j:
      trigger: {{event: checkout_started}}
      goal: {{performed: order_completed}}
      exit: {exit_setting}
      steps: [{{wait: 1h}}, {{send: m1}}]
shoppers: {{ana: {{id: cus_1, email: ana@example.com}}}}
timeline:
  - {{at: 0m, who: ana, device: phone, identify: {{with: [id]}}}}
  - {{at: 1m, who: ana, device: phone, track: checkout_started, properties: {{checkout_id: ck_1}}}}
  - {order}
  - {{at: 20m, who: ana, identify: true}}
"""
    assert found(judge(text)) == [("ghost_abandon", "ana", cause)]


def test_a_goal_read_through_a_thousand_segments_is_judged_on_the_ideal_profile(judge: Judge) -> None:
    # Each segment reads the next; the last reads the order. The ghost check
    # evaluates the chain on the ideal profile, one level at a time.
    n = 1000
    chain = "".join(f"    s{i}: {{rule: {{in_segment: s{i + 1}}}}}\n" for i in range(n - 1))
    text = f"""
scenario: s
workspace:
  segments:
{chain}    s{n - 1}: {{rule: {{performed: order_completed}}}}
  journeys:
    j:
      trigger: {{event: checkout_started}}
      goal: {{in_segment: s0}}
      exit: never
      steps: [{{wait: 1h}}, {{send: m}}]
shoppers: {{ana: {{id: cus_1}}}}
timeline:
  - {{at: 0m, who: ana, track: checkout_started}}
  - {{at: 10m, who: ana, track: order_completed}}
"""
    assert found(judge(text)) == [("ghost_abandon", "ana", "exit_setting")]


@pytest.mark.parametrize("again", ["", "  - {at: 3h, who: ana, track: checkout_started}\n"])
def test_a_later_run_of_the_shopper_is_no_twin_of_a_refreshed_segment_triggered_run(judge: Judge, again: str) -> None:
    # Refreshed, the run enters at the 1h sweep and reminds at 1h30m, after the
    # order (1h10m) the stale `buyers` has not seen; live, it reminds at 40m,
    # before it. A run entered at 3h (live) is another run, not this one's twin.
    text = (
        """
scenario: s
workspace:
  rules: {segment_refresh: 1h}
  segments:
    checkouters: {rule: {performed: checkout_started, within: 2h}}
    buyers: {rule: {performed: order_completed, within: 1h}}
  journeys:
    nudge:
      trigger: {segment: checkouters}
      frequency: every_time
      goal: {in_segment: buyers}
      exit: goal
      steps: [{wait: 30m}, {send: m}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 10m, who: ana, track: checkout_started}
  - {at: 1h10m, who: ana, track: order_completed}
"""
        + again
    )
    assert ("ghost_abandon", "ana", "refresh_lag") in found(judge(text))


def test_ghost_abandon_merge_lost(judge: Judge) -> None:
    # The order lands on the email profile; the merge a day later leaves it behind (window 1h).
    text = recovery(
        """
        {at: 0s, who: ana, track: checkout_started}
        {at: 10m, who: ana, source: orders, track: order_completed, properties: {value: 5}}
        {at: 11m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}, latency: 30m}
        """,
        identity="merge_event_window: 1m",
    )
    result = judge(text)
    assert ("ghost_abandon", "ana", "merge_lost") in found(result)


def test_ghost_abandon_refresh_lag(judge: Judge) -> None:
    text = """
scenario: s
workspace:
  rules: {segment_refresh: 1h}
  segments: {buyers: {rule: {performed: order_completed}}}
  journeys:
    recovery:
      trigger: {event: checkout_started}
      filter: {not_performed: order_completed, after: checkout_started}
      goal: {in_segment: buyers}
      exit: goal
      steps: [{wait: 30m}, {send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 1m, who: ana, track: checkout_started}
  - {at: 10m, who: ana, track: order_completed}
"""
    assert found(judge(text)) == [("ghost_abandon", "ana", "refresh_lag")]


@pytest.mark.parametrize(
    ("order", "exit_setting", "cause"),
    [
        # The segment would not have held a drifted name or a string value, refreshed or not.
        ("{at: 10m, who: ana, track: Order Completed, properties: {value: 5}}", "goal", "name_mismatch"),
        ("{at: 10m, who: ana, track: order_completed, properties: {value: '5'}}", "goal", "type_mismatch"),
        # exit: never sends the reminder whatever the segment holds.
        ("{at: 10m, who: ana, track: order_completed, properties: {value: 5}}", "never", "exit_setting"),
    ],
)
def test_a_refreshed_segment_is_not_the_cause_when_the_message_goes_out_without_refresh_too(
    judge: Judge, order: str, exit_setting: str, cause: str
) -> None:
    # SPEC 9's refresh_lag: "without rules.segment_refresh, it would have counted".
    text = f"""
scenario: s
workspace:
  rules: {{segment_refresh: 1h}}
  segments: {{buyers: {{rule: {{performed: order_completed, where: {{value: {{gte: 1}}}}}}}}}}
  journeys:
    recovery:
      trigger: {{event: checkout_started}}
      goal: {{in_segment: buyers}}
      exit: {exit_setting}
      steps: [{{wait: 2h}}, {{send: reminder}}]
shoppers: {{ana: {{id: cus_1}}}}
timeline:
  - {{at: 1m, who: ana, track: checkout_started}}
  - {order}
"""
    assert found(judge(text)) == [("ghost_abandon", "ana", cause)]


SPLIT_THEN_MERGED = """
scenario: s
workspace:
  sources: {backend: {kind: server, identify_by: email, latency: 3h}}
  identity: {merge_event_window: WINDOW}
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      steps: [{wait: 2h}, {send: reminder}]
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0m, who: ana, device: laptop, identify: {with: [id]}}
  - {at: 1m, who: ana, device: laptop, track: checkout_started}
  - {at: 2m, who: ana, identify: {with: [email]}, latency: 0s}
  - {at: 10m, who: ana, track: order_completed}
  - MERGE
"""


@pytest.mark.parametrize("window", ["1h", "30d"])  # the order left behind, or moved
@pytest.mark.parametrize(
    ("merge", "cause"),
    [
        # The order lands at 3h10m on the email profile (made at 2m), after the reminder (2h01m).
        # Merged after it landed, even in that instant: delivered on time it would
        # still have sat on the email profile when the reminder went out.
        (
            "{at: 3h10m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}, latency: 0s}",
            "identity_split",
        ),
        ("{at: 4h, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}, latency: 0s}", "identity_split"),
        # Merged earlier in that instant (sent first): the order lands on the run's
        # profile; only its lateness let the reminder out.
        ("{at: 5m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}, latency: 3h5m}", "late_arrival"),
    ],
)
def test_a_merge_in_the_instant_a_late_order_lands_counts_only_if_it_came_first(
    judge: Judge, window: str, merge: str, cause: str
) -> None:
    result = judge(SPLIT_THEN_MERGED.replace("WINDOW", window).replace("MERGE", merge))
    assert [(v.kind, v.cause) for v in result.violations if v.kind == "ghost_abandon"] == [("ghost_abandon", cause)]


KEYED_BY_EMAIL = """
scenario: s
workspace:
  sources: {backend: {kind: server, identify_by: email}}
  journeys:
    post_purchase: {trigger: {event: order_completed}, filter: FILTER, steps: [{send: thank_you}]}
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0m, who: ana, device: laptop, identify: {with: [id], attributes: {vip: true}}}
  - {at: 10m, who: ana, track: NAME, properties: {order_id: o1}}
"""


@pytest.mark.parametrize(
    ("name", "filter", "cause"),
    [
        # The order lands on a second, email-only profile. With its name right it
        # would have entered there: the drift kept it out, not the split.
        ("Order Completed", "{not_performed: refund_issued}", "name_mismatch"),
        # Right name, but the filter reads what the laptop's profile holds: the split.
        ("order_completed", "{attribute: vip, eq: true}", "identity_split"),
    ],
)
def test_a_split_decides_a_missed_entry_only_when_the_trigger_was_right(
    judge: Judge, name: str, filter: str, cause: str
) -> None:
    result = judge(KEYED_BY_EMAIL.replace("NAME", name).replace("FILTER", filter))
    missed = [(v.journey, v.cause) for v in result.violations if v.kind == "missed_entry"]
    assert missed == [("post_purchase", cause)]


@pytest.mark.parametrize(("latency", "found_"), [("0s", []), ("10m", [("ghost_abandon", "ana", "late_arrival")])])
def test_a_purchase_sent_at_the_instant_the_message_goes_out_counts_as_before_it(
    judge: Judge, latency: str, found_: list[tuple[str, str, str]]
) -> None:
    # Deliveries at an instant come before the timers due then: on time, the
    # goal ends the run before the reminder; late, the reminder is its ghost.
    result = judge(
        recovery(
            f"""
            {{at: 0s, who: ana, device: phone, identify: true}}
            {{at: 1m, who: ana, device: phone, track: checkout_started}}
            {{at: 1h1m, who: ana, source: orders, track: order_completed, properties: {{value: 5}}, latency: {latency}}}
            """
        )
    )
    assert found(result) == found_
    assert [r.reason for r in result.outcome.platform.runs] == (["goal"] if not found_ else ["completed"])


@pytest.mark.parametrize(
    ("merge", "email_profile_then"),
    [
        ("{at: 3h10m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}, latency: 0s}", 2),
        ("{at: 5m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}, latency: 3h5m}", 1),
    ],
)
def test_the_profile_an_event_met_is_read_in_processing_order_within_its_instant(
    load: Callable[[str], Plan], merge: str, email_profile_then: int
) -> None:
    # Both merges arrive at 3h10m, the order's instant: the first after it was
    # added, the second before. Missed entries and ghosts both read this.
    outcome = simulate(load(SPLIT_THEN_MERGED.replace("WINDOW", "30d").replace("MERGE", merge)))
    evidence = Evidence(outcome)
    (order,) = [e for e in outcome.platform.events if e.name == "order_completed"]
    assert order.arrival == 3 * 3600 + 600 + outcome.plan.start
    assert evidence.live_when_added(2, order) == email_profile_then
    assert evidence.live_when_added(1, order) == 1
    assert evidence.live_at(2, order.arrival) == 1  # by instant alone, merged either way


def test_a_send_repeating_an_event_id_is_a_replay_not_a_second_purchase(judge: Judge) -> None:
    # The second order carries the first one's event id: the ground truth reads it as
    # a replay of that order (already before the checkout), so nothing was bought after.
    text = recovery(
        """
        {at: 0s, who: ana, track: order_completed, properties: {value: 5}, event_id: ord_1}
        {at: 1m, who: ana, track: checkout_started}
        {at: 10m, who: ana, track: order_completed, properties: {value: 5}, event_id: ord_1}
        """
    )
    assert found(judge(text)) == []


def test_a_journey_without_goal_or_filter_has_no_ghosts(judge: Judge) -> None:
    text = recovery(
        """
        {at: 0s, who: ana, track: checkout_started}
        {at: 10m, who: ana, track: order_completed, properties: {value: 5}}
        """,
    ).replace("      goal: {performed: order_completed, where: {value: {gt: 0}}}\n", "")
    assert [v for v in judge(text).violations if v.kind == "ghost_abandon"] == []


FILTERED_RECOVERY = """
scenario: s
workspace:
  journeys:
    recovery:
      trigger: {event: checkout_started}
      filter: {not_performed: order_completed, after: checkout_started}
      exit: stop_matching
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, track: checkout_started}
"""


def test_a_filter_excluded_event_defines_a_ghost_too(judge: Judge) -> None:
    text = FILTERED_RECOVERY + "  - {at: 10m, who: ana, track: order_completed, latency: 2h}\n"
    assert found(judge(text)) == [("ghost_abandon", "ana", "late_arrival")]


def test_other_names_a_later_after_event_that_kept_the_filter_true(judge: Judge) -> None:
    """The order follows the first checkout, but a second checkout follows the
    order: `after: checkout_started` now reads past the order, so the filter
    holds and the first run's reminder goes out. The shopper did buy after
    that run's trigger: a ghost, and no listed cause applies."""
    text = FILTERED_RECOVERY + (
        "  - {at: 15m, who: ana, track: order_completed}\n  - {at: 20m, who: ana, track: checkout_started}\n"
    )
    result = judge(text)
    ghosts = [v for v in result.violations if v.kind == "ghost_abandon"]
    assert [(v.who, v.cause, v.at - result.plan.start) for v in ghosts] == [("ana", "other", 3600)]
    assert "another checkout_started was sent at +0h20m" in ghosts[0].explanation


ATTRIBUTE_GOAL = """
scenario: s
workspace:
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: {attribute: bought, eq: true}
      exit: EXIT
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, source: backend, track: checkout_started}
  - {at: 5m, who: ana, source: backend, identify: {attributes: {bought: false}}}
  - {at: 10m, who: ana, source: backend, identify: {attributes: {bought: true}}, LATENCY}
"""


@pytest.mark.parametrize(
    ("exit_setting", "latency", "cause", "said"),
    [
        ("goal", "latency: 2h", "late_arrival", "identify sent at +0h10m arrived at +2h10m"),
        ("goal", "drop: true", "dropped", "identify sent at +0h10m was dropped"),
        ("stop_matching", "latency: 0s", "exit_setting", "never consults the goal"),
    ],
)
def test_a_goal_met_by_an_identify_defines_a_ghost(
    judge: Judge, exit_setting: str, latency: str, cause: str, said: str
) -> None:
    """A goal that is not a `performed` test is judged on the ideal profile; the
    deciding send is the one that turned it true: the second identify."""
    result = judge(ATTRIBUTE_GOAL.replace("EXIT", exit_setting).replace("LATENCY", latency))
    assert found(result) == [("ghost_abandon", "ana", cause)]
    assert said in result.violations[0].explanation


GOAL_OF_IDENTIFY = """
scenario: s
workspace:
  rules: {RULES}
  segments: {buyers: {rule: {attribute: bought, eq: true}}}
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: GOAL
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0s, who: ana, source: backend, track: checkout_started}
  - {at: 5m, who: ana, source: backend, identify: {with: [id], attributes: {bought: false}}}
  - STEP
"""


@pytest.mark.parametrize(
    ("goal", "step", "rules", "cause"),
    [
        # The value lands on a profile the phone creates (identified by email only): another profile, even
        # though the run's profile has a `bought` of its own; and even when it also arrives late.
        (
            "{attribute: bought, eq: true}",
            "{at: 10m, who: ana, device: phone, identify: {with: [email], attributes: {bought: true}}}",
            "",
            "identity_split",
        ),
        (
            "{attribute: bought, eq: true}",
            "{at: 10m, who: ana, device: phone, identify: {with: [email], attributes: {bought: true}}, latency: 2h}",
            "",
            "identity_split",
        ),
        # Merged into the run's profile only after the message went out: still another profile then.
        (
            "{attribute: bought, eq: true}",
            "{at: 10m, who: ana, device: phone, identify: {with: [email], attributes: {bought: true}}}\n"
            "  - {at: 2h, who: ana, source: backend, identify: true}",
            "",
            "identity_split",
        ),
        # The profile's own email read as an attribute, set on another profile.
        (
            "{attribute: email, exists: true}",
            "{at: 10m, who: ana, device: phone, identify: {with: [email]}}",
            "",
            "identity_split",
        ),
        (
            "{in_segment: buyers}",
            "{at: 10m, who: ana, source: backend, identify: {attributes: {bought: true}}}",
            "segment_refresh: 2h",
            "refresh_lag",
        ),
    ],
)
def test_an_identify_goals_cause_follows_the_spec_order(
    judge: Judge, goal: str, step: str, rules: str, cause: str
) -> None:
    text = GOAL_OF_IDENTIFY.replace("GOAL", goal).replace("STEP", step).replace("{RULES}", "{" + rules + "}")
    assert found(judge(text)) == [("ghost_abandon", "ana", cause)]


def test_an_identified_email_does_not_override_an_email_attribute_in_the_ideal_profile(judge: Judge) -> None:
    """The platform lets an identify's `email` attribute win over the email
    identifier, so the goal below is false on it, and on the ideal profile too."""
    text = (
        GOAL_OF_IDENTIFY.replace("GOAL", "{attribute: email, eq: ana@example.com}")
        .replace("STEP", "{at: 10m, who: ana, source: backend, identify: {attributes: {email: ana@work.example}}}")
        .replace("{RULES}", "{}")
    )
    text = text.replace(
        "  - {at: 5m, who: ana, source: backend, identify: {with: [id], attributes: {bought: false}}}\n", ""
    )
    text += "  - {at: 20m, who: ana, source: backend, identify: true}\n"
    assert judge(text).violations == []


@pytest.mark.parametrize(
    ("filter_", "drop", "expected"),
    [
        ("{attribute: email, exists: true}", "drop: true", [("missed_entry", "ana", "dropped")]),
        ("{not: {attribute: email, exists: true}}", "drop: false", []),
    ],
)
def test_the_ideal_profile_reads_the_shoppers_identifiers_as_attributes(
    judge: Judge, filter_: str, drop: str, expected: list[tuple[str, str, str]]
) -> None:
    text = f"""
scenario: s
workspace:
  journeys:
    reachable:
      trigger: {{event: checkout_started}}
      filter: {filter_}
      steps: [{{send: reminder}}]
shoppers: {{ana: {{id: cus_1, email: ana@example.com}}}}
timeline:
  - {{at: 0s, who: ana, source: backend, identify: true}}
  - {{at: 1m, who: ana, source: backend, track: checkout_started, {drop}}}
"""
    assert found(judge(text)) == expected


def test_a_goal_met_in_time_by_an_identify_is_no_ghost(judge: Judge) -> None:
    result = judge(ATTRIBUTE_GOAL.replace("EXIT", "goal").replace("LATENCY", "latency: 0s"))
    assert result.violations == []
    assert [r.reason for r in result.outcome.platform.runs] == ["goal"]


# ------------------------------------------------------------------ missed entries

MISSED = """
scenario: s
workspace:
  rules: {RULES}
  identity: {IDENTITY}
  triggers: {TRIGGERS}
  sources: {orders: {kind: server, identify_by: email}}
  segments: {browsers: {rule: {performed: product_viewed}}}
  journeys:
    recovery:
      trigger: {event: checkout_started, where: {value: {gt: 0}}}
      FILTER
      steps: [{send: reminder}]
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
"""


def missed(steps: str, rules: str = "", identity: str = "", triggers: str = "", filter_: str = "") -> str:
    text = MISSED.replace("{RULES}", "{" + rules + "}").replace("{IDENTITY}", "{" + identity + "}")
    text = text.replace("{TRIGGERS}", "{" + triggers + "}")
    text = text.replace("FILTER", f"filter: {filter_}" if filter_ else "")
    return text + "".join(f"  - {line.strip()}\n" for line in steps.strip().splitlines())


@pytest.mark.parametrize(
    ("steps", "cause", "options"),
    [
        (
            "{at: 0s, who: ana, track: checkout_started, properties: {value: 5}, drop: true}",
            "dropped",
            {},
        ),
        (
            """
            {at: 0s, who: ana, device: phone, track: checkout_started, properties: {value: 5}}
            {at: 1m, who: ana, device: laptop, identify: true}
            """,
            "identity_split",
            {},
        ),
        (
            # a backend keyed by email while the device identified by id (SPEC 9's example)
            """
            {at: 0s, who: ana, device: laptop, identify: {with: [id]}}
            {at: 30s, who: ana, device: laptop, track: product_viewed}
            {at: 1m, who: ana, source: orders, track: checkout_started, properties: {value: 5}}
            """,
            "identity_split",
            {"filter_": "{performed: product_viewed}"},
        ),
        (
            # the phone's checkout waited on its anonymous profile while a server identified
            # ana; the phone's own identify merged it days later, past triggers.max_age
            """
            {at: 0s, who: ana, device: phone, track: checkout_started, properties: {value: 5}}
            {at: 5m, who: ana, identify: true}
            {at: 3d1h, who: ana, device: phone, identify: true}
            """,
            "identity_split",
            {},
        ),
        (
            # the same, identified by a server's track (a call carrying her id) rather than an identify
            """
            {at: 0s, who: ana, device: phone, track: checkout_started, properties: {value: 5}}
            {at: 5m, who: ana, track: product_viewed}
            {at: 3d1h, who: ana, device: phone, identify: true}
            """,
            "identity_split",
            {},
        ),
        (
            # two servers identified ana apart (by id with her attributes, by email), no device did
            """
            {at: 0s, who: ana, source: backend, identify: {with: [id], attributes: {vip: true}}}
            {at: 1m, who: ana, source: orders, identify: {with: [email]}}
            {at: 10m, who: ana, source: orders, track: checkout_started, properties: {value: 5}}
            """,
            "identity_split",
            {"filter_": "{attribute: vip, eq: true}"},
        ),
        (
            # the same story on the profile the device identified: not a split
            """
            {at: 0s, who: ana, device: laptop, identify: {with: [id]}}
            {at: 30s, who: ana, device: laptop, track: product_viewed, latency: 3h}
            {at: 1m, who: ana, device: laptop, track: checkout_started, properties: {value: 5}}
            """,
            "late_arrival",
            {"filter_": "{performed: product_viewed}"},
        ),
        (
            """
            {at: 0s, who: ana, device: phone, track: checkout_started, properties: {value: 5}}
            {at: 2h, who: ana, device: phone, identify: true}
            """,
            "merge_lost",
            {"identity": "anonymous_retention: 1h"},
        ),
        (
            "{at: 0s, who: ana, track: checkout_started, properties: {value: 5}, latency: 73h}",
            "too_old",
            {},
        ),
        (
            # on the profile its own device identified, though the laptop identified another since
            """
            {at: 0s, who: ana, device: phone, identify: {with: [id]}}
            {at: 1m, who: ana, device: laptop, identify: {with: [email]}}
            {at: 2m, who: ana, device: phone, track: checkout_started, properties: {value: 5}, latency: 80h}
            """,
            "too_old",
            {},
        ),
        (
            """
            {at: 0s, who: ana, track: checkout_started, properties: {value: 5}, latency: 1h}
            {at: 30m, who: ana, track: order_completed}
            """,
            "late_arrival",
            {"filter_": "{not_performed: order_completed, after: checkout_started}"},
        ),
        (
            """
            {at: 5m, who: ana, track: order_completed}
            {at: 10m, who: ana, track: checkout_started, properties: {value: 5}, timestamp: 0s}
            """,
            "clock_skew",
            {"filter_": "{not_performed: order_completed, after: checkout_started}"},
        ),
        (
            """
            {at: 1s, who: ana, track: product_viewed}
            {at: 1m, who: ana, track: checkout_started, properties: {value: 5}}
            """,
            "refresh_lag",
            {"filter_": "{in_segment: browsers}", "rules": "segment_refresh: 1h"},
        ),
        (
            "{at: 0s, who: ana, track: Checkout Started, properties: {value: 5}}",
            "name_mismatch",
            {},
        ),
        (
            "{at: 0s, who: ana, track: checkout_started, properties: {value: '5'}}",
            "type_mismatch",
            {},
        ),
    ],
)
def test_missed_entry_causes(judge: Judge, steps: str, cause: str, options: dict[str, str]) -> None:
    result = judge(missed(steps, **options))
    misses = [v for v in result.violations if v.kind == "missed_entry"]
    assert [(v.who, v.journey, v.cause) for v in misses] == [("ana", "recovery", cause)]
    assert misses[0].explanation


def test_a_filter_event_stamped_wrong_is_other_and_named(judge: Judge) -> None:
    """The trigger is stamped right; the view its filter reads was stamped two
    hours early, outside the filter's window. The causes are the deciding
    event's (the trigger's), so this is `other`, and the explanation says what
    differed. Stamped right, or skewed inside the window, nothing is found."""
    steps = """
        {at: 2h, who: ana, track: product_viewed, timestamp: 0s}
        {at: 2h01m, who: ana, track: checkout_started, properties: {value: 5}}
    """
    recent = "{performed: product_viewed, within: 1h}"
    result = judge(missed(steps, filter_=recent))
    assert found(result) == [("missed_entry", "ana", "other")]
    assert "product_viewed sent at +2h00m was stamped +0h00m" in result.violations[0].explanation
    assert found(judge(missed(steps.replace(", timestamp: 0s", ""), filter_=recent))) == []
    assert found(judge(missed(steps.replace("timestamp: 0s", "timestamp: 1h30m"), filter_=recent))) == []


def test_other_says_what_differed(judge: Judge) -> None:
    """`score` arrives as a string: the ideal run reads it as a number and
    enters, the platform does not. No listed cause applies."""
    steps = """
        {at: 0s, who: ana, identify: {attributes: {score: '12'}}}
        {at: 1m, who: ana, track: checkout_started, properties: {value: 5}}
    """
    result = judge(missed(steps, filter_="{attribute: score, gte: 10}"))
    assert found(result) == [("missed_entry", "ana", "other")]
    explanation = result.violations[0].explanation
    assert "the filter was false on cio_1" in explanation
    assert "score='12'" in explanation


def test_a_journey_spelling_an_event_otherwise_than_another_still_has_its_missed_entries(judge: Judge) -> None:
    # Two spellings of one event in the rules: the ideal enters both journeys; the
    # real platform only the drifted one, so the other is a name_mismatch.
    text = """
scenario: s
workspace:
  sources: {web: {kind: client, latency: 0s}}
  journeys:
    a_drifted: {trigger: {event: Checkout Started}, steps: [{send: a}]}
    b_canonical: {trigger: {event: checkout_started}, steps: [{send: b}]}
shoppers: {ben: {email: ben@example.com}}
timeline:
  - {at: 0m, who: ben, device: phone, identify: true}
  - {at: 1m, who: ben, device: phone, track: Checkout Started}
"""
    result = judge(text)
    assert [(v.kind, v.journey, v.cause) for v in result.violations] == [
        ("missed_entry", "b_canonical", "name_mismatch")
    ]


def test_a_missed_entry_on_an_anonymous_profile_after_a_server_track_identified_the_shopper_is_identity_split(
    judge: Judge,
) -> None:
    # The backend's track created the identified profile; the phone's order waited on
    # an anonymous one and was merged in after max_age. The ideal is identified at 0m.
    text = """
scenario: s
workspace:
  triggers: {max_age: 30m}
  journeys:
    thanks: {trigger: {event: order_completed}, exit: never, steps: [{send: thank_you}]}
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0m, who: ana, source: backend, track: product_viewed}
  - {at: 10m, who: ana, device: phone, track: order_completed, properties: {value: 60}}
  - {at: 2h, who: ana, device: phone, identify: true}
"""
    (v,) = judge(text).violations
    assert (v.kind, v.cause) == ("missed_entry", "identity_split")
    assert "anonymous profile (cio_2) though the shopper had been identified on cio_1 since +0h00m" in v.explanation


def test_a_late_arrival_caused_by_another_call_names_it(judge: Judge) -> None:
    # The trigger was on time; the event its filter needed was dropped.
    text = """
scenario: s
workspace:
  journeys:
    recover: {trigger: {event: checkout_started}, filter: {performed: product_viewed}, steps: [{send: r}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, device: phone, identify: true}
  - {at: 1m, who: ana, device: phone, track: product_viewed, drop: true}
  - {at: 5m, who: ana, device: phone, track: checkout_started}
"""
    (v,) = judge(text).violations
    assert (v.kind, v.cause) == ("missed_entry", "late_arrival")
    assert v.explanation.endswith(
        "it arrived on time, but with every call delivered once, at its send instant, it would "
        "have entered (product_viewed sent at +0h01m was dropped)"
    )


def test_a_guest_has_no_customer_id_in_the_ideal_either(judge: Judge) -> None:
    text = """
scenario: s
workspace:
  sources: {web: {kind: client, latency: 0s}}
  journeys:
    account_only:
      trigger: {event: checkout_started}
      filter: {attribute: id, exists: true}
      steps: [{send: hi}]
shoppers: {ben: {email: ben@example.com}, ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ben, device: phone, identify: true}
  - {at: 1m, who: ben, device: phone, track: checkout_started}
  - {at: 0m, who: ana, device: phone, track: checkout_started}
  - {at: 1m, who: ana, device: phone, identify: true}
"""
    result = judge(text)
    assert result.violations == []
    assert [r.shopper for r in result.outcome.platform.runs] == ["ana"]


def test_a_shopper_who_never_identifies_never_misses_an_entry(judge: Judge) -> None:
    text = missed("{at: 0s, who: ana, device: phone, track: checkout_started, properties: {value: 5}}")
    assert judge(text).violations == []


GRACE = """
scenario: s
workspace:
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      steps: [{send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, track: checkout_started, drop: true}
  - {at: BUY, who: ana, track: order_completed}
"""


@pytest.mark.parametrize(("buy", "excused"), [("1h", True), ("1h1s", False)])
def test_a_goal_within_entry_grace_excuses_a_missed_entry(judge: Judge, buy: str, excused: bool) -> None:
    result = judge(GRACE.replace("BUY", buy))
    assert (found(result) == []) is excused
    if not excused:
        assert found(result) == [("missed_entry", "ana", "dropped")]


def test_entry_grace_is_configurable(judge: Judge) -> None:
    text = GRACE.replace("BUY", "1h30m").replace("workspace:\n", "workspace:\n  checks: {entry_grace: 2h}\n")
    assert found(judge(text)) == []


def test_a_journey_without_a_goal_excuses_nobody(judge: Judge) -> None:
    text = GRACE.replace("BUY", "1m").replace("      goal: {performed: order_completed}\n", "")
    assert found(judge(text)) == [("missed_entry", "ana", "dropped")]


@pytest.mark.parametrize(
    ("guard", "original", "replay"),
    [
        ("", "event_id: whk_1, latency: 2h", "event_id: whk_1, latency: 5m"),
        ("dedupe: {idempotency_keys: {order_completed: order_id}}", "latency: 2h", "latency: 5m"),
    ],
)
def test_a_replay_the_platform_took_before_its_original_entered_for_it(
    judge: Judge, guard: str, original: str, replay: str
) -> None:
    # The order's replay overtakes it: the platform runs post_purchase for the
    # replay and ignores the original as its duplicate. One purchase, one run:
    # no missed entry for the original (a replay is not a second act).
    text = f"""
scenario: s
workspace:
  {guard or "rules: {}"}
  journeys:
    post_purchase: {{trigger: {{event: order_completed}}, steps: [{{send: thank_you}}]}}
shoppers: {{ana: {{id: cus_1}}}}
timeline:
  - {{at: 0m, who: ana, device: laptop, identify: true}}
  - {{at: 10m, who: ana, track: order_completed, properties: {{order_id: o1}}, {original}}}
  - {{at: 20m, who: ana, track: order_completed, properties: {{order_id: o1}}, {replay}}}
"""
    result = judge(text)
    assert result.violations == []
    (run,) = result.outcome.platform.runs
    assert run.trigger is not None and run.trigger.seq == 3  # the replay's
    assert result.outcome.platform.ignored == {2: 1}


KEYED_ORDERS = """
scenario: s
workspace:
  dedupe: {idempotency_keys: {order_completed: order_id}}
  journeys:
    post_purchase: {trigger: {event: order_completed}, steps: [{send: thank_you}]}
"""


def test_a_replay_of_a_replay_taken_first_entered_for_the_first_act(judge: Judge) -> None:
    # The second send repeats the first's order id, the third the second's event
    # id: all three are one order, and the platform ran the journey for the third.
    text = (
        KEYED_ORDERS
        + """shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, device: laptop, identify: true}
  - {at: 10m, who: ana, track: order_completed, properties: {order_id: o1}, latency: 3h}
  - {at: 20m, who: ana, track: order_completed, properties: {order_id: o1}, event_id: whk_1, latency: 2h}
  - {at: 30m, who: ana, track: order_completed, properties: {order_id: o1}, event_id: whk_1, latency: 5m}
"""
    )
    result = judge(text)
    assert result.violations == []
    assert [r.trigger.seq for r in result.outcome.platform.runs if r.trigger is not None] == [4]


def test_another_shoppers_order_with_the_same_key_is_no_replay_of_hers(judge: Judge) -> None:
    # Ben's order shares ana's order id and arrives first: the platform ignores
    # hers as a duplicate. She never got her run: a missed entry, whatever ben got.
    text = (
        KEYED_ORDERS
        + """shoppers: {ana: {id: cus_1}, ben: {id: cus_2}}
timeline:
  - {at: 0m, who: ana, device: laptop, identify: true}
  - {at: 0m, who: ben, device: phone, identify: true}
  - {at: 10m, who: ana, track: order_completed, properties: {order_id: o1}, latency: 2h}
  - {at: 20m, who: ben, track: order_completed, properties: {order_id: o1}, latency: 5m}
"""
    )
    assert found(judge(text)) == [("missed_entry", "ana", "other")]


# ------------------------------------------------------------------ duplicates and splits


@pytest.mark.parametrize("identify", ["", "{at: 2h, who: ana, device: phone, identify: true}"])
def test_the_ideal_run_offers_earlier_events_over_a_profile_holding_the_identifying_track(
    judge: Judge, identify: str
) -> None:
    # The shopper's first identified call is the purchase: in the ideal run the
    # anonymous checkout is offered after the purchase is on the profile, so the
    # filter refuses it there as on the platform: no missed entry.
    text = missed(
        f"""
        {{at: 0s, who: ana, device: phone, track: checkout_started, properties: {{value: 5}}}}
        {{at: 2h, who: ana, source: orders, track: order_completed, properties: {{order_id: o1}}}}
        {identify}
        """,
        filter_="{not_performed: order_completed}",
    )
    result = judge(text)
    assert found(result) == []
    assert result.outcome.platform.runs == []


def test_the_identifying_track_is_offered_after_the_earlier_anonymous_events(judge: Judge) -> None:
    # The ideal run offers the anonymous order (1m) before the identifying one
    # (1h): a once journey enters for the first, which the platform, keeping it
    # on the anonymous profile, never did.
    text = """
scenario: s
workspace:
  sources: {orders: {kind: server, latency: 0s}}
  journeys:
    thanks: {trigger: {event: order_completed}, frequency: once, steps: [{send: ty}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 1m, who: ana, device: phone, track: order_completed, properties: {order_id: o1}}
  - {at: 1h, who: ana, source: orders, track: order_completed, properties: {order_id: o2}}
"""
    result = judge(text)
    assert found(result) == [("missed_entry", "ana", "identity_split")]
    assert result.violations[0].seq == 1


def test_duplicate_entry_duplicate_delivery(judge: Judge) -> None:
    text = missed("{at: 0s, who: ana, track: checkout_started, properties: {value: 5}, copies: 2}")
    result = judge(text)
    assert found(result) == [("duplicate_entry", "ana", "duplicate_delivery")]
    assert result.violations[0].journey == "recovery"


def test_copies_on_profiles_merged_before_the_second_arrived_are_a_duplicate_delivery(judge: Judge) -> None:
    # Copy 1 starts a run on ben's email profile; Merge People moves it to cio_1;
    # copy 2 lands there: one profile by then, so the copies, not a split, doubled it.
    text = """
scenario: s
workspace:
  sources: {byemail: {kind: server, latency: 0s, identify_by: email}}
  journeys:
    j1: {trigger: {event: browse}, exit: never, steps: [{wait: 1d}, {send: m1}]}
shoppers: {ana: {id: cus_1}, ben: {email: ben@example.com}}
timeline:
  - {at: 0m, who: ana, identify: true}
  - {at: 0m, who: ben, identify: true}
  - {at: 10m, who: ben, source: byemail, track: browse, copies: 2, retry_after: 1h}
  - {at: 30m, merge: {primary: {id: cus_1}, secondary: {email: ben@example.com}}}
"""
    result = judge(text)
    assert found(result) == [("duplicate_entry", "ben", "duplicate_delivery")]
    assert [r.profiles[0][1] for r in result.outcome.platform.runs] == [2, 1]


def test_client_copies_are_absorbed_and_make_no_duplicate_entry(judge: Judge) -> None:
    text = missed(
        "{at: 0s, who: ana, device: phone, identify: true}\n{at: 1m, who: ana, device: phone, "
        "track: checkout_started, properties: {value: 5}, copies: 3}"
    )
    result = judge(text)
    assert result.violations == []
    assert len(result.outcome.platform.runs) == 1


def test_split_identity(judge: Judge) -> None:
    text = missed(
        """
        {at: 0s, who: ana, device: phone, track: product_viewed}
        {at: 1m, who: ana, device: laptop, identify: true}
        {at: 2m, who: ana, device: laptop, track: product_viewed}
        """
    )
    result = judge(text)
    assert found(result) == [("split_identity", "ana", "identity_split")]
    assert result.violations[0].journey is None


def test_no_split_identity_without_an_identify(judge: Judge) -> None:
    text = missed(
        """
        {at: 0s, who: ana, device: phone, track: product_viewed}
        {at: 2m, who: ana, device: laptop, track: product_viewed}
        """
    )
    assert found(judge(text)) == []


def test_identity_conflict_splits_identity(judge: Judge) -> None:
    text = missed(
        """
        {at: 0s, who: ana, track: product_viewed, source: orders}
        {at: 1m, who: ana, track: product_viewed}
        {at: 2m, who: ana, identify: true}
        """,
        identity="auto_merge: false",
    )
    assert found(judge(text)) == [("split_identity", "ana", "identity_split")]


COUNTED_GOAL = """
scenario: s
workspace:
  journeys:
    j:
      trigger: {event: ev}
      goal: {performed: buy, count: {gte: 2}}
      exit: goal
      steps: [{wait: 3h}, {send: m}]
shoppers: {a: {id: a1}}
timeline:
  - {at: 0m, who: a, track: ev}
  - {at: 10m, who: a, track: buy}
"""


def test_a_goal_with_a_count_is_met_only_when_counted(judge: Judge) -> None:
    # One buy does not meet `count: {gte: 2}`: the message is no ghost.
    assert found(judge(COUNTED_GOAL)) == []
    # The second buy, arriving after the message, does.
    second = COUNTED_GOAL + "  - {at: 20m, who: a, track: buy, latency: 4h}\n"
    assert found(judge(second)) == [("ghost_abandon", "a", "late_arrival")]


# A recovery whose goal is the order of the same checkout (reminder after 1h).
SAME_CHECKOUT = """
scenario: s
workspace:
  dedupe: {idempotency_keys: {order_completed: order_id}}
  journeys:
    cr:
      trigger: {event: checkout_started}
      goal: {performed: order_completed, where: {checkout_id: {trigger: checkout_id}}}
      exit: goal
      steps: [{wait: 1h}, {send: r}]
shoppers: {ana: {id: cus_1}}
timeline:
"""


def test_long_numeric_ids_are_read_exactly_by_the_ground_truth(judge: Judge) -> None:
    """An order for another checkout (its 20-digit id differs in the last digit)
    is not the goal: the reminder is right, not a ghost."""
    result = judge(
        SAME_CHECKOUT
        + """
  - {at: 0m, who: ana, source: backend, track: checkout_started, properties: {checkout_id: "12345678901234567891"}}
  - {at: 10m, who: ana, source: backend, track: order_completed, properties: {checkout_id: "12345678901234567892"}}
"""
    )
    assert [m.message for m in result.outcome.platform.messages] == ["r"]
    assert result.violations == []


def test_a_null_idempotency_value_does_not_hide_a_real_order_from_the_ground_truth(judge: Judge) -> None:
    """Two orders with `order_id: null` are two orders, for the platform and the
    ground truth alike: the late second one makes the reminder a ghost."""
    result = judge(
        SAME_CHECKOUT
        + """
  - {at: 1m, who: ana, source: backend, track: order_completed, properties: {order_id: null, checkout_id: ck_0}}
  - {at: 1h, who: ana, source: backend, track: checkout_started, properties: {checkout_id: ck_2}}
  - {at: 1h10m, who: ana, source: backend, track: order_completed, latency: 5h,
     properties: {order_id: null, checkout_id: ck_2}}
"""
    )
    assert found(result) == [("ghost_abandon", "ana", "late_arrival")]


FILTER_SHAPES = """
scenario: s
workspace:
  journeys:
    notperf: {trigger: {event: c1}, filter: {not: {performed: order}}, steps: [{wait: 1h}, {send: m1}]}
    doubleneg:
      {trigger: {event: c2}, filter: {not: {not_performed: order}}, exit: never, steps: [{wait: 1h}, {send: m2}]}
    anyfilter:
      trigger: {event: c3}
      filter: {any: [{not_performed: order}, {attribute: vip, eq: true}]}
      exit: never
      steps: [{wait: 1h}, {send: m3}]
shoppers: {a: {id: a}, b: {id: b}, c: {id: c}}
timeline:
  - {at: 0m, who: a, source: backend, track: c1}
  - {at: 10m, who: a, source: backend, track: order, latency: 2h}
  - {at: 0m, who: b, source: backend, track: order}
  - {at: 1m, who: b, source: backend, track: c2}
  - {at: 10m, who: b, source: backend, track: order}
  - {at: 0m, who: c, source: backend, identify: {attributes: {vip: true}}}
  - {at: 1m, who: c, source: backend, track: c3}
  - {at: 10m, who: c, source: backend, track: order}
"""


def test_an_event_the_filter_excludes_is_read_by_its_meaning_not_its_keyword(judge: Judge) -> None:
    """`not: {performed: order}` excludes an order as `not_performed` does; `not:
    {not_performed: order}` requires one; an `any` the shopper still meets (a VIP)
    excludes nothing. Only a's reminder is a ghost."""
    result = judge(FILTER_SHAPES)
    assert [m.shopper for m in result.outcome.platform.messages] == ["a", "b", "c"]
    assert found(result) == [("ghost_abandon", "a", "late_arrival")]


@pytest.mark.parametrize(
    ("views", "cause"),
    [
        # one view named otherwise, one carrying its price as text: neither drift alone makes two
        ("{at: 0s, who: ana, track: Product Viewed, properties: {price: 60}}", "other"),
        ("{at: 0s, who: ana, track: product_viewed, properties: {price: 60}}", "type_mismatch"),
    ],
)
def test_a_filter_kept_out_by_a_name_and_a_type_together_is_other_and_says_both(
    judge: Judge, views: str, cause: str
) -> None:
    steps = f"""
        {views}
        {{at: 1s, who: ana, track: product_viewed, properties: {{price: '60'}}}}
        {{at: 1m, who: ana, track: checkout_started, properties: {{value: 5}}}}
    """
    result = judge(missed(steps, filter_="{performed: product_viewed, count: {gte: 2}, where: {price: {gt: 50}}}"))
    assert found(result) == [("missed_entry", "ana", cause)]
    if cause == "other":
        explanation = result.violations[0].explanation
        assert "only with both the shopper's events named as the rules spell them and their numeric" in explanation
        assert "('Product Viewed' is 'product_viewed')" in explanation


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Checkout Started", "5", [("missed_entry", "ana", "name_mismatch")]),
        ("checkout_started", "'5'", [("missed_entry", "ana", "type_mismatch")]),
        ("checkout_started", "5", []),  # right, it enters at the merge: the wait on the phone decided nothing
    ],
)
def test_a_wrong_trigger_waiting_on_an_anonymous_profile_is_put_down_to_its_drift_not_the_split(
    judge: Judge, name: str, value: str, expected: list[tuple[str, str, str]]
) -> None:
    steps = f"""
        {{at: 0s, who: ana, device: phone, track: {name}, properties: {{value: {value}}}}}
        {{at: 9m59s, who: ana, device: laptop, identify: true}}
        {{at: 10m, who: ana, device: phone, identify: true}}
    """
    assert found(judge(missed(steps))) == expected


def test_other_says_the_profile_was_younger_than_a_negative_window_of_the_filter(judge: Judge) -> None:
    """The ideal profile is two hours old (a view from the tablet); the phone's
    profile, identified at 2h, is ten minutes old when the checkout arrives, and
    `not_performed ... within: 1h` matches only profiles at least an hour old."""
    steps = """
        {at: 0s, who: ana, device: tablet, track: product_viewed}
        {at: 2h, who: ana, device: phone, identify: true}
        {at: 2h10m, who: ana, device: phone, track: checkout_started, properties: {value: 5}}
    """
    result = judge(missed(steps, filter_="{not_performed: order_completed, within: 1h}"))
    misses = [v for v in result.violations if v.kind == "missed_entry"]
    assert [(v.who, v.cause) for v in misses] == [("ana", "other")]
    young = "cio_2 was 10m old at +2h10m and 40m old at +2h40m, and a not_performed within 1h matches only profiles"
    assert f"{young} at least that old" in misses[0].explanation


def test_a_late_arrival_of_an_on_time_trigger_names_the_retried_copy_that_kept_it_out(judge: Judge) -> None:
    """The first checkout's retried copy starts a second run (no event ids to
    dedupe by), which refuses the later checkout under once_at_a_time."""
    text = """
scenario: s
workspace:
  sources: {web: {kind: client, latency: 0s, retry_after: 40m}}
  dedupe: {by_event_id: false}
  journeys:
    cr: {trigger: {event: checkout_started}, frequency: once_at_a_time, steps: [{wait: 20m}, {send: m1}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, device: phone, identify: true}
  - {at: 35m, who: ana, device: phone, track: checkout_started, copies: 3}
  - {at: 1h25m, who: ana, device: phone, track: checkout_started}
"""
    misses = [v for v in judge(text).violations if v.kind == "missed_entry"]
    assert [(v.cause, v.seq) for v in misses] == [("late_arrival", 3)]
    assert misses[0].explanation.endswith(
        "it arrived on time, but with every call delivered once, at its send instant, it would have entered "
        "(checkout_started sent at +0h35m was processed 2 times)"
    )


def test_a_wrong_trigger_merged_past_max_age_is_still_put_down_to_the_split(judge: Judge) -> None:
    """Right, it would not have entered either: merged 80h later, past triggers.max_age."""
    steps = """
        {at: 0s, who: ana, device: laptop, identify: true}
        {at: 1m, who: ana, device: phone, track: Checkout Started, properties: {value: 5}}
        {at: 80h, who: ana, device: phone, identify: true}
    """
    assert found(judge(missed(steps))) == [("missed_entry", "ana", "identity_split")]


@pytest.mark.parametrize("later_merge", ["", "{at: 4d, who: ana, identify: true}"])
def test_a_merge_days_after_a_wrong_trigger_joined_the_identified_profile_changes_nothing(
    judge: Judge, later_merge: str
) -> None:
    steps = f"""
        {{at: 0s, who: ana, device: phone, track: Checkout Started, properties: {{value: 5}}}}
        {{at: 5m, who: ana, identify: {{with: [id]}}}}
        {{at: 10m, who: ana, device: phone, identify: {{with: [email]}}}}
        {later_merge}
    """
    assert found(judge(missed(steps))) == [("missed_entry", "ana", "name_mismatch")]


def the_miss(result: ScenarioResult, cause: str) -> Violation:
    """The story's one missed entry, of `cause`."""
    misses = [v for v in result.violations if v.kind == "missed_entry"]
    assert [v.cause for v in misses] == [cause]
    return misses[0]


def test_no_age_note_when_negative_windows_need_no_age(judge: Judge) -> None:
    """The view stays on the phone's anonymous profile; the checkout lands on the
    backend's, which has none: a missed entry of cause other, and the profile's
    age is no part of it (the knob is off)."""
    steps = """
        {at: 0s, who: ana, device: phone, track: product_viewed}
        {at: 5m, who: ana, source: backend, track: checkout_started, properties: {value: 5}}
    """
    rule = "{all: [{performed: product_viewed}, {not_performed: order_completed, within: 30d}]}"
    miss = the_miss(judge(missed(steps, rules="negative_window_needs_age: false", filter_=rule)), "other")
    assert "the filter was false on cio_2" in miss.explanation
    assert "matches only profiles at least that old" not in miss.explanation


@pytest.mark.parametrize(
    ("steps", "filter_", "said"),
    [
        (  # the consent lands on the email-keyed profile, the checkout on the id's
            """
            {at: 0s, who: ana, source: backend, identify: {with: [email], attributes: {consent: true}}}
            {at: 1m, who: ana, device: laptop, identify: {with: [id]}}
            """,
            "{attribute: consent, eq: true}",
            "consent (set by the identify sent at +0h00m) on cio_1",
        ),
        (  # the view stays on the phone's anonymous profile
            """
            {at: 0s, who: ana, device: phone, track: product_viewed}
            {at: 1m, who: ana, device: laptop, identify: true}
            """,
            "{performed: product_viewed}",
            "product_viewed (sent at +0h00m) on cio_1",
        ),
        (  # the hats view matches no test of the filter: only the shoes view is named
            """
            {at: 0s, who: ana, device: phone, track: product_viewed, properties: {category: hats}}
            {at: 10s, who: ana, device: phone, track: product_viewed, properties: {category: shoes}}
            {at: 1m, who: ana, device: laptop, identify: true}
            """,
            "{performed: product_viewed, where: {category: shoes}}",
            "product_viewed (sent at +0h00m10s) on cio_1",
        ),
        (  # the profile read held a view already: only the consent is named
            """
            {at: 0s, who: ana, device: phone, track: product_viewed}
            {at: 10s, who: ana, source: backend, identify: {with: [email], attributes: {consent: true}}}
            {at: 1m, who: ana, device: laptop, identify: {with: [id]}}
            {at: 1m30s, who: ana, device: laptop, track: product_viewed}
            """,
            "{all: [{performed: product_viewed}, {attribute: consent, eq: true}]}",
            "consent (set by the identify sent at +0h00m10s) on cio_2",
        ),
        (  # consent set later on the profile read: it lacked it when the filter was tested
            """
            {at: 0s, who: ana, source: backend, identify: {with: [email], attributes: {consent: true}}}
            {at: 1m, who: ana, device: laptop, identify: {with: [id]}}
            {at: 2h, who: ana, device: laptop, identify: {with: [id], attributes: {consent: true}}}
            """,
            "{attribute: consent, eq: true}",
            "consent (set by the identify sent at +0h00m) on cio_1",
        ),
    ],
)
def test_other_names_what_the_filter_needed_that_was_on_another_profile(
    judge: Judge, steps: str, filter_: str, said: str
) -> None:
    """The trigger landed where the shopper identified (so `other`: the causes are
    the trigger's), and the explanation says where the filter's data was: only
    what the filter tests and the profile it read lacked."""
    checkout = "{at: 2m, who: ana, device: laptop, track: checkout_started, properties: {value: 5}}"
    miss = the_miss(judge(missed(steps + checkout, filter_=filter_)), "other")
    assert miss.explanation.endswith(f"; of what it reads, the shopper had on another profile: {said}")


def test_filter_data_on_another_profile_during_a_hold_is_named(judge: Judge) -> None:
    """The entry is held at 2m (no recent view on the profile read) and expires at
    32m; the view sent at 5m sat on the phone's anonymous profile, inside the
    filter's window while the entry was held, though no longer at the expiry."""
    steps = """
        {at: 0s, who: ana, device: laptop, identify: {with: [id]}}
        {at: 2m, who: ana, device: laptop, track: checkout_started, properties: {value: 5}}
        {at: 5m, who: ana, device: phone, track: product_viewed}
    """
    miss = the_miss(judge(missed(steps, filter_="{performed: product_viewed, within: 15m}")), "other")
    assert "the entry was held" in miss.explanation
    assert miss.explanation.endswith("the shopper had on another profile: product_viewed (sent at +0h05m) on cio_2")
    # arriving 25 minutes late, it was out of the window by the time it was anywhere: not named
    late = steps.replace("track: product_viewed}", "track: product_viewed, latency: 25m}")
    miss = the_miss(judge(missed(late, filter_="{performed: product_viewed, within: 15m}")), "other")
    assert "another profile" not in miss.explanation


def test_a_view_on_the_profile_read_but_out_of_the_filter_s_window_hides_nothing(judge: Judge) -> None:
    steps = """
        {at: 0s, who: ana, device: laptop, identify: {with: [id]}}
        {at: 10s, who: ana, device: laptop, track: product_viewed}
        {at: 1m30s, who: ana, device: phone, track: product_viewed}
        {at: 2m, who: ana, device: laptop, track: checkout_started, properties: {value: 5}}
    """
    text = missed(steps, triggers="filter_retry: 0s", filter_="{performed: product_viewed, within: 1m}")
    miss = the_miss(judge(text), "other")
    assert miss.explanation.endswith("the shopper had on another profile: product_viewed (sent at +0h01m30s) on cio_2")
