"""The Data Pipelines API (`/v1/identify`, `track`, `page`, `screen`, `alias`,
`group`, `batch`) as operations.

Like the real service, an invalid call is answered 200 and dropped (a
`drop` operation, which the trace records); with `X-Strict-Mode: 1` the
request is answered 400 and none of its calls is applied. The dedupe id is
`messageId`; timestamps are ISO-8601.
"""

from __future__ import annotations

import json
from typing import Any

from simulator.model.calls import in_batch_context
from simulator.model.time import instant_millis

from .protocol import CALL_BYTES, NAME_BYTES, ApiError, check_data, check_id, check_name, iso_timestamp, json_bytes

__all__ = ["PIPELINE_CALLS", "PIPELINE_ROUTES", "pipeline_ops"]

API = "pipelines"
PIPELINE_CALLS = ("identify", "track", "page", "screen", "alias", "group")
PIPELINE_ROUTES = tuple(f"POST /v1/{name}" for name in (*PIPELINE_CALLS, "batch"))


def _ids(msg: dict[str, Any]) -> tuple[str | None, str | None]:
    user_id = check_id(msg["userId"], "userId") if msg.get("userId") not in (None, "") else None
    anonymous_id = check_id(msg["anonymousId"], "anonymousId") if msg.get("anonymousId") not in (None, "") else None
    return user_id, anonymous_id


def _event_fields(op: dict[str, Any], msg: dict[str, Any]) -> None:
    timestamp = iso_timestamp(msg.get("timestamp"))
    if timestamp is not None:
        op["timestamp"] = timestamp
    if not _blank(msg.get("messageId")):
        op["event_id"] = check_id(msg["messageId"], "messageId")
    # Kept for `segsim lint`, which tells a client's call from a server's by them.
    if msg.get("source") == "client":
        op["source"] = "client"
    context = msg.get("context")
    library = context.get("library") if isinstance(context, dict) else None
    if isinstance(library, dict) and isinstance(library.get("name"), str):
        op["context"] = {"library": {"name": library["name"]}}


# Semantic events (the Pipelines OpenAPI: events "that perform special
# operations in Customer.io like deleting people, adding mobile devices"):
# event name -> the operation it performs on the person named by userId.
_SEMANTIC = {
    "User Deleted": "delete",
    "User Suppressed": "suppress",
    "User Unsuppressed": "unsuppress",
    "Device Created or Updated": "device_add",
    "Device Deleted": "device_delete",
}


def _semantic_op(name: str, user_id: str | None, msg: dict[str, Any]) -> dict[str, Any]:
    """The operation a semantic event performs (on the userId's person)."""
    kind = _SEMANTIC[name]
    if user_id is None:
        return {"op": "ignored", "api": API, "call": name, "reason": f"{name} needs a userId: nobody to act on"}
    op: dict[str, Any] = {"op": kind, "api": API, "call": name, "ref": ["id", user_id]}
    if kind.startswith("device"):
        context = msg.get("context")
        device = context.get("device") if isinstance(context, dict) else None
        token = device.get("token") if isinstance(device, dict) else None
        if token in (None, ""):
            raise ApiError(400, f"{name} needs context.device.token")
        token = check_id(token, "context.device.token")
        if kind == "device_delete":
            op["device_id"] = token
        else:
            assert isinstance(device, dict)
            op["device"] = {**{k: v for k, v in device.items() if k != "token"}, "id": token}
    return op


def _derived_name(text: str) -> str:
    """A page's name made from its URL: cut to the name limit (the client sent no name to refuse)."""
    return text.encode("utf-8")[:NAME_BYTES].decode("utf-8", "ignore")


def _call_op(kind: str, msg: Any) -> dict[str, Any]:
    """One call, validated; raises ApiError(400) when it is invalid."""
    if not isinstance(msg, dict):
        raise ApiError(400, f"a {kind} call must be a JSON object")
    size = json_bytes(msg)
    if size > CALL_BYTES:
        raise ApiError(400, f"the {kind} call is {size} bytes; each call is limited to 32 KB")
    if kind == "alias":
        if msg.get("previousId") in (None, "") or msg.get("userId") in (None, ""):
            raise ApiError(400, "alias needs previousId and userId")
        return {
            "op": "alias",
            "api": API,
            "call": "alias",
            "user_id": check_id(msg["userId"], "userId"),
            "previous_id": check_id(msg["previousId"], "previousId"),
        }
    user_id, anonymous_id = _ids(msg)
    if kind == "identify":
        traits = check_data(msg.get("traits"), "traits")
        email = traits.get("email")
        email = None if _blank(email) else check_id(email, "traits.email")
        if user_id is None and anonymous_id is None and email is None:
            raise ApiError(400, "identify needs userId, anonymousId or traits.email")
        if user_id is None and email is None:
            reason = "traits of an anonymous person are not modelled"
            return {"op": "ignored", "api": API, "call": kind, "reason": reason}
        op: dict[str, Any] = {"op": "call", "api": API, "call": "identify"}
        for key, value in (("user_id", user_id), ("email", email), ("anonymous_id", anonymous_id)):
            if value is not None:
                op[key] = value
        op["attributes"] = {k: v for k, v in traits.items() if k not in ("email", "id")}
        _event_fields(op, msg)
        op.pop("event_id", None)
        op.pop("timestamp", None)
        return op
    if user_id is None and anonymous_id is None:
        raise ApiError(400, f"{kind} needs userId or anonymousId")
    if kind == "group":
        if user_id is not None and anonymous_id is not None:
            # As every call carrying both: the anonymous id merges (as an identify); the group is not modelled.
            return {"op": "call", "api": API, "call": "identify", "user_id": user_id, "anonymous_id": anonymous_id}
        return {"op": "ignored", "api": API, "call": kind, "reason": "group calls are not modelled"}
    properties = check_data(msg.get("properties"), "properties")
    if kind == "page" and isinstance(msg.get("category"), str) and "category" not in properties:
        # The official client sends a page's category beside its name; the OpenAPI keeps it in properties.
        properties = {**properties, "category": msg["category"]}
    if kind == "track":
        if "event" not in msg:
            raise ApiError(400, "track needs an event name")
        name = check_name(msg.get("event"), "event")
        if name in _SEMANTIC:
            return _semantic_op(name, user_id, msg)
    elif msg.get("name") or properties.get("name"):
        name = check_name(msg.get("name") or properties.get("name"), "name")
    else:
        url = properties.get("url")
        name = check_name(_derived_name(url) if isinstance(url, str) and url.strip() else kind, "name")
    op = {"op": "call", "api": API, "call": "track", "type": kind, "name": name, "properties": properties}
    if user_id is not None:
        op["user_id"] = user_id
    if anonymous_id is not None:
        op["anonymous_id"] = anonymous_id
    _event_fields(op, msg)
    return op


def _blank(value: Any) -> bool:
    """An optional text field left out, empty or blank: read as absent."""
    return value is None or (isinstance(value, str) and not value.strip())


def _sent_at(msg: Any, body: Any) -> int | None:
    """The `sentAt` a call was sent with, in milliseconds: its own, else its batch's;
    one that cannot be read is ignored, as a missing one is."""
    for holder in (msg, body):
        value = holder.get("sentAt") if isinstance(holder, dict) else None
        if value is not None:
            try:
                iso_timestamp(value, "sentAt")
            except ApiError:
                continue  # unreadable: as if missing, so the batch's own is read
            return instant_millis(value, naive_utc=True)
    return None


def _stamp_sent_at(op: dict[str, Any], sent_ms: int, timestamp: str, keep_later_stamps: bool) -> None:
    """Record the call's `sentAt` on the timestamp's own scale: `sentAt - timestamp`
    in whole seconds, measured in milliseconds and cut toward zero (two calls
    stamped the same time before they were sent keep one gap, whichever side of
    a second each fell).

    With `keep_later_stamps` (a clock that is not the machine's: manual, or
    advanced), a timestamp later than its `sentAt`, by any fraction of a second,
    was written on the emulator's clock by a test stamping an event in virtual
    time: a client stamps its default timestamp before it sends, never after.
    It is kept as sent: no `sent_at` is logged, so a replay reads it the same way."""
    gap_ms = sent_ms - instant_millis(timestamp, naive_utc=True)
    if keep_later_stamps and gap_ms < 0:
        return
    op["sent_at"] = op["timestamp"] + int(gap_ms / 1000)


# How long a client on this machine may hold a call it stamped before sending it
# (a batch waiting for its flush, a retry): a stamp this recent is the client's.
_JUST_STAMPED_MS = 300_000


def _stamped_here(timestamp: str, machine: tuple[int, int]) -> int | None:
    """The `sentAt` (in milliseconds) of a call that carries none (the official Node client sends
    none), when its timestamp was stamped by a client on this machine: while
    the emulator's clock is not the machine's (`machine`: the machine's now in
    milliseconds, the emulator's in seconds), a timestamp of the machine's last
    five minutes, further than that from the emulator's clock, was read off the
    machine's clock when the call was made, and was sent now."""
    machine_ms, ours = machine
    stamp_ms = instant_millis(timestamp, naive_utc=True)
    if not machine_ms - _JUST_STAMPED_MS <= stamp_ms <= machine_ms:
        return None
    if abs(stamp_ms - ours * 1000) <= _JUST_STAMPED_MS:
        return None  # as near the emulator's clock: the two cannot be told apart, and it is kept
    return machine_ms


def pipeline_ops(route: str, body: Any, strict: bool, machine: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Operations for one request to `/v1/{route}`. A call's `sentAt` (its own,
    else its batch's, else, given `machine`, the one `_stamped_here` reads) is
    read as `_stamp_sent_at` says; `machine` (the clock is not the machine's)
    also keeps a timestamp later than its `sentAt`.

    Non-strict: invalid calls become `drop` operations. Strict: raises
    ApiError(400) carrying the drops as `ops`, so the caller can record them."""
    whole = route == "batch" and not (isinstance(body, dict) and isinstance(body.get("batch"), list))
    if route == "batch":
        if whole:
            items: list[tuple[str, Any]] = [("batch", body)]
        else:
            items = []
            for msg in body["batch"]:
                kind = msg.get("type") if isinstance(msg, dict) else None
                items.append((kind if isinstance(kind, str) else "?", in_batch_context(msg, body) if kind else msg))
    else:
        items = [(route, body)]
    ops: list[dict[str, Any]] = []
    errors: list[str] = []
    for index, (kind, msg) in enumerate(items):
        where = f"batch[{index}]" if route == "batch" and not whole else route
        try:
            if kind == "batch":
                raise ApiError(400, 'a batch is {"batch": [call, ...]}')
            if route == "batch" and not isinstance(msg, dict):
                raise ApiError(400, f"a call is a JSON object, got {json.dumps(msg)[:80]}")
            if route == "batch" and not isinstance(msg.get("type"), str):
                raise ApiError(400, f"a call needs a type, one of {', '.join(PIPELINE_CALLS)}")
            if kind not in PIPELINE_CALLS:
                raise ApiError(400, f"type must be one of {', '.join(PIPELINE_CALLS)}, got {json.dumps(kind)}")
            op = _call_op(kind, msg)
            sent_at = _sent_at(msg, body)
            if sent_at is None and machine is not None and "timestamp" in op:
                sent_at = _stamped_here(msg["timestamp"], machine)
            if sent_at is not None and "timestamp" in op:
                _stamp_sent_at(op, sent_at, msg["timestamp"], keep_later_stamps=machine is not None)
            ops.append(op)
        except ApiError as exc:
            errors.append(f"{where}: {exc.message}")
            ops.append({"op": "drop", "api": API, "call": kind, "reason": exc.message})
    if errors and strict:
        raise ApiError(400, "; ".join(errors), code="invalid_call", ops=[op for op in ops if op["op"] == "drop"])
    return ops
