"""SPEC section 9: ground truth, the four invariants and the cause of each violation."""

from __future__ import annotations

import pytest
from acceptance_support import outcome_of, passes

from simulator.checks.expectations import ScenarioResult

WORKSPACE = """
  sources:
    web: {kind: client, latency: 0s}
    backend: {kind: server, latency: 0s, identify_by: id}
    by_email: {kind: server, latency: 0s, identify_by: email}
  segments:
    buyers: {rule: {performed: order_completed}}
    browsing: {rule: {performed: product_viewed, within: 1h}}
  journeys:
    cart_recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
    vip_thanks:
      trigger: {event: order_completed, where: {value: {gt: 100}}}
      steps: [{send: thanks}]
"""


def _scenario(timeline: str, expect: str, extra: str = "", workspace: str = WORKSPACE) -> str:
    return f"""
scenario: violations
shoppers:
  ana: {{id: cus_1, email: ana@example.com}}
workspace:
{workspace}
{extra}
timeline:
  - {{at: -1h, who: ana, device: phone, identify: true}}
{timeline}
expect:
{expect}
""".replace("at: -1h", "at: 0s")


def _violations(result: ScenarioResult) -> list[tuple[str, str | None, str]]:
    return sorted((v.kind, v.journey, v.cause) for v in result.violations)


@pytest.mark.parametrize(
    ("order", "cause"),
    [
        ("{at: 30m, who: ana, track: order_completed, latency: 2h}", "late_arrival"),
        ("{at: 30m, who: ana, track: order_completed, drop: true}", "dropped"),
        ("{at: 30m, who: ana, source: by_email, track: order_completed}", "identity_split"),
        ("{at: 30m, who: ana, track: order_completed, timestamp: 0s}", "clock_skew"),
        ("{at: 30m, who: ana, track: Order Completed}", "name_mismatch"),
    ],
)
def test_ghost_abandon_causes(order: str, cause: str) -> None:
    text = _scenario(
        "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n  - " + order,
        f"  - {{violation: ghost_abandon, who: ana, journey: cart_recovery, message: reminder, cause: {cause}}}",
    )
    if cause == "identity_split":
        text = text.replace("identify: true}", "identify: {with: [id]}}")
    result = passes(text)
    assert [v for v in _violations(result) if v[0] == "ghost_abandon"] == [("ghost_abandon", "cart_recovery", cause)]


def test_ghost_abandon_exit_setting() -> None:
    result = passes(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 30m, who: ana, track: order_completed}",
            "  - {violation: ghost_abandon, who: ana, journey: cart_recovery, cause: exit_setting}",
            workspace=WORKSPACE.replace("exit: goal", "exit: stop_matching"),
        )
    )
    assert ("ghost_abandon", "cart_recovery", "exit_setting") in _violations(result)


def test_ghost_abandon_type_mismatch_in_a_goal_where() -> None:
    passes(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 30m, who: ana, track: order_completed, properties: {value: '150'}}",
            "  - {violation: ghost_abandon, who: ana, journey: cart_recovery, cause: type_mismatch}",
            workspace=WORKSPACE.replace(
                "goal: {performed: order_completed}", "goal: {performed: order_completed, where: {value: {gt: 0}}}"
            ),
        )
    )


def test_ghost_abandon_through_a_filter_excluded_event() -> None:
    nudge = """    nudge:
      trigger: {event: checkout_started}
      filter: {not_performed: order_completed, after: checkout_started}
      steps: [{wait: 1h}, {send: nudge}]
"""
    passes(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 30m, who: ana, track: order_completed, latency: 2h}",
            "  - {violation: ghost_abandon, who: ana, journey: nudge, message: nudge, cause: late_arrival}",
            workspace=WORKSPACE + nudge,
        )
    )


def test_ghost_abandon_refresh_lag() -> None:
    passes(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 10m, who: ana, track: order_completed}",
            "  - {violation: ghost_abandon, who: ana, journey: cart_recovery, cause: refresh_lag}",
            extra="  rules: {segment_refresh: 1h}",
            workspace=WORKSPACE.replace("goal: {performed: order_completed}", "goal: {in_segment: buyers}").replace(
                "{wait: 1h}", "{wait: 30m}"
            ),
        )
    )


def test_no_ghost_when_the_goal_arrives_in_time() -> None:
    result = passes(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 30m, who: ana, track: order_completed}",
            "  - {invariant: all}\n  - {who: ana, journey: cart_recovery, exited: goal}",
        )
    )
    assert result.violations == []


def test_invariant_expectation_fails_on_a_violation_of_its_kind() -> None:
    result = outcome_of(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 30m, who: ana, track: order_completed, latency: 2h}",
            """
  - {invariant: no_ghost_abandons}
  - {invariant: no_missed_entries}
  - {invariant: no_duplicate_entries}
  - {invariant: no_split_identities}
  - {invariant: all}
""",
        )
    )
    assert [r.passed for r in result.results] == [False, True, True, True, False]


TRIGGER = "{at: 1m, who: ana, device: phone, track: checkout_started}"


@pytest.mark.parametrize(
    ("step", "cause"),
    [
        ("{at: 1m, who: ana, track: order_completed, properties: {value: 150}, drop: true}", "dropped"),
        ("{at: 1m, who: ana, track: order_completed, properties: {value: 150}, latency: 73h}", "too_old"),
        ("{at: 1m, who: ana, track: Order_Completed, properties: {value: 150}}", "name_mismatch"),
        ("{at: 1m, who: ana, track: order_completed, properties: {value: '150'}}", "type_mismatch"),
    ],
)
def test_missed_entry_causes(step: str, cause: str) -> None:
    result = passes(
        _scenario("  - " + step, f"  - {{violation: missed_entry, who: ana, journey: vip_thanks, cause: {cause}}}")
    )
    assert [v for v in _violations(result) if v[0] == "missed_entry"] == [("missed_entry", "vip_thanks", cause)]


def test_section_10_missed_entry_example() -> None:
    passes(
        _scenario(
            "  - {at: 1m, who: ana, track: order_completed, properties: {value: '150'}}",
            "  - {violation: missed_entry, who: ana, journey: vip_thanks, cause: type_mismatch}",
        )
    )


def test_missed_entry_identity_split_for_an_orphan() -> None:
    text = f"""
scenario: orphan misses
shoppers:
  ana: {{id: cus_1}}
workspace:
{WORKSPACE}
timeline:
  - {{at: 0m, who: ana, device: phone, track: checkout_started, latency: 10m}}
  - {{at: 1m, who: ana, device: phone, identify: true}}
expect:
  - {{violation: missed_entry, who: ana, journey: cart_recovery, cause: identity_split}}
"""
    passes(text)


def test_missed_entry_merge_lost() -> None:
    passes(
        f"""
scenario: left behind by the merge
shoppers:
  ana: {{id: cus_1}}
workspace:
{WORKSPACE}
  identity: {{anonymous_retention: 1d}}
  triggers: {{max_age: 60d}}
timeline:
  - {{at: 0m, who: ana, device: phone, track: checkout_started}}
  - {{at: 2d, who: ana, device: phone, identify: true}}
expect:
  - {{violation: missed_entry, who: ana, journey: cart_recovery, cause: merge_lost}}
"""
    )


def test_missed_entry_late_arrival() -> None:
    passes(
        _scenario(
            "  - {at: 1m, who: ana, source: backend, identify: {attributes: {vip: true}}, latency: 2h}\n"
            "  - {at: 2m, who: ana, track: order_completed, properties: {value: 150}}",
            "  - {violation: missed_entry, who: ana, journey: vip_thanks, cause: late_arrival}",
            workspace=WORKSPACE.replace(
                "where: {value: {gt: 100}}}", "where: {value: {gt: 100}}}\n      filter: {attribute: vip, eq: true}"
            ),
        )
    )


def test_missed_entry_clock_skew_of_the_trigger_itself() -> None:
    passes(
        _scenario(
            "  - {at: 2h1m, who: ana, track: order_completed, properties: {value: 150}, timestamp: 1m}",
            "  - {violation: missed_entry, who: ana, journey: vip_thanks, cause: clock_skew}",
            workspace=WORKSPACE.replace(
                "where: {value: {gt: 100}}}",
                "where: {value: {gt: 100}}}\n      filter: {performed: order_completed, within: 1h}",
            ),
        )
    )


def test_missed_entry_through_another_events_skew_is_other() -> None:
    # the causes speak of the deciding event (the trigger); a skewed filter event is `other`
    passes(
        _scenario(
            "  - {at: 2h, who: ana, track: product_viewed, timestamp: 0s}\n"
            "  - {at: 2h1m, who: ana, track: order_completed, properties: {value: 150}}",
            "  - {violation: missed_entry, who: ana, journey: vip_thanks, cause: other}",
            workspace=WORKSPACE.replace(
                "where: {value: {gt: 100}}}", "where: {value: {gt: 100}}}\n      filter: {in_segment: browsing}"
            ),
        )
    )


def test_missed_entry_refresh_lag() -> None:
    passes(
        _scenario(
            "  - {at: 1m, who: ana, track: product_viewed}\n"
            "  - {at: 2m, who: ana, track: order_completed, properties: {value: 150}}",
            "  - {violation: missed_entry, who: ana, journey: vip_thanks, cause: refresh_lag}",
            extra="  rules: {segment_refresh: 1h}",
            workspace=WORKSPACE.replace(
                "where: {value: {gt: 100}}}", "where: {value: {gt: 100}}}\n      filter: {in_segment: browsing}"
            ),
        )
    )


@pytest.mark.parametrize(("order_at", "missed"), [("1h1m", False), ("1h1m1s", True)])
def test_entry_grace_excuses_a_shopper_who_met_the_goal(order_at: str, missed: bool) -> None:
    result = outcome_of(
        _scenario(
            f"  - {{at: 1m, who: ana, device: phone, track: checkout_started, drop: true}}\n"
            f"  - {{at: {order_at}, who: ana, track: order_completed, properties: {{value: 1}}}}",
            "  - {invariant: no_missed_entries}",
        )
    )
    assert result.passed is not missed, [(v.kind, v.journey, v.cause) for v in result.violations]


def test_entry_grace_is_configurable() -> None:
    result = outcome_of(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started, drop: true}\n"
            "  - {at: 1h31m, who: ana, track: order_completed, properties: {value: 1}}",
            "  - {invariant: no_missed_entries}",
            extra="  checks: {entry_grace: 2h}",
        )
    )
    assert result.passed


def test_a_journey_without_a_goal_excuses_nobody() -> None:
    passes(
        _scenario(
            "  - {at: 1m, who: ana, track: order_completed, properties: {value: 150}, drop: true}\n"
            "  - {at: 2m, who: ana, track: order_completed, properties: {value: 150}}",
            "  - {violation: missed_entry, who: ana, journey: vip_thanks, cause: dropped}",
        )
    )


def test_a_shopper_who_never_identifies_never_misses_an_entry() -> None:
    result = passes(
        """
scenario: anonymous only
shoppers: {cat: {}}
workspace:
  journeys:
    j: {trigger: {event: checkout_started}, steps: [{send: m}]}
timeline:
  - {at: 0m, who: cat, device: phone, track: checkout_started}
expect:
  - {invariant: all}
"""
    )
    assert result.violations == []


def test_duplicate_entry_duplicate_delivery() -> None:
    result = passes(
        _scenario(
            "  - {at: 1m, who: ana, track: order_completed, properties: {value: 150}, copies: 2}",
            "  - {violation: duplicate_entry, who: ana, journey: vip_thanks, cause: duplicate_delivery}",
        )
    )
    assert ("duplicate_entry", "vip_thanks", "duplicate_delivery") in _violations(result)


def test_duplicate_source_rate_gives_duplicate_entries_unless_idempotent() -> None:
    text = _scenario(
        "  - {at: 1m, who: ana, track: order_completed, properties: {value: 150, order_id: o_1}}",
        "EXPECT",
        workspace=WORKSPACE.replace(
            "backend: {kind: server, latency: 0s, identify_by: id}",
            "backend: {kind: server, latency: 0s, identify_by: id, duplicate_rate: 1}",
        ),
    )
    passes(text.replace("EXPECT", "  - {violation: duplicate_entry, who: ana, cause: duplicate_delivery}"))
    passes(
        text.replace("EXPECT", "  - {invariant: no_duplicate_entries}").replace(
            "  sources:", "  dedupe: {idempotency_keys: {order_completed: order_id}}\n  sources:"
        )
    )


def test_split_identity_names_no_journey() -> None:
    result = passes(
        _scenario(
            "  - {at: 1m, who: ana, source: by_email, track: product_viewed}\n"
            "  - {at: 2m, who: ana, device: phone, track: product_viewed}",
            "  - {violation: split_identity, who: ana, cause: identity_split}",
        ).replace("identify: true}", "identify: {with: [id]}}")
    )
    splits = [v for v in result.violations if v.kind == "split_identity"]
    assert [(v.who, v.journey, v.cause) for v in splits] == [("ana", None, "identity_split")]


def test_split_identity_needs_an_identify() -> None:
    result = passes(
        """
scenario: never identifies
shoppers: {ben: {id: cus_2, email: ben@example.com}}
workspace:
  sources: {by_email: {kind: server, latency: 0s, identify_by: email}}
timeline:
  - {at: 0m, who: ben, track: a}
  - {at: 0m, who: ben, source: by_email, track: b}
expect:
  - {who: ben, profiles: 2}
  - {invariant: no_split_identities}
"""
    )
    assert result.violations == []


def test_violations_do_not_fail_a_scenario_unless_strict() -> None:
    text = _scenario(
        "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
        "  - {at: 30m, who: ana, track: order_completed, latency: 2h}",
        "  - {who: ana, journey: cart_recovery, entered: 1}",
    )
    assert outcome_of(text).passed
    assert not outcome_of(text, strict=True).passed
    documented = text.replace(
        "  - {who: ana, journey: cart_recovery, entered: 1}",
        "  - {who: ana, journey: cart_recovery, entered: 1}\n  - {violation: ghost_abandon, who: ana}",
    )
    assert outcome_of(documented, strict=True).passed


def test_violations_name_shopper_journey_message_and_instant() -> None:
    result = passes(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 30m, who: ana, track: order_completed, latency: 2h}",
            "  - {violation: ghost_abandon, who: ana, journey: cart_recovery, message: reminder}",
        )
    )
    (ghost,) = [v for v in result.violations if v.kind == "ghost_abandon"]
    assert (ghost.who, ghost.journey, ghost.message) == ("ana", "cart_recovery", "reminder")
    assert ghost.explanation


def test_ghost_abandon_with_an_in_segment_goal() -> None:
    passes(
        _scenario(
            "  - {at: 1m, who: ana, device: phone, track: checkout_started}\n"
            "  - {at: 30m, who: ana, track: order_completed, latency: 2h}",
            "  - {violation: ghost_abandon, who: ana, journey: cart_recovery, cause: late_arrival}",
            workspace=WORKSPACE.replace("goal: {performed: order_completed}", "goal: {in_segment: buyers}"),
        )
    )


# A drift read through a segment, a filter's own event or a filter's `trigger:` test was `other`.
DRIFT = """
scenario: drift
workspace:
  sources: {{backend: {{kind: server, latency: 0s}}}}
  segments:
    buyers: {{rule: {{performed: order_completed, where: {{value: {{gt: 100}}}}}}}}
    carters: {{rule: {{performed: cart_added}}}}
  journeys:
    j: {{trigger: {{event: checkout_started}}, {rule}, steps: [{{wait: 1h}}, {{send: m1}}]}}
shoppers: {{ben: {{id: cus_2}}}}
timeline:
  - {{at: 0m, who: ben, source: backend, identify: true}}
{timeline}
expect:
  - {{violation: {kind}, who: ben, journey: j, cause: {cause}}}
"""


@pytest.mark.parametrize(
    ("rule", "timeline", "kind", "cause"),
    [
        (
            "goal: {in_segment: buyers}, exit: goal",
            "  - {at: 1m, who: ben, source: backend, track: checkout_started}\n"
            "  - {at: 10m, who: ben, source: backend, track: Order Completed, properties: {value: 150}}",
            "ghost_abandon",
            "name_mismatch",
        ),
        (
            "goal: {in_segment: buyers}, exit: goal",
            "  - {at: 1m, who: ben, source: backend, track: checkout_started}\n"
            "  - {at: 10m, who: ben, source: backend, track: order_completed, properties: {value: '150'}}",
            "ghost_abandon",
            "type_mismatch",
        ),
        (
            "filter: {performed: cart_added}",
            "  - {at: 1m, who: ben, source: backend, track: Cart Added}\n"
            "  - {at: 2m, who: ben, source: backend, track: checkout_started}",
            "missed_entry",
            "name_mismatch",
        ),
        (
            "filter: {in_segment: carters}",
            "  - {at: 1m, who: ben, source: backend, track: cart-added}\n"
            "  - {at: 2m, who: ben, source: backend, track: checkout_started}",
            "missed_entry",
            "name_mismatch",
        ),
        (
            "filter: {in_segment: buyers}",
            "  - {at: 1m, who: ben, source: backend, track: order_completed, properties: {value: '150'}}\n"
            "  - {at: 2m, who: ben, source: backend, track: checkout_started}",
            "missed_entry",
            "type_mismatch",
        ),
        (
            "filter: {trigger: {value: {gte: 100}}}",
            "  - {at: 1m, who: ben, source: backend, track: checkout_started, properties: {value: '150'}}",
            "missed_entry",
            "type_mismatch",
        ),
    ],
    ids=[
        "goal-segment-name",
        "goal-segment-type",
        "filter-name",
        "filter-segment-name",
        "filter-segment-type",
        "filter-trigger-test-type",
    ],
)
def test_a_drift_read_through_a_segment_or_a_filter_is_named(rule: str, timeline: str, kind: str, cause: str) -> None:
    result = passes(DRIFT.format(rule=rule, timeline=timeline, kind=kind, cause=cause))
    assert [(v.kind, v.cause) for v in result.violations] == [(kind, cause)]


@pytest.mark.parametrize(
    ("extra", "exit_setting", "cause"),
    [(", timestamp: 1m", "goal", "clock_skew"), ("", "stop_matching", "exit_setting")],
)
def test_a_goal_reading_an_event_directly_and_through_a_segment_is_judged_by_the_test_it_meets(
    extra: str, exit_setting: str, cause: str
) -> None:
    # The segment's `where` (value > 500) was taken for the test waiting for a 100 order: type_mismatch.
    rule = f"goal: {{any: [{{in_segment: buyers}}, {{performed: order_completed}}]}}, exit: {exit_setting}"
    timeline = (
        "  - {at: 5m, who: ben, source: backend, track: checkout_started}\n"
        f"  - {{at: 10m, who: ben, source: backend, track: order_completed, properties: {{value: 100}}{extra}}}"
    )
    result = passes(DRIFT.format(rule=rule, timeline=timeline, kind="ghost_abandon", cause=cause))
    assert [(v.kind, v.cause) for v in result.violations] == [("ghost_abandon", cause)]
