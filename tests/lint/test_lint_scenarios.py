"""Scenario rules: each timeline track checked against the workspace's plan,
located at the step's own keys."""

from __future__ import annotations

from typing import Any

import pytest
from lint_support import NOW, LintFolder, rules, workspace

from simulator.lint.lint_run import lint_paths

CHECKOUT: dict[str, Any] = {
    "at": "0m",
    "who": "ana",
    "device": "phone",
    "track": "checkout_started",
    "properties": {"checkout_id": "ck_1", "value": 120, "currency": "USD"},
}
ORDER: dict[str, Any] = {
    "at": "40m",
    "who": "ana",
    "source": "backend",
    "track": "order_completed",
    "properties": {"order_id": "o_1", "checkout_id": "ck_1", "value": 120},
}


def step(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**base, **changes}
    return {k: v for k, v in out.items() if v is not None}


def test_a_clean_scenario_has_no_finding(folder: LintFolder) -> None:
    assert folder.lint(folder.scenario([CHECKOUT, ORDER])).findings == []


def test_the_shipped_scenario_has_no_finding() -> None:
    from pathlib import Path

    from simulator.lint.lint_run import lint_paths

    run = lint_paths(Path("fixtures/workspaces/dtc_store.yaml"), ["scenarios/01_cross_device_checkout.yaml"], 0)
    assert run.problems == []
    assert run.findings == []


def test_an_unplanned_event_names_the_nearest_planned_one(folder: LintFolder) -> None:
    path = folder.scenario([CHECKOUT, step(ORDER, track="order_complete")])
    found = folder.lint(path).findings
    assert rules(found) == ["unplanned-event"]
    assert found[0].path == "timeline[1].track"
    assert "'order_completed'" in found[0].message
    assert found[0].line == path.read_text().splitlines().index("  track: order_complete") + 1


def test_a_near_duplicate_name(folder: LintFolder) -> None:
    found = folder.lint(folder.scenario([step(CHECKOUT, track="Checkout Started")])).findings
    assert rules(found) == ["near-duplicate-name"]


def test_a_name_that_encodes_a_property(folder: LintFolder) -> None:
    shoes = step(CHECKOUT, track="added_to_cart_shoes", properties={"product_id": "p_1"})
    found = folder.lint(folder.scenario([shoes])).findings
    assert rules(found) == ["name-encodes-property"]
    assert "'added_to_cart'" in found[0].message


def test_an_unplanned_name_not_in_snake_case(folder: LintFolder) -> None:
    found = folder.lint(folder.scenario([step(CHECKOUT, track="WishlistAdded")])).findings
    assert rules(found) == ["event-name-case", "unplanned-event"]
    assert any("'wishlist_added'" in f.message for f in found)


def test_a_missing_required_property(folder: LintFolder) -> None:
    found = folder.lint(folder.scenario([step(CHECKOUT, properties={"checkout_id": "ck_1"})])).findings
    assert rules(found) == ["required-missing"]
    assert "'value'" in found[0].message


def test_a_value_sent_as_a_string(folder: LintFolder) -> None:
    found = folder.lint(folder.scenario([step(CHECKOUT, properties={"checkout_id": "ck_1", "value": "120"})])).findings
    assert rules(found) == ["datatype-mismatch"]
    assert found[0].path == "timeline[0].properties.value"
    assert "send the number itself (120)" in found[0].message


def test_a_string_that_is_no_number_is_not_offered_as_one(folder: LintFolder) -> None:
    # "send the number itself (NaN)" named a value no JSON can carry.
    found = folder.lint(folder.scenario([step(CHECKOUT, properties={"checkout_id": "ck_1", "value": "NaN"})])).findings
    assert rules(found) == ["datatype-mismatch"]
    assert "send a number, not the string 'NaN'" in found[0].message


def test_an_additional_property_is_a_warning(folder: LintFolder) -> None:
    props = {"checkout_id": "ck_1", "value": 120, "coupon": "X"}
    found = folder.lint(folder.scenario([step(CHECKOUT, properties=props)])).findings
    assert [(f.rule, f.severity) for f in found] == [("additional-property", "warning")]


def test_a_server_only_event_sent_from_a_browser(folder: LintFolder) -> None:
    browser_order = step(ORDER, source=None, device="laptop")
    found = folder.lint(folder.scenario([browser_order])).findings
    assert rules(found) == ["server-event-from-client"]
    assert found[0].severity == "error"


def test_a_source_finding_points_at_the_key_that_chose_the_source(folder: LintFolder) -> None:
    def client_checkout(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["checkout_started"]["source"] = "client"

    folder.write_workspace(workspace(change=client_checkout))
    steps = [
        step(ORDER, source=None, device="laptop"),  # a device: its client source
        step(ORDER, source="web", device="laptop", properties={**ORDER["properties"], "order_id": "o_2"}),
        step(CHECKOUT, device=None),  # no device, no source: the default backend, chosen by nothing written
    ]
    found = folder.lint(folder.scenario(steps)).findings
    assert [(f.rule, f.path) for f in found] == [
        ("server-event-from-client", "timeline[0].device"),
        ("server-event-from-client", "timeline[1].source"),
        ("client-event-from-server", "timeline[2].track"),
    ]


def test_a_repeated_unique_value(folder: LintFolder) -> None:
    def unguarded(ws: dict[str, Any]) -> None:
        ws["dedupe"]["idempotency_keys"] = {}

    from lint_support import workspace

    again = step(ORDER, at="2h")
    path = folder.scenario([ORDER, again])
    guarded = folder.lint(path).findings
    assert [(f.rule, f.severity) for f in guarded] == [("duplicate-unique-value", "warning")]
    folder.write_workspace(workspace(change=unguarded))
    found = folder.lint(path).findings
    assert [(f.rule, f.severity) for f in found] == [("duplicate-unique-value", "error")]


def test_distinct_unique_values_are_fine(folder: LintFolder) -> None:
    other = step(ORDER, at="2h", properties={"order_id": "o_2", "value": 50})
    assert folder.lint(folder.scenario([ORDER, other])).findings == []


def test_copies_on_a_client_step_are_absorbed_by_dedupe(folder: LintFolder) -> None:
    found = folder.lint(folder.scenario([step(CHECKOUT, copies=2)])).findings
    assert [(f.rule, f.severity, f.path) for f in found] == [
        ("copies-absorbed-by-dedupe", "warning", "timeline[0].copies")
    ]


def test_copies_on_a_server_step_are_not_flagged(folder: LintFolder) -> None:
    assert folder.lint(folder.scenario([step(ORDER, copies=2)])).findings == []


def _unguarded(ws: dict[str, Any]) -> None:
    ws["dedupe"]["idempotency_keys"] = {}


def test_copies_of_an_unguarded_server_step_deliver_its_unique_value_twice(folder: LintFolder) -> None:
    from lint_support import workspace

    folder.write_workspace(workspace(change=_unguarded))
    found = folder.lint(folder.scenario([step(ORDER, copies=2)])).findings
    assert [(f.rule, f.severity, f.path) for f in found] == [("duplicate-unique-value", "error", "timeline[0].copies")]
    assert "2 times" in found[0].message and "'o_1'" in found[0].message


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": "evt-1"},  # copies of one send repeat its event id, which dedupe drops
        {"drop": True},  # never arrives at all
        {"copies": 1},
    ],
)
def test_copies_the_platform_dedupes_or_never_gets_are_not_a_repeat(folder: LintFolder, changes: Any) -> None:
    from lint_support import workspace

    folder.write_workspace(workspace(change=_unguarded))
    assert folder.lint(folder.scenario([step(ORDER, **{"copies": 2, **changes})])).findings == []


def test_copies_with_an_event_id_repeat_when_dedupe_by_event_id_is_off(folder: LintFolder) -> None:
    from lint_support import workspace

    def no_id_dedupe(ws: dict[str, Any]) -> None:
        _unguarded(ws)
        ws["dedupe"]["by_event_id"] = False

    folder.write_workspace(workspace(change=no_id_dedupe))
    found = folder.lint(folder.scenario([step(ORDER, copies=3, event_id="evt-1")])).findings
    assert [(f.rule, f.path) for f in found] == [("duplicate-unique-value", "timeline[0].copies")]
    assert "by_event_id is off" in found[0].message


def test_a_dropped_step_repeats_no_unique_value(folder: LintFolder) -> None:
    from lint_support import workspace

    folder.write_workspace(workspace(change=_unguarded))
    lost = step(ORDER, at="2h", drop=True)
    assert folder.lint(folder.scenario([ORDER, lost])).findings == []


def test_names_sent_by_steps_are_judged_together(folder: LintFolder) -> None:
    """No plan entry needed: two unplanned spellings of one name in a scenario are near-duplicates."""
    wish = {"at": "0m", "who": "ana", "device": "phone", "track": "wishlist_added"}
    path = folder.scenario([wish, {**wish, "at": "1m", "track": "Wishlist Added"}, {**wish, "at": "2m"}])
    found = [f for f in folder.lint(path).findings if f.rule != "unplanned-event"]
    assert [(f.rule, f.path) for f in found] == [("near-duplicate-name", "timeline[1].track")]


@pytest.mark.parametrize(
    ("name", "nearest"),
    [("PageLoaded", "added_to_cart"), ("cart_viewed", "added_to_cart"), ("wishlist_added", "added_to_cart")],
)
def test_an_unplanned_name_far_from_the_plan_still_names_the_nearest(
    folder: LintFolder, name: str, nearest: str
) -> None:
    """Not a likely misspelling, so no "did you mean", but the nearest planned name all the same."""
    found = [f for f in folder.lint(folder.scenario([step(CHECKOUT, track=name)])).findings]
    (unplanned,) = [f for f in found if f.rule == "unplanned-event"]
    assert f"(nearest planned name: {nearest!r})" in unplanned.message
    assert "did you mean" not in unplanned.message


def test_a_story_with_a_misspelt_scenario_key_is_an_input_problem_not_skipped(folder: LintFolder) -> None:
    story = folder.scenario([{"at": "0s", "who": "ana", "device": "phone", "track": "checkout_started"}])
    story.write_text(story.read_text().replace("scenario:", "scenrio:"))
    run = lint_paths(folder.workspace_path, [str(folder.root)], NOW)
    assert [p.render() for p in run.problems] == [
        f"{story}:1:1: scenrio: unknown key 'scenrio' (did you mean 'scenario'?)"
    ]
