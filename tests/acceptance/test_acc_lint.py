"""SPEC section 17: the tracking plan, `segsim lint` and `segsim gate`, from the SPEC text.

Workspaces, scenario files and event logs in the three shapes are written as
a user would write them; findings are read through `--format json`.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import main
from simulator.emulator.testing import running_emulator

ROOT = Path(__file__).resolve().parents[2]
FINDING_KEYS = {"rule", "severity", "file", "line", "path", "message"}
ARRIVAL = datetime(2026, 3, 2, 12, tzinfo=UTC)

PLAN: dict[str, Any] = {
    "events": {
        "checkout_started": {
            "description": "the shopper reached the checkout page",
            "fires": "when the checkout page renders, once per checkout",
            "properties": {
                "checkout_id": {"type": "string", "required": True},
                "value": {"type": "number", "required": True},
                "currency": {"type": "string"},
            },
        },
        "added_to_cart": {
            "description": "an item went into the cart",
            "properties": {"product_id": {"type": "string", "required": True}, "category": {"type": "string"}},
        },
        "order_completed": {
            "description": "the order system accepted payment",
            "source": "server",
            "unique_by": "order_id",
            "properties": {
                "order_id": {"type": "string", "required": True},
                "value": {"type": "number", "required": True},
                "items": {"type": "list"},
            },
        },
    }
}


def workspace(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sources": {
            "web": {"kind": "client", "latency": "5s"},
            "backend": {"kind": "server", "latency": {"batch": {"every": "30m"}}},
        },
        "identity": {"auto_merge": True, "merge_anonymous": True},
        "dedupe": {"idempotency_keys": {"order_completed": "order_id"}},
        "tracking_plan": json.loads(json.dumps(PLAN)),
        "segments": {
            "cart_abandoners": {
                "rule": {
                    "all": [
                        {"performed": "checkout_started", "within": "2h"},
                        {"not_performed": "order_completed", "after": "checkout_started"},
                    ]
                }
            }
        },
    }
    body.update(extra)
    return body


def write_workspace(tmp_path: Path, body: dict[str, Any], name: str = "ws.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def lint(*args: Path | str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(main, ["lint", *map(str, args), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    findings = json.loads(result.stdout)
    assert isinstance(findings, list)
    for finding in findings:
        assert set(finding) == FINDING_KEYS, finding
        assert finding["severity"] in {"error", "warning"}
    return result.exit_code, findings


def about(findings: list[dict[str, Any]], *words: str) -> list[dict[str, Any]]:
    return [f for f in findings if all(w in f["message"] or w == f["rule"] for w in words)]


def pipelines_track(event: str, properties: dict[str, Any], line: int, **extra: Any) -> dict[str, Any]:
    stamp = ARRIVAL - timedelta(seconds=10)
    message: dict[str, Any] = {
        "type": "track",
        "userId": "cus_1",
        "event": event,
        "properties": properties,
        "timestamp": iso(stamp),
        "receivedAt": iso(ARRIVAL),
        "messageId": f"m-{line}",
        "context": {"library": {"name": "analytics-python"}},
    }
    message.update(extra)
    return message


# --- lint: the workspace ----------------------------------------------------------------------


def test_a_clean_workspace_lints_with_exit_0(tmp_path: Path) -> None:
    code, findings = lint(write_workspace(tmp_path, workspace()))
    assert [f for f in findings if f["severity"] == "error"] == []
    assert code == 0


def test_the_shipped_workspace_has_no_error() -> None:
    code, findings = lint(ROOT / "fixtures/workspaces/dtc_store.yaml")
    assert (code, [f for f in findings if f["severity"] == "error"]) == (0, [])


def test_rules_on_unplanned_events_and_properties_are_errors_with_key_paths(tmp_path: Path) -> None:
    body = workspace()
    body["segments"]["typo"] = {"rule": {"performed": "checkout_start", "within": "1d"}}
    body["segments"]["by_colour"] = {"rule": {"performed": "added_to_cart", "where": {"colour": "red"}}}
    body["journeys"] = {"browse": {"trigger": {"event": "product_viewed"}, "steps": [{"send": "picks"}]}}
    code, findings = lint(write_workspace(tmp_path, body))
    (journey,) = about(findings, "product_viewed")
    assert journey["severity"] == "error" and "journeys.browse" in journey["path"]
    assert code == 1
    (unknown_event,) = about(findings, "checkout_start'")
    assert unknown_event["severity"] == "error"
    assert "checkout_started" in unknown_event["message"]  # the nearest planned name
    assert "segments.typo" in unknown_event["path"]
    (unknown_property,) = about(findings, "colour")
    assert unknown_property["severity"] == "error"
    assert "segments.by_colour" in unknown_property["path"]


def test_a_window_tighter_than_its_source_latency(tmp_path: Path) -> None:
    body = workspace()
    body["segments"]["recent_buyers"] = {"rule": {"performed": "order_completed", "within": "15m"}}
    code, findings = lint(write_workspace(tmp_path, body))
    tight = [f for f in findings if "segments.recent_buyers" in f["path"] and "15m" in f["message"]]
    assert len(tight) == 1, findings
    assert code == (1 if tight[0]["severity"] == "error" else 0)

    body["segments"]["recent_buyers"]["rule"]["within"] = "2h"
    _, findings = lint(write_workspace(tmp_path, body))
    assert [f for f in findings if "segments.recent_buyers" in f["path"]] == []


def test_plan_names_case_near_duplicates_and_property_encoding(tmp_path: Path) -> None:
    body = workspace()
    events = body["tracking_plan"]["events"]
    events["Checkout Started"] = {"description": "the old name"}
    events["added_to_cart_shoes"] = {"description": "an item of shoes went into the cart"}
    events["PageViewed"] = {"description": "camel case"}
    code, findings = lint(write_workspace(tmp_path, body))
    assert code == 1
    assert about(findings, "Checkout Started", "checkout_started"), findings
    assert about(findings, "added_to_cart_shoes", "added_to_cart"), findings
    assert about(findings, "PageViewed"), findings


# --- lint: scenario files ---------------------------------------------------------------------

SCENARIO = """\
scenario: tracking drift
workspace: ws.yaml
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0m, who: ana, device: laptop, identify: true}
  - {at: 1m, who: ana, device: laptop, track: Checkout Started, properties: {checkout_id: ck_1, value: 120}}
  - {at: 2m, who: ana, device: laptop, track: checkout_started, properties: {value: 120}}
  - {at: 3m, who: ana, device: laptop, track: checkout_started, properties: {checkout_id: ck_2, value: "120"}}
  - {at: 4m, who: ana, device: laptop, track: order_completed, properties: {order_id: o_1, value: 120}}
  - {at: 5m, who: ana, track: order_completed, properties: {order_id: o_2, value: 120}}
  - {at: 6m, who: ana, track: order_completed, properties: {order_id: o_2, value: 120}}
  - {at: 7m, who: ana, device: laptop, track: added_to_cart_shoes, properties: {product_id: p_1}}
  - {at: 8m, who: ana, device: laptop, track: checkout_begun, properties: {checkout_id: ck_3}}
expect:
  - {at: 10m, who: ana, profiles: 1}
"""


def test_scenario_findings_each_at_their_line(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    scenario = tmp_path / "drift.yaml"
    scenario.write_text(SCENARIO)
    code, findings = lint(ws, scenario)
    assert code == 1
    in_scenario = [f for f in findings if Path(f["file"]).name == "drift.yaml"]
    assert {f["severity"] for f in in_scenario} == {"error", "warning"}  # the guarded repeat is a warning

    def lines_of(*words: str) -> list[int]:
        return sorted({f["line"] for f in about(in_scenario, *words)})

    assert lines_of("Checkout Started", "checkout_started") == [6]  # near-duplicate name
    assert lines_of("checkout_id") == [7]  # missing required property
    assert lines_of("value", "string") == [8]  # wrong type
    assert lines_of("order_completed", "client") == [9]  # server-only event from a client
    assert lines_of("o_2") == [11]  # repeated unique_by value
    assert lines_of("added_to_cart_shoes", "added_to_cart") == [12]  # name encodes a property
    assert 13 in lines_of("checkout_begun", "checkout_started")  # unplanned, with the nearest planned name


def test_copies_of_an_order_the_platform_cannot_dedupe_repeat_its_unique_value(tmp_path: Path) -> None:
    body = workspace()
    del body["dedupe"]
    ws = write_workspace(tmp_path, body)
    scenario = tmp_path / "copies.yaml"
    scenario.write_text(
        "scenario: a doubled order\n"
        "workspace: ws.yaml\n"
        "shoppers: {ana: {id: cus_1}}\n"
        "timeline:\n"
        "  - {at: 0m, who: ana, source: backend, track: order_completed, properties: {order_id: o1, value: 5},"
        " copies: 2}\n"
    )
    code, findings = lint(ws, scenario)
    (finding,) = [f for f in findings if Path(f["file"]).name == "copies.yaml"]
    assert (finding["rule"], finding["severity"], finding["line"]) == ("duplicate-unique-value", "error", 5)
    assert code == 1


def test_a_trigger_test_with_a_value_of_the_wrong_type(tmp_path: Path) -> None:
    body = workspace()
    body["journeys"] = {
        "thanks": {
            "trigger": {"event": "order_completed"},
            "steps": [{"branch": {"if": {"trigger": {"value": {"gte": "100"}}}, "then": [{"send": "vip_thanks"}]}}],
        }
    }
    code, findings = lint(write_workspace(tmp_path, body))
    (finding,) = [f for f in findings if f["rule"] == "rule-type-mismatch"]
    assert finding["path"] == "journeys.thanks.steps[0].branch.if.trigger.value.gte"
    assert code == 1


# --- lint: event logs in the three shapes -----------------------------------------------------

CLIENT_LIBRARIES = [
    "analytics.js",
    "analytics-ios",
    "analytics-android",
    "analytics-react-native",
    "@customerio/cdp-analytics-browser",
]


@pytest.mark.parametrize("library", CLIENT_LIBRARIES)
def test_pipelines_messages_from_a_client_library(tmp_path: Path, library: str) -> None:
    ws = write_workspace(tmp_path, workspace())
    order = {"order_id": "o_1", "value": 80}
    log = write_lines(
        tmp_path / "export.jsonl",
        [pipelines_track("order_completed", order, 1, context={"library": {"name": library, "version": "1"}})],
    )
    code, findings = lint(ws, log)
    (finding,) = [f for f in findings if Path(f["file"]).name == "export.jsonl"]
    assert (finding["severity"], finding["line"], code) == ("error", 1, 1)
    assert "order_completed" in finding["message"] and "client" in finding["message"]


def test_pipelines_messages_source_client_and_server_libraries(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    order = {"order_id": "o_1", "value": 80}
    records = [
        pipelines_track("order_completed", order, 1),  # analytics-python: a server
        pipelines_track("order_completed", dict(order, order_id="o_2"), 2, context={}, source="client"),
        pipelines_track(
            "order_completed", dict(order, order_id="o_3"), 3, context={"library": {"name": "analytics-node"}}
        ),
    ]
    code, findings = lint(ws, write_lines(tmp_path / "export.jsonl", records))
    in_log = [f for f in findings if Path(f["file"]).name == "export.jsonl"]
    assert [f["line"] for f in in_log] == [2], in_log
    assert code == 1


def test_pipelines_property_checks_and_unique_by(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    records = [
        pipelines_track("checkout_started", {"checkout_id": "ck_1", "value": 10}, 1),
        pipelines_track("checkout_started", {"value": 10}, 2),
        pipelines_track("checkout_started", {"checkout_id": "ck_3", "value": "10"}, 3),
        pipelines_track("order_completed", {"order_id": "o_1", "value": 10}, 4),
        pipelines_track("order_completed", {"order_id": "o_1", "value": 10}, 5),
        pipelines_track("Checkout Started", {"checkout_id": "ck_4", "value": 10}, 6),
        pipelines_track("checkoutStarted2", {"checkout_id": "ck_5", "value": 10}, 7),
    ]
    code, findings = lint(ws, write_lines(tmp_path / "export.jsonl", records))
    in_log = {f["line"]: f for f in findings if Path(f["file"]).name == "export.jsonl"}
    assert sorted(in_log) == [2, 3, 5, 6, 7], findings
    assert "checkout_id" in in_log[2]["message"]
    assert "value" in in_log[3]["message"]
    assert "o_1" in in_log[5]["message"]
    assert "checkout_started" in in_log[6]["message"]
    assert code == 1


@pytest.mark.parametrize("planned", [False, True])
def test_naming_rules_judge_the_logged_names_with_or_without_a_plan(tmp_path: Path, planned: bool) -> None:
    body = workspace()
    if not planned:
        del body["tracking_plan"]
    ws = write_workspace(tmp_path, body)
    names = ["wishlist_added", "Wishlist Added", "wishlist-added", "promo_clicked", "promo_clicked_summer"]
    records = [pipelines_track(name, {}, line) for line, name in enumerate(names, start=1)]
    _, findings = lint(ws, write_lines(tmp_path / "export.jsonl", records))
    naming = sorted(
        (f["line"], f["rule"])
        for f in findings
        if f["rule"] in ("near-duplicate-name", "name-encodes-property", "event-name-case")
    )
    assert naming == [(2, "near-duplicate-name"), (3, "near-duplicate-name"), (5, "name-encodes-property")]


def test_track_v2_entity_operations(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    stamp = int((ARRIVAL - timedelta(minutes=1)).timestamp())
    records = [
        {"type": "person", "identifiers": {"id": "cus_1"}, "action": "event", "name": "checkout_started",
         "attributes": {"checkout_id": "ck_1", "value": 5}, "timestamp": stamp},
        {"type": "person", "identifiers": {"id": "cus_1"}, "action": "event", "name": "checkout_started",
         "attributes": {"checkout_id": "ck_1", "value": "5"}, "timestamp": stamp},
        {"type": "person", "identifiers": {"email": "a@example.com"}, "action": "event", "name": "Order Completed",
         "attributes": {"order_id": "o_1", "value": 5}, "timestamp": stamp},
    ]  # fmt: skip
    code, findings = lint(ws, write_lines(tmp_path / "v2.jsonl", records))
    in_log = sorted((f["line"], f["severity"]) for f in findings if Path(f["file"]).name == "v2.jsonl")
    assert in_log == [(2, "error"), (3, "error")], findings
    assert code == 1


def test_segsim_call_log_from_serve(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    log = tmp_path / "calls.jsonl"
    with running_emulator(ws, log=log, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        track = emu.track_client()
        track.identify("cus_1", email="ana@example.com")
        track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 12})
        emu.analytics_client().track(
            user_id="cus_1",
            event="checkout_started",
            properties={"value": "12"},
            context={"library": {"name": "analytics.js"}},
        )
    code, findings = lint(ws, log)
    in_log = [f for f in findings if Path(f["file"]).name == "calls.jsonl"]
    lines = log.read_text().splitlines()
    assert in_log, findings
    assert all("checkout_started" in lines[f["line"] - 1] for f in in_log)
    assert {w for f in in_log for w in ("checkout_id", "value") if w in f["message"]} == {"checkout_id", "value"}
    assert code == 1


def test_timestamps_against_arrival_and_the_wall_clock(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    good = {"checkout_id": "ck", "value": 1}
    records = [
        pipelines_track("checkout_started", good, 1),
        pipelines_track("checkout_started", good, 2, timestamp=iso(ARRIVAL + timedelta(hours=1))),
        pipelines_track("checkout_started", good, 3, timestamp=iso(ARRIVAL - timedelta(hours=73))),
        pipelines_track("checkout_started", good, 4, timestamp=iso(ARRIVAL - timedelta(hours=71))),
        dict(pipelines_track("checkout_started", good, 5, timestamp="2020-01-01T00:00:00Z"), receivedAt=None),
        dict(
            pipelines_track("added_to_cart", {"product_id": "p"}, 6, timestamp="2999-01-01T00:00:00Z"), receivedAt=None
        ),
    ]
    for record in records:
        if record["receivedAt"] is None:
            del record["receivedAt"]
    code, findings = lint(ws, write_lines(tmp_path / "export.jsonl", records))
    in_log = sorted(f["line"] for f in findings if Path(f["file"]).name == "export.jsonl")
    assert in_log == [2, 3, 6], findings
    assert code == 1


def test_a_timestamp_without_an_offset_is_read_as_utc(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    good = {"checkout_id": "ck", "value": 1}
    naive = (ARRIVAL - timedelta(minutes=5)).replace(tzinfo=None).isoformat()  # as `utcnow().isoformat()` writes
    later = (ARRIVAL + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    records = [
        pipelines_track("checkout_started", good, 1, timestamp=naive),
        pipelines_track("checkout_started", good, 2, timestamp=later),
    ]
    _code, findings = lint(ws, write_lines(tmp_path / "export.jsonl", records))
    in_log = [(f["line"], f["rule"]) for f in findings if Path(f["file"]).name == "export.jsonl"]
    assert in_log == [(2, "timestamp-in-future")], findings  # read, as UTC: one hour after its arrival


def _hourly(counts: list[int], event: str = "added_to_cart") -> list[dict[str, Any]]:
    first = datetime(2026, 3, 2, tzinfo=UTC)
    records: list[dict[str, Any]] = []
    for hour, count in enumerate(counts):
        for i in range(count):
            moment = first + timedelta(hours=hour, seconds=i * 3600 // max(count, 1))
            properties = {"checkout_id": "ck", "value": 1} if event == "checkout_started" else {"product_id": "p"}
            record = pipelines_track(event, properties, len(records) + 1)
            records.append(dict(record, timestamp=iso(moment), receivedAt=iso(moment + timedelta(seconds=5))))
    return records


def test_volume_drop_in_an_event_hourly_volume(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    code, findings = lint(ws, write_lines(tmp_path / "steady.jsonl", _hourly([50] * 10)))
    assert [f for f in findings if Path(f["file"]).name == "steady.jsonl"] == []
    assert code == 0
    drop = _hourly([50] * 8 + [2] + [50] * 2)
    code, findings = lint(ws, write_lines(tmp_path / "drop.jsonl", drop))
    (finding,) = [f for f in findings if Path(f["file"]).name == "drop.jsonl"]
    assert finding["severity"] == "warning" and "added_to_cart" in finding["message"]
    assert finding["line"] == 8 * 50 + 1  # the first line of the drop hour
    assert code == 0


def test_gzip_logs_and_text_format(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    line = json.dumps(pipelines_track("checkout_started", {"value": 1}, 1)) + "\n"
    log = tmp_path / "export.jsonl.gz"
    log.write_bytes(gzip.compress(line.encode()))
    result = CliRunner().invoke(main, ["lint", str(ws), str(log), "--format", "text"])
    assert result.exit_code == 1
    assert "export.jsonl.gz:1" in result.stdout and "checkout_id" in result.stdout


def test_exit_0_with_warnings_only(tmp_path: Path) -> None:
    body = workspace()
    body["tracking_plan"]["events"]["PageViewed"] = {"description": "camel case"}
    code, findings = lint(write_workspace(tmp_path, body))
    assert findings and all(f["severity"] == "warning" for f in findings), findings
    assert code == 0


# --- gate -------------------------------------------------------------------------------------

PASSING = """\
scenario: cross-device checkout
workspace: ws.yaml
shoppers: {ana: {id: cus_1, email: ana@example.com}}
timeline:
  - {at: 0m, who: ana, device: phone, track: checkout_started, properties: {checkout_id: ck_1, value: 120}}
  - {at: 1m, who: ana, device: phone, identify: true}
  - {at: 10m, who: ana, track: order_completed, properties: {order_id: o_1, value: 120}}
expect:
  - {at: 5m, who: ana, in_segment: cart_abandoners}
  - {at: 5m, who: ana, profiles: 1}
"""


def gate(*args: Path | str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["gate", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout


GATE_ITEMS = [
    "event names canonical and documented",
    "required properties present",
    "identity strategy defined",
    "anonymous merge",
    "purchase events server-side and idempotent",
    "debug segments covered by passing scenarios",
    "journeys built on triggers plus filters",
]


def test_gate_passes_a_ready_workspace(tmp_path: Path) -> None:
    write_workspace(tmp_path, workspace())
    (tmp_path / "story.yaml").write_text(PASSING)
    code, output = gate(tmp_path / "ws.yaml", tmp_path / "story.yaml")
    for item in GATE_ITEMS:
        assert item in output, output
    assert "FAIL" not in output, output
    assert code == 0


def test_gate_fails_each_item_with_its_evidence(tmp_path: Path) -> None:
    body = workspace(identity={})
    del body["dedupe"]
    body["tracking_plan"]["events"]["order_completed"].pop("source")
    body["tracking_plan"]["events"]["added_to_cart"].pop("description")
    body["segments"]["never_tested"] = {"rule": {"performed": "added_to_cart"}}
    body["journeys"] = {
        "a": {"trigger": {"event": "added_to_cart"}, "steps": [{"send": "m1"}]},
        "b": {"trigger": {"event": "Added To Cart"}, "steps": [{"send": "m2"}]},
    }
    write_workspace(tmp_path, body)
    (tmp_path / "story.yaml").write_text(PASSING)
    code, output = gate(tmp_path / "ws.yaml", tmp_path / "story.yaml")
    failed = [line for line in output.splitlines() if line.startswith("FAIL")]
    for item in ["event names", "identity strategy", "purchase events", "debug segments", "journeys built on"]:
        assert any(item in line for line in failed), output
    assert "never_tested" in output and "added_to_cart" in output and "order_completed" in output
    assert code == 1


def _item(output: str, name: str) -> list[str]:
    """The lines of one gate item: its PASS/FAIL line and its evidence."""
    lines = output.splitlines()
    first = next(i for i, line in enumerate(lines) if name in line)
    rest = [line for line in lines[first + 1 :]]
    end = next((i for i, line in enumerate(rest) if line.startswith(("PASS", "FAIL"))), len(rest))
    return [lines[first], *rest[:end]]


def test_a_scenario_sending_a_purchase_from_a_client_fails_the_purchase_item(tmp_path: Path) -> None:
    write_workspace(tmp_path, workspace())
    (tmp_path / "story.yaml").write_text(
        PASSING.replace("- {at: 10m, who: ana, track:", "- {at: 10m, who: ana, device: phone, track:")
    )
    code, output = gate(tmp_path / "ws.yaml", tmp_path / "story.yaml")
    item = _item(output, "purchase events server-side and idempotent")
    assert item[0].startswith("FAIL"), output
    assert any("sent from a client in a scenario" in line for line in item), item
    assert any("story.yaml:7" in line and "server-event-from-client" in line for line in item), item
    assert code == 1


def test_a_purchase_event_named_with_spaces_sent_from_a_client_fails_the_purchase_item(tmp_path: Path) -> None:
    body = workspace(dedupe={"idempotency_keys": {"Order Completed": "order_id"}})
    body["tracking_plan"]["events"]["Order Completed"] = body["tracking_plan"]["events"].pop("order_completed")
    write_workspace(tmp_path, body)
    story = PASSING.replace(
        "- {at: 10m, who: ana, track: order_completed", "- {at: 10m, who: ana, device: phone, track: Order Completed"
    )
    (tmp_path / "story.yaml").write_text(story)
    _code, output = gate(tmp_path / "ws.yaml", tmp_path / "story.yaml")
    item = _item(output, "purchase events server-side and idempotent")
    assert item[0].startswith("FAIL") and any("server-event-from-client" in line for line in item), output


def test_the_dedupe_key_the_gate_suggests_is_a_planned_property(tmp_path: Path) -> None:
    body = workspace()
    del body["dedupe"]
    body["tracking_plan"]["events"]["purchase"] = {
        "description": "a purchase",
        "source": "server",
        "properties": {"sku_id": {"type": "string"}, "transaction_id": {"type": "string"}},
    }
    write_workspace(tmp_path, body)
    (tmp_path / "story.yaml").write_text(PASSING)
    _code, output = gate(tmp_path / "ws.yaml", tmp_path / "story.yaml")
    item = "\n".join(_item(output, "purchase events server-side and idempotent"))
    assert "add dedupe.idempotency_keys: {purchase: transaction_id}" in item, item
    assert "add dedupe.idempotency_keys: {order_completed: order_id}" in item, item


def test_an_event_that_stops_while_the_log_goes_on_is_a_drop(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path, workspace())
    records = _hourly([50] * 10, event="checkout_started") + _hourly([50] * 7, event="added_to_cart")
    records.sort(key=lambda r: r["timestamp"])
    code, findings = lint(ws, write_lines(tmp_path / "stop.jsonl", records))
    in_log = [f for f in findings if Path(f["file"]).name == "stop.jsonl" and "added_to_cart" in f["message"]]
    assert len(in_log) == 1 and in_log[0]["severity"] == "warning", findings
    assert not [f for f in findings if "checkout_started" in f["message"] and Path(f["file"]).name == "stop.jsonl"]
    assert code == 0


@pytest.mark.parametrize("command", ["lint", "gate"])
def test_unreadable_input_exits_2_without_a_traceback(tmp_path: Path, command: str) -> None:
    ws = write_workspace(tmp_path, workspace())
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenario: broken\ntimeline: [\n")
    for args in ([str(tmp_path / "missing.yaml")], [str(ws), str(broken)]):
        result = CliRunner().invoke(main, [command, *args])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["lint", str(ws), str(broken)])
    assert "broken.yaml:2" in result.output or "broken.yaml:3" in result.output, result.output
