"""What both APIs share: size limits, the error a request is refused with,
and the parsing of request bodies, identifiers, names, event data,
attributes and timestamps.

Limits are the real API's: identifiers 150 bytes, event names 100 bytes,
event data 100,000 bytes, one v2 or Pipelines call 32 KB, a batch 500 KB; a
person's attributes (Track API identify) 300 per call, names 150 bytes,
values 1,000 bytes. Sizes of JSON values are their compact UTF-8 JSON (what
`json_bytes` counts), however the client escaped them. Two more keep
hostile bodies from reaching the engine: JSON nested deeper than
`JSON_DEPTH` levels is refused (400) like malformed JSON, and timestamps
must fall between 1970 and the end of year 9999, the instants segsim can
print. `load_json` refuses what Python's parser reads but JSON does not
have (`NaN`, `Infinity`, numbers past a double's range such as `1e999`):
admitted, they would reach the platform as non-finite floats, which no JSON
answer can carry.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from simulator.model.time import LATEST_INSTANT, parse_instant

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_NAME_BYTES",
    "ATTRIBUTE_VALUE_BYTES",
    "BATCH_BYTES",
    "CALL_BYTES",
    "DATA_BYTES",
    "ID_BYTES",
    "JSON_DEPTH",
    "LATEST_INSTANT",
    "NAME_BYTES",
    "TRACK_V1_BYTES",
    "ApiError",
    "check_attributes",
    "check_data",
    "check_id",
    "check_instant",
    "check_name",
    "iso_timestamp",
    "json_bytes",
    "json_depth",
    "load_json",
    "path_ref",
    "unix_timestamp",
]

ID_BYTES = 150
NAME_BYTES = 100
DATA_BYTES = 100_000
CALL_BYTES = 32 * 1024
BATCH_BYTES = 500 * 1024
ATTRIBUTES = 300
ATTRIBUTE_NAME_BYTES = 150
ATTRIBUTE_VALUE_BYTES = 1000
# The Track API states no v1 request limit, only the limits above, measured as
# UTF-8; a client may send every character \u-escaped (python's `json`, so the
# official client, escapes all non-ASCII), up to three times its UTF-8 size.
# The largest valid v1 body, an identify of 300 attributes with 150-byte names
# and 1,000-byte values all escaped, is about 1.04 MB: 1 MiB holds it (and an
# event of 100,000 bytes of data, escaped), and still bounds what is parsed.
TRACK_V1_BYTES = 1024 * 1024
JSON_DEPTH = 64


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


def json_bytes(value: Any) -> int:
    """The size of a JSON value as compact UTF-8 JSON: what the limits count, so
    `"é"` is 4 bytes whether the client sent it raw or as `"\\u00e9"`."""
    return _size(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


class _NotJson(Exception):
    """A token Python's parser reads but JSON does not have (raised from the parser's hooks)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


_DOUBLE_MAX = sys.float_info.max
# A surrogate written as an escape (`\ud800`): a pair makes one character, a lone
# one is no text (it cannot be stored or logged as UTF-8).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# The JSON tokens the hooks see, and strings (skipped whole, so no text inside
# one is taken for a token): a left-to-right scan meets them in the parser's order.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|-?Infinity|NaN|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?')


def _constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON (JSON has no NaN or Infinity)")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"the number {text} is out of range (beyond a double's, it would read as infinity)")
    return value


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > 309:  # a double's largest is 309 digits long: read no further (Python caps int() at 4300)
        raise _NotJson(f"the number {text[:20]}... ({digits} digits) is out of range (beyond a double's)")
    value = int(text)
    if digits > 300 and abs(value) > _DOUBLE_MAX:  # no integer of 300 digits or fewer gets there
        raise _NotJson(f"the number {text[:20]}... ({digits} digits) is out of range (beyond a double's)")
    return value


def _refused(token: str) -> bool:
    """Would the parser's hooks refuse this token?"""
    if token.startswith('"'):
        return False
    hook = _constant if token.endswith(("NaN", "Infinity")) else _float if any(c in token for c in ".eE") else _int
    try:
        hook(token)
    except _NotJson:
        return True
    return False


def load_json(body: bytes | str, whole_characters: bool = True) -> Any:
    """`json.loads`, refusing `NaN`, `Infinity`, `-Infinity` and numbers past a
    double's range (`1e999`, a 400-digit integer) with a JSONDecodeError that
    names the token and its line and column, as the parser does for other
    malformed JSON. Raises UnicodeDecodeError for bytes that are not text,
    RecursionError or ValueError as `json.loads` does, and ValueError for a
    lone UTF-16 surrogate unless `whole_characters` is False (lint reads a
    customer's export as it is: a browser cuts an emoji in half that way)."""
    text = body.decode(json.detect_encoding(body), "surrogatepass") if isinstance(body, bytes) else body
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except _NotJson as exc:
        # The text before the token parsed, so the scan is in step with the parser up to it.
        where = next((m.start() for m in _TOKENS.finditer(text) if _refused(m.group())), 0)
        raise json.JSONDecodeError(exc.why, text, where) from None
    if whole_characters and _lone_surrogate(text, value):
        raise ValueError("a string holds a lone UTF-16 surrogate (such as \\ud800 without its pair): no character")
    return value


def _lone_surrogate(text: str, value: Any) -> bool:
    """Does the parsed value hold a surrogate that is no character? Only looked for
    when the text has one: raw (bytes passed through) or escaped (`\\ud800`)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True  # raw surrogates stay raw in the value
    if "\\u" not in text or not _SURROGATE_ESCAPE.search(text):
        return False
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_id(value: Any, what: str) -> str:
    """An identifier (customer id, email, anonymous id, device id): a non-empty string of at most 150 bytes.

    Numbers are accepted and read as text, as the real API does for ids."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ApiError(400, f"{what} must be a string, got {json.dumps(value)}")
    text = str(value)
    if not text.strip():  # a blank identifier identifies nobody (and no scenario file could name it)
        raise ApiError(400, f"{what} must not be empty or blank")
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
    size = json_bytes(value)
    if size > DATA_BYTES:
        raise ApiError(400, f"{what} is {size} bytes (as UTF-8 JSON); the limit is {DATA_BYTES} bytes")
    return value


def check_attributes(value: dict[str, Any], what: str = "attributes") -> dict[str, Any]:
    """A person's attributes in a Track API identify: at most 300, each name at
    most 150 bytes and each value at most 1,000 bytes (a string's UTF-8, any
    other value's compact UTF-8 JSON), the OpenAPI's customer limits."""
    if len(value) > ATTRIBUTES:
        raise ApiError(400, f"{what}: {len(value)} attributes; the limit is {ATTRIBUTES} in one identify call")
    for name, item in value.items():
        if _size(name) > ATTRIBUTE_NAME_BYTES:
            shown = json.dumps(name[:40], ensure_ascii=False)
            raise ApiError(
                400, f"{what}: the name {shown}... is {_size(name)} bytes; the limit is {ATTRIBUTE_NAME_BYTES} bytes"
            )
        size = _size(item) if isinstance(item, str) else json_bytes(item)
        if size > ATTRIBUTE_VALUE_BYTES:
            shown = json.dumps(name, ensure_ascii=False)
            raise ApiError(
                400,
                f"{what}.{shown[1:-1]} is {size} bytes; an attribute value is limited to {ATTRIBUTE_VALUE_BYTES} bytes",
            )
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
    """Data Pipelines timestamps: ISO-8601 (milliseconds allowed); without an offset,
    UTC, as the Pipelines (Segment-style) APIs read every timestamp."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{what} must be an ISO-8601 string such as 2026-01-01T09:00:00.000Z")
    try:
        return check_instant(parse_instant(value, naive_utc=True), what)
    except (ValueError, OverflowError) as exc:
        raise ApiError(400, f"{what}: {exc}") from None


def path_ref(identifier: str) -> tuple[str, str]:
    """The Track API reads the kind of a path identifier from its shape: `cio_...`, an email, else an id."""
    if identifier.startswith("cio_"):
        return ("cio_id", identifier)
    if "@" in identifier:
        return ("email", identifier)
    return ("id", identifier)
