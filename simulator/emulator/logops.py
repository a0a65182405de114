"""The shape of a call log's operations, checked when the log is read.

`segsim serve --log` writes each request's operations already validated; a
log edited by hand, or cut and pasted together, may hold anything. Each
operation is checked here before it is replayed, so that a wrong value is an
error at its line and key path (`ops[0].timestamp`), never a Python error
nor a different story (a `ref` of the wrong kind read as an email)."""

from __future__ import annotations

import json
from typing import Any

from simulator.model.time import LATEST_INSTANT

__all__ = ["op_problem"]

_CALLS = ("track", "identify", "merge")
_PERSON_KINDS = ("id", "email", "cio_id")
# What each operation must carry, beyond `op`.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "call": ("call",),
    "alias": ("user_id", "previous_id"),
    "drop": (),
    "ignored": (),
    "delete": ("ref",),
    "suppress": ("ref",),
    "unsuppress": ("ref",),
    "device_add": ("ref", "device"),
    "device_delete": ("ref", "device_id"),
}
_TEXT = ("api", "name", "user_id", "email", "anonymous_id", "event_id", "previous_id", "device_id", "reason", "type")
_MAPPINGS = ("properties", "attributes", "device")
_PEOPLE = ("ref", "primary", "secondary")


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def op_problem(op: Any) -> tuple[str, str] | None:
    """(key, what was expected and found) for an operation of the wrong shape, or None."""
    if not isinstance(op, dict):
        return "", f"expected an operation object, got {_shown(op)}"
    kind = op.get("op")
    if kind not in _REQUIRED:
        return "op", f"expected one of {', '.join(_REQUIRED)}, got {_shown(kind)}"
    for key in _REQUIRED[kind]:
        if op.get(key) is None:
            return key, f"a {kind} operation needs {key!r}"
    if kind == "call":
        if op["call"] not in _CALLS:
            return "call", f"expected one of {', '.join(_CALLS)}, got {_shown(op['call'])}"
        if op["call"] == "merge" and (op.get("primary") is None or op.get("secondary") is None):
            return "primary" if op.get("primary") is None else "secondary", "a merge needs primary and secondary"
    for key in _TEXT:
        if op.get(key) is not None and not isinstance(op[key], str):
            return key, f"expected text, got {_shown(op[key])}"
    for key in _MAPPINGS:
        if op.get(key) is not None and not isinstance(op[key], dict):
            return key, f"expected a JSON object, got {_shown(op[key])}"
    for key in _PEOPLE:
        value = op.get(key)
        if value is None:
            continue
        if not (
            isinstance(value, list)
            and len(value) == 2
            and value[0] in _PERSON_KINDS
            and isinstance(value[1], str)
            and value[1]
        ):
            return key, f"expected [kind, identifier] with a kind of {', '.join(_PERSON_KINDS)}, got {_shown(value)}"
    if kind == "call" and op["call"] != "merge":
        if all(op.get(k) is None for k in ("ref", "user_id", "email", "anonymous_id")):
            return "", f"a {op['call']} names its person: ref, user_id, email or anonymous_id"
        if op["call"] == "track" and not op.get("name"):
            return "name", f"a track needs its event name, got {_shown(op.get('name'))}"
    if kind == "device_add":
        token = op["device"].get("id")
        if not (isinstance(token, str) and token):
            return "device.id", f"a device needs its id (text), got {_shown(token)}"
    timestamp = op.get("timestamp")
    if timestamp is not None and not (_is_int(timestamp) and 0 <= timestamp <= LATEST_INSTANT):
        return "timestamp", f"expected an instant in epoch seconds (1970 to 9999), got {_shown(timestamp)}"
    sent_at = op.get("sent_at")
    if sent_at is not None and not (_is_int(sent_at) and abs(sent_at) <= 2 * LATEST_INSTANT):
        return "sent_at", f"expected an instant in epoch seconds, got {_shown(sent_at)}"
    if op.get("update_only") is not None and not isinstance(op["update_only"], bool):
        return "update_only", f"expected true or false, got {_shown(op['update_only'])}"
    return None
