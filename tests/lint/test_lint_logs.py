"""Log rules on the three shapes, streamed line by line: a clean export of the
shipped scenario has no finding; each rule fires on a line that breaks it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lint_support import NOW, LintFolder, rules, track, workspace

from simulator.lint.lint_run import lint_paths
from simulator.model.time import format_instant
from simulator.pipeline import simulate
from simulator.scenario.loader import load_plan

SHIPPED_WORKSPACE = Path("fixtures/workspaces/dtc_store.yaml")
SHIPPED_SCENARIO = Path("scenarios/01_cross_device_checkout.yaml")


def _export(shape: str) -> list[dict[str, Any]]:
    """Every delivered call of the shipped scenario, in arrival order, in one log shape."""
    plan = load_plan(SHIPPED_SCENARIO)
    outcome = simulate(plan)
    lines: list[dict[str, Any]] = []
    for delivery in sorted(outcome.deliveries, key=lambda d: d.key):
        send = delivery.send
        client = plan.workspace.source(send.source).kind == "client"
        stamp = format_instant(send.timestamp if send.timestamp is not None else delivery.arrival)
        arrival = format_instant(delivery.arrival)
        if shape == "pipelines":
            message: dict[str, Any] = {
                "type": send.call,
                "messageId": send.event_id or f"seq-{send.seq}",
                "timestamp": stamp,
                "receivedAt": arrival,
                "context": {"library": {"name": "analytics.js" if client else "analytics-python"}},
            }
            if send.user_id:
                message["userId"] = send.user_id
            if send.anonymous_id:
                message["anonymousId"] = send.anonymous_id
            if send.call == "track":
                message.update(event=send.name, properties=send.properties)
            else:
                message["traits"] = {"email": send.email, **send.attributes}
            lines.append(message)
        elif shape == "track-v2":
            ids: dict[str, str | None] = {k: v for k, v in (("id", send.user_id), ("email", send.email)) if v}
            ids = ids or {"anonymous_id": send.anonymous_id}
            op: dict[str, Any] = {"type": "person", "identifiers": ids, "timestamp": send.timestamp or delivery.arrival}
            if send.call == "track":
                op.update(action="event", name=send.name, attributes=send.properties)
            else:
                op.update(action="identify", attributes=send.attributes)
            lines.append(op)
        else:
            lines.append(
                {
                    "call": send.call,
                    "source": send.source,
                    "user_id": send.user_id,
                    "email": send.email,
                    "anonymous_id": send.anonymous_id,
                    "event": send.name,
                    "properties": send.properties,
                    "timestamp": stamp,
                    "received_at": arrival,
                    "event_id": send.event_id,
                }
            )
    return lines


@pytest.mark.parametrize("shape", ["pipelines", "track-v2", "call-log"])
def test_a_clean_export_of_the_shipped_scenario_has_no_finding(tmp_path: Path, shape: str) -> None:
    log = tmp_path / f"{shape}.jsonl"
    records = _export(shape)
    assert any(r.get("event") == "order_completed" or r.get("name") == "order_completed" for r in records)
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    run = lint_paths(SHIPPED_WORKSPACE, [str(log)], NOW)
    assert run.problems == []
    assert run.findings == []
    assert run.log_lines == len(records)


def test_the_timeline_json_records_lint_clean_as_a_call_log(tmp_path: Path) -> None:
    from simulator.checks.violations import find_violations
    from simulator.report.story import story_records

    outcome = simulate(load_plan(SHIPPED_SCENARIO))
    sent = [
        {**r, "call": r["call"], "received_at": r["at"]}
        for r in story_records(outcome, find_violations(outcome))
        if r["kind"] == "sent"
    ]
    log = tmp_path / "timeline.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in sent))
    run = lint_paths(SHIPPED_WORKSPACE, [str(log)], NOW)
    assert run.findings == []


def test_a_clean_pipelines_line(folder: LintFolder) -> None:
    log = folder.log([track("checkout_started", {"checkout_id": "ck_1", "value": 120})])
    assert folder.lint(log).findings == []


@pytest.mark.parametrize(
    ("event", "properties", "rule"),
    [
        ("checkout_start", {"checkout_id": "ck_1", "value": 1}, "unplanned-event"),
        ("Checkout Started", {"checkout_id": "ck_1", "value": 1}, "near-duplicate-name"),
        ("added_to_cart_shoes", {"product_id": "p_1"}, "name-encodes-property"),
        ("checkout_started", {"checkout_id": "ck_1"}, "required-missing"),
        ("checkout_started", {"checkout_id": "ck_1", "value": "120"}, "datatype-mismatch"),
        ("checkout_started", {"checkout_id": "ck_1", "value": 1, "coupon": "x"}, "additional-property"),
    ],
)
def test_plan_rules_on_a_pipelines_line(folder: LintFolder, event: str, properties: dict[str, Any], rule: str) -> None:
    found = folder.lint(folder.log([{"type": "identify", "userId": "cus_1"}, track(event, properties)])).findings
    assert rules(found) == [rule]
    assert found[0].line == 2


def test_a_server_only_event_from_a_browser_library(folder: LintFolder) -> None:
    order = {"order_id": "o_1", "value": 10}
    browser = track("order_completed", order, context={"library": {"name": "analytics.js"}})
    flagged = track("order_completed", {**order, "order_id": "o_2"}, source="client")
    server = track("order_completed", {**order, "order_id": "o_3"})
    found = folder.lint(folder.log([browser, flagged, server])).findings
    assert [(f.rule, f.line, f.count) for f in found] == [("server-event-from-client", 1, 2)]


def test_a_batchs_own_context_applies_to_its_calls(folder: LintFolder) -> None:
    """A batch's `context` applies to every call in it (a call's own keys win), as Customer.io reads batches."""
    order = {"order_id": "o_1", "value": 10}
    plain = {k: v for k, v in track("order_completed", order).items() if k != "context"}
    browser = {"batch": [plain], "context": {"library": {"name": "analytics.js"}}}
    own = track("order_completed", {**order, "order_id": "o_2"})  # says its server library itself
    server = {"batch": [own], "context": {"library": {"name": "analytics.js"}}}
    found = folder.lint(folder.log([browser, server])).findings
    assert [(f.rule, f.line, f.count) for f in found] == [("server-event-from-client", 1, 1)]


def test_a_repeated_order_id_under_another_message_id(folder: LintFolder) -> None:
    first = track("order_completed", {"order_id": "o_1", "value": 10})
    retry = dict(first)  # same messageId: a retry the platform's dedupe absorbs
    again = {**first, "messageId": "another"}
    found = folder.lint(folder.log([first, retry, again])).findings
    assert [(f.rule, f.line) for f in found] == [("duplicate-unique-value", 3)]
    assert "line 1" in found[0].message


def test_a_numeric_unique_value_written_another_way_is_the_same_value(folder: LintFolder) -> None:
    # 5 and 5.0 are one order id, as the platform's idempotency keys read them; "5" is another.
    lines = [
        track("order_completed", {"order_id": 5, "value": 10}, messageId="a"),
        track("order_completed", {"order_id": 5.0, "value": 10}, messageId="b"),
        track("order_completed", {"order_id": "5", "value": 10}, messageId="c"),
    ]
    found = folder.lint(folder.log(lines)).findings
    assert [(f.rule, f.line) for f in found if f.rule == "duplicate-unique-value"] == [("duplicate-unique-value", 2)]


def test_timestamps_later_than_arrival_or_too_old(folder: LintFolder) -> None:
    props = {"checkout_id": "ck_1", "value": 1}
    ahead = track("checkout_started", props, receivedAt="2027-01-15T09:00:00Z")
    old = track("checkout_started", props, receivedAt="2027-01-19T10:00:01Z")
    fine = track("checkout_started", props, receivedAt="2027-01-18T10:00:00Z")  # exactly 72h
    found = folder.lint(folder.log([ahead, old, fine])).findings
    assert [(f.rule, f.severity, f.line) for f in found] == [
        ("timestamp-in-future", "error", 1),
        ("timestamp-too-old", "warning", 2),
    ]


def test_too_old_is_72_hours_whatever_the_workspaces_max_age(folder: LintFolder) -> None:
    """SPEC 17 fixes the limit at 72 hours; `triggers.max_age` is the replay's."""
    props = {"checkout_id": "ck_1", "value": 1}
    old = track("checkout_started", props, receivedAt="2027-01-19T10:00:01Z")
    recent = track("checkout_started", props, receivedAt="2027-01-15T12:00:00Z")  # 2h old
    for max_age in ("1h", "30d"):
        folder.write_workspace(workspace(max_age=lambda data, m=max_age: data.update(triggers={"max_age": m})))
        found = folder.lint(folder.log([old, recent])).findings
        assert [(f.rule, f.line) for f in found] == [("timestamp-too-old", 1)], max_age


def test_without_arrival_only_the_future_check_runs_against_the_clock(folder: LintFolder) -> None:
    props = {"checkout_id": "ck_1", "value": 1}
    future = track("checkout_started", props, at=format_instant(NOW + 3600))
    past = track("checkout_started", props, at=format_instant(NOW - 30 * 86400))
    del future["receivedAt"], past["receivedAt"]
    found = folder.lint(folder.log([past, future])).findings
    assert [(f.rule, f.line) for f in found] == [("timestamp-in-future", 2)]


def test_an_unreadable_timestamp(folder: LintFolder) -> None:
    bad = track("checkout_started", {"checkout_id": "ck_1", "value": 1}, timestamp="yesterday")
    assert [(f.rule, f.path) for f in folder.lint(folder.log([bad])).findings] == [("timestamp-invalid", "timestamp")]


def test_an_unreadable_arrival_is_reported_at_its_own_key(folder: LintFolder) -> None:
    bad = track("checkout_started", {"checkout_id": "ck_1", "value": 1})
    bad["receivedAt"] = "yesterday"
    stamp = track("checkout_started", {"checkout_id": "ck_2", "value": 1}, timestamp="last week")
    found = folder.lint(folder.log([bad, stamp])).findings  # (without an arrival, the future check runs too)
    invalid = [(f.path, f.line) for f in found if f.rule == "timestamp-invalid"]
    assert invalid == [("receivedAt", 1), ("timestamp", 2)]


def test_a_malformed_line_is_a_finding_with_its_line_number(folder: LintFolder) -> None:
    good = track("checkout_started", {"checkout_id": "ck_1", "value": 1})
    found = folder.lint(folder.log([good, '{"type": "track", "event": ', "[1, 2]", good])).findings
    assert [(f.rule, f.line) for f in found] == [("malformed-line", 2), ("malformed-line", 3)]
    assert "not valid JSON" in found[0].message


def test_nan_infinity_and_numbers_past_a_double_are_malformed_as_the_emulator_says(folder: LintFolder) -> None:
    good = json.dumps(track("checkout_started", {"checkout_id": "ck_1", "value": 1}))
    lines = [good.replace('"value": 1', f'"value": {bad}') for bad in ("NaN", "Infinity", "1e999")]
    found = folder.lint(folder.log(lines)).findings
    assert [(f.rule, f.line) for f in found] == [("malformed-line", 1), ("malformed-line", 2), ("malformed-line", 3)]


def test_many_malformed_lines_fold_after_the_first_ten(folder: LintFolder) -> None:
    found = folder.lint(folder.log(["nope"] * 25)).findings
    assert len(found) == 11
    assert found[-1].count == 15


def test_a_line_of_no_known_shape(folder: LintFolder) -> None:
    assert rules(folder.lint(folder.log([{"hello": "world"}])).findings) == ["unknown-record"]


def test_a_batch_element_of_no_known_shape_is_said_beside_the_calls_read(folder: LintFolder) -> None:
    order = track("order_complted", {"order_id": "o_1", "value": 10})
    found = folder.lint(folder.log([{"batch": [{"foo": 1}, order, 5]}])).findings
    assert sorted((f.rule, f.count) for f in found) == [("unknown-record", 2), ("unplanned-event", 1)]
    (unknown,) = [f for f in found if f.rule == "unknown-record"]
    assert unknown.message.startswith("batch[0] is none of the three log shapes")


def test_a_track_without_an_event_name_is_an_error(folder: LintFolder) -> None:
    nameless = {k: v for k, v in track("x", {"value": 1}).items() if k != "event"}
    numbered = {**track("x", {"value": 1}), "event": 123}
    blank = {**track("x", {"value": 1}), "event": "  "}
    entity = {"type": "person", "identifiers": {"id": "cus_1"}, "action": "event", "attributes": {}}
    found = folder.lint(folder.log([nameless, numbered, blank, entity])).findings
    assert [(f.rule, f.severity, f.line, f.path) for f in found] == [
        ("missing-event-name", "error", 1, "event"),
        ("missing-event-name", "error", 4, "name"),
    ]
    assert found[0].count == 3


def test_repeats_fold_into_one_finding_with_a_count(folder: LintFolder) -> None:
    lines = [track("checkout_start", {"checkout_id": "c", "value": i}) for i in range(5)]
    found = folder.lint(folder.log(lines)).findings
    assert [(f.rule, f.line, f.count) for f in found] == [("unplanned-event", 1, 5)]
    assert "5 occurrences" in found[0].as_json()["message"]


def test_track_v2_events_and_call_log_arrivals(folder: LintFolder) -> None:
    v2 = {
        "type": "person",
        "identifiers": {"id": "cus_1"},
        "action": "event",
        "name": "checkout_started",
        "attributes": {"checkout_id": "ck_1"},
        "timestamp": 1_800_000_000,
    }
    call = {
        "call": "track",
        "source": "web",
        "anonymous_id": "a-1",
        "event": "order_completed",
        "properties": {"order_id": "o_1", "value": 5},
        "timestamp": "2027-01-15T10:00:00Z",
        "receivedAt": "2027-01-15T09:59:00Z",
    }
    found = folder.lint(folder.log([v2, call])).findings
    assert [(f.rule, f.line, f.path) for f in found] == [
        ("required-missing", 1, "attributes.value"),  # a v2 operation's own keys
        ("server-event-from-client", 2, "event"),
        ("timestamp-in-future", 2, "timestamp"),
    ]
    unplanned = folder.lint(folder.log([{**v2, "name": "checkout_begun"}])).findings
    assert [(f.rule, f.path) for f in unplanned] == [("unplanned-event", "name")]


def test_a_wrapped_batch_in_the_call_log(folder: LintFolder) -> None:
    wrapped = {
        "received_at": "2027-01-15T10:00:05Z",
        "body": {"batch": [track("checkout_started", {"checkout_id": "c"}), track("Order Completed", {})]},
    }
    found = folder.lint(folder.log([wrapped])).findings
    assert sorted(rules(found)) == ["near-duplicate-name", "required-missing"]


def test_a_retry_of_a_repeat_is_not_counted_again(folder: LintFolder) -> None:
    first = track("order_completed", {"order_id": "o_1", "value": 10})
    again = {**first, "messageId": "another"}
    retry_of_again = dict(again)
    third = {**first, "messageId": "a third"}
    found = folder.lint(folder.log([first, again, retry_of_again])).findings
    assert [(f.rule, f.line, f.count) for f in found] == [("duplicate-unique-value", 2, 1)]
    assert "occurrences" not in found[0].as_json()["message"]
    found = folder.lint(folder.log([first, again, retry_of_again, dict(first), third])).findings
    assert [(f.rule, f.line, f.count) for f in found] == [("duplicate-unique-value", 2, 2)]


def test_a_retry_repeats_when_dedupe_by_event_id_is_off(folder: LintFolder) -> None:
    def no_id_dedupe(ws: dict[str, Any]) -> None:
        ws["dedupe"] = {"by_event_id": False}

    folder.write_workspace(workspace(change=no_id_dedupe))
    first = track("order_completed", {"order_id": "o_1", "value": 10})
    found = folder.lint(folder.log([first, dict(first)])).findings
    assert [(f.rule, f.severity, f.line) for f in found] == [("duplicate-unique-value", "error", 2)]


def test_values_and_types_are_shown_as_json_with_the_right_article(folder: LintFolder) -> None:
    lines = [
        track("checkout_started", {"checkout_id": True, "value": 1}),
        track("order_completed", {"order_id": "o_1", "value": 1, "items": {"sku": "s_1"}}),
        "5",
        "null",
    ]
    found = folder.lint(folder.log(lines)).findings
    messages = {f.line: f.message for f in found}
    assert "should be a string but is a boolean (true)" in messages[1]
    assert 'should be a list but is an object ({"sku": "s_1"})' in messages[2]
    assert "got an integer" in messages[3] and "got null" in messages[4]
    assert not any(word in m for m in messages.values() for word in ("True", "None", " a integer", " a object"))


def test_a_unique_value_repeated_in_another_log(folder: LintFolder) -> None:
    """An export split by day: the same order in both files is a repeat, found at the second."""
    order = track("order_completed", {"order_id": "o_3", "value": 10})
    first = folder.log([track("checkout_started", {"checkout_id": "c", "value": 10}), order], name="day1.jsonl")
    second = folder.log([{**order, "messageId": "another"}], name="day2.jsonl")
    found = folder.lint(first, second).findings
    assert [(Path(f.file).name, f.line, f.rule) for f in found] == [("day2.jsonl", 1, "duplicate-unique-value")]
    assert f"already sent at {first}:2" in found[0].message


def test_a_retry_in_another_log_is_not_a_repeat(folder: LintFolder) -> None:
    order = track("order_completed", {"order_id": "o_3", "value": 10})
    found = folder.lint(folder.log([order], name="day1.jsonl"), folder.log([order], name="day2.jsonl")).findings
    assert found == []


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "gzip"])
def test_a_byte_order_mark_before_the_first_line(folder: LintFolder, packed: bool) -> None:
    import gzip

    lines = [track("checkout_started", {"checkout_id": "c", "value": 1}), track("added_to_cart", {"product_id": "p"})]
    text = "\ufeff" + "".join(json.dumps(line) + "\n" for line in lines)
    path = folder.root / ("bom.jsonl.gz" if packed else "bom.jsonl")
    path.write_bytes(gzip.compress(text.encode()) if packed else text.encode())
    assert folder.lint(path).findings == []


def test_distinct_repeated_values_are_distinct_findings(folder: LintFolder) -> None:
    def unguarded(ws: dict[str, Any]) -> None:
        ws["dedupe"]["idempotency_keys"] = {}

    folder.write_workspace(workspace(change=unguarded))
    ids = ["o1", "o2", "o2", "o3", "o3", "o3", "o4", "o4"]
    lines = [{**track("order_completed", {"order_id": i, "value": 1}), "messageId": f"m{n}"} for n, i in enumerate(ids)]
    found = folder.lint(folder.log(lines)).findings
    assert [(f.rule, f.line, f.count) for f in found] == [
        ("duplicate-unique-value", 3, 1),
        ("duplicate-unique-value", 5, 2),
        ("duplicate-unique-value", 8, 1),
    ]
    messages = [f.as_json()["message"] for f in found]
    assert "'o2' was already sent on line 2" in messages[0]
    assert "'o3' was already sent on line 4" in messages[1] and messages[1].endswith("; also on line 6")
    assert "'o4' was already sent on line 7" in messages[2]


def test_a_folded_finding_names_its_other_lines(folder: LintFolder) -> None:
    lines = [track("checkout_start", {"checkout_id": "c", "value": i}) for i in range(9)]
    (found,) = folder.lint(folder.log(lines)).findings
    assert (found.rule, found.line, found.count) == ("unplanned-event", 1, 9)
    assert found.as_json()["message"].endswith(
        "(9 occurrences, first on this line); also on lines 2, 3, 4, 5, 6 and 3 more"
    )
    few = folder.lint(folder.log(lines[:3], name="few.jsonl")).findings
    assert few[0].as_json()["message"].endswith("(3 occurrences, first on this line); also on lines 2 and 3")


def test_repeated_values_past_the_listed_ones_fold_into_one_finding(folder: LintFolder) -> None:
    from simulator.lint.log_rules import LISTED_VALUES

    orders = [track("order_completed", {"order_id": f"o{i}", "value": 1}) for i in range(LISTED_VALUES + 3)]
    repeats = [{**order, "messageId": "again"} for order in orders]
    found = folder.lint(folder.log(orders + repeats)).findings
    assert len(found) == LISTED_VALUES + 1
    assert found[-1].count == 3 and "further order_completed events repeat order_id values" in found[-1].message


def test_a_type_or_kind_that_is_a_list_or_mapping_names_nothing(folder: LintFolder) -> None:
    """They raised a TypeError (a list is no key of the known types): the line is
    read as a call-log line whose call is unknown, never a traceback."""
    lines = [{"type": [], "event": "e"}, {"type": {}, "event": "e"}, {"kind": [], "event": "checkout_started"}]
    found = folder.lint(folder.log(lines)).findings
    assert {f.line for f in found} <= {1, 2, 3}
    assert "unplanned-event" in rules(found)


def test_half_an_emoji_in_an_export_is_linted_not_refused(folder: LintFolder) -> None:
    """A browser's JSON.stringify writes a string cut inside an emoji as a lone
    `\\ud83d`: valid JSON, linted as it is (the emulator refuses it as a call)."""
    line = '{"type": "track", "userId": "u1", "event": "bad\\udc00name", "properties": {"note": "c\\ud83d"}}'
    found = folder.lint(folder.log([line])).findings
    assert "malformed-line" not in rules(found)
    assert "unplanned-event" in rules(found)


def test_a_reset_forgets_the_values_before_it_in_the_stream_of_logs(folder: LintFolder) -> None:
    """The logs of one run are one stream, in the order named. A reset empties the
    platform: an order sent again after it is new, one sent again before it is a
    repeat; and repeats after the reset are findings of their own, not folded into
    one before it."""
    order = track("order_completed", {"order_id": "o_1", "value": 5})
    again = {**order, "messageId": "m-again"}
    third = {**order, "messageId": "m-third"}
    a = folder.log([order, {"kind": "reset", "at": 1_800_000_000}], name="a.jsonl")
    b = folder.log([again], name="b.jsonl")
    assert folder.lint(a, b).findings == []
    found = folder.lint(b, a).findings
    assert [(f.rule, Path(f.file).name, f.line) for f in found] == [("duplicate-unique-value", "a.jsonl", 1)]
    c = folder.log([order, again, {"kind": "reset", "at": 1_800_000_000}, order, third], name="c.jsonl")
    found = [(f.rule, f.line) for f in folder.lint(c).findings]
    assert found == [("duplicate-unique-value", 2), ("duplicate-unique-value", 5)]


def test_paths_on_v2_operations_for_repeats_and_names(folder: LintFolder) -> None:
    v2 = {
        "type": "person",
        "identifiers": {"id": "cus_1"},
        "action": "event",
        "name": "order_completed",
        "attributes": {"order_id": "o_1", "value": 5},
        "timestamp": 1_800_000_000,
    }
    found = folder.lint(folder.log([v2, {**v2, "id": "e2"}, {**v2, "name": "Order Completed", "id": "e3"}])).findings
    assert sorted((f.rule, f.path) for f in found) == [
        ("duplicate-unique-value", "attributes.order_id"),
        ("near-duplicate-name", "name"),
    ]
