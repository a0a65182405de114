"""SPEC 7: segment membership at T, exits by time passing, `segment_refresh`."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.checks.expectations import ScenarioResult
from simulator.model.plan import Plan
from simulator.model.time import parse_instant
from simulator.pipeline import Outcome
from simulator.scenario.errors import InputError, Problem

START = parse_instant("2026-01-01T00:00:00Z")


def changes(outcome: Outcome, segment: str) -> list[tuple[str, int]]:
    """(entered|left, offset in seconds) of every membership change of `segment`."""
    return [
        (r["kind"].removeprefix("segment_"), r["at"] - START)
        for r in outcome.platform.trace.records
        if r["kind"] in ("segment_entered", "segment_left") and r.get("segment") == segment
    ]


ABANDONERS = """
scenario: s
workspace:
  rules: {REFRESH}
  segments:
    cart_abandoners:
      rule:
        all:
          - {performed: checkout_started, within: 2h}
          - {not_performed: order_completed, after: checkout_started}
shoppers: {ana: {id: cus_1}}
timeline:
"""


def abandoners(steps: str, refresh: str = "") -> str:
    return ABANDONERS.replace("{REFRESH}", "{" + refresh + "}") + steps


def test_membership_follows_events_at_once(play: Callable[..., Outcome]) -> None:
    outcome = play(
        abandoners("  - {at: 0s, who: ana, track: checkout_started}\n  - {at: 30m, who: ana, track: order_completed}\n")
    )
    assert changes(outcome, "cart_abandoners") == [("entered", 0), ("left", 1800)]
    assert outcome.platform.members("cart_abandoners") == []


def test_a_window_closing_is_an_exit_recorded_at_its_instant(play: Callable[..., Outcome]) -> None:
    outcome = play(abandoners("  - {at: 10m, who: ana, track: checkout_started}\n") + "until: 3h\n")
    assert changes(outcome, "cart_abandoners") == [("entered", 600), ("left", 600 + 7200)]


def test_a_window_closing_exit_is_recorded_for_backdated_events(play: Callable[..., Outcome]) -> None:
    outcome = play(abandoners("  - {at: 1h, who: ana, track: checkout_started, timestamp: 0s}\n") + "until: 3h\n")
    assert changes(outcome, "cart_abandoners") == [("entered", 3600), ("left", 7200)]


def test_membership_at_t_via_expectations(judge: Callable[..., object]) -> None:
    result = judge(
        abandoners(
            "  - {at: 0s, who: ana, track: checkout_started}\n"
            "expect:\n"
            "  - {at: 0s, who: ana, in_segment: cart_abandoners}\n"
            "  - {at: 1h59m59s, who: ana, in_segment: cart_abandoners}\n"
            "  - {at: 2h, who: ana, not_in_segment: cart_abandoners}\n"
            "  - {at: 1h, segment: cart_abandoners, members: [ana]}\n"
            "  - {at: 3h, segment: cart_abandoners, members: []}\n"
        )
    )
    assert [r.passed for r in result.results] == [True] * 5  # type: ignore[attr-defined]


def test_segment_refresh_recomputes_only_at_sweeps(play: Callable[..., Outcome]) -> None:
    outcome = play(
        abandoners(
            "  - {at: 10m, who: ana, track: checkout_started}\n  - {at: 40m, who: ana, track: order_completed}\n",
            refresh="segment_refresh: 1h",
        )
        + "until: 3h\n"
    )
    # entered at the first sweep after the checkout, but the order came before it
    assert changes(outcome, "cart_abandoners") == []
    sweeps = [r["at"] - START for r in outcome.platform.trace.records if r["kind"] == "segment_refresh"]
    assert sweeps == [0, 3600, 7200, 10800]


def test_segment_refresh_holds_membership_between_sweeps(play: Callable[..., Outcome]) -> None:
    outcome = play(
        abandoners(
            "  - {at: 10m, who: ana, track: checkout_started}\n  - {at: 1h30m, who: ana, track: order_completed}\n",
            refresh="segment_refresh: 1h",
        )
        + "until: 4h\n"
    )
    assert changes(outcome, "cart_abandoners") == [("entered", 3600), ("left", 7200)]


def test_a_negative_window_joins_when_the_profile_reaches_its_age(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        until: 2d
        workspace:
          segments:
            quiet: {rule: {not_performed: order_completed, within: 1d}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 1h, who: ana, track: viewed}
        """
    )
    assert changes(outcome, "quiet") == [("entered", 3600 + 86400)]


def test_negative_window_needs_age_false_joins_at_once(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        until: 2d
        workspace:
          rules: {negative_window_needs_age: false}
          segments:
            quiet: {rule: {not_performed: order_completed, within: 1d}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 1h, who: ana, track: viewed}
        """
    )
    assert changes(outcome, "quiet") == [("entered", 3600)]


def test_in_segment_sees_other_segments_at_once(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        workspace:
          segments:
            vip_browsers: {rule: {all: [{in_segment: vips}, {performed: viewed}]}}
            vips: {rule: {attribute: vip, eq: true}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, track: viewed}
          - {at: 1h, who: ana, identify: {attributes: {vip: true}}}
        """
    )
    assert changes(outcome, "vips") == [("entered", 3600)]
    assert changes(outcome, "vip_browsers") == [("entered", 3600)]


def _refused(load: Callable[[str], Plan], text: str) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load(text)
    return info.value.problems


def test_in_segment_cycles_are_refused_at_load_time(load: Callable[[str], Plan]) -> None:
    problems = _refused(
        load,
        """
            scenario: s
            workspace:
              segments:
                a: {rule: {in_segment: b}}
                b: {rule: {any: [{in_segment: c}]}}
                c: {rule: {in_segment: a}}
        """,
    )
    assert any("cycle" in p.message for p in problems)
    assert all(p.path.startswith("workspace.segments") for p in problems)


@pytest.mark.parametrize("closed", [False, True])
def test_a_chain_of_two_thousand_in_segments_loads_and_its_cycle_is_told(
    load: Callable[[str], Plan], closed: bool
) -> None:
    # Each segment reads the next; the last reads an event, or closes the cycle.
    n = 2000
    lines = [f"    s{i}: {{rule: {{in_segment: s{i + 1}}}}}" for i in range(n - 1)]
    last = "{in_segment: s0}" if closed else "{performed: e}"
    lines.append(f"    s{n - 1}: {{rule: {last}}}")
    text = "scenario: s\nworkspace:\n  segments:\n" + "\n".join(lines) + "\n"
    if not closed:
        names = [seg.name for seg in load(text).workspace.segments]
        assert (len(names), names[0], names[-1]) == (n, f"s{n - 1}", "s0")  # each after what it reads
        return
    (problem,) = _refused(load, text)
    assert problem.path == "workspace.segments.s0.rule"
    assert problem.message.startswith("in_segment references form a cycle: s0 -> s1 -> s2")
    assert problem.message.endswith(f"s{n - 1} -> s0")


def test_a_cycle_an_override_only_describes_is_told_in_the_workspace(load: Callable[[str], Plan]) -> None:
    problems = _refused(
        load,
        """
            scenario: s
            workspace:
              segments:
                a: {rule: {in_segment: b}}
                b: {rule: {in_segment: a}}
            overrides:
              segments:
                b: {description: just a note}
        """,
    )
    (problem,) = problems
    assert (problem.path, problem.line) == ("workspace.segments.a.rule", 5)


def test_a_cycle_an_override_closes_is_told_at_the_override(load: Callable[[str], Plan]) -> None:
    problems = _refused(
        load,
        """
            scenario: s
            workspace:
              segments:
                a: {rule: {in_segment: b}}
                b: {rule: {attribute: x, eq: 1}}
                c: {rule: {attribute: x, eq: 2}}
            overrides:
              segments:
                b: {rule: {in_segment: c}}
                c: {rule: {in_segment: a}}
        """,
    )
    (problem,) = problems
    assert (problem.path, problem.line) == ("overrides.segments.b.rule", 10)
    assert problem.message.endswith("a cycle: b -> c -> a -> b")


QUIET = """
scenario: s
workspace:
  segments:
    quiet: {rule: {not_performed: product_viewed, within: 2h}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, identify: true}
"""


def quiet(*views: str) -> str:
    """Views of ana (`at` and maybe `timestamp`, flow style) in the `quiet` workspace, up to 8h."""
    return QUIET + "".join(f"  - {{{v}, who: ana, track: product_viewed}}\n" for v in views) + "until: 8h\n"


def test_a_window_empties_while_a_later_event_is_still_held(play: Callable[..., Outcome]) -> None:
    """Only one check is kept per profile and window while events of that name
    keep coming; an event stamped in the future is not in the window yet, so the
    window empties when the earlier one leaves."""
    outcome = play(quiet("at: 1h", "at: 90m, timestamp: 6h"))
    assert changes(outcome, "quiet") == [("entered", 3 * 3600), ("left", 6 * 3600), ("entered", 8 * 3600)]


def test_an_earlier_closing_is_checked_when_a_later_one_is_already_pending(play: Callable[..., Outcome]) -> None:
    outcome = play(quiet("at: 30m, timestamp: 6h", "at: 1h"))
    assert changes(outcome, "quiet") == [("entered", 3 * 3600), ("left", 6 * 3600), ("entered", 8 * 3600)]


def test_a_window_closing_is_noticed_for_each_of_several_events(play: Callable[..., Outcome]) -> None:
    outcome = play(quiet("at: 130m", "at: 150m", "at: 170m"))
    assert changes(outcome, "quiet") == [("entered", 2 * 3600), ("left", 130 * 60), ("entered", 290 * 60)]


ONE_SEGMENT = """
scenario: s
workspace:
  segments:
    s: {rule: RULE}
shoppers: {ana: {id: cus_1}}
timeline:
"""


@pytest.mark.parametrize(
    ("rule", "steps", "expected"),
    [
        # a new anchor leaves the earlier event before it: the member leaves
        (
            "{performed: order_completed, after: checkout_started}",
            ["checkout_started", "order_completed", "checkout_started"],
            [("entered", 60), ("left", 120)],
        ),
        # one more event past an at-most count: the member leaves
        ("{performed: viewed, count: {lte: 2}}", ["viewed", "viewed", "viewed"], [("entered", 0), ("left", 120)]),
        ("{not: {performed: viewed, count: {gte: 2}}}", ["viewed", "viewed"], [("entered", 0), ("left", 60)]),
        # one more event can only add: members stay, nothing is recorded again
        ("{performed: viewed, count: {gte: 2}}", ["viewed", "viewed", "viewed"], [("entered", 60)]),
    ],
)
def test_an_arriving_event_moves_a_member_out_when_its_rule_can_turn_false(
    play: Callable[..., Outcome], rule: str, steps: list[str], expected: list[tuple[str, int]]
) -> None:
    story = ONE_SEGMENT.replace("RULE", rule) + "".join(
        f"  - {{at: {i}m, who: ana, track: {name}}}\n" for i, name in enumerate(steps)
    )
    assert changes(play(story), "s") == expected


def test_id_and_email_read_as_attributes(play: Callable[..., Outcome]) -> None:
    """`{attribute: email, exists: true}`, a Customer.io staple: the anonymous
    phone profile has no email; once identified by email it has one. An
    `email` attribute an identify sets wins over the identifier."""
    outcome = play(
        """
scenario: s
workspace:
  segments:
    reachable: {rule: {attribute: email, exists: true}}
    known: {rule: {attribute: id, eq: cus_1}}
    work_address: {rule: {attribute: email, eq: ana@work.example}}
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0s, who: ana, device: phone, track: viewed}
  - {at: 1m, who: ana, device: phone, identify: {with: [email]}}
  - {at: 2m, who: ana, source: backend, identify: {attributes: {email: ana@work.example}}}
"""
    )
    assert changes(outcome, "reachable") == [("entered", 60)]
    assert changes(outcome, "known") == [("entered", 120)]  # the backend identify sends the id
    assert changes(outcome, "work_address") == [("entered", 120)]


NONE_OF = """
scenario: none of
workspace:
  segments:
    unconverted:
      rule:
        all:
          - performed: checkout_started
          - not: [{performed: order_completed}, {attribute: vip, eq: true}]
  journeys:
    reminder:
      trigger: {event: checkout_started}
      filter: {not: [{performed: order_completed}]}
      steps: [{wait: 1h}, {send: reminder_1}]
shoppers: {ana: {id: c1}, ben: {id: c2}, cara: {id: c3}}
timeline:
  - {at: 0m, who: cara, identify: {attributes: {vip: true}}}
  - {at: 1m, who: ana, track: checkout_started}
  - {at: 1m, who: ben, track: checkout_started}
  - {at: 1m, who: cara, track: checkout_started}
  - {at: 2m, who: ben, track: order_completed, latency: 2h}
expect:
  - {at: 10m, segment: unconverted, members: [ana, ben]}
  - {at: 3h, segment: unconverted, members: [ana]}
  - {violation: ghost_abandon, who: ben, journey: reminder, cause: late_arrival}
"""


def test_not_with_a_list_holds_when_none_of_its_conditions_do(judge: Callable[..., ScenarioResult]) -> None:
    """`not: [a, b]` (the list form `all` and `any` take) is "none of these", in rules, filters and the ground truth."""
    result = judge(NONE_OF)
    assert result.passed, [r.explanation for r in result.results if not r.passed]
    ghosts = [v for v in result.violations if v.kind == "ghost_abandon"]
    assert [(v.who, v.cause) for v in ghosts] == [("ben", "late_arrival")]  # the filter's excluded order, found


def test_not_with_an_empty_list_is_refused(load: Callable[[str], Plan]) -> None:
    with pytest.raises(InputError, match=r"segments\.unconverted\.rule\.all\[1\]\.not: .*at least 1 item"):
        load(NONE_OF.replace("not: [{performed: order_completed}, {attribute: vip, eq: true}]", "not: []"))
