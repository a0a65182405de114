"""The emulator's ASGI application (Starlette).

One endpoint takes every request and routes it on the *raw* path, decoding
each segment separately, so a customer id holding `/` (`a%2Fb`) stays one
id. For each request, in this order: the route (404 listing the valid
ones), the credentials (401), the body size before any parsing (413; gzip
bodies are inflated with the same bound, other encodings are a 415), the JSON (400 with the parse
error), the calls (400 for the Track API; drops for Data Pipelines). Then
the operations are logged and applied, and only then answered.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import socket
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .clock import VirtualClock
from .inspect_api import INSPECT_ROUTES, inspect
from .pipelines_api import PIPELINE_CALLS, PIPELINE_ROUTES, pipeline_ops
from .protocol import BATCH_BYTES, CALL_BYTES, JSON_DEPTH, TRACK_V1_BYTES, ApiError, json_depth, load_json
from .session import EmulatorSession
from .track_api import TRACK_ROUTES, RouteNotFound, track_v1_ops, track_v2_ops

__all__ = ["Credentials", "create_app", "listening_socket"]

# The browser SDK (`@customerio/cdp-analytics-browser`) posts `text/plain` to one-letter
# routes, its write key in the body, from the page's origin.
BROWSER_ROUTES = {"t": "track", "i": "identify", "p": "page", "s": "screen", "a": "alias", "g": "group", "b": "batch"}
ALL_ROUTES = TRACK_ROUTES + PIPELINE_ROUTES + tuple(f"POST /v1/{short}" for short in BROWSER_ROUTES) + INSPECT_ROUTES
_CORS = {"Access-Control-Allow-Origin": "*"}
_PREFLIGHT = {
    **_CORS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding, X-Strict-Mode",
    "Access-Control-Max-Age": "600",
}
_LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


@dataclass(frozen=True)
class Credentials:
    site_id: str = "segsim-site"
    api_key: str = "segsim-key"
    write_key: str = "segsim-write-key"


def _parts(request: Request) -> tuple[list[str], str | None]:
    """The path's decoded segments, and the first segment that is not UTF-8 once decoded (None: all are).

    Such a segment is read with U+FFFD in place of its bad bytes so that the route is still found,
    and the request is then refused: two different raw ids must never become one profile."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    path = raw.split(b"?", 1)[0].decode("latin-1")
    parts: list[str] = []
    not_utf8: str | None = None
    for segment in path.split("/")[1:]:
        try:
            parts.append(unquote(segment, encoding="utf-8", errors="strict"))
        except UnicodeDecodeError:
            parts.append(unquote(segment, encoding="utf-8", errors="replace"))
            not_utf8 = not_utf8 or segment
    if parts and parts[-1] == "":
        parts.pop()
    return parts, not_utf8


def _not_utf8(segment: str) -> str:
    shown = segment if len(segment) <= 80 else segment[:80] + "..."
    return f"the path segment {shown!r} is not UTF-8 once percent-decoded: percent-encode the id's UTF-8 bytes"


def _v1_route_exists(method: str, rest: list[str]) -> bool:
    if method == "POST" and rest in (["events"], ["merge_customers"]):
        return True
    if len(rest) < 2 or rest[0] != "customers":
        return False
    tail = rest[2:]
    return (
        (not tail and method in ("PUT", "DELETE"))
        or (tail == ["events"] and method == "POST")
        or (tail == ["devices"] and method == "PUT")
        or (len(tail) == 2 and tail[0] == "devices" and method == "DELETE")
        or (tail in (["suppress"], ["unsuppress"]) and method == "POST")
    )


def _pipelines_call(parts: list[str]) -> str:
    """The Pipelines call a `/v1/...` path names (the browser SDK's `t` is `track`)."""
    return BROWSER_ROUTES.get(parts[1], parts[1]) if len(parts) == 2 else ""


def _api_of(method: str, parts: list[str]) -> tuple[str, int] | None:
    """Which API a request is for, and its body limit; None for no route."""
    if parts[:2] == ["api", "v1"] and _v1_route_exists(method, parts[2:]):
        return "track_v1", TRACK_V1_BYTES
    if parts[:2] == ["api", "v2"] and method == "POST" and parts[2:] in (["entity"], ["batch"]):
        return "track_v2", BATCH_BYTES if parts[2] == "batch" else CALL_BYTES
    if parts[:1] == ["v1"] and method == "POST" and (call := _pipelines_call(parts)) in (*PIPELINE_CALLS, "batch"):
        return "pipelines", BATCH_BYTES if call == "batch" else CALL_BYTES
    return None


def _error(api: str, status: int, message: str, code: str = "invalid_request") -> JSONResponse:
    if api == "track_v2":  # the v2 OpenAPI's `errors`: [{reason, message}] (no field is named)
        return JSONResponse({"errors": [{"reason": code, "message": message}]}, status_code=status)
    if api.startswith("track"):
        return JSONResponse({"meta": {"errors": [message]}}, status_code=status)
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _not_found(method: str, path: str) -> JSONResponse:
    return JSONResponse(
        {"code": "not_found", "message": f"no route {method} {path}", "routes": list(ALL_ROUTES)},
        status_code=404,
    )


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _key_in_body(body: Any, creds: Credentials) -> bool:
    """A Pipelines call without an Authorization header, as the browser SDK sends it:
    the write key in the body (`writeKey`; a batch's own, else its first call's)."""
    if not isinstance(body, dict):
        return False
    key = body.get("writeKey")
    calls = body.get("batch")
    if key is None and isinstance(calls, list) and calls and isinstance(calls[0], dict):
        key = calls[0].get("writeKey")
    return isinstance(key, str) and _same(key, creds.write_key)


def _authorized(api: str, header: str, creds: Credentials) -> bool:
    if api.startswith("track"):
        pair = _basic(header)
        return pair is not None and _same(pair[0], creds.site_id) and _same(pair[1], creds.api_key)
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        return _same(token.strip(), creds.write_key)
    pair = _basic(header)
    return pair is not None and pair[1] == "" and _same(pair[0], creds.write_key)


async def _body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past `limit` bytes before anything parses it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the request is {declared} bytes; the limit here is {limit} bytes", "too_large")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise ApiError(413, f"the request is over the limit of {limit} bytes", "too_large")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    # `identity` is no coding; `x-gzip` is gzip (RFC 9110 8.4.1.3). One gzip layer is read.
    codings = [c.strip() for c in encoding.split(",") if c.strip() not in ("", "identity")]
    if codings in (["gzip"], ["x-gzip"]):
        body = _gunzip(body, limit) if body else body
    elif codings:  # read as plain, a compressed body would be a bad JSON error
        message = f"Content-Encoding {encoding} is not supported: send the body as it is, or gzip-compressed once"
        raise ApiError(415, message, "unsupported_encoding")
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    """A gzip body inflated, every member of it (RFC 1952 allows several, one after another).

    400 for a body that is not gzip or is cut short; 413 once the inflated bytes pass `limit`."""
    inflated: list[bytes] = []
    room = limit + 1
    rest = body
    while rest:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            part = inflater.decompress(rest, room)
        except zlib.error as exc:
            raise ApiError(400, f"the body is not valid gzip: {exc}") from None
        room -= len(part)
        if room <= 0 or inflater.unconsumed_tail:
            raise ApiError(413, f"the inflated request is over the limit of {limit} bytes", "too_large")
        if not inflater.eof:
            raise ApiError(400, "the body is not valid gzip: it ends before the end of its stream (cut short?)")
        inflated.append(part)
        rest = inflater.unused_data
        if not rest.strip(b"\0"):  # zero padding after the last member, as gzip tools write and read it
            break
        if rest[:2] != b"\x1f\x8b":
            raise ApiError(400, f"the body is not valid gzip: {len(rest)} bytes after the end of its stream")
    return b"".join(inflated)


def _json(body: bytes, empty: bool = True) -> Any:
    """The body's JSON value; None for an empty body where `empty` allows one (a
    Track v1 call such as DELETE has none), malformed JSON otherwise."""
    if not body.strip():
        if empty:
            return None
        raise ApiError(400, "malformed JSON: the body is empty (expected a JSON object)", "malformed_json")
    too_deep = f"malformed JSON: nested deeper than {JSON_DEPTH} levels"
    try:
        value = load_json(body)  # NaN, Infinity and 1e999 are malformed too
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"malformed JSON: the body is not UTF-8 ({exc.reason})", "malformed_json") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "malformed_json"
        ) from None
    except RecursionError:
        raise ApiError(400, too_deep, "malformed_json") from None
    except ValueError as exc:  # a number past Python's digit limit, for one
        raise ApiError(400, f"malformed JSON: {exc}", "malformed_json") from None
    if json_depth(value) > JSON_DEPTH:
        raise ApiError(400, too_deep, "malformed_json")
    return value


def create_app(
    session: EmulatorSession,
    clock: VirtualClock,
    credentials: Credentials | None = None,
) -> Starlette:
    creds = credentials or Credentials()

    async def inspection(request: Request, method: str, parts: list[str], path: str) -> Response:
        client = request.client.host if request.client else ""
        if client not in _LOOPBACK:
            return JSONResponse(
                {"code": "forbidden", "message": "/_segsim/ answers only loopback clients"}, status_code=403
            )
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        try:
            return JSONResponse(inspect(session, method, parts[1:], query, clock))
        except ApiError as exc:
            return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)
        except LookupError:
            return _not_found(method, path)

    def unauthorized(api: str, unread: str = "") -> Response:
        what = (
            "Basic site_id:api_key"
            if api.startswith("track")
            else "Basic write_key:, Bearer write_key, or writeKey in the JSON body (as the browser SDK sends it)"
        )
        # A body read for its writeKey that could not be read says why: a page cannot send a header.
        why = f"; the body could not be read for its writeKey: {unread}" if unread else ""
        response = _error(api, 401, f"unauthorized: send {what}{why}", "unauthorized")
        response.headers["WWW-Authenticate"] = 'Basic realm="segsim"'
        return response

    async def endpoint(request: Request) -> Response:
        response = await answer(request)
        if "origin" in request.headers and request.url.path.startswith("/v1/"):
            response.headers.update(_CORS)  # a page's tracking code reads the answer (and retries on errors)
        return response

    async def answer(request: Request) -> Response:
        method = request.method
        parts, not_utf8 = _parts(request)
        path = request.url.path
        if parts[:1] == ["_segsim"]:
            if not_utf8 is not None:
                return JSONResponse({"code": "bad_path", "message": _not_utf8(not_utf8)}, status_code=400)
            return await inspection(request, method, parts, path)
        if method == "OPTIONS" and _api_of("POST", parts) is not None and parts[:1] == ["v1"]:
            return Response(status_code=204, headers=_PREFLIGHT)  # a browser's preflight
        found = _api_of(method, parts)
        if found is None:
            return _not_found(method, path)
        api, limit = found
        header = request.headers.get("authorization", "")
        key_in_body = api == "pipelines" and not header.strip()
        if not key_in_body and not _authorized(api, header, creds):
            return unauthorized(api)
        preread: Any = None
        if key_in_body:
            try:
                preread = _json(await _body(request, limit), empty=False)
            except ApiError as exc:
                return unauthorized(api, f"{exc.status} {exc.message}")
            if not _key_in_body(preread, creds):
                return unauthorized(api)
        if not_utf8 is not None:
            return _error(api, 400, _not_utf8(not_utf8), "bad_path")
        route = f"{method} {request.scope.get('raw_path', b'').decode('latin-1') or path}"
        invalid: list[dict[str, Any]] = []
        try:
            body = preread if key_in_body else _json(await _body(request, limit), empty=api == "track_v1")
            if api == "track_v1":
                ops = track_v1_ops(method, parts[2:], body)
            elif api == "track_v2":
                ops, invalid = track_v2_ops(parts[2:], body)
            else:
                strict = request.headers.get("x-strict-mode", "") == "1"
                machine = clock.machine()
                ops = pipeline_ops(_pipelines_call(parts), body, strict, machine=machine)
        except RouteNotFound:
            return _not_found(method, path)
        except ApiError as exc:
            if exc.ops:
                session.submit(clock.now(), route, exc.ops, status=exc.status)
            if parts == ["api", "v1", "merge_customers"] and exc.status == 400:
                return JSONResponse({"meta": {"error": exc.message}}, status_code=400)  # this route's own shape
            return _error(api, exc.status, exc.message, exc.code)
        if invalid:
            session.submit(clock.now(), route, ops, status=207)
            return JSONResponse({"errors": invalid}, status_code=207)
        session.submit(clock.now(), route, ops)
        return JSONResponse({})

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=_METHODS)])


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (`port` 0: a free one).

    Created with an explicit IPPROTO_TCP: asyncio turns Nagle's algorithm off
    only on sockets whose protocol says TCP, and with it on, every answer
    written in two parts waits for a delayed ACK (about 40 ms a request)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock
