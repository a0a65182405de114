"""Naming rules over every event name a run meets: planned names and the names
logs and scenarios send, together, with or without a tracking plan; one
finding per offending name, at its first occurrence."""

from __future__ import annotations

from typing import Any

import pytest
from lint_support import LintFolder, track, workspace

import simulator.lint.trackplan as trackplan

WISHLIST_AND_PROMO = ["wishlist_added", "Wishlist Added", "wishlist-added", "promo_clicked", "promo_clicked_summer"]

NAMING = ("event-name-case", "near-duplicate-name", "name-encodes-property")


def _log(folder: LintFolder, names: list[str], file: str = "events.jsonl") -> Any:
    return folder.log([track(name, {"n": i}) for i, name in enumerate(names)], name=file)


def _naming(findings: Any) -> list[tuple[str, str, int, str]]:
    return [(f.rule, f.severity, f.line, f.file.rsplit("/", 1)[-1]) for f in findings if f.rule in NAMING]


def test_without_a_plan_sent_names_are_still_judged(folder: LintFolder) -> None:
    def no_plan(ws: dict[str, Any]) -> None:
        del ws["tracking_plan"]

    folder.write_workspace(workspace(change=no_plan))
    found = folder.lint(_log(folder, WISHLIST_AND_PROMO)).findings
    assert [f.rule for f in found if f.rule not in NAMING] == ["no-tracking-plan"]
    assert _naming(found) == [
        ("near-duplicate-name", "error", 2, "events.jsonl"),
        ("near-duplicate-name", "error", 3, "events.jsonl"),
        ("name-encodes-property", "warning", 5, "events.jsonl"),
    ]
    by_line = {f.line: f.message for f in found}
    assert "'Wishlist Added'" in by_line[2] and "'wishlist_added'" in by_line[2]
    assert "'wishlist-added'" in by_line[3] and "'wishlist_added'" in by_line[3]
    assert "'promo_clicked'" in by_line[5] and "'summer'" in by_line[5]


def test_with_a_plan_naming_none_of_them(folder: LintFolder) -> None:
    found = folder.lint(_log(folder, WISHLIST_AND_PROMO)).findings
    assert [f.line for f in found if f.rule == "unplanned-event"] == [1, 2, 3, 4, 5]
    assert _naming(found) == [
        ("near-duplicate-name", "error", 2, "events.jsonl"),
        ("near-duplicate-name", "error", 3, "events.jsonl"),
        ("name-encodes-property", "warning", 5, "events.jsonl"),
    ]


def test_one_finding_per_name_at_its_first_occurrence_across_inputs(folder: LintFolder) -> None:
    first = _log(folder, ["wishlist_added", "promo_clicked", "Wishlist Added", "Wishlist Added"], "a.jsonl")
    second = _log(folder, ["Wishlist Added", "wishlist_added"], "b.jsonl")
    found = [f for f in folder.lint(first, second).findings if f.rule in NAMING]
    assert [(f.rule, f.line, f.file.rsplit("/", 1)[-1], f.count) for f in found] == [
        ("near-duplicate-name", 3, "a.jsonl", 3)
    ]
    again = [f for f in folder.lint(first, second).findings if f.rule in NAMING]
    assert [f.as_json() for f in again] == [f.as_json() for f in found]


def test_a_near_duplicate_in_a_log_of_a_name_a_scenario_sends(folder: LintFolder) -> None:
    scenario = folder.scenario([{"at": "0m", "who": "ana", "device": "phone", "track": "wishlist_added"}])
    log = _log(folder, ["Wishlist Added"])
    found = folder.lint(scenario, log).findings
    assert _naming(found) == [("near-duplicate-name", "error", 1, "events.jsonl")]
    (duplicate,) = [f for f in found if f.rule == "near-duplicate-name"]
    assert f"{scenario}:" in duplicate.message  # where the name it duplicates was sent


def test_a_group_with_no_snake_case_name_keeps_the_first_and_suggests_snake_case(folder: LintFolder) -> None:
    found = folder.lint(_log(folder, ["WishlistAdded", "Wishlist Added"])).findings
    assert _naming(found) == [
        ("event-name-case", "warning", 1, "events.jsonl"),
        ("near-duplicate-name", "error", 2, "events.jsonl"),
    ]
    assert all("'wishlist_added'" in f.message for f in found if f.rule in NAMING)


def test_a_planned_name_not_in_snake_case_is_reported_once_at_the_plan(folder: LintFolder) -> None:
    def camel(ws: dict[str, Any]) -> None:
        ws["tracking_plan"]["events"]["PageViewed"] = {"description": "a page"}

    folder.write_workspace(workspace(change=camel))
    found = folder.lint(_log(folder, ["PageViewed", "PageViewed"])).findings
    assert [(f.rule, f.file.rsplit("/", 1)[-1], f.path) for f in found] == [
        ("event-name-case", "workspace.yaml", "tracking_plan.events.PageViewed")
    ]
    assert found[0].count == 1


def test_an_unplanned_variant_of_a_planned_name_is_an_error_and_not_also_unplanned(folder: LintFolder) -> None:
    found = folder.lint(_log(folder, ["added_to_cart_shoes", "Checkout Started", "added_to_cart_shoes"])).findings
    assert [(f.rule, f.severity, f.line, f.count) for f in found] == [
        ("name-encodes-property", "error", 1, 2),
        ("near-duplicate-name", "error", 2, 1),
    ]


def test_a_name_sent_in_several_inputs_names_where_else(folder: LintFolder) -> None:
    first = _log(folder, ["Wishlist Added", "promo_clicked", "Wishlist Added"], "a.jsonl")
    second = _log(folder, ["Wishlist Added"], "b.jsonl")
    (found,) = [f for f in folder.lint(first, second).findings if f.rule in NAMING]
    assert (found.line, found.count) == (1, 3)
    assert found.as_json()["message"].endswith(f"(3 occurrences, first on this line); also at {first}:3 and {second}:1")


def test_a_name_repeated_on_every_line_is_matched_against_the_plan_once(
    folder: LintFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nearest planned name is worked out once per name, not once per log line."""
    calls: list[str] = []
    real = trackplan.closest_name

    def counting(name: str, names: Any) -> Any:
        calls.append(name)
        return real(name, names)

    monkeypatch.setattr(trackplan, "closest_name", counting)
    lines = [track("wishlist_item_saved_for_later", {}) for _ in range(50)]
    found = folder.lint(folder.log(lines)).findings
    assert "nearest planned name" in next(f.message for f in found if f.rule == "unplanned-event")
    assert calls == ["wishlist_item_saved_for_later"]
