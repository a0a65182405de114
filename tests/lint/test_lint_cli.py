"""`segsim lint` and `segsim gate` from the command line: exit codes, the JSON
shape, unreadable input refused without a traceback, and the checklist."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from lint_support import LintFolder, track, workspace

from simulator.cli import main

SHIPPED_WORKSPACE = "fixtures/workspaces/dtc_store.yaml"
SHIPPED_SCENARIO = "scenarios/01_cross_device_checkout.yaml"


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_both_commands_are_listed_by_segsim() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "lint" in out and "gate" in out


def test_a_clean_lint_exits_0(folder: LintFolder) -> None:
    code, out = _invoke("lint", str(folder.workspace_path))
    assert code == 0
    assert out.strip() == "0 errors, 0 warnings in 1 input"


def test_warnings_alone_exit_0(folder: LintFolder) -> None:
    log = folder.log([track("checkout_started", {"checkout_id": "c", "value": 1, "coupon": "x"})])
    code, out = _invoke("lint", str(folder.workspace_path), str(log))
    assert code == 0
    assert "warning [additional-property]" in out


def test_an_error_exits_1_and_json_lists_findings(folder: LintFolder) -> None:
    log = folder.log([track("checkout_started", {"checkout_id": "c", "value": "1"})])
    code, out = _invoke("lint", str(folder.workspace_path), str(log), "--format", "json")
    assert code == 1
    findings = json.loads(out)
    assert isinstance(findings, list) and len(findings) == 1
    assert set(findings[0]) == {"rule", "severity", "file", "line", "path", "message"}
    assert findings[0]["rule"] == "datatype-mismatch"
    assert findings[0]["severity"] == "error"
    assert findings[0]["file"] == str(log)
    assert findings[0]["line"] == 1
    assert findings[0]["path"] == "properties.value"


def test_workspace_findings_carry_the_key_path_and_line(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["segments"]["fast"] = {"rule": {"performed": "order_completed", "within": "10m"}}  # type: ignore[index]

    folder.write_workspace(workspace(change=change))
    code, out = _invoke("lint", str(folder.workspace_path), "--format", "json")
    assert code == 1
    (finding,) = json.loads(out)
    assert finding["path"] == "segments.fast.rule.within"
    lines = folder.workspace_path.read_text().splitlines()
    assert lines[finding["line"] - 1].strip() == "within: 10m"


def test_a_gzip_log_is_read(folder: LintFolder) -> None:
    path = folder.root / "export.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(track("Checkout Started", {})) + "\n")
    code, out = _invoke("lint", str(folder.workspace_path), str(path))
    assert code == 1
    assert "near-duplicate-name" in out


def test_unreadable_input_exits_2_without_a_traceback(folder: LintFolder, tmp_path: Path) -> None:
    code, out = _invoke("lint", str(folder.workspace_path), str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert "missing.jsonl: no such file or folder" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("segments: {a: [\n")
    proc = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "lint", str(broken)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{broken}:2" in proc.stderr and "invalid YAML" in proc.stderr


def test_an_invalid_scenario_exits_2(folder: LintFolder) -> None:
    bad = folder.scenario([{"at": "0m", "who": "bob", "device": "phone", "track": "checkout_started"}])
    code, out = _invoke("lint", str(folder.workspace_path), str(bad))
    assert code == 2
    assert "unknown shopper 'bob'" in out


def test_gate_on_the_shipped_scenario_fails_uncovered_segments() -> None:
    code, out = _invoke("gate", SHIPPED_WORKSPACE, SHIPPED_SCENARIO, "--format", "json")
    assert code == 1
    items = {item["item"]: item for item in json.loads(out)}
    assert items["event names canonical and documented"]["passed"] is True
    assert items["purchase events server-side and idempotent"]["passed"] is True
    merge = items["identity strategy defined and an anonymous merge exercised by a passing scenario"]
    assert merge["passed"] is True
    # Each name quoted: the shipped one holds a comma of its own.
    assert (
        'anonymous merge exercised by passing scenario(s): "cross-device checkout, email captured on the phone"'
        in merge["evidence"]
    )
    segments = items["debug segments covered by passing scenarios"]
    assert segments["passed"] is False
    assert any(line.startswith("vip: no passing scenario") for line in segments["evidence"])


PASSING_STORY = {
    "scenario": "phone checkout, identified, order from the backend",
    "workspace": "workspace.yaml",
    "shoppers": {"ana": {"id": "cus_1", "email": "ana@example.com"}},
    "timeline": [
        {
            "at": "0m",
            "who": "ana",
            "device": "phone",
            "track": "checkout_started",
            "properties": {"checkout_id": "ck_1", "value": 120},
        },
        {"at": "5m", "who": "ana", "device": "phone", "identify": True},
        {
            "at": "20m",
            "who": "ana",
            "source": "backend",
            "track": "order_completed",
            "properties": {"order_id": "o_1", "checkout_id": "ck_1", "value": 120},
        },
    ],
    "expect": [
        {"at": "10m", "who": "ana", "in_segment": "cart_abandoners"},
        {"at": "31m", "who": "ana", "not_in_segment": "cart_abandoners"},
        {"who": "ana", "journey": "cart_recovery", "sent": []},
        {"invariant": "all"},
    ],
}


def test_gate_passes_a_ready_workspace(folder: LintFolder) -> None:
    story = folder.root / "story.yaml"
    story.write_text(yaml.safe_dump(PASSING_STORY, sort_keys=False))
    code, out = _invoke("gate", str(folder.workspace_path), str(story))
    assert out.count("PASS  ") == 7, out
    assert code == 0
    assert "7 of 7 checks pass: ship it" in out


def test_gate_fails_a_client_side_purchase_without_dedupe(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["tracking_plan"]["events"]["order_completed"].pop("source")  # type: ignore[index]
        ws["dedupe"] = {"by_event_id": True}

    folder.write_workspace(workspace(change=change))
    story = folder.root / "story.yaml"
    story.write_text(yaml.safe_dump(PASSING_STORY, sort_keys=False))
    code, out = _invoke("gate", str(folder.workspace_path), str(story), "--format", "json")
    assert code == 1
    (item,) = [i for i in json.loads(out) if i["item"] == "purchase events server-side and idempotent"]
    assert item["passed"] is False
    assert "order_completed: not marked source: server in the tracking plan" in item["evidence"]
    assert any("dedupe.idempotency_keys: {order_completed: order_id}" in line for line in item["evidence"])


def _gate_items(folder: LintFolder, story: dict[str, object]) -> tuple[int, dict[str, dict[str, object]]]:
    path = folder.root / "story.yaml"
    path.write_text(yaml.safe_dump(story, sort_keys=False))
    code, out = _invoke("gate", str(folder.workspace_path), str(path), "--format", "json")
    return code, {item["item"]: item for item in json.loads(out)}


def test_gate_does_not_count_a_scenario_that_overrides_what_it_certifies(folder: LintFolder) -> None:
    # The story merges and checks cart_abandoners, but under its own identity
    # settings and its own rule for the segment: no evidence for the workspace's.
    story = dict(PASSING_STORY)
    story["overrides"] = {
        "identity": {"anonymous_grace": "10m"},
        "segments": {"cart_abandoners": {"rule": {"performed": "checkout_started", "within": "2h"}}},
    }
    story["expect"] = [{"at": "10m", "who": "ana", "in_segment": "cart_abandoners"}]
    code, items = _gate_items(folder, story)
    assert code == 1
    merge = items["identity strategy defined and an anonymous merge exercised by a passing scenario"]
    assert merge["passed"] is False
    assert any("(anonymous_grace): not counted" in line for line in merge["evidence"])  # type: ignore[union-attr]
    segments = items["debug segments covered by passing scenarios"]
    assert segments["passed"] is False
    assert segments["evidence"] == [
        "cart_abandoners: checked only by scenarios whose overrides change its rule or how rules read "
        '("phone checkout, identified, order from the backend"): add one on the workspace\'s own rule'
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"rules": {"types": "coerce"}},  # how every rule reads
        {"segments": {"cart_abandoners": {"rule": {"performed": "checkout_started"}}}},  # read through in_segment
    ],
)
def test_gate_does_not_count_a_segment_judged_under_other_rules(
    folder: LintFolder, overrides: dict[str, object]
) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["segments"]["carts"] = {"rule": {"in_segment": "cart_abandoners"}}  # type: ignore[index]

    folder.write_workspace(workspace(change=change))
    story = dict(PASSING_STORY)
    story["overrides"] = overrides
    story["expect"] = [{"at": "10m", "who": "ana", "in_segment": "carts"}]
    code, items = _gate_items(folder, story)
    assert code == 1
    evidence = items["debug segments covered by passing scenarios"]["evidence"]
    assert evidence == [
        "cart_abandoners: no passing scenario on this workspace checks it (add an expectation)",
        "carts: checked only by scenarios whose overrides change its rule or how rules read "
        '("phone checkout, identified, order from the backend"): add one on the workspace\'s own rule',
    ]


def test_gate_says_when_the_workspace_never_merges_anonymous_profiles(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["identity"] = {"merge_anonymous": False}

    folder.write_workspace(workspace(change=change))
    code, items = _gate_items(folder, PASSING_STORY)
    merge = items["identity strategy defined and an anonymous merge exercised by a passing scenario"]
    assert (code, merge["passed"]) == (1, False)
    assert merge["evidence"] == [
        "identity: {merge_anonymous: false}",
        "identity.merge_anonymous is false: no anonymous profile is ever merged",
    ]


def test_gate_tells_an_empty_identity_section_and_a_blank_description(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["identity"] = {}
        ws["tracking_plan"]["events"]["checkout_started"]["description"] = "   "  # type: ignore[index]

    folder.write_workspace(workspace(change=change))
    code, items = _gate_items(folder, PASSING_STORY)
    merge = items["identity strategy defined and an anonymous merge exercised by a passing scenario"]
    assert (code, merge["passed"]) == (1, False)
    assert "the identity: section is empty; write the strategy down" in merge["evidence"][0]  # type: ignore[index]
    names = items["event names canonical and documented"]
    assert names["passed"] is False
    assert "planned events without a description: checkout_started" in names["evidence"]  # type: ignore[operator]


def test_gate_writes_a_null_identity_key_as_the_file_does(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["identity"] = {"auto_merge": None, "merge_anonymous": True}

    folder.write_workspace(workspace(change=change))
    _, items = _gate_items(folder, PASSING_STORY)
    merge = items["identity strategy defined and an anonymous merge exercised by a passing scenario"]
    assert merge["evidence"][0] == "identity: {auto_merge: null (the default), merge_anonymous: true}"


def test_gate_counts_a_scenario_whose_overrides_leave_identity_and_segments_alone(folder: LintFolder) -> None:
    story = dict(PASSING_STORY)
    story["overrides"] = {"sources": {"backend": {"latency": "1m"}}}
    code, items = _gate_items(folder, story)
    assert code == 0, items
    assert all(item["passed"] for item in items.values())


def test_gate_and_lint_fail_a_dedupe_key_the_plan_does_not_define(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["dedupe"] = {"idempotency_keys": {"order_completed": "order_idd"}}

    folder.write_workspace(workspace(change=change))
    code, items = _gate_items(folder, PASSING_STORY)
    assert code == 1
    item = items["purchase events server-side and idempotent"]
    assert item["passed"] is False
    assert any("on 'order_idd'" in line and "did you mean 'order_id'?" in line for line in item["evidence"])  # type: ignore[union-attr]
    code, out = _invoke("lint", str(folder.workspace_path), "--format", "json")
    assert code == 1
    assert [(f["rule"], f["severity"], f["path"]) for f in json.loads(out)] == [
        ("dedupe-key-unknown-property", "error", "dedupe.idempotency_keys.order_completed")
    ]


def test_a_dotted_dedupe_key_reads_into_a_planned_property(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        events = ws["tracking_plan"]["events"]  # type: ignore[index]
        events["order_completed"].pop("unique_by")  # type: ignore[index]
        events["order_completed"]["properties"]["order"] = {"type": "object"}  # type: ignore[index]
        ws["dedupe"] = {"idempotency_keys": {"order_completed": "order.id"}}

    folder.write_workspace(workspace(change=change))
    code, out = _invoke("lint", str(folder.workspace_path), "--format", "json")
    assert (code, json.loads(out)) == (0, [])


def test_gate_on_a_purchase_event_whose_plan_lists_no_properties(folder: LintFolder) -> None:
    """Without a key the fix names the key to plan; with one the item passes (SPEC 17
    asks for a dedupe key), its evidence saying lint cannot check the key is sent."""

    def unplanned(ws: dict[str, object]) -> None:
        events = ws["tracking_plan"]["events"]  # type: ignore[index]
        events["order_completed"] = {"description": "the order system accepted payment", "source": "server"}
        ws.pop("dedupe", None)

    folder.write_workspace(workspace(change=unplanned))
    code, items = _gate_items(folder, PASSING_STORY)
    item = items["purchase events server-side and idempotent"]
    assert (code, item["passed"]) == (1, False)
    assert any("and plan it (order_id: {type: string, required: true})" in e for e in item["evidence"])  # type: ignore[union-attr]

    def keyed(ws: dict[str, object]) -> None:
        unplanned(ws)
        ws["dedupe"] = {"idempotency_keys": {"order_completed": "order_id"}}

    folder.write_workspace(workspace(change=keyed))
    code, items = _gate_items(folder, PASSING_STORY)
    item = items["purchase events server-side and idempotent"]
    assert item["passed"] is True
    assert any("lint cannot check that order_id is sent" in e for e in item["evidence"])  # type: ignore[union-attr]


def test_gate_fails_a_dedupe_key_other_than_the_plans_unique_by(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["dedupe"] = {"idempotency_keys": {"order_completed": "value"}}  # two orders of one value are one?

    folder.write_workspace(workspace(change=change))
    code, items = _gate_items(folder, PASSING_STORY)
    assert code == 1
    assert items["purchase events server-side and idempotent"]["passed"] is False
    code, out = _invoke("lint", str(folder.workspace_path), "--format", "json")
    assert code == 0
    assert [f["rule"] for f in json.loads(out)] == ["dedupe-key-not-unique-by"]


def test_gate_counts_the_built_in_backend_among_the_server_sources(folder: LintFolder) -> None:
    # Event ids from every declared server source, but the built-in backend (a
    # server source sending none) still carries the story's order.
    def change(ws: dict[str, object]) -> None:
        ws["sources"] = {"web": {"kind": "client"}, "orders": {"kind": "server", "event_ids": True}}
        ws["dedupe"] = {"by_event_id": True}

    folder.write_workspace(workspace(change=change))
    code, items = _gate_items(folder, PASSING_STORY)
    assert code == 1
    item = items["purchase events server-side and idempotent"]
    assert item["passed"] is False
    assert any("server source(s) backend (built-in) send no event ids" in line for line in item["evidence"])  # type: ignore[union-attr]


def test_gate_fails_journeys_on_near_duplicate_events(folder: LintFolder) -> None:
    def change(ws: dict[str, object]) -> None:
        ws["tracking_plan"]["events"]["added_to_cart_shoes"] = {"description": "shoes"}  # type: ignore[index]
        ws["journeys"]["shoe_upsell"] = {  # type: ignore[index]
            "trigger": {"event": "added_to_cart_shoes"},
            "steps": [{"send": "socks"}],
        }

    folder.write_workspace(workspace(change=change))
    story = folder.root / "story.yaml"
    story.write_text(yaml.safe_dump(PASSING_STORY, sort_keys=False))
    code, out = _invoke("gate", str(folder.workspace_path), str(story), "--format", "json")
    assert code == 1
    (item,) = [i for i in json.loads(out) if i["item"].startswith("journeys built on triggers")]
    assert item["passed"] is False
    assert "shoe_upsell" in item["evidence"][0]


def test_gate_refuses_a_missing_scenario(folder: LintFolder) -> None:
    code, out = _invoke("gate", str(folder.workspace_path), str(folder.root / "nope.yaml"))
    assert code == 2
    assert "no such file or folder" in out


def test_json_output_reports_an_invalid_input_as_a_finding_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: s\nseed: x\n")
    result = CliRunner().invoke(main, ["lint", "fixtures/workspaces/dtc_store.yaml", str(bad), "--format", "json"])
    assert result.exit_code == 2
    printed = json.loads(result.stdout)
    found = [(f["rule"], f["severity"], f["line"], f["path"]) for f in printed]
    assert found == [("invalid-input", "error", 2, "seed")]


def test_gate_json_output_reports_an_invalid_input_as_a_failed_item_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: s\nseed: x\n")
    result = CliRunner().invoke(main, ["gate", "fixtures/workspaces/dtc_store.yaml", str(bad), "--format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == [
        {
            "item": "inputs readable",
            "passed": False,
            "evidence": [f"ERROR {bad}:2:1: seed: input should be a valid integer, got 'x'"],
        }
    ]


def test_gate_does_not_count_a_scenario_that_expects_nothing(folder: LintFolder) -> None:
    story = dict(PASSING_STORY)
    story["expect"] = []
    code, items = _gate_items(folder, story)
    assert code == 1
    merge = items["identity strategy defined and an anonymous merge exercised by a passing scenario"]
    assert merge["passed"] is False
    assert any("expects nothing: not counted" in line for line in merge["evidence"])  # type: ignore[union-attr]


def test_json_output_stays_one_document_when_stderr_goes_to_the_same_file(tmp_path: Path) -> None:
    """`lint --format json > out.json 2>&1` appended the ERROR lines after the JSON."""
    import subprocess
    import sys

    for command in ("lint", "gate"):
        out = tmp_path / f"{command}.json"
        args = [sys.executable, "-m", "simulator.cli", command, SHIPPED_WORKSPACE, str(tmp_path / "nowhere.yaml")]
        with out.open("w") as both:
            done = subprocess.run([*args, "--format", "json"], stdout=both, stderr=both, timeout=120)
        assert done.returncode == 2
        document = json.loads(out.read_text())
        assert "nowhere.yaml" in json.dumps(document)
