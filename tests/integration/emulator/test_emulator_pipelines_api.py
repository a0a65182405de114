"""The Data Pipelines API through the official `customerio.analytics.Client`."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.parametrize(
    "segsim_emulator", [{"clock": "manual", "start": "2026-03-02T09:00:00Z"}], indirect=True
)


def test_identify_and_track_with_message_id_dedupe(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    cdp = emu.analytics_client()
    cdp.identify("cus_1", {"email": "ana@example.com", "plan": "gold"})
    for _ in range(2):
        cdp.track("cus_1", "order_completed", {"order_id": "o_1", "value": 250}, message_id="msg-1")
    profiles = emu.get("/profiles")["profiles"]
    assert [(p["id"], p["email"], p["attributes"], p["events"]) for p in profiles] == [
        ("cus_1", "ana@example.com", {"plan": "gold"}, 1)
    ]
    assert [m["id"] for m in emu.members("vip")] == ["cus_1"]
    assert [r["journey"] for r in emu.get("/runs")["runs"]] == ["post_purchase"]


def test_anonymous_track_then_identify_with_anonymous_id_merges(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    cdp = emu.analytics_client(gzip=True)
    cdp.page(anonymous_id="a-1", name="/products/p_1", properties={"url": "https://shop/p_1"})
    cdp.track(anonymous_id="a-1", event="checkout_started", properties={"checkout_id": "ck_1", "value": 90})
    assert [p["anonymous_ids"] for p in emu.get("/profiles")["profiles"]] == [["a-1"]]
    cdp.identify("cus_1", {"email": "ana@example.com"}, anonymous_id="a-1")
    profiles = emu.get("/profiles")["profiles"]
    assert [(p["id"], p["anonymous_ids"], p["events"]) for p in profiles] == [("cus_1", ["a-1"], 2)]
    assert [r["journey"] for r in emu.get("/runs")["runs"]] == ["cart_recovery"]


def test_track_with_user_and_anonymous_ids_merges_first(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    cdp = emu.analytics_client()
    cdp.track(anonymous_id="a-2", event="product_viewed", properties={"product_id": "p", "category": "coffee"})
    cdp.track("cus_2", "added_to_cart", {"product_id": "p"}, anonymous_id="a-2")
    profiles = emu.get("/profiles")["profiles"]
    assert [(p["id"], p["anonymous_ids"], p["events"]) for p in profiles] == [("cus_2", ["a-2"], 2)]


def test_alias_merges_an_anonymous_id_and_a_previous_user(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    cdp = emu.analytics_client()
    cdp.track(anonymous_id="a-3", event="product_viewed", properties={"product_id": "p", "category": "coffee"})
    cdp.alias("a-3", "cus_3")
    cdp.identify("old_3")
    cdp.track("old_3", "added_to_cart", {"product_id": "p"})
    cdp.alias("old_3", "cus_3")
    profiles = emu.get("/profiles")["profiles"]
    assert [(p["id"], p["anonymous_ids"], p["events"]) for p in profiles] == [("cus_3", ["a-3"], 2)]


def test_queued_client_flush_and_group_and_screen(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    cdp = emu.analytics_client(sync_mode=False, upload_interval=0.05)
    cdp.identify("cus_4")
    cdp.screen("cus_4", name="Home")
    cdp.group("cus_4", "acme")
    cdp.flush()
    cdp.join()
    profile = emu.get("/profiles")["profiles"][0]
    assert (profile["id"], profile["events"]) == ("cus_4", 1)
    assert [r["call"] for r in emu.get("/trace")["trace"] if r["kind"] == "call_ignored"] == ["group"]


def test_raw_batch_gzip_bearer_and_sent_at_skew(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    body = {
        "batch": [
            {"type": "identify", "userId": "cus_5", "traits": {"email": "eve@example.com"}},
            {
                "type": "track",
                "userId": "cus_5",
                "event": "checkout_started",
                "properties": {"checkout_id": "ck_5", "value": 40},
                # The sender's clock runs a day ahead; the event happened ten minutes before sending.
                "timestamp": "2026-03-03T08:50:00.000Z",
                "messageId": "m-5",
            },
        ],
        "sentAt": "2026-03-03T09:00:00.000Z",
    }
    response = httpx.post(
        f"{emu.pipelines_url}/batch",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"Content-Encoding": "gzip", "Authorization": f"Bearer {emu.write_key}"},
    )
    assert response.status_code == 200
    cio = emu.get("/profiles")["profiles"][0]["cio_id"]
    events = emu.get(f"/profiles/{cio}")["events"]
    assert [(e["name"], e["timestamp"]) for e in events] == [("checkout_started", "2026-03-02T08:50:00Z")]


def test_a_fast_device_clock_is_corrected_for_a_queued_event(segsim_emulator: Any) -> None:
    # The sender's clock runs 2h fast and the event waited 1h in its queue: it happened at 08:00 our time.
    emu = segsim_emulator
    call = {"type": "track", "userId": "cus_9", "event": "product_viewed", "properties": {"product_id": "p"}}
    body = {"batch": [{**call, "timestamp": "2026-03-02T10:00:00Z"}], "sentAt": "2026-03-02T11:00:00Z"}
    assert httpx.post(f"{emu.pipelines_url}/batch", json=body, auth=(emu.write_key, "")).status_code == 200
    cio = emu.get("/profiles")["profiles"][0]["cio_id"]
    assert [e["timestamp"] for e in emu.get(f"/profiles/{cio}")["events"]] == ["2026-03-02T08:00:00Z"]


def test_calls_stamped_the_same_time_before_sending_keep_their_order_across_a_second(segsim_emulator: Any) -> None:
    # Both waited 0.5 s before sending; the order's instants straddle a second, the
    # checkout's do not: both land on the arrival second, the order processed second.
    emu = segsim_emulator
    calls = [
        ("checkout_started", {"checkout_id": "ck", "value": 50}, "00.200", "00.700"),
        ("order_completed", {"order_id": "o", "checkout_id": "ck", "value": 50}, "01.800", "02.300"),
    ]
    for name, properties, stamped, sent in calls:
        body = {
            "userId": "cus_1",
            "event": name,
            "properties": properties,
            "timestamp": f"2026-11-30T10:00:{stamped}Z",
            "sentAt": f"2026-11-30T10:00:{sent}Z",
        }
        assert httpx.post(f"{emu.pipelines_url}/track", json=body, auth=(emu.write_key, "")).status_code == 200
    events = emu.get("/profiles/cio_1")["events"]
    assert [(e["name"], e["timestamp"]) for e in events] == [
        ("checkout_started", "2026-03-02T09:00:00Z"),
        ("order_completed", "2026-03-02T09:00:00Z"),
    ]
    assert emu.members("cart_abandoners") == []


def test_a_timestamp_without_an_offset_is_utc(segsim_emulator: Any) -> None:
    # `datetime.utcnow().isoformat()`, as a hand-written client sends it: the Pipelines APIs read UTC
    emu = segsim_emulator
    call = {"userId": "cus_7", "event": "product_viewed", "properties": {"product_id": "p"}}
    for stamp in ("2026-03-02T08:30:00", "2026-03-02T08:31:00.250000"):
        answer = httpx.post(
            f"{emu.pipelines_url}/track",
            json={**call, "timestamp": stamp},
            auth=(emu.write_key, ""),
            headers={"X-Strict-Mode": "1"},
        )
        assert answer.status_code == 200, answer.text
    cio = emu.get("/profiles")["profiles"][0]["cio_id"]
    stamps = [e["timestamp"] for e in emu.get(f"/profiles/{cio}")["events"]]
    assert stamps == ["2026-03-02T08:30:00Z", "2026-03-02T08:31:00Z"]
    assert not [r for r in emu.get("/trace")["trace"] if r["kind"] == "call_dropped"]
    # so a timestamp that is no instant is not told to add the offset it does not need
    answer = httpx.post(
        f"{emu.pipelines_url}/track",
        json={**call, "timestamp": "yesterday"},
        auth=(emu.write_key, ""),
        headers={"X-Strict-Mode": "1"},
    )
    assert answer.status_code == 400
    assert "expected an ISO-8601 instant such as 2026-03-02T09:00:00Z, got 'yesterday'" in answer.json()["message"]


def test_manual_clock_keeps_a_virtual_timestamp_and_stamps_a_default_one_at_arrival(segsim_emulator: Any) -> None:
    # The client stamps sentAt (and a default timestamp) with the machine's clock, months from the virtual one.
    emu = segsim_emulator
    cdp = emu.analytics_client()
    stamped = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    cdp.track("cus_8", "checkout_started", {"checkout_id": "ck_8", "value": 5}, timestamp=stamped)
    emu.advance("5m")
    cdp.track("cus_8", "product_viewed", {"product_id": "p_8"})
    cio = emu.get("/profiles")["profiles"][0]["cio_id"]
    events = emu.get(f"/profiles/{cio}")["events"]
    assert [(e["name"], e["timestamp"]) for e in events] == [
        ("checkout_started", "2026-03-02T08:30:00Z"),
        ("product_viewed", "2026-03-02T09:05:00Z"),
    ]


def test_invalid_call_is_dropped_with_200_and_traced(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    body = {"batch": [{"type": "track", "userId": "cus_6"}, {"type": "identify", "userId": "cus_6"}]}
    response = httpx.post(f"{emu.pipelines_url}/batch", json=body, auth=(emu.write_key, ""))
    assert response.status_code == 200
    assert [p["id"] for p in emu.get("/profiles")["profiles"]] == ["cus_6"]
    drops = [r for r in emu.get("/trace")["trace"] if r["kind"] == "call_dropped"]
    assert [(d["api"], d["call"], d["reason"]) for d in drops] == [("pipelines", "track", "track needs an event name")]


def test_strict_mode_answers_400_applies_nothing_and_traces_the_drop(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    body = {"batch": [{"type": "identify", "userId": "cus_7"}, {"type": "track", "userId": "cus_7", "event": ""}]}
    response = httpx.post(
        f"{emu.pipelines_url}/batch", json=body, auth=(emu.write_key, ""), headers={"X-Strict-Mode": "1"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_call"
    assert "batch[1]" in response.json()["message"]
    assert emu.get("/profiles")["profiles"] == []
    assert [r["reason"] for r in emu.get("/trace")["trace"] if r["kind"] == "call_dropped"] == [
        "event must not be empty"
    ]


def test_a_group_call_carrying_an_anonymous_id_merges_it(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    cdp = emu.analytics_client()
    cdp.track(anonymous_id="a-g", event="product_viewed", properties={"product_id": "p", "category": "coffee"})
    cdp.identify("cus_g")
    cdp.group("cus_g", "acme", anonymous_id="a-g")
    profiles = emu.get("/profiles")["profiles"]
    assert [(p["id"], p["anonymous_ids"], p["events"]) for p in profiles] == [("cus_g", ["a-g"], 1)]


def test_a_page_without_a_name_is_named_by_its_url_however_long(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    url = "https://shop.example/products/p_1?utm_source=newsletter&utm_medium=email&utm_campaign=" + "x" * 60
    body = {"userId": "cus_p", "properties": {"url": url}}
    response = httpx.post(
        f"{emu.pipelines_url}/page", json=body, auth=(emu.write_key, ""), headers={"X-Strict-Mode": "1"}
    )
    assert response.status_code == 200, response.text
    (profile,) = emu.get("/profiles")["profiles"]
    events = emu.get(f"/profiles/{profile['cio_id']}")["events"]
    assert [e["name"] for e in events] == [url[:100]]


def test_semantic_events_act_on_the_person(segsim_emulator: Any) -> None:
    """The Pipelines OpenAPI's semantic events: devices added and deleted, people
    suppressed, unsuppressed and deleted, rather than stored as events."""
    emu = segsim_emulator
    cdp = emu.analytics_client()
    cdp.identify("cus_s", {"email": "s@example.com"})
    device = {"device": {"token": "tok-1", "type": "ios"}}
    cdp.track("cus_s", "Device Created or Updated", context=device)
    (profile,) = emu.get("/profiles")["profiles"]
    detail = emu.get(f"/profiles/{profile['cio_id']}")
    assert [d["id"] for d in detail["devices"]] == ["tok-1"] and detail["events"] == []
    cdp.track("cus_s", "Device Deleted", context=device)
    assert emu.get(f"/profiles/{profile['cio_id']}")["devices"] == []
    cdp.track("cus_s", "User Suppressed")
    cdp.track("cus_s", "User Unsuppressed")
    cdp.identify("cus_s", {"plan": "gold"})  # not dropped: the suppression was lifted
    assert emu.get("/profiles")["profiles"][0]["attributes"] == {"plan": "gold"}
    cdp.track("cus_s", "User Deleted")
    assert emu.get("/profiles")["profiles"] == []


def test_a_page_category_sent_beside_its_name_is_kept_in_its_properties(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    emu.analytics_client().page("cus_c", category="Docs", name="Getting started", properties={"url": "https://x/doc"})
    (profile,) = emu.get("/profiles")["profiles"]
    (event,) = emu.get(f"/profiles/{profile['cio_id']}")["events"]
    assert (event["name"], event["properties"]) == ("Getting started", {"url": "https://x/doc", "category": "Docs"})


def test_on_the_manual_clock_a_timestamp_a_fraction_of_a_second_after_its_sent_at_is_kept(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    call = {
        "userId": "cus_f",
        "event": "e",
        "timestamp": "2026-03-02T07:00:01.100Z",
        "sentAt": "2026-03-02T07:00:00.900Z",
    }
    assert httpx.post(f"{emu.pipelines_url}/track", json=call, auth=(emu.write_key, "")).status_code == 200
    cio = emu.get("/profiles")["profiles"][0]["cio_id"]
    assert [e["timestamp"] for e in emu.get(f"/profiles/{cio}")["events"]] == ["2026-03-02T07:00:01Z"]


def test_a_batch_item_s_own_sent_at_corrects_its_timestamp_as_a_single_call_s_does(segsim_emulator: Any) -> None:
    # The sender's clock is the machine's, months from the virtual one: each timestamp keeps its distance to its sentAt.
    emu = segsim_emulator
    now = datetime.now(UTC)
    stamp, sent = ((now - timedelta(seconds=s)).isoformat().replace("+00:00", "Z") for s in (5, 0))
    single = {"userId": "cus_s", "event": "e", "timestamp": stamp, "sentAt": sent}
    item = {"type": "track", "userId": "cus_b", "event": "e", "timestamp": stamp, "sentAt": sent}
    assert httpx.post(f"{emu.pipelines_url}/track", json=single, auth=(emu.write_key, "")).status_code == 200
    assert httpx.post(f"{emu.pipelines_url}/batch", json={"batch": [item]}, auth=(emu.write_key, "")).status_code == 200
    stamps = {}
    for p in emu.get("/profiles")["profiles"]:
        stamps[p["id"]] = [e["timestamp"] for e in emu.get(f"/profiles/{p['cio_id']}")["events"]]
    assert stamps == {"cus_s": ["2026-03-02T08:59:55Z"], "cus_b": ["2026-03-02T08:59:55Z"]}


def test_a_strict_batch_s_errors_say_what_each_item_lacks(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    strict = {"X-Strict-Mode": "1"}
    body = {"batch": [{"userId": "cus_t", "event": "e"}, 1, {"type": "tracks", "userId": "cus_t"}, {"type": "batch"}]}
    answer = httpx.post(f"{emu.pipelines_url}/batch", json=body, auth=(emu.write_key, ""), headers=strict)
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert "batch[0]: a call needs a type, one of identify, track, " in message
    assert "batch[1]: a call is a JSON object, got 1" in message
    assert "batch[2]: type must be one of identify, track, " in message and 'got "tracks"' in message
    assert 'batch[3]: a batch is {"batch": [call, ...]}' in message  # an item, not the body
    answer = httpx.post(f"{emu.pipelines_url}/batch", json={"batch": {}}, auth=(emu.write_key, ""), headers=strict)
    assert answer.json()["message"] == 'batch: a batch is {"batch": [call, ...]}'


def test_a_batch_item_s_unreadable_sent_at_falls_back_to_the_batch_s(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    now = datetime.now(UTC)
    stamp, sent = ((now - timedelta(seconds=s)).isoformat().replace("+00:00", "Z") for s in (5, 0))
    item = {"type": "track", "userId": "cus_u", "event": "e", "timestamp": stamp, "sentAt": "not-a-time"}
    body = {"batch": [item], "sentAt": sent}
    assert httpx.post(f"{emu.pipelines_url}/batch", json=body, auth=(emu.write_key, "")).status_code == 200
    cio = emu.get("/profiles")["profiles"][0]["cio_id"]
    assert [e["timestamp"] for e in emu.get(f"/profiles/{cio}")["events"]] == ["2026-03-02T08:59:55Z"]


def test_a_blank_user_id_is_dropped_as_it_identifies_nobody(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    call = {"userId": " ", "event": "product_viewed"}
    strict = httpx.post(
        f"{emu.pipelines_url}/track", json=call, auth=(emu.write_key, ""), headers={"X-Strict-Mode": "1"}
    )
    assert strict.status_code == 400 and "userId must not be empty or blank" in strict.json()["message"]
    assert emu.get("/profiles")["profiles"] == []


def test_a_blank_message_id_or_traits_email_is_left_out_as_an_empty_one_is(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    strict = {"X-Strict-Mode": "1"}
    track = {"userId": "cus_m", "event": "product_viewed", "messageId": " "}
    identify = {"userId": "cus_m", "traits": {"email": " ", "plan": "gold"}}
    for route, call in (("track", track), ("identify", identify)):
        answer = httpx.post(f"{emu.pipelines_url}/{route}", json=call, auth=(emu.write_key, ""), headers=strict)
        assert answer.status_code == 200, answer.text
    (person,) = emu.get("/profiles")["profiles"]
    assert (person["id"], person["email"], person["attributes"]["plan"], person["events"]) == ("cus_m", None, "gold", 1)


def test_the_browser_sdks_short_routes_take_the_write_key_from_the_body(segsim_emulator: Any) -> None:
    """`@customerio/cdp-analytics-browser` posts `text/plain` to `/v1/t`, `/v1/i`, ...
    and `/v1/b` (batching), the write key in the body, from a page on another
    origin: the emulator takes it as the long routes, and answers so that the
    browser hands the answer to the page."""
    emu = segsim_emulator
    page = {"Content-Type": "text/plain", "Origin": "http://localhost:3000"}
    identify = {"type": "identify", "userId": "cus_b", "anonymousId": "anon-b", "writeKey": emu.write_key}
    track = {
        "type": "track",
        "anonymousId": "anon-b",
        "event": "checkout_started",
        "properties": {"checkout_id": "ck_b", "value": 30},
        "messageId": "ajs-next-1",
        "writeKey": emu.write_key,
    }
    answer = httpx.post(f"{emu.pipelines_url}/t", content=json.dumps(track), headers=page, timeout=10)
    assert (answer.status_code, answer.headers.get("access-control-allow-origin")) == (200, "*")
    batch = {"batch": [{k: v for k, v in identify.items() if k != "writeKey"}], "writeKey": emu.write_key}
    answer = httpx.post(f"{emu.pipelines_url}/b", content=json.dumps(batch), headers=page, timeout=10)
    assert answer.status_code == 200
    (profile,) = emu.get("/profiles")["profiles"]
    assert (profile["id"], profile["anonymous_ids"], profile["events"]) == ("cus_b", ["anon-b"], 1)
    # the same call again is a retry (messageId), on the long route too
    again = httpx.post(f"{emu.pipelines_url}/track", json=track, auth=(emu.write_key, ""), timeout=10)
    assert again.status_code == 200
    assert emu.get("/profiles")["profiles"][0]["events"] == 1
    for wrong in ({**track, "writeKey": "not-the-key"}, {k: v for k, v in track.items() if k != "writeKey"}):
        refused = httpx.post(f"{emu.pipelines_url}/t", content=json.dumps(wrong), headers=page, timeout=10)
        assert refused.status_code == 401
        assert refused.headers.get("access-control-allow-origin") == "*"  # the page can read why
        assert "writeKey in the JSON body" in refused.json()["message"]
    # a body too large to read for its key says so, where a header would have had a 413
    big = {**track, "properties": {"checkout_id": "x" * 40_000}}
    refused = httpx.post(f"{emu.pipelines_url}/t", content=json.dumps(big), headers=page, timeout=10)
    assert refused.status_code == 401
    assert "the body could not be read for its writeKey: 413" in refused.json()["message"]
    # a preflight (a page sending JSON with its own headers) is answered
    preflight = httpx.options(
        f"{emu.pipelines_url}/i",
        headers={**page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        timeout=10,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    # the Track API takes no write key from a body, and answers no other origin
    v1 = httpx.post(f"{emu.base_url}/api/v1/events", json={"name": "x", "anonymous_id": "a", **track}, timeout=10)
    assert v1.status_code == 401
    assert "access-control-allow-origin" not in v1.headers
