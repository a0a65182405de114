"""Edge cases found in review: each pins one rule at a boundary the other tests miss."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.checks.expectations import check_plan
from simulator.checks.violations import find_violations
from simulator.pipeline import simulate
from simulator.scenario.errors import InputError, Problem
from simulator.scenario.loader import load_plan_text


def run(text: str, tmp_path: Path) -> list[str]:
    result = check_plan(load_plan_text(text, "<edge>", tmp_path))
    return [f"{r.expected} / {r.actual}" for r in result.failures]


def refused(text: str, tmp_path: Path) -> Problem:
    """The one problem a story is refused with."""
    with pytest.raises(InputError) as info:
        load_plan_text(text, "<edge>", tmp_path)
    (problem,) = info.value.problems
    return problem


def test_an_expectation_after_until_is_a_located_error(tmp_path: Path) -> None:
    text = """
scenario: expectation after until
until: 1h
workspace: {segments: {viewers: {rule: {performed: page_viewed}}}}
shoppers: {ana: {id: cus_1}}
timeline: [{at: 0m, who: ana, track: page_viewed}]
expect:
  - {at: 2h, segment: viewers, members: [ana]}
"""
    problem = refused(text, tmp_path)
    assert (problem.path, problem.line) == ("expect[0].at", 8)
    assert "until" in problem.message


def test_a_backfilled_event_ages_the_profile_for_negative_windows(tmp_path: Path) -> None:
    text = """
scenario: backfill ages the profile
workspace: {segments: {inactive: {rule: {not_performed: order_completed, within: 7d}}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, track: page_viewed}
  - {at: 1h, who: ana, track: page_viewed, timestamp: "2025-12-20T00:00:00Z"}
expect:
  - {at: 30m, who: ana, not_in_segment: inactive}
  - {at: 2h, who: ana, in_segment: inactive}
"""
    assert run(text, tmp_path) == []


def test_a_window_closing_at_the_final_instant_is_processed(tmp_path: Path) -> None:
    text = """
scenario: window closing at the end
workspace: {segments: {recent: {rule: {performed: checkout_started, within: 1h}}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, track: checkout_started}
  - {at: 1h, who: ana, track: page_viewed}
expect:
  - {segment: recent, members: []}
"""
    assert run(text, tmp_path) == []


def test_segment_refresh_sweeps_at_start_too(tmp_path: Path) -> None:
    text = """
scenario: sweep at k = 0
workspace:
  rules: {segment_refresh: 1h}
  segments: {viewers: {rule: {performed: page_viewed}}}
shoppers: {ana: {id: cus_1}}
timeline: [{at: 0m, who: ana, track: page_viewed}]
expect:
  - {at: 0m, who: ana, in_segment: viewers}
  - {at: 30m, who: ana, in_segment: viewers}
"""
    assert run(text, tmp_path) == []


def test_a_goal_event_still_in_flight_at_until_is_a_late_arrival(tmp_path: Path) -> None:
    text = """
scenario: in flight at until
until: 1h
workspace:
  journeys:
    j: {trigger: {event: checkout_started}, goal: {performed: order_completed}, exit: goal,
        steps: [{wait: 30m}, {send: m1}]}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, track: checkout_started}
  - {at: 10m, who: ana, track: order_completed, latency: 2h}
"""
    violations = find_violations(simulate(load_plan_text(text, "<edge>", tmp_path)))
    assert [(v.kind, v.cause) for v in violations] == [("ghost_abandon", "late_arrival")]
    assert "had not arrived" in violations[0].explanation


def test_entries_follow_the_workspace_order_of_journeys(tmp_path: Path) -> None:
    text = """
scenario: entry order
workspace:
  segments: {starters: {rule: {performed: checkout_started}}}
  journeys:
    first_event_journey: {trigger: {event: checkout_started}, steps: [{send: m_event}]}
    second_segment_journey: {trigger: {segment: starters}, steps: [{send: m_segment}]}
shoppers: {ana: {id: cus_1}}
timeline: [{at: 0m, who: ana, track: checkout_started}]
"""
    runs = simulate(load_plan_text(text, "<edge>", tmp_path)).platform.runs
    assert [(r.num, r.journey.name) for r in runs] == [(1, "first_event_journey"), (2, "second_segment_journey")]


def test_an_arrival_past_the_printable_clock_never_arrives(tmp_path: Path) -> None:
    text = """
scenario: overflow
start: "8990-01-01T00:00:00Z"
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 52000w, who: ana, track: page_viewed, latency: 52000w}
"""
    outcome = simulate(load_plan_text(text, "<edge>", tmp_path))
    assert outcome.deliveries == [] and [s.name for s in outcome.dropped] == ["page_viewed"]


def test_idempotency_values_compare_as_values_not_text(tmp_path: Path) -> None:
    text = """
scenario: 1 and 1.0 are one order
workspace:
  dedupe: {idempotency_keys: {order_completed: order_id}}
  journeys: {thanks: {trigger: {event: order_completed}, steps: [{send: thank_you}]}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, track: order_completed, properties: {order_id: 1}}
  - {at: 5m, who: ana, track: order_completed, properties: {order_id: 1.0}}
  - {at: 9m, who: ana, track: order_completed, properties: {order_id: "1"}}
expect:
  - {who: ana, journey: thanks, entered: 2}
"""
    assert run(text, tmp_path) == []


def test_a_flow_style_scenario_file_is_collected(tmp_path: Path) -> None:
    from simulator.scenario.loader import is_scenario_file

    flow = tmp_path / "flow.yaml"
    flow.write_text("{scenario: flow style, shoppers: {}}\n", encoding="utf-8")
    workspace = tmp_path / "ws.yaml"
    workspace.write_text("segments: {}\n", encoding="utf-8")
    assert is_scenario_file(flow) and not is_scenario_file(workspace)


@pytest.mark.parametrize("source", ["", "source: backend, "])
def test_a_merge_step_with_a_device_is_refused_at_its_device(tmp_path: Path, source: str) -> None:
    # SPEC 2 defaults a step with a device to `web`; a merge comes from a server (SPEC 5).
    text = f"""
scenario: merge from a phone
shoppers: {{ana: {{id: cus_1}}, ben: {{email: ben@example.com}}}}
timeline:
  - {{at: 0m, device: phone, {source}merge: {{primary: {{id: cus_1}}, secondary: {{email: ben@example.com}}}}}}
"""
    problem = refused(text, tmp_path)
    assert (problem.path, problem.line) == ("timeline[0].device", 5)
    assert "comes from a server, not a shopper's device" in problem.message


def test_a_workspace_key_naming_a_scenario_file_is_refused_at_that_key(tmp_path: Path) -> None:
    from simulator.scenario.loader import load_plan

    (tmp_path / "ws.yaml").write_text("segments: {viewers: {rule: {performed: page_viewed}}}\n")
    (tmp_path / "base.yaml").write_text("scenario: base\nworkspace: ws.yaml\n")
    (tmp_path / "uses_base.yaml").write_text("scenario: on a scenario\nworkspace: base.yaml\n")
    (tmp_path / "itself.yaml").write_text("scenario: on itself\nworkspace: itself.yaml\n")
    for name, message, hint in [
        ("uses_base.yaml", "this names a scenario file (base.yaml), not a workspace file", "uses: ws.yaml"),
        ("itself.yaml", "this names this scenario file itself", "write the workspace inline"),
    ]:
        with pytest.raises(InputError) as info:
            load_plan(tmp_path / name)
        (problem,) = info.value.problems
        assert (Path(problem.file).name, problem.line, problem.path) == (name, 2, "workspace")
        assert message in problem.message and hint in problem.hint


@pytest.mark.parametrize("key", ["k" * 100_000, "k." * 50_000])
def test_an_error_cuts_a_huge_key_in_its_path_as_it_cuts_a_huge_value(tmp_path: Path, key: str) -> None:
    text = "scenario: long key\ntimeline: []\n" + key + ": 1\n"
    with pytest.raises(InputError) as info:
        load_plan_text(text, "<edge>", tmp_path)
    rendered = str(info.value)
    assert len(rendered) < 1_000
    assert key[:60] + "..." + key[-60:] + " (100,000 characters)" in rendered


def test_an_error_cuts_a_long_path_in_its_middle_keeping_the_leaf(tmp_path: Path) -> None:
    then = "".join("{branch: {if: {attribute: vip, eq: true}, then: [" for _ in range(9))
    steps = then + "{wait: 5x}" + "]}}" * 9
    text = "scenario: s\nworkspace:\n  journeys:\n    cart_recovery_for_high_value_returning_customers:\n"
    text += f"      trigger: {{event: e}}\n      steps: [{steps}]\n"
    problem = refused(text, tmp_path)
    assert len(problem.path) >= 200
    assert problem.render().split(": ")[1].endswith(".then[0].wait (" + f"{len(problem.path):,} characters)")


@pytest.mark.parametrize(
    ("journey", "path"),
    [
        ('{trigger: {event: ""}, steps: [{send: m}]}', "trigger.event"),
        ('{trigger: {segment: ""}, steps: [{send: m}]}', "trigger.segment"),
        ('{trigger: {event: e}, steps: [{send: ""}]}', "steps[0].send"),
    ],
)
def test_a_journey_naming_nothing_is_refused_where_it_is_written(tmp_path: Path, journey: str, path: str) -> None:
    text = f"scenario: s\nworkspace:\n  journeys:\n    j: {journey}\n"
    problem = refused(text, tmp_path)
    assert (problem.path, problem.line) == (f"workspace.journeys.j.{path}", 4)
    assert "at least 1 character" in problem.message


@pytest.mark.parametrize(
    ("rule", "path", "words"),
    [
        ('{performed: ""}', "performed", "at least 1 character"),
        ("{performed: e, count: {eq: -1}}", "count.eq", "at least 0"),
        ("{performed: e, where: {a..b: 1}}", "where.a..b", "has an empty key"),
        ("{performed: e, where: {'items[].': 1}}", "where.items[].", "has an empty key"),
        ("{attribute: '', eq: 1}", "attribute", "at least 1 character"),
    ],
)
def test_a_rule_that_could_never_mean_anything_is_refused_where_it_is_written(
    tmp_path: Path, rule: str, path: str, words: str
) -> None:
    text = f"scenario: s\nworkspace:\n  segments:\n    s: {{rule: {rule}}}\n"
    problem = refused(text, tmp_path)
    assert (problem.path, problem.line) == (f"workspace.segments.s.rule.{path}", 4)
    assert words in problem.message


def test_a_key_that_does_not_belong_is_said_in_english(tmp_path: Path) -> None:
    text = """
scenario: stray key
shoppers: {ana: {id: cus_1}}
timeline: [{at: 0m, who: ana, track: page_viewed}]
expect:
  - {invariant: all, who: ana}
"""
    problem = refused(text, tmp_path)
    assert "who does not belong in an invariant expectation" in problem.message


def test_an_empty_journey_question_says_which(tmp_path: Path) -> None:
    text = """
scenario: empty sent
workspace: {journeys: {j: {trigger: {event: go}, steps: [{send: hi}]}}}
shoppers: {ana: {id: cus_1}}
timeline: [{at: 0m, who: ana, track: go}]
expect:
  - {who: ana, journey: j, sent: null}
"""
    problem = refused(text, tmp_path)
    assert "sent is empty (null): write sent: [] for no message" in problem.message


def test_a_violation_decided_after_at_is_said_when_the_expectation_fails(tmp_path: Path) -> None:
    """The trace dates the missed entry at its trigger (0m); the ideal run entered at
    10m, so at 5m it was not yet decided: the failure says so instead of "none at all"."""
    text = """
scenario: missed entry judged before the ideal entry
workspace: {journeys: {cart: {trigger: {event: checkout}, steps: [{send: email1}]}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, device: phone, track: checkout}
  - {at: 10m, who: ana, device: laptop, identify: true}
expect:
  - {at: 5m, violation: missed_entry, who: ana}
  - {at: 10m, violation: missed_entry, who: ana}
"""
    assert run(text, tmp_path) == [
        "a missed_entry with who ana by +0h05m / no missed_entry decided by +0h05m; decided later: "
        "ana cart cause identity_split (dated +0h00m, decided at +0h10m)"
    ]
