"""segsim's own call log, written by the emulator (`serve --log`), lints like
any other log: its session header and clock lines are not findings, its
accepted calls are checked against the plan."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from lint_support import NOW

from simulator.emulator.testing import running_emulator
from simulator.lint.lint_run import lint_paths

WORKSPACE = Path("fixtures/workspaces/dtc_store.yaml")


def test_an_emulator_call_log(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, log=log, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        batch = {
            "batch": [
                {"type": "identify", "userId": "cus_1", "traits": {"email": "ana@example.com"}},
                {
                    "type": "track",
                    "userId": "cus_1",
                    "event": "checkout_started",
                    "properties": {"checkout_id": "ck_1", "value": 120},
                    "timestamp": "2026-03-02T08:59:58Z",
                    "messageId": "m-1",
                },
                {
                    "type": "track",
                    "userId": "cus_1",
                    "event": "checkout_started",
                    "properties": {"checkout_id": "ck_2", "value": "80"},
                    "timestamp": "2026-03-02T08:59:59Z",
                    "messageId": "m-2",
                },
            ]
        }
        answer = httpx.post(f"{emu.base_url}/v1/batch", json=batch, auth=(emu.write_key, ""), timeout=10)
        assert answer.status_code == 200
        emu.inspect.post("/advance?by=2h")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["kind"] == "session"
    assert any(line["kind"] == "advance" for line in lines)
    run = lint_paths(WORKSPACE, [str(log)], NOW)
    assert run.problems == []
    assert [(f.rule, f.path) for f in run.findings] == [("datatype-mismatch", "properties.value")]
    assert run.findings[0].line == next(i for i, line in enumerate(lines, 1) if line.get("kind") == "request")


def test_a_client_session_lints_its_library_and_the_emulators_clock(tmp_path: Path) -> None:
    # The official client stamps timestamp and sentAt with the machine's clock, months from the manual one:
    # the emulator moved them onto its clock, and lint reads them as it did. A purchase from a browser is flagged.
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, log=log, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        cdp = emu.analytics_client()
        cdp.identify("cus_1", {"email": "ana@example.com"})
        cdp.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 120})
        browser = {
            "userId": "cus_1",
            "event": "order_completed",
            "properties": {"order_id": "o_1", "value": 120},
            "context": {"library": {"name": "analytics.js", "version": "2.0"}},
        }
        answer = httpx.post(f"{emu.base_url}/v1/track", json=browser, auth=(emu.write_key, ""), timeout=10)
        assert answer.status_code == 200
    run = lint_paths(WORKSPACE, [str(log)], NOW)
    assert run.problems == []
    assert [(f.rule, f.severity) for f in run.findings] == [("server-event-from-client", "error")]


def test_a_batch_sent_with_a_browser_context_is_logged_and_linted_as_from_a_browser(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    order = {"type": "track", "userId": "cus_1", "event": "order_completed", "properties": {"order_id": "o_1"}}
    body = {"batch": [{**order, "properties": {"order_id": "o_1", "value": 1}}], "context": {}}
    body["context"] = {"library": {"name": "analytics.js", "version": "2.0"}}
    with running_emulator(WORKSPACE, log=log, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        answer = httpx.post(f"{emu.base_url}/v1/batch", json=body, auth=(emu.write_key, ""), timeout=10)
        assert answer.status_code == 200
    assert '"library":{"name":"analytics.js"}' in log.read_text()
    run = lint_paths(WORKSPACE, [str(log)], NOW)
    assert [(f.rule, f.severity) for f in run.findings] == [("server-event-from-client", "error")]


CLIENT_PLAN = """\
tracking_plan:
  events:
    page_scrolled:
      source: client
      properties: {depth: {type: integer}}
"""


def test_logged_calls_without_a_client_library_are_from_a_server(tmp_path: Path) -> None:
    """SPEC 17: a Pipelines call is from a client only by `source` or its library,
    otherwise from a server; the Track API takes a secret key. So a client-only
    event sent through either is flagged in the call log as in an export."""
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(CLIENT_PLAN, encoding="utf-8")
    log = tmp_path / "calls.jsonl"
    event = {"userId": "cus_1", "event": "page_scrolled", "properties": {"depth": 1}}
    browser = {**event, "context": {"library": {"name": "analytics.js", "version": "2.0"}}}
    with running_emulator(workspace, log=log, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        for body in (browser, event):
            answer = httpx.post(f"{emu.base_url}/v1/track", json=body, auth=(emu.write_key, ""), timeout=10)
            assert answer.status_code == 200
        track = emu.track_client()
        track.track("cus_2", "page_scrolled", {"depth": 2})
    requests = [i for i, line in enumerate(log.read_text().splitlines(), 1) if '"kind":"request"' in line]
    run = lint_paths(workspace, [str(log)], NOW)
    assert run.problems == []
    found = [(f.rule, f.line) for f in run.findings]
    assert found == [("client-event-from-server", requests[1])], found
    assert [line for _, line in run.findings[0].others] == [requests[2]]  # the Track API call


def test_calls_the_emulator_dropped_are_findings_at_their_lines(tmp_path: Path) -> None:
    """A track without a name or with an unreadable timestamp is answered 200 and
    dropped: the log records the drop, and lint says so at that request's line."""
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, log=log, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        auth = (emu.write_key, "")
        calls = [
            {"userId": "cus_1", "event": "checkout_started", "properties": {"checkout_id": "ck_1", "value": 5}},
            {"userId": "cus_1", "properties": {"checkout_id": "ck_2", "value": 5}},
            {"userId": "cus_1", "event": "checkout_started", "timestamp": "not a time"},
        ]
        for call in calls:
            assert httpx.post(f"{emu.pipelines_url}/track", json=call, auth=auth, timeout=10).status_code == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    requests = [i for i, line in enumerate(lines, 1) if line.get("kind") == "request"]
    run = lint_paths(WORKSPACE, [str(log)], NOW)
    dropped = [(f.rule, f.severity, f.line) for f in run.findings]
    assert dropped == [("call-dropped", "error", requests[1]), ("call-dropped", "error", requests[2])]
    assert "track needs an event name" in run.findings[0].message
    assert "not a time" in run.findings[1].message


def test_an_order_sent_again_after_a_reset_is_no_duplicate(tmp_path: Path) -> None:
    """Two tests of one suite, a reset between them, each sending order o_1: the
    platform was emptied, so the second is processed anew, not a repeat."""
    log = tmp_path / "calls.jsonl"
    order = {"userId": "cus_1", "event": "order_completed", "properties": {"order_id": "o_1", "value": 5}}
    with running_emulator(WORKSPACE, log=log, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        track = f"{emu.pipelines_url}/track"
        assert httpx.post(track, json=order, auth=(emu.write_key, ""), timeout=10).status_code == 200
        emu.reset()
        assert httpx.post(track, json=order, auth=(emu.write_key, ""), timeout=10).status_code == 200
        assert httpx.post(track, json=order, auth=(emu.write_key, ""), timeout=10).status_code == 200
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    requests = [i for i, line in enumerate(lines, 1) if line.get("kind") == "request"]
    run = lint_paths(WORKSPACE, [str(log)], NOW)
    # only the third order repeats a value sent since the reset
    assert [(f.rule, f.line) for f in run.findings if f.rule == "duplicate-unique-value"] == [
        ("duplicate-unique-value", requests[2])
    ]
    assert f"on line {requests[1]}" in run.findings[-1].message
