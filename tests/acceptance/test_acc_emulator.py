"""SPEC section 16: the local Customer.io emulator, driven as an outside team would.

Routes, auth forms, limits and status codes exactly as the SPEC writes them,
through the official `customerio.track.CustomerIO` and
`customerio.analytics.Client` and through raw httpx; the inspection API's
JSON shapes; the clocks; the call log and `segsim replay`; the pytest fixture.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from customerio.analytics import Client as AnalyticsClient
from customerio.track import CustomerIO
from freezegun import freeze_time

from simulator.emulator.testing import EmulatorHandle, running_emulator

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / "fixtures/workspaces/dtc_store.yaml"
START = "2026-03-02T09:00:00Z"
START_UNIX = int(datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp())
SITE, KEY, WRITE = "site-acc", "key-acc", "pk_acc_write"
PROFILE_KEYS = {"cio_id", "id", "email", "anonymous_ids", "attributes", "events"}


@pytest.fixture(scope="module")
def served() -> Iterator[EmulatorHandle]:
    with running_emulator(WORKSPACE, site_id=SITE, api_key=KEY, write_key=WRITE, clock="manual", start=START) as emu:
        yield emu


@pytest.fixture
def emu(served: EmulatorHandle) -> EmulatorHandle:
    served.reset()
    return served


def track_api(emu: EmulatorHandle) -> httpx.Client:
    return httpx.Client(base_url=emu.base_url, auth=(SITE, KEY), timeout=10.0)


def pipelines(emu: EmulatorHandle) -> httpx.Client:
    return httpx.Client(base_url=emu.base_url, auth=(WRITE, ""), timeout=10.0)


def official_track(emu: EmulatorHandle) -> CustomerIO:
    client = CustomerIO(SITE, KEY, host="127.0.0.1", port=emu.port, retries=0)
    client.base_url = f"{emu.base_url}/api/v1"
    return client


def official_analytics(emu: EmulatorHandle) -> AnalyticsClient:
    return AnalyticsClient(WRITE, host=emu.base_url, sync_mode=True, max_retries=0)


def profiles(emu: EmulatorHandle) -> list[dict[str, Any]]:
    return list(emu.get("/profiles")["profiles"])


def only_profile(emu: EmulatorHandle) -> dict[str, Any]:
    found = profiles(emu)
    assert len(found) == 1, found
    return found[0]


def trace_kinds(emu: EmulatorHandle) -> list[str]:
    return [r["kind"] for r in emu.get("/trace")["trace"]]


def no_retry_after(response: httpx.Response) -> httpx.Response:
    assert "retry-after" not in response.headers
    return response


# --- Track API v1 -----------------------------------------------------------------------------


def test_track_api_identify_and_event_through_the_official_client(emu: EmulatorHandle) -> None:
    client = official_track(emu)
    client.identify("cus_1", email="ana@example.com", plan="gold")
    client.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 120})
    ana = only_profile(emu)
    assert PROFILE_KEYS <= set(ana)
    assert (ana["id"], ana["email"], ana["attributes"], ana["events"]) == (
        "cus_1",
        "ana@example.com",
        {"plan": "gold"},
        1,
    )
    assert ana["cio_id"].startswith("cio_")
    assert [m["id"] for m in emu.members("cart_abandoners")] == ["cus_1"]


def test_track_api_answers_200_with_an_empty_object(emu: EmulatorHandle) -> None:
    with track_api(emu) as http:
        for response in (
            http.put("/api/v1/customers/cus_1", json={"email": "ana@example.com"}),
            http.post("/api/v1/customers/cus_1/events", json={"name": "product_viewed", "data": {"product_id": "p"}}),
            http.post("/api/v1/events", json={"name": "product_viewed", "anonymous_id": "a-1"}),
            http.post("/api/v2/entity", json={"type": "person", "identifiers": {"id": "cus_2"}, "action": "identify"}),
        ):
            assert no_retry_after(response).status_code == 200, response.text
            assert response.json() == {}


def test_track_api_page_type_and_anonymous_events(emu: EmulatorHandle) -> None:
    client = official_track(emu)
    client.identify("cus_1")
    client.pageview("cus_1", "/checkout")
    client.track_anonymous("anon-1", "product_viewed", {"product_id": "p_1", "category": "coffee"})
    by_id = {p["id"]: p for p in profiles(emu)}
    assert by_id["cus_1"]["events"] == 1
    assert by_id[None]["anonymous_ids"] == ["anon-1"]
    assert by_id[None]["events"] == 1


def test_track_api_merge_customers_delete_and_devices(emu: EmulatorHandle) -> None:
    client = official_track(emu)
    client.identify("cus_1")
    client.identify("cus_2", email="ana@example.com")
    client.track("cus_2", "product_viewed", {"product_id": "p_1", "category": "coffee"})
    client.merge_customers("id", "cus_1", "email", "ana@example.com")
    merged = only_profile(emu)
    assert (merged["id"], merged["email"], merged["events"]) == ("cus_1", "ana@example.com", 1)

    client.add_device("cus_1", "device-token-1", "ios")
    client.delete_device("cus_1", "device-token-1")
    client.delete("cus_1")
    assert profiles(emu) == []


def test_track_api_suppress_and_unsuppress_answer_200(emu: EmulatorHandle) -> None:
    client = official_track(emu)
    client.identify("cus_1")
    client.suppress("cus_1")
    client.unsuppress("cus_1")
    with track_api(emu) as http:
        assert http.post("/api/v1/customers/cus_9/suppress").status_code == 200
        assert http.post("/api/v1/customers/cus_9/unsuppress").status_code == 200


def test_track_api_path_ids_are_percent_decoded_segment_by_segment(emu: EmulatorHandle) -> None:
    client = official_track(emu)
    client.identify("team a/b")  # the client sends team%20a%2Fb
    assert only_profile(emu)["id"] == "team a/b"


def test_track_api_understands_cio_ids(emu: EmulatorHandle) -> None:
    client = official_track(emu)
    client.identify("cus_1")
    cio_id = only_profile(emu)["cio_id"]
    client.track(cio_id, "product_viewed", {"product_id": "p_1", "category": "coffee"})
    ana = only_profile(emu)
    assert (ana["id"], ana["events"]) == ("cus_1", 1)


def test_track_api_timestamps_are_unix_seconds_and_top_level_id_dedupes(emu: EmulatorHandle) -> None:
    client = official_track(emu)
    client.identify("cus_1")
    stamp = START_UNIX - 3600
    for _ in range(2):
        client.track(
            "cus_1",
            "order_completed",
            {"order_id": "o_1", "value": 80},
            id="01J0000000000000000000000A",
            timestamp=stamp,
        )
    ana = only_profile(emu)
    assert ana["events"] == 1
    detail = emu.get(f"/profiles/{ana['cio_id']}")
    assert PROFILE_KEYS <= set(detail)
    listed = [value for value in detail.values() if isinstance(value, list) and value and isinstance(value[0], dict)]
    assert len(listed) == 1, detail  # the event list
    assert "2026-03-02T08:00:00Z" in json.dumps(listed[0])


def test_track_api_v2_entity_and_batch(emu: EmulatorHandle) -> None:
    event: dict[str, Any] = {
        "type": "person",
        "identifiers": {"id": "cus_1"},
        "action": "event",
        "name": "added_to_cart",
    }
    event |= {"attributes": {"product_id": "p_1", "value": 12}, "timestamp": START_UNIX}
    identify = {"type": "person", "identifiers": {"id": "cus_1"}, "action": "identify", "attributes": {"plan": "gold"}}
    with track_api(emu) as http:
        assert http.post("/api/v2/entity", json=identify).status_code == 200
        assert (
            http.post("/api/v2/batch", json={"batch": [event, dict(event, identifiers={"id": "cus_2"})]}).status_code
            == 200
        )
    by_id = {p["id"]: p for p in profiles(emu)}
    assert by_id["cus_1"]["attributes"] == {"plan": "gold"}
    assert (by_id["cus_1"]["events"], by_id["cus_2"]["events"]) == (1, 1)


@pytest.mark.parametrize("auth", [None, (SITE, "wrong"), ("other-site", KEY)])
def test_track_api_wrong_or_missing_auth_is_401(emu: EmulatorHandle, auth: tuple[str, str] | None) -> None:
    with httpx.Client(base_url=emu.base_url, auth=auth, timeout=10.0) as http:
        response = no_retry_after(http.put("/api/v1/customers/cus_1", json={}))
    assert response.status_code == 401
    assert profiles(emu) == []


def test_track_api_malformed_json_is_400_with_the_parse_error(emu: EmulatorHandle) -> None:
    with track_api(emu) as http:
        response = http.put(
            "/api/v1/customers/cus_1", content=b'{"email": ', headers={"content-type": "application/json"}
        )
    assert no_retry_after(response).status_code == 400
    assert "line 1" in response.text or "char" in response.text or "column" in response.text, response.text
    assert profiles(emu) == []


def test_track_api_limits(emu: EmulatorHandle) -> None:
    with track_api(emu) as http:
        long_id = http.put(f"/api/v1/customers/{'x' * 151}", json={})
        long_name = http.post("/api/v1/customers/cus_1/events", json={"name": "e" * 101})
        big_data = http.post("/api/v1/customers/cus_1/events", json={"name": "e", "data": {"blob": "x" * 100_001}})
        at_limit = http.put(f"/api/v1/customers/{'y' * 150}", json={})
        big_entity = http.post(
            "/api/v2/entity",
            json={
                "type": "person",
                "identifiers": {"id": "c"},
                "action": "identify",
                "attributes": {"a": "x" * 33_000},
            },
        )
        big_batch = http.post(
            "/api/v2/batch",
            json={
                "batch": [
                    {
                        "type": "person",
                        "identifiers": {"id": f"c{i}"},
                        "action": "identify",
                        "attributes": {"a": "x" * 20_000},
                    }
                    for i in range(30)
                ]
            },
        )
    for refused in (long_id, long_name, big_data):
        assert 400 <= refused.status_code < 500, refused.text
    assert at_limit.status_code == 200
    assert (big_entity.status_code, big_batch.status_code) == (413, 413)
    assert [p["id"] for p in profiles(emu)] == ["y" * 150]


def test_unknown_route_is_404_listing_the_valid_ones(emu: EmulatorHandle) -> None:
    with track_api(emu) as http:
        response = no_retry_after(http.post("/api/v1/customer/cus_1/events", json={"name": "x"}))
    assert response.status_code == 404
    for route in ("/api/v1/customers", "/api/v2/batch", "/v1/track", "/v1/batch"):
        assert route in response.text, response.text


# --- Data Pipelines API -----------------------------------------------------------------------


def test_pipelines_calls_through_the_official_client(emu: EmulatorHandle) -> None:
    client = official_analytics(emu)
    client.track(
        anonymous_id="anon-ana-phone", event="checkout_started", properties={"checkout_id": "ck_1", "value": 120}
    )
    client.identify(user_id="cus_1", anonymous_id="anon-ana-phone", traits={"email": "ana@example.com", "plan": "gold"})
    client.page(user_id="cus_1", name="Checkout")
    client.screen(user_id="cus_1", name="Cart")
    client.group(user_id="cus_1", group_id="acme")
    client.flush()
    ana = only_profile(emu)
    assert (ana["id"], ana["email"], ana["anonymous_ids"]) == ("cus_1", "ana@example.com", ["anon-ana-phone"])
    assert ana["events"] == 3
    assert [r["journey"] for r in emu.get("/runs")["runs"]] == ["cart_recovery"]


def test_pipelines_alias_merges(emu: EmulatorHandle) -> None:
    client = official_analytics(emu)
    client.track(anonymous_id="anon-1", event="product_viewed", properties={"product_id": "p", "category": "tea"})
    client.alias(previous_id="anon-1", user_id="cus_1")
    client.flush()
    ana = only_profile(emu)
    assert (ana["id"], ana["events"]) == ("cus_1", 1)


def test_pipelines_routes_answer_exactly_200(emu: EmulatorHandle) -> None:
    calls = {
        "identify": {"userId": "cus_1", "traits": {"email": "ana@example.com"}},
        "track": {"userId": "cus_1", "event": "product_viewed", "properties": {"product_id": "p"}},
        "page": {"userId": "cus_1", "name": "Home"},
        "screen": {"userId": "cus_1", "name": "Home"},
        "alias": {"userId": "cus_1", "previousId": "anon-9"},
        "group": {"userId": "cus_1", "groupId": "acme"},
        "batch": {"batch": [{"type": "track", "userId": "cus_1", "event": "product_viewed"}]},
    }
    with pipelines(emu) as http:
        for route, body in calls.items():
            response = no_retry_after(http.post(f"/v1/{route}", json=body))
            assert response.status_code == 200, (route, response.text)
    assert only_profile(emu)["events"] == 4


def test_pipelines_bearer_for_pk_and_sk_keys(emu: EmulatorHandle) -> None:
    body = {"userId": "cus_1", "traits": {"email": "ana@example.com"}}
    with httpx.Client(base_url=emu.base_url, timeout=10.0) as http:
        good = http.post("/v1/identify", json=body, headers={"Authorization": f"Bearer {WRITE}"})
        bad = http.post("/v1/identify", json=body, headers={"Authorization": "Bearer pk_someone_else"})
    assert good.status_code == 200
    assert bad.status_code == 401
    assert only_profile(emu)["id"] == "cus_1"


def test_pipelines_auth_errors_are_401_json_code_and_message(emu: EmulatorHandle) -> None:
    with httpx.Client(base_url=emu.base_url, timeout=10.0) as http:
        missing = http.post("/v1/track", json={"userId": "u", "event": "e"})
        wrong = http.post("/v1/track", json={"userId": "u", "event": "e"}, auth=("nope", ""))
    for response in (missing, wrong):
        assert no_retry_after(response).status_code == 401
        assert set(response.json()) == {"code", "message"}
    assert profiles(emu) == []


def test_pipelines_gzip_iso_timestamps_and_message_id_dedupe(emu: EmulatorHandle) -> None:
    call = {
        "type": "track",
        "userId": "cus_1",
        "event": "order_completed",
        "properties": {"order_id": "o_1", "value": 80},
        "timestamp": "2026-03-02T08:30:00Z",
        "messageId": "msg-1",
    }
    body = gzip.compress(json.dumps({"batch": [call, call]}).encode())
    with pipelines(emu) as http:
        response = http.post(
            "/v1/batch", content=body, headers={"content-encoding": "gzip", "content-type": "application/json"}
        )
        again = http.post("/v1/track", json=call)
    assert (response.status_code, again.status_code) == (200, 200)
    ana = only_profile(emu)
    assert ana["events"] == 1
    assert "2026-03-02T08:30:00Z" in json.dumps(emu.get(f"/profiles/{ana['cio_id']}"))


def test_pipelines_malformed_json_is_400_with_the_parse_error(emu: EmulatorHandle) -> None:
    with pipelines(emu) as http:
        response = http.post("/v1/track", content=b"{not json", headers={"content-type": "application/json"})
    assert no_retry_after(response).status_code == 400
    error = response.json()
    assert set(error) == {"code", "message"}
    assert "line 1" in error["message"] or "column" in error["message"] or "char" in error["message"], error


def test_pipelines_invalid_call_is_dropped_with_200_or_400_under_strict_mode(emu: EmulatorHandle) -> None:
    invalid = {"userId": "cus_1", "properties": {"value": 1}}  # a track without an event name
    with pipelines(emu) as http:
        lenient = http.post("/v1/track", json=invalid)
        assert lenient.status_code == 200
        dropped = trace_kinds(emu).count("call_dropped")
        assert dropped == 1
        strict = http.post("/v1/track", json=invalid, headers={"X-Strict-Mode": "1"})
    assert no_retry_after(strict).status_code == 400
    assert set(strict.json()) == {"code", "message"}
    assert trace_kinds(emu).count("call_dropped") == 2
    assert all(p["events"] == 0 for p in profiles(emu))


def test_pipelines_limits(emu: EmulatorHandle) -> None:
    with pipelines(emu) as http:
        long_name = http.post("/v1/track", json={"userId": "cus_1", "event": "e" * 101}, headers={"X-Strict-Mode": "1"})
        long_id = http.post("/v1/track", json={"userId": "u" * 151, "event": "e"}, headers={"X-Strict-Mode": "1"})
        big_call = http.post("/v1/track", json={"userId": "cus_1", "event": "e", "properties": {"a": "x" * 33_000}})
        batch = [{"type": "track", "userId": "cus_1", "event": "e", "properties": {"a": "x" * 20_000}}] * 30
        big_batch = http.post("/v1/batch", json={"batch": batch})
        fits = http.post("/v1/batch", json={"batch": batch[:20]})
    assert (long_name.status_code, long_id.status_code) == (400, 400)
    assert (big_call.status_code, big_batch.status_code, fits.status_code) == (413, 413, 200)
    for response in (long_name, long_id, big_call, big_batch):
        no_retry_after(response)
        assert set(response.json()) == {"code", "message"}
    assert only_profile(emu)["events"] == 20  # only the batch that fits was applied


# --- inspection API ---------------------------------------------------------------------------


def test_inspection_shapes_and_the_manual_clock(emu: EmulatorHandle) -> None:
    now = emu.get("/now")
    assert set(now) == {"now"}
    client = official_track(emu)
    client.identify("cus_1", email="ana@example.com")
    client.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 120})

    segment = emu.get("/segments/cart_abandoners")
    assert set(segment) == {"segment", "at", "members"}
    assert segment["segment"] == "cart_abandoners"
    (member,) = segment["members"]
    assert {"cio_id", "id", "email", "anonymous_ids", "attributes"} <= set(member)
    assert "events" not in member
    earlier = emu.get("/segments/cart_abandoners", at="2026-01-01T00:00:00Z")
    assert earlier["members"] == []

    before = datetime.fromisoformat(emu.get("/now")["now"])
    response = emu.inspect.post("/advance", params={"by": "2h"})
    assert response.status_code == 200
    after = datetime.fromisoformat(emu.get("/now")["now"])
    assert after - before == timedelta(hours=2)

    runs = emu.get("/runs")["runs"]
    assert len(runs) == 1
    assert set(runs[0]) >= {"journey", "cio_id", "entered_at", "ended_at", "reason", "sent"}
    assert (runs[0]["journey"], runs[0]["sent"]) == ("cart_recovery", ["recovery_email_1"])
    messages = emu.get("/messages")["messages"]
    assert [set(m) for m in messages] == [{"journey", "message", "cio_id", "at"}]
    assert messages[0]["message"] == "recovery_email_1"
    assert emu.members("cart_abandoners") == []  # the 2h window closed
    past = emu.get("/segments/cart_abandoners", at=(before + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert [m["id"] for m in past["members"]] == ["cus_1"]  # a past instant is still answered

    assert emu.inspect.post("/reset").status_code == 200
    assert profiles(emu) == [] and emu.get("/runs")["runs"] == [] and emu.get("/messages")["messages"] == []


def test_inspection_needs_no_auth_and_calls_without_timestamp_get_the_arrival(emu: EmulatorHandle) -> None:
    official_track(emu).identify("cus_1")
    official_track(emu).track("cus_1", "product_viewed", {"product_id": "p", "category": "tea"})
    now = emu.get("/now")["now"]
    with httpx.Client(base_url=emu.base_url, timeout=10.0) as anonymous:
        detail = anonymous.get(f"/_segsim/profiles/{only_profile(emu)['cio_id']}")
    assert detail.status_code == 200
    assert now in json.dumps(detail.json())


# --- clocks -----------------------------------------------------------------------------------


def test_wall_clock_by_default_and_frozen_by_freezegun() -> None:
    with running_emulator(WORKSPACE) as emu:
        wall = datetime.fromisoformat(emu.get("/now")["now"])
        assert abs(wall - datetime.now(UTC)) < timedelta(minutes=1)
        with freeze_time("2027-05-01T12:00:00Z"):
            assert emu.get("/now")["now"] == "2027-05-01T12:00:00Z"
            emu.track_client().identify("cus_1")
            emu.track_client().track("cus_1", "product_viewed", {"product_id": "p", "category": "tea"})
            cio_id = emu.get("/profiles")["profiles"][0]["cio_id"]
            assert "2027-05-01T12:00:00Z" in json.dumps(emu.get(f"/profiles/{cio_id}"))


def test_the_pytest_fixture_hands_back_urls_and_an_inspection_client(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    assert emu.track_url.startswith("http://127.0.0.1:") and emu.track_url.endswith("/api/v1")
    assert emu.pipelines_url.endswith("/v1")
    emu.analytics_client().identify(user_id="cus_1", traits={"email": "ana@example.com"})
    assert emu.inspect.get("/profiles").json()["profiles"][0]["id"] == "cus_1"


# --- serve, the call log and replay -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "serve exited")
        try:
            httpx.get(f"{base}/_segsim/now", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("serve did not start")


def test_serve_manual_clock_log_and_replay_give_the_same_trace(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "calls.jsonl"
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "simulator.cli", "serve", "--workspace", str(WORKSPACE), "--port", str(port)]
    command += ["--site-id", SITE, "--api-key", KEY, "--write-key", WRITE, "--log", str(log)]
    command += ["--clock", "manual", "--start", START]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=dict(os.environ)
    )
    try:
        _wait_up(base, process)
        assert httpx.get(f"{base}/_segsim/now").json() == {"now": START}
        with httpx.Client(base_url=base, auth=(SITE, KEY)) as http:
            assert http.put("/api/v1/customers/cus_1", json={"email": "ana@example.com"}).status_code == 200
            sent = http.post(
                "/api/v1/customers/cus_1/events",
                json={"name": "checkout_started", "data": {"checkout_id": "ck_7", "value": 90}},
            )
            assert sent.status_code == 200
            assert "ck_7" in log.read_text()  # logged (and flushed) before the answer
        with httpx.Client(base_url=base, auth=(WRITE, "")) as http:
            assert (
                http.post(
                    "/v1/track", json={"userId": "cus_1", "event": "product_viewed", "properties": {"product_id": "p"}}
                ).status_code
                == 200
            )
        assert httpx.post(f"{base}/_segsim/advance", params={"by": "2h"}).status_code == 200
        live = httpx.get(f"{base}/_segsim/trace").json()["trace"]
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr is not None:
            process.stderr.close()
    assert any(r["kind"] == "message_sent" or r.get("message") == "recovery_email_1" for r in live)
    replayed = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "replay", str(log), "--workspace", str(WORKSPACE), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout) == live


def test_limits_count_bytes_not_characters(emu: EmulatorHandle) -> None:
    with pipelines(emu) as http:
        wide_id = http.post("/v1/identify", json={"userId": "é" * 76}, headers={"X-Strict-Mode": "1"})  # 152 bytes
        wide_name = http.post("/v1/track", json={"userId": "cus_1", "event": "é" * 51}, headers={"X-Strict-Mode": "1"})
        fits = http.post("/v1/track", json={"userId": "cus_1", "event": "é" * 50}, headers={"X-Strict-Mode": "1"})
    assert (wide_id.status_code, wide_name.status_code, fits.status_code) == (400, 400, 200)
    assert [(p["id"], p["events"]) for p in profiles(emu)] == [("cus_1", 1)]
