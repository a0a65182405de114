"""SPEC sections 2 and 3: the two file formats, overrides, timeline steps, time."""

from __future__ import annotations

from datetime import UTC

import pytest
from acceptance_support import arrivals, outcome_of, passes, plan_of

from simulator.scenario.errors import InputError

SECTION_2_TIMELINE = """
scenario: section 2 timeline, verbatim
shoppers:
  ana: {id: cus_1, email: ana@example.com}
workspace:
  segments:
    double_buyers: {rule: {performed: order_completed, count: {eq: 2}}}
  journeys:
    cart_recovery:
      trigger: {event: checkout_started}
      steps: [{send: recovery_email_1}]
    thanks:
      trigger: {event: order_completed}
      steps: [{send: thank_you}]
timeline:
  - at: 0m                     # required: offset from start, or an instant
    who: ana                   # the shopper
    device: phone              # client steps name a device
    track: checkout_started
    properties: {value: 120, currency: USD, checkout_id: ck_1}
  - {at: 10m, who: ana, device: phone, identify: true}
  - {at: 40m, who: ana, source: backend, track: order_completed,
     properties: {order_id: o_1, value: 120}, latency: 35m, copies: 2}
  - {at: 2h, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
expect:
  - {at: 5m, who: ana, profiles: 1}
  - {at: 3h, who: ana, profiles: 1}
  - {who: ana, journey: cart_recovery, entered: 1, within: [10m, 10m]}
  - {who: ana, journey: cart_recovery, sent: [recovery_email_1]}
  - {at: 75m, who: ana, not_in_segment: double_buyers}
  - {at: 76m, who: ana, in_segment: double_buyers}
  - {who: ana, journey: thanks, entered: 2}
  - {violation: duplicate_entry, who: ana, journey: thanks, cause: duplicate_delivery}
"""


def test_section_2_timeline_snippet_runs_as_documented() -> None:
    result = passes(SECTION_2_TIMELINE)
    # the order arrives 35m late, twice, retry_after (1m) apart; server sends carry no event id
    orders = [(at, copy) for at, name, copy in arrivals(result) if name == "order_completed"]
    assert orders == [(75 * 60, 1), (76 * 60, 2)]


def _ties(first: str, second: str, verdict: str) -> str:
    return f"""
scenario: ties keep file order
shoppers: {{ana: {{id: cus_1}}}}
workspace:
  segments:
    b_not_after_a: {{rule: {{all: [{{performed: a}}, {{not_performed: b, after: a}}]}}}}
timeline:
  - {{at: 1h, who: ana, identify: true}}
  - {{at: 0m, who: ana, track: {first}}}
  - {{at: 0m, who: ana, track: {second}}}
expect:
  - {{at: 2h, who: ana, {verdict}: b_not_after_a}}
"""


def test_steps_are_sorted_by_at_keeping_file_order_for_ties() -> None:
    # a then b: b is processed second, so b is later than a: excluded
    passes(_ties("a", "b", "not_in_segment"))
    # b then a: the latest a is later than b, no b after it
    passes(_ties("b", "a", "in_segment"))


def test_step_source_defaults_web_with_device_backend_without() -> None:
    passes(
        """
        scenario: default sources
        shoppers: {ana: {id: cus_1}}
        workspace:
          sources:
            web: {kind: client, latency: 1h}
            backend: {kind: server, latency: 2h}
          segments:
            viewed: {rule: {performed: product_viewed}}
            bought: {rule: {performed: order_completed}}
        timeline:
          - {at: 0m, who: ana, device: laptop, identify: true}
          - {at: 0m, who: ana, device: laptop, track: product_viewed}
          - {at: 0m, who: ana, track: order_completed}
        expect:
          - {at: 59m, who: ana, not_in_segment: viewed}
          - {at: 1h, who: ana, in_segment: viewed}
          - {at: 1h59m, who: ana, not_in_segment: bought}
          - {at: 2h, who: ana, in_segment: bought}
        """
    )


@pytest.mark.parametrize(
    "step",
    [
        "{at: 0m, who: ana, device: phone, track: a, identify: true}",  # two actions
        "{at: 0m, device: phone, track: a}",  # who missing
        "{at: 0m, who: ana, source: web, track: a}",  # client source without a device
        "{who: ana, device: phone, track: a}",  # at missing
        "{at: 0m, who: nobody, device: phone, track: a}",  # unknown shopper
    ],
)
def test_bad_timeline_steps_are_input_errors(step: str) -> None:
    with pytest.raises(InputError) as info:
        plan_of(
            f"""
            scenario: bad step
            shoppers: {{ana: {{id: cus_1}}}}
            timeline:
              - {step}
            """
        )
    problem = info.value.problems[0]
    assert problem.line == 5
    assert "timeline" in ".".join(str(p) for p in problem.path) or "timeline" in str(problem)


def test_server_step_for_a_shopper_without_identifiers_is_a_scenario_error() -> None:
    with pytest.raises(InputError):
        plan_of(
            """
            scenario: cat never identifies
            shoppers: {cat: {}}
            timeline:
              - {at: 0m, who: cat, track: order_completed}
            """
        )


def test_merge_step_needs_no_who() -> None:
    plan = plan_of(
        """
        scenario: merge only
        timeline:
          - {at: 0m, merge: {primary: {id: cus_1}, secondary: {email: ana@example.com}}}
        """
    )
    assert [s.call for s in plan.sends] == ["merge"]


def test_unknown_key_is_an_error_with_a_did_you_mean() -> None:
    with pytest.raises(InputError) as info:
        plan_of(
            """
            scenario: typo
            timline: []
            """
        )
    text = str(info.value)
    assert "timline" in text and "timeline" in text


def test_unknown_workspace_key_is_an_error_with_a_did_you_mean() -> None:
    with pytest.raises(InputError) as info:
        plan_of(
            """
            scenario: typo in workspace
            workspace:
              segmnts: {}
            """
        )
    assert "segments" in str(info.value)


OVERRIDES_BASE = """
scenario: overrides
shoppers: {ana: {id: cus_1, email: ana@example.com}}
workspace:
  sources:
    app: {kind: client, latency: {uniform: [1s, 2m]}}
    backend: {kind: server, latency: 0s, identify_by: id}
  segments:
    recent: {rule: {performed: x, within: 1h}}
  journeys:
    j:
      trigger: {event: go}
      frequency: once
      steps: [{send: a}, {send: b}]
"""


def test_overrides_replace_journey_steps_whole_and_merge_other_keys() -> None:
    passes(
        OVERRIDES_BASE
        + """
overrides:
  journeys:
    j: {steps: [{send: c}]}
timeline:
  - {at: 0m, who: ana, track: go}
  - {at: 1h, who: ana, track: go}
expect:
  - {who: ana, journey: j, sent: [c]}
  - {who: ana, journey: j, entered: 1}    # frequency: once kept from the workspace
"""
    )


def test_overrides_replace_a_segment_rule_whole() -> None:
    # merged key by key the rule would keep `within: 1h`
    passes(
        OVERRIDES_BASE
        + """
overrides:
  segments:
    recent: {rule: {performed: y}}
timeline:
  - {at: 0m, who: ana, track: y}
expect:
  - {at: 5h, who: ana, in_segment: recent}
"""
    )


def test_overrides_replace_a_source_latency_whole_and_merge_its_other_keys() -> None:
    result = passes(
        OVERRIDES_BASE
        + """
overrides:
  sources:
    app: {latency: {batch: {every: 30m}}}
    backend: {identify_by: email}
timeline:
  - {at: 1m, who: ana, device: phone, source: app, track: x}
  - {at: 0m, who: ana, track: y}
expect:
  - {at: 29m, who: ana, not_in_segment: recent}
  - {at: 30m, who: ana, in_segment: recent}
"""
    )
    # the backend kept kind: server and latency 0s, and now keys tracks by email
    profiles = result.outcome.platform.live_profiles()
    assert any(p.email == "ana@example.com" and p.id is None for p in profiles)


def test_overrides_lists_replace() -> None:
    passes(
        OVERRIDES_BASE
        + """
overrides:
  segments:
    both: {rule: {all: [{performed: x}, {performed: y}]}}
timeline:
  - {at: 0m, who: ana, track: x}
  - {at: 0m, who: ana, track: y}
expect:
  - {at: 1m, who: ana, in_segment: both}
  - {at: 1m, who: ana, in_segment: recent}
"""
    )


@pytest.mark.parametrize(
    "empty", ["sources: {}", "segments: {}", "journeys: {j: {}}", "sources: {app: {}}", "rules: {}"]
)
def test_an_empty_mapping_in_overrides_changes_nothing(empty: str) -> None:
    """SPEC 2: mappings merge key by key, so an empty one has nothing to merge: the
    app's latency, the segment and the journey are the workspace's."""
    passes(
        OVERRIDES_BASE
        + f"""
overrides: {{{empty}}}
timeline:
  - {{at: 0m, who: ana, device: phone, source: app, latency: null, track: x}}
  - {{at: 0m, who: ana, track: go}}
expect:
  - {{at: 3m, who: ana, in_segment: recent}}
  - {{who: ana, journey: j, sent: [a, b]}}
"""
    )


def test_null_in_overrides_sets_a_mapping_back_to_its_default() -> None:
    """`idempotency_keys: null` is no guard (the default), where `{}` keeps the workspace's."""
    base = OVERRIDES_BASE.replace("  segments:", "  dedupe: {idempotency_keys: {go: order_id}}\n  segments:", 1)
    story = """
timeline:
  - {at: 0m, who: ana, track: go, properties: {order_id: o_1}}
  - {at: 2h, who: ana, track: go, properties: {order_id: o_1}}
expect:
  - {at: 3h, who: ana, IN: twice}
"""
    twice = "segments: {twice: {rule: {performed: go, count: {gte: 2}}}}"
    passes(base + f"overrides: {{{twice}, dedupe: {{idempotency_keys: {{}}}}}}" + story.replace("IN", "not_in_segment"))
    passes(base + f"overrides: {{{twice}, dedupe: {{idempotency_keys: null}}}}" + story.replace("IN", "in_segment"))


NULL_BASE = """
scenario: null in overrides
shoppers: {ana: {id: cus_1}}
workspace:
  segments:
    buyers: {rule: {performed: buy}}
  journeys:
    j:
      trigger: {event: go}
      goal: {performed: buy}
      exit: goal
      steps: [{wait: 1h}, {send: a}]
timeline:
  - {at: 0m, who: ana, source: backend, track: go}
  - {at: 5m, who: ana, source: backend, track: buy}
"""


def test_null_in_overrides_takes_an_optional_key_away() -> None:
    """README Decisions: `goal: null` is no goal, so the buyer gets the message."""
    passes(NULL_BASE + "expect:\n  - {who: ana, journey: j, sent: []}\n")
    passes(NULL_BASE + "overrides: {journeys: {j: {goal: null}}}\nexpect:\n  - {who: ana, journey: j, sent: [a]}\n")


@pytest.mark.parametrize(
    ("override", "where"),
    [("{segments: {buyers: null}}", "overrides.segments.buyers"), ("{journeys: {j: {exit: null}}}", "exit")],
)
def test_null_in_overrides_is_refused_where_a_value_is_needed(override: str, where: str) -> None:
    with pytest.raises(InputError) as refused:
        plan_of(NULL_BASE + f"overrides: {override}\n")
    assert where in refused.value.problems[0].path


def test_a_workspace_key_an_override_made_wrong_names_the_override() -> None:
    """The `{trigger: ...}` reference is in the workspace and is told there; it is
    wrong only because the override made the journey segment-triggered."""
    with pytest.raises(InputError) as refused:
        plan_of(
            NULL_BASE.replace("goal: {performed: buy}", "goal: {performed: buy, where: {id: {trigger: id}}}")
            + "overrides:\n  journeys:\n    j: {trigger: {segment: buyers}}\n"
        )
    (problem,) = refused.value.problems
    assert problem.path == "workspace.journeys.j.goal.where.id.trigger"
    assert "this scenario's overrides change journeys.j (acceptance.yaml:18)" in problem.hint


def test_added_journeys_come_after_the_workspaces_in_the_order_written() -> None:
    # entries are judged in the order of journeys, so runs are entered in that order
    result = passes(
        OVERRIDES_BASE
        + """
overrides:
  journeys:
    zc:
      trigger: {event: go}
      steps: [{send: c_message}]
    ad:
      trigger: {event: go}
      steps: [{send: d_message}]
timeline:
  - {at: 0m, who: ana, track: go}
expect:
  - {who: ana, journey: j, entered: 1}
  - {who: ana, journey: zc, entered: 1}
  - {who: ana, journey: ad, entered: 1}
"""
    )
    runs = sorted(result.outcome.platform.runs, key=lambda r: r.num)
    assert [r.journey.name for r in runs] == ["j", "zc", "ad"]
    assert [j.name for j in result.plan.workspace.journeys] == ["j", "zc", "ad"]


def test_entries_are_all_judged_before_new_runs_take_steps() -> None:
    # "entries into journeys (in the workspace's order of journeys), and each new or
    # resumed run's steps up to its next wait": an earlier journey's `update` step is
    # not yet made when a later journey's filter is judged (read as a sequence)
    passes(
        OVERRIDES_BASE
        + """
overrides:
  triggers: {filter_retry: 0s}
  journeys:
    c:
      trigger: {event: go}
      steps: [{update: {seen_c: true}}]
    d:
      trigger: {event: go}
      filter: {not: {attribute: seen_c, eq: true}}
      steps: [{send: d_message}]
timeline:
  - {at: 0m, who: ana, track: go}
expect:
  - {who: ana, journey: c, entered: 1}
  - {who: ana, journey: d, entered: 1}
"""
    )


def test_added_segments_come_after_the_workspaces() -> None:
    plan = plan_of(
        OVERRIDES_BASE
        + """
overrides:
  segments:
    zz: {rule: {performed: x}}
    aa: {rule: {performed: x}}
"""
    )
    names = [s.name for s in plan.workspace.segments]
    assert names == ["recent", "zz", "aa"]


def test_workspace_path_is_relative_to_the_scenario_file(tmp_path: object) -> None:
    from pathlib import Path

    from simulator.scenario.loader import load_plan

    root = Path(str(tmp_path))
    (root / "ws").mkdir()
    (root / "ws" / "store.yaml").write_text("segments:\n  s: {rule: {performed: x}}\n")
    (root / "sc").mkdir()
    (root / "sc" / "one.yaml").write_text(
        "scenario: relative\nworkspace: ../ws/store.yaml\nshoppers: {ana: {id: cus_1}}\n"
        "timeline:\n  - {at: 0m, who: ana, track: x}\nexpect:\n  - {at: 1m, segment: s, members: [ana]}\n"
    )
    from simulator.checks.expectations import check_plan

    assert check_plan(load_plan(root / "sc" / "one.yaml")).passed


def test_overrides_do_not_hide_a_mistake_in_the_workspace_file(tmp_path: object) -> None:
    from pathlib import Path

    from simulator.scenario.loader import load_plan

    root = Path(str(tmp_path))
    (root / "store.yaml").write_text(
        "sources: {backend: {kind: server, latency: {batch: {every: -30m}}}}\nsegments:\n  s: {rule: {performed: x}}\n"
    )
    story = (
        "scenario: masks\nworkspace: store.yaml\nshoppers: {ana: {id: cus_1}}\n"
        "timeline:\n  - {at: 0m, who: ana, track: x}\n"
    )
    (root / "masks.yaml").write_text(story + "overrides: {sources: {backend: {latency: 5m}}}\n")
    with pytest.raises(InputError) as info:
        load_plan(root / "masks.yaml")
    (problem,) = info.value.problems
    assert (Path(problem.file).name, problem.line, problem.path) == (
        "store.yaml",
        1,
        "sources.backend.latency.batch.every",
    )
    assert "cannot be negative" in problem.message
    # mended, the same scenario loads, its override applied
    (root / "store.yaml").write_text(
        "sources: {backend: {kind: server, latency: 30m}}\nsegments:\n  s: {rule: {performed: x}}\n"
    )
    assert load_plan(root / "masks.yaml").workspace.source("backend").latency.a == 300


# ---------------------------------------------------------------- section 3


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("3d", 259200), ("1w", 604800), ("0s", 0)],
)
def test_duration_forms(duration: str, seconds: int) -> None:
    plan = plan_of(
        f"""
        scenario: durations
        shoppers: {{ana: {{id: cus_1}}}}
        timeline:
          - {{at: {duration}, who: ana, track: x}}
        """
    )
    assert plan.sends[0].at - plan.start == seconds


@pytest.mark.parametrize("bad", ["-5m", "5", "5 minutes", "1.5h", "m"])
def test_bad_durations_are_errors(bad: str) -> None:
    with pytest.raises(InputError) as info:
        plan_of(
            f"""
            scenario: bad duration
            shoppers: {{ana: {{id: cus_1}}}}
            timeline:
              - {{at: 0m, who: ana, track: x, latency: "{bad}"}}
            """
        )
    assert "latency" in str(info.value)


def test_start_defaults_and_instants_are_stored_in_utc() -> None:
    from datetime import datetime

    plan = plan_of(
        """
        scenario: instants
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: "2026-01-01T02:00:00+01:00", who: ana, track: x}
          - {at: 30m, who: ana, track: y}
        """
    )
    assert plan.start == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert [s.at - plan.start for s in plan.sends] == [1800, 3600]


def test_start_and_until_as_given() -> None:
    result = outcome_of(
        """
        scenario: start given
        start: 2026-03-02T09:00:00Z
        until: 2026-03-02T10:00:00Z
        shoppers: {ana: {id: cus_1}}
        workspace:
          journeys:
            j: {trigger: {event: x}, steps: [{wait: 2h}, {send: m}]}
        timeline:
          - {at: 2026-03-02T09:30:00Z, who: ana, track: x}
        expect:
          - {who: ana, journey: j, exited: open}
          - {who: ana, journey: j, sent: []}
        """
    )
    assert result.passed
    assert result.outcome.end - result.plan.start == 3600


def test_null_where_a_key_may_be_left_out_is_its_default() -> None:
    """README Decisions: `null` on an optional key means leaving it out, in a
    scenario, its workspace and its overrides alike."""
    story = NULL_BASE.replace("scenario: null in overrides\n", "scenario: nulls\nseed: null\n").replace(
        "track: go}", "track: go, properties: null, reset: null}"
    )
    story = story.replace("  segments:\n", "  triggers: {max_age: null}\n  checks: {entry_grace: null}\n  segments:\n")
    story = story.replace(
        "workspace:\n", "workspace:\n  sources: {backend: {kind: server, latency: null, drop_rate: null}}\n"
    )
    plan = plan_of(story + "expect:\n  - {who: ana, journey: j, sent: []}\n")
    assert plan.seed == 0 and plan.workspace.max_age == 72 * 3600
    over = plan_of(
        NULL_BASE.replace("  segments:\n", "  triggers: {max_age: 1h}\n  segments:\n")
        + ("overrides: {triggers: {max_age: null}}\n")
    )
    assert over.workspace.max_age == 72 * 3600
