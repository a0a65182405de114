"""Event logs in the three shapes lint reads, one JSON object a line, turned
into `LoggedCall`s:

- segsim's own call log (`serve --log`): its request lines hold `ops`, each
  accepted call an op arriving at the line's `at`; header, `advance` and
  `reset` lines hold no call. Other call logs are read loosely: a `call` (or `type`)
  of `track`/`identify`/`merge`/`page`/`screen`, identifiers (`user_id`,
  `userId`, `email`, `anonymous_id`, `anonymousId`, or an `identifiers`
  mapping), the event's `event` or `name`, its `properties` (or `data`), its
  `timestamp` (ISO-8601 or unix seconds), its arrival `received_at` or
  `receivedAt`, the `source` it came through (a workspace source name, or
  `client`/`server`), and a dedupe id (`event_id`, `messageId`, `id`). A line
  that wraps the request (`body`, `payload` or `request`) is unwrapped, and
  `{"batch": [...]}` bodies give one call per element. An op the emulator
  logged (`api`) with neither a source nor a library is from a server;
- Data Pipelines messages (`type`, `userId`/`anonymousId`, `event`,
  `properties`, `timestamp`, `messageId`, `context`, `receivedAt`): from a
  client when `"source": "client"` or `context.library.name` is a browser or
  mobile library, otherwise from a server;
- Track API v2 entity operations (`{"type": "person", "identifiers": {...},
  "action": "event", "name", "attributes", "timestamp"}`): from a server.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from simulator.lint.trackplan import show_value
from simulator.model.calls import in_batch_context
from simulator.model.time import LATEST_INSTANT, on_our_clock, parse_instant

__all__ = ["CLIENT_LIBRARIES", "LATEST_INSTANT", "LoggedCall", "calls_of", "is_bookkeeping", "is_reset", "read_instant"]

CLIENT_LIBRARIES = frozenset(
    {
        "analytics.js",
        "analytics-ios",
        "analytics-android",
        "analytics-react-native",
        "@customerio/cdp-analytics-browser",
    }
)
_PIPELINES_TYPES = frozenset({"track", "identify", "page", "screen", "alias", "group"})
_PIPELINES_KEYS = ("userId", "anonymousId", "messageId", "context", "receivedAt", "traits")
_EVENT_CALLS = frozenset({"track", "event"})
_WRAPPERS = ("body", "payload", "request")
_BOOKKEEPING = frozenset({"session", "advance", "reset", "resume", "request"})


@dataclass(slots=True)
class LoggedCall:
    shape: str  # call-log | pipelines | track-v2 | unknown (a batch element that is no call)
    call: str  # track | identify | page | screen | merge | ... (for unknown: where, `batch[2]`)
    name: str | None
    properties: Mapping[str, Any] | None
    timestamp: int | None
    arrival: int | None
    is_client: bool | None
    dedupe_id: Any
    bad_time: str | None = None  # why a timestamp or arrival could not be read
    dropped: str | None = None  # shape `dropped`: why the emulator refused the call (a call log's drop)

    @property
    def is_event(self) -> bool:
        return self.call in _EVENT_CALLS and isinstance(self.name, str)


_MINUTES: dict[str, int] = {}


def _fast_utc(text: str) -> int | None:
    """`2026-03-02T09:00:00Z` or `...:00.123Z` (the common export form), parsed once a minute."""
    if len(text) < 20 or text[-1] not in "Zz" or text[16] != ":":
        return None
    if len(text) > 20 and (text[19] != "." or not text[20:-1].isdigit()):
        return None
    seconds = text[17:19]
    if not seconds.isdigit() or seconds > "59":
        return None
    minute = _MINUTES.get(text[:16])
    if minute is None:
        try:
            minute = parse_instant(text[:16] + ":00Z")
        except ValueError:
            return None
        if len(_MINUTES) >= 100_000:
            _MINUTES.clear()
        _MINUTES[text[:16]] = minute
    return minute + int(seconds)


def read_instant(value: Any) -> int:
    """ISO-8601 (without an offset: UTC, as the APIs read it), or unix seconds
    (milliseconds when the number is that large)."""
    if isinstance(value, str):
        fast = _fast_utc(value)
        if fast is not None:
            return _in_range(fast)
    if isinstance(value, bool):
        raise ValueError(f"expected an instant, got {show_value(value)}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and len(value) < 40 and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        number = float(value)
    else:
        try:
            return _in_range(parse_instant(value, naive_utc=True))
        except OverflowError:
            raise ValueError(f"{str(value)[:40]!r} is out of range: expected an instant from 1970 to 9999") from None
    if not math.isfinite(number):
        raise ValueError(f"expected an instant, got {show_value(value)}")
    if abs(number) > 1e11:
        number /= 1000.0
    return _in_range(int(number))


def _in_range(seconds: int) -> int:
    if not 0 <= seconds <= LATEST_INSTANT:
        raise ValueError("out of range: expected an instant from 1970 to the end of year 9999")
    return seconds


def _instant(record: Mapping[str, Any], keys: tuple[str, ...], problems: list[str]) -> int | None:
    for key in keys:
        value = record.get(key)
        if value is None:
            continue
        try:
            return read_instant(value)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
            return None
    return None


def _library(record: Mapping[str, Any]) -> str | None:
    context = record.get("context")
    if isinstance(context, dict):
        library = context.get("library")
        if isinstance(library, dict) and isinstance(library.get("name"), str):
            return str(library["name"])
    return None


def pipelines_is_client(record: Mapping[str, Any]) -> bool:
    if record.get("source") == "client":
        return True
    return _library(record) in CLIENT_LIBRARIES


def _text(record: Mapping[str, Any], key: str) -> str | None:
    """`record[key]` when it is a text: a list or mapping there is no name of anything."""
    value = record.get(key)
    return value if isinstance(value, str) else None


def _shape(record: Mapping[str, Any]) -> str | None:
    kind = _text(record, "type")
    if isinstance(record.get("identifiers"), dict) and "action" in record:
        return "track-v2"
    if "call" not in record and kind in _PIPELINES_TYPES and any(k in record for k in _PIPELINES_KEYS):
        return "pipelines"
    if "call" in record or kind in _PIPELINES_TYPES or "event" in record:
        return "call-log"
    return None


def calls_of(
    record: Mapping[str, Any], source_kinds: Mapping[str, str], outer: Mapping[str, Any] | None = None
) -> Iterator[LoggedCall]:
    """The calls one log line holds (none when it is not a call at all)."""
    ops = record.get("ops")
    if isinstance(ops, list):
        # an emulator request line: its accepted calls, arriving at the line's `at`, and those it dropped
        for op in ops:
            if isinstance(op, dict) and op.get("op", "call") == "call":
                yield from calls_of(op, source_kinds, record)
            elif isinstance(op, dict) and op.get("op") == "drop":
                call, reason = _text(op, "call") or "call", _text(op, "reason") or "invalid"
                yield LoggedCall("dropped", call, None, None, None, None, None, None, dropped=reason)
        return
    batch = record.get("batch")
    if isinstance(batch, list):
        for index, item in enumerate(batch):
            inside = (
                list(calls_of(in_batch_context(item, record), source_kinds, outer or record))
                if isinstance(item, dict)
                else []
            )
            # An element that is no call is said, as a line that is none is; the others are read.
            yield from inside or [LoggedCall("unknown", f"batch[{index}]", None, None, None, None, None, None)]
        return
    for key in _WRAPPERS:
        inner = record.get(key)
        if isinstance(inner, dict):
            yield from calls_of(inner, source_kinds, record)
            return
    shape = _shape(record)
    if shape is None:
        return
    problems: list[str] = []
    arrival_keys = ("receivedAt", "received_at")
    arrival = _instant(record, arrival_keys, problems)
    if arrival is None and outer is not None and not problems:
        arrival = _instant(outer, arrival_keys + ("at",), problems)
    timestamp = _instant(record, ("timestamp",), problems)
    sent_at = record.get("sent_at")
    if timestamp is not None and arrival is not None and isinstance(sent_at, int) and not isinstance(sent_at, bool):
        # the emulator moved a sender's timestamp onto its clock; so does lint
        timestamp = on_our_clock(timestamp, sent_at, arrival)
    bad = "; ".join(problems) or None
    if shape == "track-v2":
        action = str(record.get("action"))
        yield LoggedCall(
            shape,
            "event" if action == "event" else action,
            record.get("name") if isinstance(record.get("name"), str) else None,
            _mapping(record.get("attributes")),
            timestamp,
            arrival,
            False,
            record.get("id"),
            bad,
        )
        return
    if shape == "pipelines":
        yield LoggedCall(
            shape,
            str(record.get("type")),
            record.get("event") if isinstance(record.get("event"), str) else None,
            _mapping(record.get("properties")),
            timestamp,
            arrival,
            pipelines_is_client(record),
            record.get("messageId"),
            bad,
        )
        return
    call = str(record.get("call") or record.get("type") or "track")
    if call == "track" and record.get("type") in ("page", "screen"):
        call = str(record["type"])
    name = record.get("event") if isinstance(record.get("event"), str) else record.get("name")
    properties = record.get("properties") if "properties" in record else record.get("data")
    yield LoggedCall(
        shape,
        call,
        name if isinstance(name, str) else None,
        _mapping(properties),
        timestamp,
        arrival,
        _call_log_is_client(record, outer, source_kinds),
        record.get("event_id", record.get("messageId", record.get("id"))),
        bad,
    )


def is_reset(record: dict[str, Any]) -> bool:
    """A call log's `POST /_segsim/reset`: the platform was emptied there."""
    return _text(record, "kind") == "reset"


def is_bookkeeping(record: dict[str, Any]) -> bool:
    """A line of segsim's call log that records no call: the session header, a
    clock advance, a reset, a restart of `serve` (`resume`), or a request whose
    calls were all dropped or ignored."""
    return _text(record, "kind") in _BOOKKEEPING


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None


def _call_log_is_client(
    record: Mapping[str, Any], outer: Mapping[str, Any] | None, source_kinds: Mapping[str, str]
) -> bool | None:
    for holder in (record, outer or {}):
        source = holder.get("source")
        if source in ("client", "server"):
            return source == "client"
        if isinstance(source, str) and source in source_kinds:
            return source_kinds[source] == "client"
    library = _library(record)
    if library is not None:
        return library in CLIENT_LIBRARIES
    if record.get("api") in ("pipelines", "track_api"):
        # An op the emulator logged: a Pipelines call is from a server unless its
        # library says otherwise (as in an export); the Track API takes a secret key.
        return False
    return None
