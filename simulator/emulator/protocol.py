"""What both APIs share: size limits, the error a request is refused with,
and the parsing of identifiers, names, event data and timestamps.

Limits are the real API's: identifiers 150 bytes, event names 100 bytes,
event data 100,000 bytes, one v2 or Pipelines call 32 KB, a batch 500 KB.
Two more keep hostile bodies from reaching the engine: JSON nested deeper
than `JSON_DEPTH` levels is refused (400) like malformed JSON, and
timestamps must fall between 1970 and the end of year 9999, the instants
segsim can print.
"""

from __future__ import annotations

import json
import math
from typing import Any

from simulator.model.time import parse_instant

__all__ = [
    "BATCH_BYTES",
    "CALL_BYTES",
    "DATA_BYTES",
    "ID_BYTES",
    "JSON_DEPTH",
    "LATEST_INSTANT",
    "NAME_BYTES",
    "TRACK_V1_BYTES",
    "ApiError",
    "check_data",
    "check_id",
    "check_instant",
    "check_name",
    "json_depth",
    "iso_timestamp",
    "path_ref",
    "unix_timestamp",
]

ID_BYTES = 150
NAME_BYTES = 100
DATA_BYTES = 100_000
CALL_BYTES = 32 * 1024
BATCH_BYTES = 500 * 1024
# A v1 request holds one event whose data may reach 100,000 bytes, plus its envelope.
TRACK_V1_BYTES = DATA_BYTES + 8 * 1024
JSON_DEPTH = 64
LATEST_INSTANT = 253_402_300_799  # 9999-12-31T23:59:59Z


class ApiError(Exception):
    """A request or one call of a batch is refused: status and a readable reason."""

    def __init__(
        self, status: int, message: str, code: str = "invalid_request", ops: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.ops = ops or []  # what to record anyway (the drops of a strict Pipelines request)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def check_id(value: Any, what: str) -> str:
    """An identifier (customer id, email, anonymous id, device id): a non-empty string of at most 150 bytes.

    Numbers are accepted and read as text, as the real API does for ids."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ApiError(400, f"{what} must be a string, got {json.dumps(value)}")
    text = str(value)
    if not text:
        raise ApiError(400, f"{what} must not be empty")
    if _size(text) > ID_BYTES:
        raise ApiError(400, f"{what} is {_size(text)} bytes; the limit is {ID_BYTES} bytes")
    return text


def check_name(value: Any, what: str = "name") -> str:
    """An event name: a string of 1 to 100 bytes, leading and trailing spaces trimmed as the Track API does."""
    if not isinstance(value, str):
        raise ApiError(400, f"{what} must be a string, got {json.dumps(value)}")
    text = value.strip()
    if not text:
        raise ApiError(400, f"{what} must not be empty")
    if _size(text) > NAME_BYTES:
        raise ApiError(400, f"{what} is {_size(text)} bytes; the limit is {NAME_BYTES} bytes")
    return text


def check_data(value: Any, what: str = "data") -> dict[str, Any]:
    """Event data or properties: a JSON object of at most 100,000 bytes."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(400, f"{what} must be a JSON object, got {json.dumps(value)[:60]}")
    size = _size(json.dumps(value, separators=(",", ":")))
    if size > DATA_BYTES:
        raise ApiError(400, f"{what} is {size} bytes; the limit is {DATA_BYTES} bytes")
    return value


def json_depth(value: Any) -> int:
    """How deeply a parsed JSON value nests (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > JSON_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_instant(seconds: int, what: str = "timestamp") -> int:
    """An instant segsim can hold and print: from 1970 to the end of year 9999."""
    if not 0 <= seconds <= LATEST_INSTANT:
        raise ApiError(400, f"{what} is out of range: expected an instant from 1970 to the end of year 9999")
    return seconds


def unix_timestamp(value: Any, what: str = "timestamp") -> int | None:
    """Track API timestamps: unix seconds (an integer; a float is truncated)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(400, f"{what} must be unix seconds (an integer such as 1767225600), got {json.dumps(value)}")
    return check_instant(int(value), what)


def iso_timestamp(value: Any, what: str = "timestamp") -> int | None:
    """Data Pipelines timestamps: ISO-8601 with an offset (milliseconds allowed)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{what} must be an ISO-8601 string such as 2026-01-01T09:00:00.000Z")
    try:
        return check_instant(parse_instant(value), what)
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, f"{what}: {exc}") from None


def path_ref(identifier: str) -> tuple[str, str]:
    """The Track API reads the kind of a path identifier from its shape: `cio_...`, an email, else an id."""
    if identifier.startswith("cio_"):
        return ("cio_id", identifier)
    if "@" in identifier:
        return ("email", identifier)
    return ("id", identifier)
