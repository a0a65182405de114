"""The workspace a scenario runs on: its overrides merged over its workspace
file, or an inline workspace, linted with the workspace rules. What the
scenario changes is reported in the scenario file, at the override that
makes it; what the base workspace reports on its own is not repeated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from lint_support import LintFolder, workspace

from simulator.lint.lint_run import lint_paths

ORDER: dict[str, Any] = {
    "at": "0m",
    "who": "ana",
    "source": "backend",
    "track": "order_completed",
    "properties": {"order_id": "o_1", "value": 120},
}


def _line_of(path: Path, text: str) -> int:
    return path.read_text().splitlines().index(text) + 1


def test_an_empty_mapping_in_overrides_is_said_to_change_nothing(folder: LintFolder) -> None:
    """Only over a mapping the workspace fills: `{}` that adds an entry (an unplanned
    property, a section the workspace lacks) or is a value replaced whole is no finding."""
    overrides = {
        "dedupe": {"idempotency_keys": {}},  # the workspace's guard is kept
        "sources": {"web": {}},
        "rules": {},  # the workspace has no rules: nothing kept, nothing said
        "tracking_plan": {"events": {"order_completed": {"properties": {"gift_note": {}}}}},  # adds a property
        "segments": {"big": {"rule": {"performed": "order_completed", "where": {}}}},  # a rule is replaced whole
    }
    path = folder.scenario([ORDER], overrides=overrides)
    found = sorted((f.path, f.message) for f in folder.lint(path).findings if f.rule == "empty-override")
    assert [where for where, _ in found] == ["overrides.dedupe.idempotency_keys", "overrides.sources.web"]
    assert found[0][1].endswith("write idempotency_keys: null for none")
    assert found[1][1].endswith("remove it")


def test_segments_added_in_overrides_are_linted_at_their_keys(folder: LintFolder) -> None:
    overrides = {
        "segments": {
            "recent_buyers": {"rule": {"performed": "order_complete", "within": "1h"}},
            "coupon_users": {"rule": {"performed": "checkout_started", "where": {"coupon": "x"}}},
        }
    }
    path = folder.scenario([ORDER], overrides=overrides)
    found = folder.lint(path).findings
    assert [(f.rule, f.path) for f in found] == [
        ("rule-unknown-event", "overrides.segments.recent_buyers.rule.performed"),
        ("rule-unknown-property", "overrides.segments.coupon_users.rule.where.coupon"),
    ]
    assert all(f.file == str(path) for f in found)
    assert found[0].line == _line_of(path, "        performed: order_complete")
    assert "did you mean 'order_completed'?" in found[0].message
    assert found[1].line == _line_of(path, "          coupon: x")


def test_a_window_added_in_overrides_against_a_slower_source_in_overrides(folder: LintFolder) -> None:
    overrides = {
        "sources": {"backend": {"latency": "3h"}},
        "segments": {"recent_buyers": {"rule": {"performed": "order_completed", "within": "1h"}}},
    }
    path = folder.scenario([ORDER], overrides=overrides)
    windows = [f for f in folder.lint(path).findings if f.path.endswith("recent_buyers.rule.within")]
    assert [(f.rule, f.severity, f.line) for f in windows] == [
        ("window-tighter-than-latency", "error", _line_of(path, "        within: 1h"))
    ]
    assert "'backend' (3h)" in windows[0].message


def test_a_latency_override_is_blamed_for_the_base_rules_it_breaks(folder: LintFolder) -> None:
    """The base's 2h window and 1h wait are fine against a 30m batch, not against a 3h one."""
    path = folder.scenario([ORDER], overrides={"sources": {"backend": {"latency": {"batch": {"every": "3h"}}}}})
    found = folder.lint(path).findings
    latency_line = _line_of(path, "      latency:")
    assert [(f.rule, f.line, f.path) for f in found] == [
        ("wait-shorter-than-latency", latency_line, "overrides.sources.backend.latency"),
        ("window-tighter-than-latency", latency_line, "overrides.sources.backend.latency"),
    ]
    window = found[1].message
    workspace_line = _line_of(folder.workspace_path, "        within: 2h")
    assert f"on segments.cart_abandoners.rule.all[0].within, {folder.workspace_path}:{workspace_line}" in window
    assert "journeys.cart_recovery.steps" in found[0].message


def test_a_rule_replaced_in_overrides(folder: LintFolder) -> None:
    rule = {"all": [{"performed": "checkout_started", "within": "15m"}]}
    path = folder.scenario([ORDER], overrides={"segments": {"cart_abandoners": {"rule": rule}}})
    found = folder.lint(path).findings
    assert [(f.rule, f.path, f.line) for f in found] == [
        (
            "window-tighter-than-latency",
            "overrides.segments.cart_abandoners.rule.all[0].within",
            _line_of(path, "          within: 15m"),
        )
    ]


def test_an_inline_workspace_is_linted(folder: LintFolder) -> None:
    inline = workspace()
    inline["sources"]["backend"]["latency"] = "3h"
    inline["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "1h"}}
    inline["segments"]["legacy"] = {"rule": {"performed": "Order_Complete"}}
    path = folder.scenario([ORDER], workspace=inline)
    found = [f for f in folder.lint(path).findings if f.file == str(path)]
    assert {(f.rule, f.path) for f in found} >= {
        ("window-tighter-than-latency", "workspace.segments.recent_buyers.rule.within"),
        ("rule-unknown-event", "workspace.segments.legacy.rule.performed"),
    }
    legacy = next(f for f in found if f.rule == "rule-unknown-event")
    assert legacy.line == _line_of(path, "        performed: Order_Complete")


def test_a_finding_of_the_base_workspace_is_not_repeated_per_scenario(folder: LintFolder) -> None:
    def tight(ws: dict[str, Any]) -> None:
        ws["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "15m"}}

    folder.write_workspace(workspace(change=tight))
    overrides = {"segments": {"coupon_users": {"rule": {"performed": "checkout_started", "where": {"coupon": "x"}}}}}
    first = folder.scenario([ORDER], name="a.yaml", overrides=overrides)
    second = folder.scenario([ORDER], name="b.yaml", overrides={"identity": {"anonymous_grace": "10m"}})
    found = folder.lint(first, second).findings
    assert [(f.rule, Path(f.file).name) for f in found] == [
        ("rule-unknown-property", "a.yaml"),
        ("window-tighter-than-latency", "workspace.yaml"),
    ]


def test_a_scenario_on_the_workspace_as_it_is_adds_nothing(folder: LintFolder) -> None:
    def tight(ws: dict[str, Any]) -> None:
        ws["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "15m"}}

    folder.write_workspace(workspace(change=tight))
    found = folder.lint(folder.scenario([ORDER])).findings
    assert [(f.rule, Path(f.file).name) for f in found] == [("window-tighter-than-latency", "workspace.yaml")]


def test_event_names_planned_in_overrides_are_judged(folder: LintFolder) -> None:
    path = folder.scenario([ORDER], overrides={"tracking_plan": {"events": {"Refund Issued": {"description": "d"}}}})
    found = folder.lint(path).findings
    assert [(f.rule, f.path) for f in found] == [("event-name-case", "overrides.tracking_plan.events.Refund Issued")]
    assert found[0].line == _line_of(path, "      Refund Issued:")


def test_the_shipped_scenarios_that_break_the_window_say_so_at_their_overrides() -> None:
    scenarios = Path("scenarios")
    window = scenarios / "06_window_shorter_than_ingestion.yaml"
    batch = scenarios / "05_late_batch_vs_first_reminder.yaml"
    run = lint_paths(Path("fixtures/workspaces/dtc_store.yaml"), [str(window), str(batch)], 0)
    assert run.problems == []
    found = [(Path(f.file).name, f.line, f.rule, f.path) for f in run.findings]
    assert found == [
        (batch.name, 12, "wait-shorter-than-latency", "overrides.sources.backend.latency"),
        (batch.name, 12, "window-tighter-than-latency", "overrides.sources.backend.latency"),
        (window.name, 19, "window-tighter-than-latency", "overrides.segments.cart_abandoners.rule.all[0].within"),
    ]


def test_a_scenario_on_another_workspace_file_reports_only_what_it_changes(folder: LintFolder) -> None:
    """The other file's own findings belong to a lint of that file; the scenario's overrides are its own."""

    def tight(ws: dict[str, Any]) -> None:
        ws["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "15m"}}

    other = folder.root / "other.yaml"
    other.write_text(yaml.safe_dump(workspace(change=tight), sort_keys=False))
    overrides = {"segments": {"coupon_users": {"rule": {"performed": "checkout_started", "where": {"coupon": "x"}}}}}
    path = folder.scenario([ORDER], workspace="other.yaml", overrides=overrides)
    found = folder.lint(path).findings
    assert [(f.rule, f.path) for f in found] == [
        ("rule-unknown-property", "overrides.segments.coupon_users.rule.where.coupon")
    ]
