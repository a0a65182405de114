"""SPEC section 10: every expectation form, as written, and how each is judged."""

from __future__ import annotations

import pytest
from acceptance_support import outcome_of, passes, plan_of

from simulator.scenario.errors import InputError

SECTION_10 = """
scenario: section 10 verbatim
shoppers:
  ana: {id: cus_1, email: ana@example.com}
workspace:
  sources:
    backend: {kind: server, latency: 2h}
  segments:
    cart_abandoners:
      rule:
        all:
          - {performed: checkout_started, within: 2h}
          - {not_performed: order_completed, after: checkout_started}
  journeys:
    cart_recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
    vip_thanks:
      trigger: {event: order_completed, where: {value: {gt: 100}}}
      steps: [{send: thanks}]
timeline:
  - {at: 0m, who: ana, device: phone, identify: true}
  - {at: 1m, who: ana, device: phone, track: checkout_started}
  - {at: 20m, who: ana, track: order_completed, properties: {value: "150"}}
expect:
  - {at: 3h, segment: cart_abandoners, members: []}      # exact set of shoppers
  - {at: 30m, who: ana, in_segment: cart_abandoners}
  - {at: 3h, who: ana, not_in_segment: cart_abandoners}
  - {who: ana, journey: cart_recovery, entered: 1}        # number of runs
  - {who: ana, journey: cart_recovery, sent: []}          # exact message list, in order
  - {who: ana, journey: cart_recovery, exited: goal}      # reason of the last run
  - {who: ana, journey: cart_recovery, sent: [], within: [0m, 2d]}  # sends in a span
  - {at: 2h, who: ana, profiles: 1}                       # how many profiles hold ana
  - {invariant: no_ghost_abandons}    # also no_missed_entries, no_duplicate_entries, no_split_identities, all
  - {violation: ghost_abandon, who: ana, cause: late_arrival}   # a known failure, documented
  - {violation: missed_entry, who: ana, journey: vip_thanks, cause: type_mismatch}
"""


def test_section_10_expectations_verbatim() -> None:
    result = outcome_of(SECTION_10)
    verdicts = [r.passed for r in result.results]
    # the reminder goes out at 1h01m; the order, sent at 20m, arrives at 2h20m
    assert verdicts == [True, True, True, True, False, False, False, True, False, True, True], [
        (r.expected, r.actual) for r in result.results
    ]


def test_failed_expectations_explain_expected_and_actual() -> None:
    result = outcome_of(SECTION_10)
    sent = result.results[4]
    assert "reminder" in sent.actual and "[]" in sent.expected
    exited = result.results[5]
    assert "completed" in exited.actual


def test_the_same_story_passes_with_the_right_expectations() -> None:
    passes(
        SECTION_10.split("expect:")[0]
        + """expect:
  - {who: ana, journey: cart_recovery, sent: [reminder]}
  - {who: ana, journey: cart_recovery, exited: completed}
  - {who: ana, journey: cart_recovery, sent: [reminder], within: [1h1m, 1h1m]}
  - {who: ana, journey: cart_recovery, sent: [], within: [0m, 1h0m59s]}
  - {who: ana, journey: cart_recovery, entered: 1, within: [1m, 1m]}
  - {who: ana, journey: cart_recovery, entered: 0, within: [1m1s, 2d]}
  - {at: 1m, who: ana, journey: cart_recovery, entered: 1}
  - {at: 59s, who: ana, journey: cart_recovery, entered: 0}
  - {at: 1h, who: ana, journey: cart_recovery, sent: []}
"""
    )


def _two_runs(expect: str) -> str:
    return f"""
scenario: runs
shoppers: {{ana: {{id: cus_1}}}}
workspace:
  journeys:
    j:
      trigger: {{event: go}}
      goal: {{performed: done}}
      exit: goal
      steps:
        - branch:
            if: {{trigger: {{n: 1}}}}
            then: [{{wait: 2h}}, {{send: first_a}}, {{send: first_b}}]
            else: [{{wait: 1h}}, {{send: second_a}}, {{send: second_b}}]
timeline:
  - {{at: 0m, who: ana, track: go, properties: {{n: 1}}}}
  - {{at: 1h, who: ana, track: go, properties: {{n: 2}}}}
  - {{at: 90m, who: ana, track: other}}
expect:
{expect}
"""


def test_sent_orders_by_instant_then_run_entry_then_step() -> None:
    passes(_two_runs("  - {who: ana, journey: j, sent: [first_a, first_b, second_a, second_b]}"))


def test_exited_is_the_reason_of_the_run_entered_last() -> None:
    passes(
        _two_runs("  - {who: ana, journey: j, exited: goal}\n  - {at: 90m, who: ana, journey: j, exited: open}")
        .replace("{at: 90m, who: ana, track: other}", "{at: 2h30m, who: ana, track: done}")
        .replace("first_a}, {send: first_b}]", "first_a}, {send: first_b}]")
        .replace("{wait: 1h}, {send: second_a}", "{wait: 3h}, {send: second_a}")
    )


def test_exited_open_at_an_instant_before_the_run_ended() -> None:
    passes(
        _two_runs("  - {at: 1h30m, who: ana, journey: j, exited: open}\n  - {who: ana, journey: j, exited: completed}")
    )


def test_profiles_counts_profiles_without_events() -> None:
    passes(
        """
scenario: identify only
shoppers: {ana: {id: cus_1, email: ana@example.com}}
workspace:
  identity: {auto_merge: false}
  sources: {by_email: {kind: server, latency: 0s, identify_by: email}}
timeline:
  - {at: 0m, who: ana, identify: {with: [id]}}
  - {at: 1m, who: ana, source: by_email, identify: {with: [email]}}
  - {at: 2m, who: ana, device: phone, identify: {with: [email]}}
expect:
  - {at: 30s, who: ana, profiles: 1}
  - {at: 1m, who: ana, profiles: 2}
  - {who: ana, profiles: 2}
"""
    )


def test_profiles_counts_anonymous_profiles_of_the_shoppers_devices() -> None:
    passes(
        """
scenario: devices
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, device: phone, track: a}
  - {at: 0m, who: ana, device: laptop, track: a}
  - {at: 1m, who: ana, device: laptop, identify: true}
expect:
  - {at: 30s, who: ana, profiles: 2}
  - {at: 2m, who: ana, profiles: 2}
  - {at: 0s, who: ana, profiles: 2}
"""
    )


def test_profiles_zero_before_any_call() -> None:
    passes(
        """
scenario: nothing yet
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 1h, who: ana, track: a}
expect:
  - {at: 59m, who: ana, profiles: 0}
  - {at: 1h, who: ana, profiles: 1}
"""
    )


def test_shopper_in_segment_through_an_anonymous_profile_of_their_device() -> None:
    passes(
        """
scenario: anonymous membership
shoppers: {ana: {id: cus_1}, cat: {}}
workspace:
  segments: {browsers: {rule: {performed: product_viewed}}}
timeline:
  - {at: 0m, who: cat, device: tablet, track: product_viewed}
  - {at: 0m, who: ana, device: phone, track: product_viewed, reset: true}
expect:
  - {at: 1m, segment: browsers, members: [ana, cat]}
  - {at: 1m, who: cat, in_segment: browsers}
"""
    )


def test_members_empty_list_and_exact_set() -> None:
    result = outcome_of(
        """
scenario: members
shoppers: {ana: {id: cus_1}, ben: {id: cus_2}}
workspace:
  segments: {s: {rule: {performed: a}}}
timeline:
  - {at: 0m, who: ana, track: a}
  - {at: 1h, who: ben, track: a}
expect:
  - {at: 0s, segment: s, members: [ana]}
  - {at: 0s, segment: s, members: []}
  - {at: 1h, segment: s, members: [ana]}
  - {at: 1h, segment: s, members: [ben, ana]}
  - {segment: s, members: [ana, ben]}
"""
    )
    assert [r.passed for r in result.results] == [True, False, False, True, True]


def test_entered_and_sent_look_at_runs_on_deleted_profiles() -> None:
    passes(
        """
scenario: runs survive deletion
shoppers: {ana: {id: cus_1, email: ana@example.com}}
workspace:
  sources: {by_email: {kind: server, latency: 0s, identify_by: email}}
  journeys:
    j: {trigger: {event: go}, steps: [{send: m}]}
timeline:
  - {at: 0m, who: ana, track: a}
  - {at: 1m, who: ana, source: by_email, track: go}
  - {at: 2m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
expect:
  - {who: ana, journey: j, entered: 1}
  - {who: ana, journey: j, sent: [m]}
  - {who: ana, journey: j, exited: completed}
  - {who: ana, profiles: 1}
"""
    )


def test_violation_expectation_matches_on_every_key_given() -> None:
    base = SECTION_10.split("expect:")[0] + "expect:\n"
    result = outcome_of(
        base
        + """  - {violation: ghost_abandon}
  - {violation: ghost_abandon, who: ana, journey: cart_recovery, message: reminder, cause: late_arrival}
  - {violation: ghost_abandon, cause: dropped}
  - {violation: ghost_abandon, journey: vip_thanks}
  - {violation: ghost_abandon, message: thanks}
  - {violation: split_identity}
"""
    )
    assert [r.passed for r in result.results] == [True, True, False, False, False, False]


@pytest.mark.parametrize(
    ("expectation", "hint"),
    [
        ("{at: 1h, segment: cart_abandoner, members: []}", "cart_abandoners"),
        ("{at: 1h, who: anna, in_segment: cart_abandoners}", "ana"),
        ("{who: ana, journey: cart_recovry, entered: 1}", "cart_recovery"),
        ("{who: ana, journey: cart_recovery, sent: [remindr]}", "reminder"),
        ("{violation: ghost_abandon, who: ana, message: remindr}", "reminder"),
        ("{violation: ghost_abandon, who: ana, journey: cart_recovry}", "cart_recovery"),
        ("{invariant: no_ghost_abandon}", "no_ghost_abandons"),
        ("{violation: ghost_abandons}", "ghost_abandon"),
        ("{violation: ghost_abandon, cause: late_arival}", "late_arrival"),
        ("{at: 1h, segment: cart_abandoners, members: [anna]}", "ana"),
    ],
)
def test_expectations_naming_unknown_things_are_errors(expectation: str, hint: str) -> None:
    text = SECTION_10.split("expect:")[0] + f"expect:\n  - {expectation}\n"
    with pytest.raises(InputError) as info:
        plan_of(text)
    message = str(info.value)
    assert "expect" in message and hint in message, message


def test_a_within_span_on_exited_or_segments_is_refused() -> None:
    text = (
        SECTION_10.split("expect:")[0]
        + "expect:\n  - {who: ana, journey: cart_recovery, exited: goal, within: [0m, 1h]}\n"
    )
    with pytest.raises(InputError):
        plan_of(text)
