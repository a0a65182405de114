"""Bad requests get the real API's status and a reason, and never change the platform."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest


def _state(emu: Any) -> tuple[Any, ...]:
    return (
        emu.get("/profiles"),
        emu.get("/runs"),
        len(emu.get("/trace")["trace"]),
        emu.session.records,
    )


pytestmark = pytest.mark.parametrize(
    "segsim_emulator", [{"clock": "manual", "start": "2026-03-02T09:00:00Z"}], indirect=True
)


@pytest.fixture
def primed(segsim_emulator: Any) -> Any:
    segsim_emulator.track_client().identify("cus_1", email="ana@example.com")
    return segsim_emulator


def test_wrong_or_missing_credentials_get_401(primed: Any) -> None:
    emu = primed
    before = _state(emu)
    cases = [
        httpx.put(f"{emu.track_url}/customers/cus_2", json={}, auth=(emu.site_id, "wrong")),
        httpx.put(f"{emu.track_url}/customers/cus_2", json={}),
        httpx.post(f"{emu.pipelines_url}/identify", json={"userId": "cus_2"}, auth=("nope", "")),
        httpx.post(f"{emu.pipelines_url}/identify", json={"userId": "cus_2"}, auth=(emu.write_key, "x")),
        httpx.post(
            f"{emu.pipelines_url}/identify", json={"userId": "cus_2"}, headers={"Authorization": "Bearer sk_us_x"}
        ),
    ]
    assert [r.status_code for r in cases] == [401] * 5
    assert cases[0].json() == {"meta": {"errors": ["unauthorized: send Basic site_id:api_key"]}}
    assert cases[2].json()["code"] == "unauthorized"
    assert _state(emu) == before


def test_malformed_json_gets_400_with_the_parse_error(primed: Any) -> None:
    emu = primed
    before = _state(emu)
    track = httpx.post(
        f"{emu.track_url}/customers/cus_1/events",
        content=b'{"name": "checkout_started",',
        auth=(emu.site_id, emu.api_key),
    )
    assert track.status_code == 400
    assert track.json()["meta"]["errors"][0].startswith("malformed JSON: Expecting property name")
    cdp = httpx.post(f"{emu.pipelines_url}/track", content=b"{nope", auth=(emu.write_key, ""))
    assert cdp.status_code == 400
    assert cdp.json()["code"] == "malformed_json" and "line 1 column 2" in cdp.json()["message"]
    broken_gzip = httpx.post(
        f"{emu.pipelines_url}/batch",
        content=b"not gzip",
        headers={"Content-Encoding": "gzip"},
        auth=(emu.write_key, ""),
    )
    assert broken_gzip.status_code == 400
    assert _state(emu) == before


@pytest.mark.parametrize("body", [b"", b"  \n"])
def test_an_empty_body_is_malformed_json_where_a_call_needs_one(primed: Any, body: bytes) -> None:
    emu = primed
    before = _state(emu)
    for api in ("track", "identify", "batch"):
        cdp = httpx.post(f"{emu.pipelines_url}/{api}", content=body, auth=(emu.write_key, ""))
        assert cdp.status_code == 400, api
        assert cdp.json() == {
            "code": "malformed_json",
            "message": "malformed JSON: the body is empty (expected a JSON object)",
        }
    v2 = httpx.post(f"{emu.track_url.replace('/v1', '/v2')}/entity", content=body, auth=(emu.site_id, emu.api_key))
    assert v2.status_code == 400 and "the body is empty" in json.dumps(v2.json())
    assert _state(emu) == before
    # Track v1 calls that carry nothing need no body: a DELETE, an identify with no attributes
    assert httpx.put(f"{emu.track_url}/customers/cus_9", content=body, auth=(emu.site_id, emu.api_key)).json() == {}
    assert [p["id"] for p in emu.get("/profiles")["profiles"]] == ["cus_1", "cus_9"]


def test_invalid_track_calls_get_400(primed: Any) -> None:
    emu = primed
    before = _state(emu)
    auth = (emu.site_id, emu.api_key)
    responses = {
        "long id": httpx.put(f"{emu.track_url}/customers/{'x' * 151}", json={}, auth=auth),
        "long name": httpx.post(f"{emu.track_url}/customers/cus_1/events", json={"name": "n" * 101}, auth=auth),
        "no name": httpx.post(f"{emu.track_url}/customers/cus_1/events", json={"data": {}}, auth=auth),
        "bad timestamp": httpx.post(
            f"{emu.track_url}/customers/cus_1/events", json={"name": "x", "timestamp": "yesterday"}, auth=auth
        ),
        "two ids": httpx.post(
            f"{emu.track_url}/merge_customers",
            json={"primary": {"id": "a", "email": "b@x"}, "secondary": {"id": "c"}},
            auth=auth,
        ),
        "bad batch": httpx.post(f"{emu.base_url}/api/v2/batch", json={"batch": {"type": "person"}}, auth=auth),
    }
    assert {k: r.status_code for k, r in responses.items()} == dict.fromkeys(responses, 400)
    assert "151 bytes; the limit is 150 bytes" in responses["long id"].json()["meta"]["errors"][0]
    # merge_customers has its own 400 shape in the OpenAPI: {"meta": {"error": "..."}}
    assert "exactly one identifier" in responses["two ids"].json()["meta"]["error"]
    # v2 errors have the v2 OpenAPI's shape
    assert responses["bad batch"].json() == {
        "errors": [{"reason": "invalid_request", "message": 'a batch is {"batch": [operation, ...]}'}]
    }
    assert _state(emu) == before


def test_a_v2_batch_applies_its_valid_objects_and_answers_207_for_the_others(primed: Any) -> None:
    emu = primed
    auth = (emu.site_id, emu.api_key)
    batch = [
        {"type": "person", "identifiers": {"id": "cus_9"}, "action": "identify", "attributes": {"plan": "gold"}},
        {"type": "person"},
        {"type": "person", "identifiers": {"id": "cus_9"}, "action": "event", "name": "n" * 101},
    ]
    response = httpx.post(f"{emu.base_url}/api/v2/batch", json={"batch": batch}, auth=auth)
    assert response.status_code == 207
    assert [(e["batch_index"], e["reason"]) for e in response.json()["errors"]] == [
        (1, "invalid_request"),
        (2, "invalid_request"),
    ]
    assert "cus_9" in [p["id"] for p in emu.get("/profiles")["profiles"]]
    drops = [r for r in emu.get("/trace")["trace"] if r["kind"] == "call_dropped"]
    assert [d["call"] for d in drops] == ["?", "event"]


def test_oversized_bodies_get_413_before_parsing(primed: Any) -> None:
    emu = primed
    before = _state(emu)
    big = b"{" + b" " * (33 * 1024) + b"}"  # valid JSON, over 32 KB
    entity = httpx.post(f"{emu.base_url}/api/v2/entity", content=big, auth=(emu.site_id, emu.api_key))
    assert entity.status_code == 413
    call = httpx.post(f"{emu.pipelines_url}/track", content=big, auth=(emu.write_key, ""))
    assert call.status_code == 413
    batch = httpx.post(f"{emu.pipelines_url}/batch", content=b"[" * (501 * 1024), auth=(emu.write_key, ""))
    assert batch.status_code == 413  # not parsed: the body is not even JSON
    bomb = gzip.compress(json.dumps({"batch": [], "pad": "x" * (600 * 1024)}).encode())
    assert len(bomb) < 32 * 1024
    inflated = httpx.post(
        f"{emu.pipelines_url}/batch", content=bomb, headers={"Content-Encoding": "gzip"}, auth=(emu.write_key, "")
    )
    assert inflated.status_code == 413
    data = httpx.post(
        f"{emu.track_url}/customers/cus_1/events",
        json={"name": "big", "data": {"blob": "x" * 100_001}},
        auth=(emu.site_id, emu.api_key),
    )
    assert data.status_code in (400, 413)
    assert _state(emu) == before


def test_unknown_routes_get_404_listing_the_valid_ones(primed: Any) -> None:
    emu = primed
    before = _state(emu)
    for response in (
        httpx.get(f"{emu.base_url}/api/v1/customers/cus_1", auth=(emu.site_id, emu.api_key)),
        httpx.post(f"{emu.base_url}/v1/identity", json={}, auth=(emu.write_key, "")),
        httpx.get(f"{emu.base_url}/_segsim/profile"),
    ):
        assert response.status_code == 404
        assert "POST /v1/batch" in response.json()["routes"]
        assert "PUT /api/v1/customers/{id}" in response.json()["routes"]
    assert (
        httpx.get(f"{emu.base_url}/_segsim/segments/cart_abandoner")
        .json()["message"]
        .endswith("(did you mean 'cart_abandoners'?)")
    )
    assert _state(emu) == before


def test_unknown_cio_ids_are_dropped_without_creating_anyone(primed: Any) -> None:
    emu = primed
    profiles = emu.get("/profiles")
    track = emu.track_client()
    track.identify("cio_99", plan="gold")
    track.track("cio_99", "checkout_started", {"checkout_id": "ck", "value": 1})
    track.merge_customers("cio_id", "cio_1", "cio_id", "cio_98")
    assert emu.get("/profiles") == profiles
    assert emu.get("/runs")["runs"] == []
    reasons = [r.get("reason") for r in emu.get("/trace")["trace"] if r["kind"] in ("call_dropped", "merge_ignored")]
    assert reasons == [
        "no person has cio_99 (unknown or deleted cio_id)",
        "no person has cio_99 (unknown or deleted cio_id)",
        "profile missing",
    ]


def test_advance_and_segments_reject_bad_parameters(primed: Any) -> None:
    emu = primed
    before = emu.get("/now")
    assert emu.inspect.post("/advance", params={"by": "-2h"}).status_code == 400
    assert emu.inspect.post("/advance").status_code == 400
    assert emu.inspect.get("/segments/vip", params={"at": "tomorrow"}).status_code == 400
    assert emu.inspect.get("/segments/vip", params={"at": "2999-01-01T00:00:00Z"}).status_code == 400
    assert emu.inspect.get("/profiles/cio_x").status_code == 404
    assert emu.get("/now")["now"] >= before["now"]


# Tokens Python's parser reads but JSON does not have; admitted, they reached
# the platform as non-finite floats and every inspection answer failed.
NOT_JSON = ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "9" * 400, "9" * 5000]


def _position(body: bytes, token: bytes) -> str:
    """Where the parser says `token` is."""
    lines = body[: body.index(token)].split(b"\n")
    return f"at line {len(lines)} column {len(lines[-1]) + 1}"


@pytest.mark.parametrize(
    "token", NOT_JSON, ids=["nan", "infinity", "minus-infinity", "1e999", "-1e400", "400-digits", "5000-digits"]
)
def test_nan_infinity_and_numbers_past_a_double_are_malformed_json_on_every_api(primed: Any, token: str) -> None:
    emu = primed
    before = _state(emu)
    track, cdp = (emu.site_id, emu.api_key), (emu.write_key, "")
    value = token.encode()
    calls = [
        ("POST", f"{emu.track_url}/customers/cus_1/events", b'{"name": "e", "data": {"n": ' + value + b"}}", track),
        ("PUT", f"{emu.track_url}/customers/cus_1", b'{"plan": "gold",\n "score": ' + value + b"}", track),
        (
            "POST",
            f"{emu.base_url}/api/v2/entity",
            b'{"type": "person", "identifiers": {"id": "cus_1"}, "action": "event", "name": "e", "attributes": {"n": '
            + value
            + b"}}",
            track,
        ),
        (
            "POST",
            f"{emu.pipelines_url}/track",
            b'{"userId": "cus_1", "event": "e", "properties": {"n": ' + value + b"}}",
            cdp,
        ),
        (
            "POST",
            f"{emu.pipelines_url}/batch",
            b'{"batch": [{"type": "identify", "userId": "u", "traits": {"n": [1, ' + value + b"]}}]}",
            cdp,
        ),
    ]
    for (_, url, body, _), response in _sent(calls):
        assert response.status_code == 400, (url, response.text)
        assert "malformed JSON" in response.text and token[:20] in response.text, response.text
        assert _position(body, value) in response.text, response.text
    assert _state(emu) == before  # nothing logged or applied, and inspection still answers

    # The same text inside a string, and the largest double, are fine.
    fine = httpx.post(
        f"{emu.track_url}/customers/cus_1/events",
        content=b'{"name": "e", "data": {"text": "' + value + b' NaN", "big": 1.7e308}}',
        auth=track,
    )
    assert fine.status_code == 200, fine.text
    assert emu.get("/trace")["trace"]


Call = tuple[str, str, bytes, tuple[str, str]]  # method, URL, raw JSON body, Basic auth


def _sent(calls: list[Call]) -> list[tuple[Call, httpx.Response]]:
    """Each call sent as raw JSON, with its answer."""
    headers = {"Content-Type": "application/json"}
    return [(call, httpx.request(call[0], call[1], content=call[2], auth=call[3], headers=headers)) for call in calls]


@pytest.mark.parametrize("escape", [b"\\ud800", b"\\uDFFF", b"\\ud83d x"])
def test_a_lone_surrogate_is_malformed_json_on_every_api(primed: Any, escape: bytes) -> None:
    """It answered 500 (no UTF-8 text can hold it, so it cannot be logged); a pair is one character."""
    emu = primed
    before = _state(emu)
    track, cdp = (emu.site_id, emu.api_key), (emu.write_key, "")
    text = b'"a' + escape + b'"'
    calls = [
        ("POST", f"{emu.track_url}/customers/cus_1/events", b'{"name": "e", "data": {"t": ' + text + b"}}", track),
        ("PUT", f"{emu.track_url}/customers/cus_1", b'{"plan": ' + text + b"}", track),
        (
            "POST",
            f"{emu.pipelines_url}/track",
            b'{"userId": "cus_1", "event": "e", "properties": {"t": ' + text + b"}}",
            cdp,
        ),
    ]
    for (_, url, _, _), response in _sent(calls):
        assert response.status_code == 400, (url, response.text)
        assert "malformed JSON" in response.text and "lone UTF-16 surrogate" in response.text, response.text
    assert _state(emu) == before
    pair = httpx.post(
        f"{emu.track_url}/customers/cus_1/events", content=b'{"name": "e", "data": {"t": "\\ud83d\\ude00"}}', auth=track
    )
    assert pair.status_code == 200, pair.text


def test_limits_measure_utf8_json_however_the_client_escaped_it(primed: Any) -> None:
    """The official client (through `requests`) sends every non-ASCII character
    \\u-escaped: `é` travels as 6 bytes but counts as its 2 bytes of UTF-8."""
    emu = primed
    track = emu.track_client()
    track.track("cus_1", "note_left", {"note": "é" * 49_990})  # 99,991 bytes of data; about 300 KB as sent
    cio = emu.get("/profiles")["profiles"][0]["cio_id"]
    assert emu.get(f"/profiles/{cio}")["events"][0]["properties"] == {"note": "é" * 49_990}
    # The OpenAPI's customer limits, to the byte: 300 attributes, names of 150 bytes, values of 1,000.
    attributes = {f"{i:03d}{'é' * 73}x": "é" * 500 for i in range(300)}
    track.identify("cus_1", **attributes)  # about 1.04 MB as sent
    assert emu.get("/profiles")["profiles"][0]["attributes"] == attributes

    before = _state(emu)
    auth = (emu.site_id, emu.api_key)
    over = {
        "data": ("POST", "customers/cus_1/events", {"name": "e", "data": {"note": "é" * 49_995}}),
        "attributes": ("PUT", "customers/cus_1", {f"a{i}": i for i in range(301)}),
        "value": ("PUT", "customers/cus_1", {"a": "é" * 500 + "x"}),
        "name": ("PUT", "customers/cus_1", {"é" * 75 + "x": 1}),
    }
    responses = {
        k: httpx.request(m, f"{emu.track_url}/{path}", json=body, auth=auth) for k, (m, path, body) in over.items()
    }
    assert {k: r.status_code for k, r in responses.items()} == dict.fromkeys(over, 400)
    messages = {k: r.json()["meta"]["errors"][0] for k, r in responses.items()}
    assert messages["data"] == "data is 100001 bytes (as UTF-8 JSON); the limit is 100000 bytes"
    assert messages["attributes"] == "attributes: 301 attributes; the limit is 300 in one identify call"
    assert messages["value"] == "attributes.a is 1001 bytes; an attribute value is limited to 1000 bytes"
    assert "is 151 bytes; the limit is 150 bytes" in messages["name"]
    assert _state(emu) == before
