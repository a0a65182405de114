"""The whole story in time order: sends, the platform's trace and violations,
as flat records (for `timeline --json`) or as lines a person reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from simulator.checks.violations import Violation
from simulator.model.time import format_duration, format_instant, format_offset
from simulator.pipeline import Outcome

__all__ = ["describe", "printable", "story_records"]


def story_records(outcome: Outcome, violations: Iterable[Violation]) -> list[dict[str, Any]]:
    start = outcome.plan.start
    items: list[tuple[int, int, int, dict[str, Any]]] = []
    for send in outcome.plan.sends:
        record: dict[str, Any] = {
            "at": send.at,
            "kind": "sent",
            "seq": send.seq,
            "who": send.shopper,
            "source": send.source,
            "call": send.call,
        }
        for key in ("device", "name", "user_id", "email", "anonymous_id", "event_id"):
            value = getattr(send, key)
            if value is not None:
                record["event" if key == "name" else key] = value
        if send.properties:
            record["properties"] = send.properties
        if send.attributes:
            record["attributes"] = send.attributes
        if send.timestamp is not None and send.timestamp != send.at:
            record["timestamp"] = send.timestamp
        if send.logs_out:
            record["logged_out"], record["next_anonymous_id"] = send.logs_out
        if send.primary:
            record["primary"] = f"{send.primary[0]}={send.primary[1]}"
            record["secondary"] = f"{send.secondary[0]}={send.secondary[1]}" if send.secondary else None
        items.append((send.at, 0, send.seq, {k: v for k, v in record.items() if v is not None}))
    # A journey's entry records name the send; the event it carried is what a person reads.
    names = {send.seq: send.name for send in outcome.plan.sends if send.name is not None}
    for n, record in enumerate(outcome.platform.trace.records):
        if record["kind"].startswith("entry_") and "event" not in record and record.get("seq") in names:
            record = {**record, "event": names[record["seq"]]}
        items.append((record["at"], 1, n, record))
    for n, v in enumerate(violations):
        # A duplicate shows where its second run entered, after the copy that caused it.
        at = v.decided if v.kind == "duplicate_entry" and v.decided is not None else v.at
        record = {
            "at": at,
            "kind": "violation",
            "violation": v.kind,
            "who": v.who,
            "journey": v.journey,
            "message": v.message,
            "cause": v.cause,
            "explanation": v.explanation,
        }
        items.append((at, 2, n, {k: val for k, val in record.items() if val is not None}))
    items.sort(key=lambda x: (x[0], x[1], x[2]))
    # With `until`, the simulation ends there: what the story would send later never happens.
    end = outcome.end if outcome.plan.until is not None else None
    out = []
    for at, _, _, record in items:
        if end is not None and at > end:
            break
        item: dict[str, Any] = {"at": format_instant(at), "offset": format_offset(at - start), "kind": record["kind"]}
        for key, value in record.items():
            if key in ("at", "kind"):
                continue
            if key in ("timestamp", "until") and isinstance(value, int):
                value = format_instant(value)
            item[key] = value
        out.append(item)
    return out


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-\[\]]*")
_NULL_KEYS = frozenset({"null", "Null", "NULL", "~"})


def _key(key: str) -> str:
    """Bare when a scenario file reads it back as the same text, else quoted (a
    key with spaces or colons, or one a file reads as null)."""
    return key if _PLAIN_KEY.fullmatch(key) and key not in _NULL_KEYS else _text(key)


def _text(text: str) -> str:
    """Quoted as JSON, letters kept as they are (`printable` escapes the rest)."""
    return printable(json.dumps(text, ensure_ascii=False))


def _value(v: Any) -> str:
    """A value as scenario files write it: `"40"` is text, `40` a number, `true` a
    boolean; a key is quoted when a file would have to quote it."""
    if isinstance(v, dict):
        items = (f"{_key(str(k))}: {_value(x)}" for k, x in v.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, str):
        return _text(v)
    return json.dumps(v) if v is None or isinstance(v, bool) else str(v)


def _props(props: dict[str, Any]) -> str:
    return _value(props)


def _entry(r: dict[str, Any], outcome: str) -> str:
    """Why a profile did not (yet) enter a journey for an event."""
    who = r.get("who") or r.get("cio_id")
    what = f"{who}'s {r['event']}" if r.get("event") else who
    return f"{what} {outcome} {r['journey']} ({r['cio_id']})"


# Characters that act on a terminal: controls (escape sequences among them), the
# line and paragraph separators, bidirectional embeddings, overrides and isolates.
# A fixed list, so the output is the same on every Python (whatever its Unicode).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(line: str) -> str:
    """`line` with every character that could act on a terminal escaped as JSON
    escapes it (`\\u001b`): names and identifiers come from callers of the
    emulator, and from files. Every other character, emoji and joiners included,
    is kept as written."""
    return _UNSAFE.sub(lambda m: json.dumps(m.group())[1:-1], line)


def describe(r: dict[str, Any]) -> str:
    """One story record as a line a retention person reads."""
    return printable(_describe(r))


def _describe(r: dict[str, Any]) -> str:
    k = r["kind"]
    who = r.get("who") or "-"
    via = (f" from {r['source']}" if r.get("source") else "") + (f" ({r['device']})" if r.get("device") else "")
    if k == "sent":
        out = f", then {r['logged_out']} logged out (next {r['next_anonymous_id']})" if r.get("logged_out") else ""
        if r["call"] == "track":
            props = f" {_props(r['properties'])}" if r.get("properties") else ""
            stamp = f" stamped {r['timestamp']}" if r.get("timestamp") else ""
            return f"{who} sent {r.get('event')}{props}{via}{stamp}{out}"
        if r["call"] == "identify":
            ids = ", ".join(f"{key}={r[key]}" for key in ("user_id", "email", "anonymous_id") if r.get(key))
            return f"{who} identified ({ids}){via}{out}"
        return f"merge sent: primary {r.get('primary')}, secondary {r.get('secondary')}{via}"
    if k == "arrived":
        if r.get("call") == "merge":
            return f"merge call arrived, {format_duration(r.get('latency_s', 0))} after it was sent"
        what = r.get("event") or r.get("call")
        copy = f" (copy {r['copy']})" if r.get("copy", 1) > 1 else ""
        return f"{what} from {who} arrived{copy}, {format_duration(r.get('latency_s', 0))} after it was sent"
    if k == "dropped":
        if r.get("call") == "merge":  # from no shopper: its `sent` line names the profiles
            return "merge call was dropped: it never arrives"
        return f"{r.get('event') or r.get('call')} from {who} was dropped: it never arrives"
    if k == "duplicate_ignored":
        return f"{r.get('event')} from {who} ignored as a duplicate ({r.get('reason')})"
    if k == "event_added":
        return f"{r['event']} added to {r['cio_id']} ({r.get('via')})"
    if k == "profile_created":
        what = "orphan profile" if r.get("orphan") else "profile"
        keys = ", ".join(f"{key}={r[key]}" for key in ("id", "email", "anonymous_id") if r.get(key))
        return f"{what} {r['cio_id']} created ({keys})"
    if k == "identifier_replaced":
        return f"{r['cio_id']}'s {r['identifier']} {r['old']} replaced by {r['new']}: {r['old']} no longer finds it"
    if k == "profile_merged":
        return f"{r['secondary']} merged into {r['primary']} by {r['how']} ({r['events_moved']} events moved)"
    if k == "profile_deleted":
        return f"profile {r['cio_id']} deleted ({r.get('how')})"
    if k == "attributes_updated":
        return f"{r['cio_id']} ({who}) attributes set: {_props(r.get('attributes') or {})}"
    if k == "run_moved":
        return f"{who}'s run {r['run']} of {r['journey']} moved to {r['cio_id']} by a merge"
    if k in ("segment_entered", "segment_left"):
        verb = "entered" if k == "segment_entered" else "left"
        return f"{r['cio_id']} ({who}) {verb} segment {r['segment']}"
    if k == "journey_entered":
        return f"{who} entered {r['journey']} (run {r['run']} on {r['cio_id']})"
    if k == "journey_exited":
        return f"{who}'s run {r['run']} of {r['journey']} exited: {r['reason']}"
    if k == "journey_open":
        return f"{who}'s run {r['run']} of {r['journey']} is still open"
    if k == "message_sent":
        return f"{r['journey']} sent {r['message']} to {who} (run {r['run']}, {r['cio_id']})"
    if k == "step":
        return f"{r['journey']} run {r['run']}: {r['step']}"
    if k == "violation":
        return f"VIOLATION {r['violation']} ({r['cause']}): {r.get('explanation', '')}"
    if k == "segment_refresh":
        return "segments re-evaluated (a rules.segment_refresh sweep)"
    if k == "entry_held":
        return _entry(r, f"waits until {r['until']} to enter") + ": the filter does not match yet"
    if k == "entry_expired":
        return _entry(r, "did not enter") + ": the filter still did not match when its retry ended"
    if k == "entry_filtered":
        return _entry(r, "did not enter") + ": the filter does not match"
    if k == "entry_refused":
        return _entry(r, "did not enter") + f": {r['reason']}"
    if k == "event_held":
        return f"{r['event']} held on {r['cio_id']} until its timestamp {r['until']}"
    if k == "event_released":
        return f"{r['event']} on {r['cio_id']} released: its timestamp is reached"
    if k == "anonymous_id_recorded":
        return f"{r['cio_id']} ({who}) recorded anonymous id {r['anonymous_id']}"
    shown = {key: _value(v) if isinstance(v, dict | list) else v for key, v in r.items()}
    rest = ", ".join(f"{key}={v}" for key, v in shown.items() if key not in ("at", "offset", "kind"))
    return k.replace("_", " ") + (f": {rest}" if rest else "")
