"""The Track API (v1 under `/api/v1`, v2 `entity` and `batch`) as operations.

Each function takes the request's method, its percent-decoded path segments
after the API prefix and its parsed JSON body, and returns the operations
the session applies (see `session`), or raises `ApiError` (400 with the
reason; the whole request is then refused and nothing is applied).
"""

from __future__ import annotations

import json
from typing import Any

from simulator.platform.state import email_key

from .protocol import (
    CALL_BYTES,
    ApiError,
    check_attributes,
    check_data,
    check_id,
    check_name,
    json_bytes,
    path_ref,
    unix_timestamp,
)

__all__ = ["TRACK_ROUTES", "track_v1_ops", "track_v2_ops"]

API = "track_api"
TRACK_ROUTES = (
    "PUT /api/v1/customers/{id}",
    "DELETE /api/v1/customers/{id}",
    "POST /api/v1/customers/{id}/events",
    "POST /api/v1/events",
    "POST /api/v1/merge_customers",
    "PUT /api/v1/customers/{id}/devices",
    "DELETE /api/v1/customers/{id}/devices/{device_id}",
    "POST /api/v1/customers/{id}/suppress",
    "POST /api/v1/customers/{id}/unsuppress",
    "POST /api/v2/entity",
    "POST /api/v2/batch",
)
_IDENTIFIER_KEYS = ("id", "email", "anonymous_id", "cio_id")
_EVENT_TYPES = ("event", "page", "screen")


class RouteNotFound(Exception):
    """No Track API route has this method and path."""


def _mapping(body: Any, what: str) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, f"{what} must be a JSON object")
    return body


def _ref(value: str) -> list[str]:
    kind, text = path_ref(value)
    return [kind, text]


def _identify(ref: list[str], body: dict[str, Any]) -> list[dict[str, Any]]:
    """An identify, and a record of what in the body is not applied.

    The body's identifiers are applied as the OpenAPI says: an id through an
    email in the path, an email through an id, either through a `cio_` id (the
    session changes that person's identifiers). One of the same kind as the
    path's, with another value, is not: that is an Attribute Update Failure,
    recorded as `call_ignored`. `_update: true` (`update_only`) creates nobody."""
    op: dict[str, Any] = {"op": "call", "api": API, "call": "identify", "ref": ref}
    notes: list[dict[str, Any]] = []
    for key, field in (("id", "user_id"), ("email", "email")):
        if body.get(key) is None:
            continue
        value = check_id(body[key], key)
        same = email_key(value) == email_key(ref[1]) if key == "email" else value == ref[1]
        if ref[0] == key and not same:
            reason = (
                f"{key} {value!r} in the request was not applied: the person is named by {key}, and a "
                f"person's {key} changes only when they are named by their cio_id"
            )
            notes.append({"op": "ignored", "api": API, "call": "identify", "reason": reason})
        elif ref[0] != key:
            op[field] = value
    if body.get("cio_id") is not None and ref[0] != "cio_id":
        reason = "cio_id in the request body is not modelled: name the person by cio_ in the path"
        notes.append({"op": "ignored", "api": API, "call": "identify", "reason": reason})
    if body.get("anonymous_id") is not None:
        op["anonymous_id"] = check_id(body["anonymous_id"], "anonymous_id")
    if body.get("_update") is True:
        op["update_only"] = True
    # `_update` and `_timestamp` are the API's reserved keys, not attributes (the
    # order `_timestamp` gives concurrent updates is not modelled: calls apply in arrival order).
    attributes = {k: v for k, v in body.items() if k not in _IDENTIFIER_KEYS and k not in ("_update", "_timestamp")}
    op["attributes"] = check_attributes(attributes)
    return [op, *notes]


def _event(ref: list[str] | None, body: dict[str, Any], data_key: str) -> dict[str, Any]:
    kind = body.get("type", "event")
    if kind not in _EVENT_TYPES:
        raise ApiError(400, f"type must be one of event, page, screen, got {json.dumps(kind)}")
    if "name" not in body:
        raise ApiError(400, "an event needs a name")
    op: dict[str, Any] = {
        "op": "call",
        "api": API,
        "call": "track",
        "type": kind,
        "name": check_name(body.get("name")),
        "properties": check_data(body.get(data_key), data_key),
    }
    if ref is not None:
        op["ref"] = ref
    timestamp = unix_timestamp(body.get("timestamp"))
    if timestamp is not None:
        op["timestamp"] = timestamp
    if body.get("id") is not None:
        op["event_id"] = check_id(body["id"], "id")
    return op


def _person(value: Any, what: str, kinds: tuple[str, ...] = ("id", "email", "cio_id")) -> list[str]:
    if not isinstance(value, dict) or len(value) != 1:
        raise ApiError(400, f'{what} must name exactly one identifier, such as {{"id": "cus_1"}}')
    ((kind, raw),) = value.items()
    if kind not in kinds:
        raise ApiError(400, f"{what} identifies a person by one of {', '.join(kinds)}, got {kind!r}")
    text = check_id(raw, f"{what}.{kind}")
    if kind == "cio_id" and not text.startswith("cio_"):
        text = "cio_" + text
    return [kind, text]


def _merge(body: dict[str, Any]) -> dict[str, Any]:
    for key in ("primary", "secondary"):
        if key not in body:
            raise ApiError(400, f"a merge needs {key}")
    return {
        "op": "call",
        "api": API,
        "call": "merge",
        "primary": _person(body["primary"], "primary"),
        "secondary": _person(body["secondary"], "secondary"),
    }


def _device(body: dict[str, Any], token_key: str) -> dict[str, Any]:
    device = body.get("device")
    if not isinstance(device, dict):
        raise ApiError(400, 'the body needs a device object, such as {"device": {"id": "tok", "platform": "ios"}}')
    if token_key not in device:
        raise ApiError(400, f'the device needs its {token_key}, such as {{{json.dumps(token_key)}: "tok"}}')
    token = check_id(device[token_key], f"device.{token_key}")
    out = {k: v for k, v in device.items() if k != token_key}
    out["id"] = token
    return out


def track_v1_ops(method: str, parts: list[str], body: Any) -> list[dict[str, Any]]:
    """`parts`: the decoded segments after `/api/v1`."""
    data = _mapping(body, "the request body")
    if parts == ["events"] and method == "POST":
        op = _event(None, data, "data")
        if data.get("anonymous_id") is None:
            return [{"op": "drop", "api": API, "call": "track", "reason": "anonymous event without anonymous_id"}]
        op["anonymous_id"] = check_id(data["anonymous_id"], "anonymous_id")
        return [op]
    if parts == ["merge_customers"] and method == "POST":
        return [_merge(data)]
    if len(parts) < 2 or parts[0] != "customers":
        raise RouteNotFound
    ref = _ref(check_id(parts[1], "the customer identifier in the path"))
    rest = parts[2:]
    if not rest and method == "PUT":
        return _identify(ref, data)
    if not rest and method == "DELETE":
        return [{"op": "delete", "api": API, "call": "delete", "ref": ref}]
    if rest == ["events"] and method == "POST":
        return [_event(ref, data, "data")]
    if rest == ["devices"] and method == "PUT":
        return [{"op": "device_add", "api": API, "call": "add_device", "ref": ref, "device": _device(data, "id")}]
    if len(rest) == 2 and rest[0] == "devices" and method == "DELETE":
        device_id = check_id(rest[1], "the device id in the path")
        return [{"op": "device_delete", "api": API, "call": "delete_device", "ref": ref, "device_id": device_id}]
    if rest in (["suppress"], ["unsuppress"]) and method == "POST":
        return [{"op": rest[0], "api": API, "call": rest[0], "ref": ref}]
    raise RouteNotFound


def _entity(item: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(item, dict):
        raise ApiError(400, f"{where} must be a JSON object")
    size = json_bytes(item)
    if size > CALL_BYTES:
        raise ApiError(400, f"{where} is {size} bytes; each operation is limited to 32 KB")
    kind, action = item.get("type"), item.get("action")
    if kind not in ("person", "object", "delivery"):
        raise ApiError(400, f"{where}.type must be person, object or delivery, got {json.dumps(kind)}")
    if not isinstance(action, str):
        raise ApiError(400, f"{where}.action is required")
    if kind != "person":
        reason = f"{kind} operations are not modelled"
        return [{"op": "ignored", "api": API, "call": f"{kind}.{action}", "reason": reason}]
    if action == "merge":
        return [_merge(item)]
    ref = _person(item.get("identifiers"), f"{where}.identifiers", ("id", "email", "cio_id", "phone"))
    if ref[0] == "phone":
        return [{"op": "ignored", "api": API, "call": action, "reason": "phone identifiers are not modelled"}]
    attributes = item.get("attributes")
    if action == "identify":
        ident = dict(_mapping(attributes, f"{where}.attributes"))
        if item.get("anonymous_id") is not None:
            ident["anonymous_id"] = item["anonymous_id"]
        return _identify(ref, ident)
    if action in _EVENT_TYPES:
        event = dict(item, type=action)
        return [_event(ref, event, "attributes")]
    if action == "delete":
        return [{"op": "delete", "api": API, "call": "delete", "ref": ref}]
    if action in ("suppress", "unsuppress"):
        return [{"op": action, "api": API, "call": action, "ref": ref}]
    if action == "add_device":
        return [{"op": "device_add", "api": API, "call": action, "ref": ref, "device": _device(item, "token")}]
    if action == "delete_device":
        device = _device(item, "token")
        return [{"op": "device_delete", "api": API, "call": action, "ref": ref, "device_id": device["id"]}]
    if action in ("add_relationships", "delete_relationships"):
        return [{"op": "ignored", "api": API, "call": action, "reason": "relationships are not modelled"}]
    raise ApiError(400, f"{where}.action {action!r} is not a person action")


def track_v2_ops(parts: list[str], body: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`parts`: `["entity"]` or `["batch"]`. The operations, and the errors of
    a batch's invalid objects (`batch_index`, `reason`, `message`): as the
    real API answers 207, the batch's valid objects are applied and each
    invalid one is dropped (a `call_dropped` record)."""
    if parts == ["entity"]:
        return _entity(body, "the entity"), []
    data = _mapping(body, "the request body")
    batch = data.get("batch")
    if not isinstance(batch, list):
        raise ApiError(400, 'a batch is {"batch": [operation, ...]}')
    ops: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for i, item in enumerate(batch):
        try:
            ops.extend(_entity(item, f"batch[{i}]"))
        except ApiError as exc:
            errors.append({"batch_index": i, "reason": exc.code, "message": exc.message})
            action = item.get("action") if isinstance(item, dict) else None
            call = action if isinstance(action, str) else "?"
            ops.append({"op": "drop", "api": API, "call": call, "reason": exc.message})
    return ops, errors
