"""SPEC 10: each kind of expectation passes when it should, fails when it should,
and explains itself."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.checks.expectations import ScenarioResult

Judge = Callable[..., ScenarioResult]

STORY = """
scenario: s
workspace:
  segments:
    carts: {rule: {all: [{performed: checkout_started, within: 2h}, {not_performed: order_completed}]}}
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: first}, {wait: 1h}, {send: second}]
    thanks:
      trigger: {event: order_completed}
      steps: [{send: thank_you}]
shoppers:
  ana: {id: cus_1}
  ben: {id: cus_2}
  cat: {}
timeline:
  - {at: 0s, who: ana, device: phone, track: checkout_started}
  - {at: 1m, who: ana, device: phone, identify: true}
  - {at: 0s, who: ben, track: checkout_started}
  - {at: 3h, who: ben, track: checkout_started}
  - {at: 3h30m, who: ben, track: order_completed}
  - {at: 0s, who: cat, device: phone, track: checkout_started}
expect:
"""


def outcome_of(judge: Judge, expectation: str) -> tuple[bool, str, str]:
    result = judge(STORY + f"  - {expectation}\n")
    (r,) = result.results
    return r.passed, r.expected, r.actual


@pytest.mark.parametrize(
    ("expectation", "passes"),
    [
        ("{at: 30m, segment: carts, members: [ana, ben, cat]}", True),
        ("{at: 30m, segment: carts, members: [ana, ben]}", False),
        ("{at: 30m, segment: carts, members: [ana, ana, ben, cat]}", True),  # an exact set: twice is once
        ("{at: 2h, segment: carts, members: []}", True),
        ("{segment: carts, members: []}", True),
        ("{at: 30m, who: cat, in_segment: carts}", True),  # via the anonymous id of cat's phone
        ("{at: 30s, who: ana, in_segment: carts}", True),  # before the identify: the anonymous profile
        ("{at: 2h, who: ana, in_segment: carts}", False),
        ("{at: 2h, who: ana, not_in_segment: carts}", True),
        ("{at: 30m, who: ben, not_in_segment: carts}", False),
        ("{who: ana, journey: recovery, entered: 1}", True),
        ("{who: ben, journey: recovery, entered: 2}", True),
        ("{who: ben, journey: recovery, entered: 1}", False),
        ("{who: ben, journey: recovery, entered: 1, within: [2h, 4h]}", True),
        ("{who: ben, journey: recovery, entered: 2, within: [0s, 3h]}", True),  # both ends included
        ("{who: ben, journey: recovery, entered: 1, within: [1s, 3h]}", True),
        ("{who: cat, journey: recovery, entered: 0}", True),
        ("{who: ana, journey: recovery, sent: [first, second]}", True),
        ("{who: ana, journey: recovery, sent: [second, first]}", False),
        ("{who: ana, journey: recovery, sent: [first]}", False),
        ("{who: ben, journey: recovery, sent: [first, second]}", True),  # the second run ended by its goal
        ("{who: ben, journey: recovery, sent: [first, second], within: [0s, 2h]}", True),
        ("{who: ben, journey: recovery, sent: [second], within: [2h, 3h]}", True),
        ("{who: ben, journey: recovery, sent: [], within: [2h1s, 5h]}", True),
        ("{who: ben, journey: thanks, sent: [thank_you]}", True),
        ("{who: ana, journey: recovery, exited: completed}", True),
        ("{who: ben, journey: recovery, exited: goal}", True),  # the last run entered
        ("{who: ben, journey: recovery, exited: completed}", False),
        ("{at: 1h30m, who: ana, journey: recovery, exited: open}", True),
        ("{at: 30m, who: ana, profiles: 1}", True),
        ("{at: 30s, who: ana, profiles: 1}", True),
        ("{at: 30m, who: cat, profiles: 1}", True),
        ("{who: ana, profiles: 2}", False),
        ("{invariant: no_ghost_abandons}", True),
        ("{invariant: no_missed_entries}", True),
        ("{invariant: no_duplicate_entries}", True),
        ("{invariant: no_split_identities}", True),
        ("{invariant: all}", True),
        ("{violation: ghost_abandon, who: ana}", False),
    ],
)
def test_expectation_kinds(judge: Judge, expectation: str, passes: bool) -> None:
    passed, expected, actual = outcome_of(judge, expectation)
    assert passed is passes, (expected, actual)
    assert expected and actual


def test_a_failed_expectation_says_what_was_expected_and_what_happened(judge: Judge) -> None:
    passed, expected, actual = outcome_of(judge, "{who: ana, journey: recovery, sent: [first]}")
    assert not passed
    assert "first" in expected
    assert "second" in actual and "+2h" in actual


GHOST = """
scenario: s
workspace:
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, track: checkout_started}
  - {at: 10m, who: ana, track: order_completed, latency: 2h}
expect:
"""


@pytest.mark.parametrize(
    ("expectation", "passes"),
    [
        ("{violation: ghost_abandon}", True),
        ("{violation: ghost_abandon, who: ana, journey: recovery, message: reminder, cause: late_arrival}", True),
        ("{violation: ghost_abandon, who: ana, cause: dropped}", False),
        ("{violation: missed_entry, who: ana}", False),
        ("{invariant: no_ghost_abandons}", False),
        ("{invariant: all}", False),
        ("{invariant: no_missed_entries}", True),
        # with `at`: the violations decided by that instant (the reminder goes out at 1h)
        ("{at: 30m, invariant: no_ghost_abandons}", True),
        ("{at: 1h, invariant: no_ghost_abandons}", False),
        ("{at: 30m, violation: ghost_abandon, who: ana}", False),
        ("{at: 1h, violation: ghost_abandon, who: ana}", True),
    ],
)
def test_violation_and_invariant_expectations(judge: Judge, expectation: str, passes: bool) -> None:
    result = judge(GHOST + f"  - {expectation}\n")
    assert result.results[0].passed is passes


def test_violations_fail_a_scenario_only_through_invariants_or_strict(judge: Judge) -> None:
    text = GHOST + "  - {who: ana, journey: recovery, entered: 1}\n"
    assert judge(text).passed
    assert not judge(text, strict=True).passed
    documented = text + "  - {violation: ghost_abandon, who: ana}\n"
    assert judge(documented, strict=True).passed


def test_under_strict_a_violation_expectation_with_at_covers_only_what_was_decided_by_then(judge: Judge) -> None:
    # Two ghosts: the reminder at 1h, the second message at 2h (the order arrives at 3h10m).
    text = GHOST.replace("{send: reminder}]", "{send: reminder}, {wait: 1h}, {send: second}]")
    text = text.replace("latency: 2h", "latency: 3h")
    early = judge(text + "  - {at: 1h, violation: ghost_abandon, who: ana}\n", strict=True)
    assert early.results[0].passed
    assert [v.message for v in early.unexpected] == ["second"]
    assert not early.passed
    assert judge(text + "  - {at: 2h, violation: ghost_abandon, who: ana}\n", strict=True).passed
    assert judge(text + "  - {violation: ghost_abandon, who: ana}\n", strict=True).passed


def test_entered_sent_exited_follow_runs_onto_deleted_profiles(judge: Judge) -> None:
    text = """
scenario: s
workspace:
  sources: {mail: {kind: server, identify_by: email}}
  journeys:
    hello: {trigger: {event: go}, steps: [{send: hi}]}
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0s, who: ana, source: mail, track: go}
  - {at: 1m, who: ana, identify: {with: [id]}}
  - {at: 2m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
expect:
  - {who: ana, journey: hello, entered: 1}
  - {who: ana, journey: hello, sent: [hi]}
  - {who: ana, journey: hello, exited: completed}
  - {who: ana, profiles: 1}
  - {at: 1m30s, who: ana, profiles: 2}
"""
    result = judge(text)
    assert [r.passed for r in result.results] == [True] * 5
    assert result.outcome.platform.profiles[1].deleted_at is not None


SPLIT = """
scenario: s
workspace: {sources: {orders: {kind: server, identify_by: email}}}
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0s, who: ana, device: phone, identify: {with: [id]}}
  - {at: 1m, who: ana, device: phone, track: viewed}
  - {at: 2m, who: ana, source: orders, track: order_completed}
  - {at: 3m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
expect:
"""


@pytest.mark.parametrize(
    ("expectation", "passes"),
    [
        ("{at: 1m, invariant: no_split_identities}", True),  # one profile so far
        ("{at: 2m, invariant: no_split_identities}", False),  # the order landed on an email-keyed profile
        ("{at: 2m, violation: split_identity, who: ana}", True),
        ("{invariant: no_split_identities}", True),  # merged by the end
    ],
)
def test_an_identity_split_at_an_instant_is_judged_there(judge: Judge, expectation: str, passes: bool) -> None:
    result = judge(SPLIT + f"  - {expectation}\n")
    assert result.results[0].passed is passes


DOUBLED = """
scenario: s
workspace:
  journeys:
    thanks: {trigger: {event: order_completed}, steps: [{send: thank_you}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, track: order_completed, copies: 2, retry_after: 2h}
expect:
"""


@pytest.mark.parametrize(
    ("expectation", "passes"),
    [
        ("{at: 30m, invariant: no_duplicate_entries}", True),  # the second run starts at 2h
        ("{at: 2h, invariant: no_duplicate_entries}", False),
        ("{at: 30m, who: ana, journey: thanks, entered: 1}", True),
    ],
)
def test_a_duplicate_entry_is_decided_when_its_second_run_starts(judge: Judge, expectation: str, passes: bool) -> None:
    result = judge(DOUBLED + f"  - {expectation}\n")
    assert result.results[0].passed is passes


IDLE = """
scenario: s
workspace:
  rules: {negative_window_needs_age: false}
  segments:
    idle: {rule: {not_performed: browse, within: 1h}}
  journeys:
    winback: {trigger: {segment: idle}, steps: [{send: hi}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, track: browse}
expect:
"""


@pytest.mark.parametrize(
    ("expectation", "passes"),
    [
        # The window closes at 1h: the story runs to the span's end, as to an `at` (SPEC 11).
        ("{who: ana, journey: winback, sent: [hi], within: [1h, 2h]}", True),
        ("{who: ana, journey: winback, entered: 1, within: [30m, 2h]}", True),
        ("{who: ana, journey: winback, sent: [], within: [0m, 59m]}", True),
    ],
)
def test_a_within_span_is_waited_for_like_an_at(judge: Judge, expectation: str, passes: bool) -> None:
    result = judge(IDLE + f"  - {expectation}\n")
    assert result.results[0].passed is passes
    assert result.outcome.end >= result.outcome.plan.expectations[0].within[1]  # type: ignore[index]


def test_a_violation_a_journey_can_never_have_fails_saying_why(judge: Judge) -> None:
    text = """
scenario: s
workspace:
  segments: {vips: {rule: {attribute: vip, eq: true}}}
  journeys:
    welcome: {trigger: {segment: vips}, steps: [{send: hello}]}
    thanks: {trigger: {event: order_completed}, steps: [{send: thank_you}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, source: backend, identify: {attributes: {vip: true}}}
  - {at: 1m, who: ana, source: backend, track: order_completed}
expect:
  - {violation: missed_entry, who: ana, journey: welcome}
  - {violation: ghost_abandon, who: ana, journey: thanks}
"""
    result = judge(text)
    assert [(r.passed, r.actual) for r in result.results] == [
        (
            False,
            "no missed_entry at all (welcome is triggered by a segment: only event-triggered journeys miss entries)",
        ),
        (False, "no ghost_abandon at all (thanks has neither goal nor filter: its messages are never ghosts)"),
    ]
