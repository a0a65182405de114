"""The emulator facing hostile HTTP: binding, auth on every route, size limits
before parsing, gzip bombs, deep JSON, instants out of range.

Requests go to the ASGI application in process (httpx's ASGI transport), so
the client's address can be set and memory measured with tracemalloc.
"""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.emulator.app import ALL_ROUTES, Credentials, create_app
from simulator.emulator.clock import VirtualClock
from simulator.emulator.command import serve
from simulator.emulator.protocol import BATCH_BYTES, CALL_BYTES, JSON_DEPTH, TRACK_V1_BYTES
from simulator.emulator.session import EmulatorSession
from simulator.model.time import parse_instant
from simulator.scenario.loader import load_workspace

from .conftest import WORKSPACE

CREDS = Credentials()
TRACK_AUTH = httpx.BasicAuth(CREDS.site_id, CREDS.api_key)
PIPELINES_AUTH = httpx.BasicAuth(CREDS.write_key, "")


class Emulator:
    """The app and its session, called in process; `client` is the caller's address."""

    def __init__(self) -> None:
        self.clock = VirtualClock("manual", parse_instant("2026-03-02T09:00:00Z"))
        self.session = EmulatorSession(load_workspace(WORKSPACE)[0], self.clock.now())
        self.app = create_app(self.session, self.clock, CREDS)

    def request(self, method: str, path: str, client: str = "127.0.0.1", **options: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, client=(client, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                return await http.request(method, path, **options)

        return asyncio.run(call())


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    yield Emulator()


def _concrete(route: str) -> tuple[str, str]:
    method, _, path = route.partition(" ")
    path = path.split("?")[0].replace("{id}", "cus_1").replace("{device_id}", "tok").replace("{cio_id}", "cio_1")
    return method, path.replace("{name}", "cart_abandoners")


API_ROUTES = [_concrete(r) for r in ALL_ROUTES if not r.split(" ")[1].startswith("/_segsim")]
INSPECT_ROUTES = [_concrete(r) for r in ALL_ROUTES if r.split(" ")[1].startswith("/_segsim")]


def test_the_route_table_covers_both_apis() -> None:
    paths = {path for _, path in API_ROUTES}
    assert len(API_ROUTES) == 25  # 11 Track API, 7 Pipelines, the browser SDK's 7 short ones
    assert {"/api/v1/events", "/api/v2/batch", "/v1/batch", "/v1/identify", "/v1/t", "/v1/b"} <= paths


@pytest.mark.parametrize(("method", "path"), API_ROUTES, ids=lambda v: str(v))
def test_every_api_route_refuses_missing_or_wrong_credentials(emulator: Emulator, method: str, path: str) -> None:
    body = {"name": "x", "userId": "u", "event": "x", "batch": []}
    wrong = [None, httpx.BasicAuth("segsim-site", "nope"), httpx.BasicAuth("nope", ""), PIPELINES_AUTH, TRACK_AUTH]
    right = TRACK_AUTH if path.startswith("/api/") else PIPELINES_AUTH
    for auth in wrong:
        if auth is right:
            continue
        response = emulator.request(method, path, json=body, auth=auth)
        assert response.status_code == 401, (method, path, auth, response.text)
        assert response.headers["www-authenticate"] == 'Basic realm="segsim"'
    bearer = emulator.request(method, path, json=body, headers={"authorization": "Bearer segsim-key"})
    assert bearer.status_code == 401
    assert emulator.session.records == 0, "a refused request must leave no trace"
    assert emulator.request(method, path, json=body, auth=right).status_code != 401


@pytest.mark.parametrize(("method", "path"), INSPECT_ROUTES, ids=lambda v: str(v))
def test_inspection_answers_only_loopback_clients(emulator: Emulator, method: str, path: str) -> None:
    params = {"by": "1h"} if path.endswith("advance") else {}
    for outsider in ("10.0.0.7", "192.168.1.20", "203.0.113.9"):
        response = emulator.request(method, path, client=outsider, params=params)
        assert response.status_code == 403, (path, response.text)
    assert emulator.session.records == 0
    assert emulator.request(method, path, params=params).status_code in (200, 404)


def test_serve_binds_loopback_by_default_and_needs_a_flag_for_anything_else() -> None:
    options = {option.name: option for option in serve.params}
    assert options["host"].default == "127.0.0.1"
    runner = CliRunner()
    for host in ("0.0.0.0", "192.168.1.20", "::"):
        result = runner.invoke(main, ["serve", "--workspace", str(WORKSPACE), "--host", host, "--port", "0"])
        assert result.exit_code == 2, result.output
        assert "--allow-remote" in result.output and "Traceback" not in result.output
    assert "--allow-remote" in runner.invoke(main, ["serve", "--help"]).output


@pytest.mark.parametrize(
    ("path", "limit", "auth"),
    [("/api/v1/customers/c/events", TRACK_V1_BYTES, TRACK_AUTH), ("/api/v2/entity", CALL_BYTES, TRACK_AUTH)]
    + [("/api/v2/batch", BATCH_BYTES, TRACK_AUTH), ("/v1/track", CALL_BYTES, PIPELINES_AUTH)]
    + [("/v1/batch", BATCH_BYTES, PIPELINES_AUTH)],
)
def test_body_limits_are_enforced_before_parsing(emulator: Emulator, path: str, limit: int, auth: httpx.Auth) -> None:
    # Not JSON at all: a 413 rather than a 400 shows the size was checked first.
    junk = b"\xff" * (limit + 1)
    response = emulator.request("POST", path, content=junk, auth=auth)
    assert response.status_code == 413, response.text

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(limit // 65536 + 2):
            yield b"{" * 65536

    assert emulator.request("POST", path, content=chunks(), auth=auth).status_code == 413
    assert emulator.session.records == 0


@pytest.mark.parametrize(
    ("path", "limit", "auth"),
    [("/v1/batch", BATCH_BYTES, PIPELINES_AUTH), ("/api/v1/customers/c/events", TRACK_V1_BYTES, TRACK_AUTH)],
)
def test_a_gzip_bomb_is_refused_in_bounded_memory(emulator: Emulator, path: str, limit: int, auth: httpx.Auth) -> None:
    bomb = gzip.compress(b" " * (200 * 1024 * 1024), compresslevel=9)  # 200 MB inflated, about 200 KB sent
    assert len(bomb) < limit
    tracemalloc.start()
    try:
        response = emulator.request("POST", path, content=bomb, auth=auth, headers={"content-encoding": "gzip"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413
    assert f"the inflated request is over the limit of {limit} bytes" in response.text
    if path == "/v1/batch":
        assert response.json() == {
            "code": "too_large",
            "message": f"the inflated request is over the limit of {limit} bytes",
        }
    assert peak < 20 * 1024 * 1024, f"inflating used {peak / 1e6:.0f} MB"
    broken = emulator.request("POST", path, content=bomb[:-40], auth=auth, headers={"content-encoding": "gzip"})
    assert broken.status_code == 413  # still over the limit before the cut is noticed


def test_malformed_gzip_is_a_400(emulator: Emulator) -> None:
    response = emulator.request(
        "POST", "/v1/track", content=b"\x1f\x8bnot gzip", auth=PIPELINES_AUTH, headers={"content-encoding": "gzip"}
    )
    assert response.status_code == 400 and "not valid gzip" in response.text


@pytest.mark.parametrize("encoding", ["br", "deflate", "gzip, br"])
def test_a_content_encoding_other_than_gzip_is_a_415_and_nothing_is_recorded(emulator: Emulator, encoding: str) -> None:
    call = b'{"type": "track", "userId": "u1", "event": "viewed"}'
    response = emulator.request(
        "POST", "/v1/track", content=call, auth=PIPELINES_AUTH, headers={"content-encoding": encoding}
    )
    assert response.status_code == 415, response.text
    assert f"Content-Encoding {encoding} is not supported" in response.text
    assert emulator.session.records == 0
    plain = emulator.request(
        "POST", "/v1/track", content=call, auth=PIPELINES_AUTH, headers={"content-encoding": "identity"}
    )
    assert plain.status_code == 200, plain.text


@pytest.mark.parametrize("encoding", ["x-gzip", "gzip, identity", " GZIP "])
def test_gzip_by_any_of_its_names_is_read(emulator: Emulator, encoding: str) -> None:
    call = b'{"type": "track", "userId": "u1", "event": "viewed"}'
    response = emulator.request(
        "POST", "/v1/track", content=gzip.compress(call), auth=PIPELINES_AUTH, headers={"content-encoding": encoding}
    )
    assert response.status_code == 200, response.text


def test_a_gzip_body_cut_short_is_a_400_and_several_members_are_all_read(emulator: Emulator) -> None:
    """A cut body is refused, not read as far as it goes; a body of two gzip members (RFC 1952) is read whole."""
    first = b'{"type": "track", "userId": "u1", "event": "viewed", "timestamp": "2026-03-02T08:00:00Z"}'
    whole = gzip.compress(b'{"batch": [' + first + b", ") + gzip.compress(first.replace(b"u1", b"u2") + b"]}")
    gz = {"content-encoding": "gzip"}
    cut = emulator.request("POST", "/v1/batch", content=whole[:-4], auth=PIPELINES_AUTH, headers=gz)
    assert cut.status_code == 400 and "ends before the end of its stream" in cut.text, cut.text
    assert emulator.session.records == 0
    read = emulator.request("POST", "/v1/batch", content=whole, auth=PIPELINES_AUTH, headers=gz)
    assert read.status_code == 200, read.text
    people = emulator.request("GET", "/_segsim/profiles").json()["profiles"]
    assert sorted(p["id"] for p in people) == ["u1", "u2"], people


def test_zero_padding_after_a_gzip_body_is_read_as_gzip_tools_do_and_junk_is_named(emulator: Emulator) -> None:
    call = b'{"type": "track", "userId": "u1", "event": "viewed"}'
    gz = {"content-encoding": "gzip"}
    padded = emulator.request(
        "POST", "/v1/track", content=gzip.compress(call) + b"\0" * 8, auth=PIPELINES_AUTH, headers=gz
    )
    assert padded.status_code == 200, padded.text
    junk = emulator.request("POST", "/v1/track", content=gzip.compress(call) + b"junk", auth=PIPELINES_AUTH, headers=gz)
    assert junk.status_code == 400 and "4 bytes after the end of its stream" in junk.text, junk.text


@pytest.mark.parametrize(
    "path", ["/api/v1/customers/%FF/events", "/api/v1/customers/a%C3/events", "/_segsim/profiles/%FE"]
)
def test_a_path_id_that_is_not_utf8_is_a_400(emulator: Emulator, path: str) -> None:
    """Two different raw ids must not both become the same U+FFFD id."""
    response = emulator.request("POST" if "api" in path else "GET", path, json={"name": "x"}, auth=TRACK_AUTH)
    assert response.status_code == 400, response.text
    assert "not UTF-8" in response.text
    assert emulator.session.records == 0
    good = emulator.request("POST", "/api/v1/customers/%C3%A9/events", json={"name": "x"}, auth=TRACK_AUTH)
    assert good.status_code == 200, good.text


@pytest.mark.parametrize(
    ("path", "auth", "body"),
    [
        (
            "/v1/track",
            PIPELINES_AUTH,
            b'{"userId": "u", "event": "x", "properties": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001,
        ),
        ("/api/v1/customers/c/events", TRACK_AUTH, b'{"name": "x", "data": ' + b"[" * 20000 + b"]" * 20000 + b"}"),
        ("/api/v1/customers/c/events", TRACK_AUTH, b'{"name": "x", "data": ' + b'{"a":' * 100 + b"1" + b"}" * 101),
        ("/api/v2/entity", TRACK_AUTH, b'{"type": "person", "identifiers": {"id": ' + b"9" * 5000 + b"}}"),
    ],
    ids=["pipelines-5000-deep", "track-20000-deep", "track-100-deep", "huge-integer"],
)
def test_deep_or_unreadable_json_is_a_400_not_a_crash(
    emulator: Emulator, path: str, auth: httpx.Auth, body: bytes
) -> None:
    response = emulator.request("POST", path, content=body, auth=auth)
    assert response.status_code == 400, response.text
    assert "malformed JSON" in response.text
    assert emulator.session.records == 0


def test_json_as_deep_as_the_limit_is_accepted(emulator: Emulator) -> None:
    data = b'{"a":' * (JSON_DEPTH - 2) + b"1" + b"}" * (JSON_DEPTH - 2)
    response = emulator.request(
        "POST", "/api/v1/customers/c/events", content=b'{"name": "x", "data": ' + data + b"}", auth=TRACK_AUTH
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("timestamp", [1e300, -1e15, 99_999_999_999_999, -1])
def test_track_api_timestamps_out_of_range_are_refused(emulator: Emulator, timestamp: float) -> None:
    response = emulator.request(
        "POST", "/api/v1/customers/c/events", json={"name": "x", "timestamp": timestamp}, auth=TRACK_AUTH
    )
    assert response.status_code == 400 and "out of range" in response.text
    assert emulator.request("GET", "/_segsim/trace").status_code == 200


def test_pipelines_instants_out_of_range_are_dropped_and_inspection_still_answers(emulator: Emulator) -> None:
    batch = [
        {"type": "track", "userId": "u", "event": "x", "timestamp": "0001-01-01T00:00:00Z"},
        # On the sender's clock (nearer its sentAt than our 2026 arrival), moved onto ours: before 1970.
        {"type": "track", "userId": "u", "event": "x", "timestamp": "2120-01-01T00:00:00Z"},
    ]
    response = emulator.request(
        "POST", "/v1/batch", json={"batch": batch, "sentAt": "2192-01-01T00:00:00Z"}, auth=PIPELINES_AUTH
    )
    assert response.status_code == 200
    trace = emulator.request("GET", "/_segsim/trace").json()["trace"]
    reasons = [r["reason"] for r in trace if r["kind"] == "call_dropped"]
    assert len(reasons) == 2 and "out of range" in reasons[0] and "out of range" in reasons[1]
    assert emulator.request("GET", "/_segsim/profiles").status_code == 200


def test_the_inspection_clock_cannot_be_pushed_past_year_9999(emulator: Emulator) -> None:
    for by in ("99999999999w", "9" * 5000 + "s"):
        response = emulator.request("POST", "/_segsim/advance", params={"by": by})
        assert response.status_code == 400, response.text
    assert emulator.request("GET", "/_segsim/now").json() == {"now": "2026-03-02T09:00:00Z"}
    assert emulator.request("GET", "/_segsim/profiles/cio_" + "9" * 5000).status_code == 404
