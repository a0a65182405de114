"""The Track API through the official `customerio.track.CustomerIO` client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.parametrize(
    "segsim_emulator", [{"clock": "manual", "start": "2026-03-02T09:00:00Z"}], indirect=True
)


def _profile(emu: Any, **match: Any) -> dict[str, Any]:
    found = [p for p in emu.get("/profiles")["profiles"] if all(p.get(k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def test_identify_and_track_reach_segments_runs_and_messages(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1", email="ana@example.com", first_name="Ana")
    track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 120})

    ana = _profile(emu, id="cus_1")
    assert ana["email"] == "ana@example.com"
    assert ana["attributes"] == {"first_name": "Ana"}
    assert ana["events"] == 1
    assert [m["id"] for m in emu.members("cart_abandoners")] == ["cus_1"]

    emu.advance("1h")
    runs = emu.get("/runs")["runs"]
    assert [(r["journey"], r["cio_id"], r["sent"]) for r in runs] == [
        ("cart_recovery", ana["cio_id"], ["recovery_email_1"])
    ]
    messages = emu.get("/messages")["messages"]
    assert messages == [
        {
            "journey": "cart_recovery",
            "message": "recovery_email_1",
            "cio_id": ana["cio_id"],
            "at": "2026-03-02T10:00:00Z",
        }
    ]


def test_dedupe_id_absorbs_the_retried_copy(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    for _ in range(2):
        track.track("cus_1", "order_completed", {"order_id": "o_1", "value": 80}, id="01HZY0000000000000000000AB")
    assert _profile(emu, id="cus_1")["events"] == 1
    kinds = [r["kind"] for r in emu.get("/trace")["trace"]]
    assert kinds.count("duplicate_ignored") == 1
    assert [r["journey"] for r in emu.get("/runs")["runs"]] == ["post_purchase"]


def test_anonymous_events_merge_on_identify_with_anonymous_id(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.track_anonymous("anon-ana-phone", "checkout_started", {"checkout_id": "ck_9", "value": 60})
    assert _profile(emu, anonymous_ids=["anon-ana-phone"])["id"] is None
    assert emu.get("/runs")["runs"] == []  # anonymous profiles never enter journeys

    track.identify("cus_1", email="ana@example.com", anonymous_id="anon-ana-phone")
    profiles = emu.get("/profiles")["profiles"]
    assert len(profiles) == 1
    assert profiles[0]["anonymous_ids"] == ["anon-ana-phone"]
    assert profiles[0]["events"] == 1
    assert [r["journey"] for r in emu.get("/runs")["runs"]] == ["cart_recovery"]  # the merge offers the event


def test_page_views_and_explicit_timestamps(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1")
    track.pageview("cus_1", "/checkout", referrer="/cart")
    track.backfill("cus_1", "product_viewed", 1772438400, product_id="p_1", category="coffee")
    detail = emu.get(f"/profiles/{_profile(emu, id='cus_1')['cio_id']}")
    assert [(e["name"], e["timestamp"]) for e in detail["events"]] == [
        ("product_viewed", "2026-03-02T08:00:00Z"),
        ("/checkout", "2026-03-02T09:00:00Z"),
    ]
    assert detail["events"][1]["properties"] == {"referrer": "/cart"}


def test_merge_customers_moves_events_to_the_primary(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1")
    track.identify("ben@example.com")
    track.track("ben@example.com", "product_viewed", {"product_id": "p_2", "category": "apparel"})
    track.merge_customers("id", "cus_1", "email", "ben@example.com")
    profiles = emu.get("/profiles")["profiles"]
    assert [(p["id"], p["email"], p["events"]) for p in profiles] == [("cus_1", "ben@example.com", 1)]


def test_cio_ids_are_understood(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1")
    cio = _profile(emu, id="cus_1")["cio_id"]
    track.identify(cio, email="new@example.com", plan="gold")
    track.track(cio, "product_viewed", {"product_id": "p_1", "category": "coffee"})
    ana = _profile(emu, cio_id=cio)
    assert (ana["email"], ana["attributes"]["plan"], ana["events"]) == ("new@example.com", "gold", 1)


def test_percent_encoded_ids_are_one_path_segment(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    emu.track_client().identify("team/ana 1", role="buyer")
    assert _profile(emu, id="team/ana 1")["attributes"] == {"role": "buyer"}


def test_devices_are_recorded_on_the_profile(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1")
    track.add_device("cus_1", "tok_1", "ios", app_version="2.1")
    track.add_device("cus_1", "tok_2", "android")
    track.delete_device("cus_1", "tok_1")
    summary = _profile(emu, id="cus_1")
    assert set(summary) == {"cio_id", "id", "email", "anonymous_ids", "attributes", "events"}  # SPEC 16's keys
    devices = emu.get(f"/profiles/{summary['cio_id']}")["devices"]
    assert [(d["id"], d["platform"]) for d in devices] == [("tok_2", "android")]
    kinds = [r["kind"] for r in emu.get("/trace")["trace"]]
    assert kinds.count("device_added") == 2 and kinds.count("device_deleted") == 1


def test_a_device_without_its_id_is_refused_saying_the_id_is_missing(segsim_emulator: Any) -> None:
    import httpx

    emu = segsim_emulator
    url = f"{emu.track_url}/customers/cus_1/devices"
    answer = httpx.put(url, json={"device": {"platform": "ios"}}, auth=(emu.site_id, emu.api_key))
    assert answer.status_code == 400
    assert answer.json()["meta"]["errors"] == ['the device needs its id, such as {"id": "tok"}']


def test_suppress_deletes_and_blocks_until_unsuppressed(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1")
    track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 120})
    track.suppress("cus_1")
    assert emu.get("/profiles")["profiles"] == []
    assert [r["reason"] for r in emu.get("/runs")["runs"]] == ["deleted"]
    track.track("cus_1", "checkout_started", {"checkout_id": "ck_2", "value": 50})
    assert emu.get("/profiles")["profiles"] == []
    drops = [r for r in emu.get("/trace")["trace"] if r["kind"] == "call_dropped"]
    assert drops[-1]["reason"] == "cus_1 is suppressed"
    track.unsuppress("cus_1")
    track.identify("cus_1")
    assert _profile(emu, id="cus_1")["events"] == 0


def test_suppressing_an_identifier_nobody_has_suppresses_it_and_drops_nothing(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.suppress("ghost9")
    trace = emu.get("/trace")["trace"]
    assert [(r["kind"], r.get("identifier")) for r in trace] == [("identifier_suppressed", "ghost9")]
    track.identify("ghost9")
    assert emu.get("/profiles")["profiles"] == []
    assert [r["reason"] for r in emu.get("/trace")["trace"] if r["kind"] == "call_dropped"] == ["ghost9 is suppressed"]
    track.suppress("ghost9")  # already suppressed, nobody to delete: nothing done
    assert [r["reason"] for r in emu.get("/trace")["trace"] if r["kind"] == "call_dropped"][
        -1
    ] == "no person has ghost9"


def test_delete_customer(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1")
    track.delete("cus_1")
    assert emu.get("/profiles")["profiles"] == []
    track.identify("cus_1")  # deleting does not suppress: the id can come back
    assert len(emu.get("/profiles")["profiles"]) == 1


def test_v2_entity_and_batch(segsim_emulator: Any) -> None:
    import httpx

    emu = segsim_emulator
    auth = (emu.site_id, emu.api_key)
    entity = {"type": "person", "identifiers": {"id": "cus_1"}, "action": "identify", "attributes": {"vip": True}}
    assert httpx.post(f"{emu.base_url}/api/v2/entity", json=entity, auth=auth).json() == {}
    batch = {
        "batch": [
            {
                "type": "person",
                "identifiers": {"id": "cus_1"},
                "action": "event",
                "name": "order_completed",
                "id": "01HZY000000000000000000001",
                "attributes": {"order_id": "o_1", "value": 250},
            },
            {"type": "person", "identifiers": {"email": "ben@example.com"}, "action": "identify"},
            {"type": "object", "identifiers": {"object_type_id": "1", "object_id": "acme"}, "action": "identify"},
        ]
    }
    response = httpx.post(f"{emu.base_url}/api/v2/batch", json=batch, auth=auth)
    assert response.status_code == 200
    assert [m["id"] for m in emu.members("vip")] == ["cus_1"]
    assert len(emu.get("/profiles")["profiles"]) == 2
    assert any(r["kind"] == "call_ignored" for r in emu.get("/trace")["trace"])


def _trace(emu: Any, *kinds: str) -> list[dict[str, Any]]:
    return [r for r in emu.get("/trace")["trace"] if r["kind"] in kinds]


def _identify(emu: Any, identifier: str, **body: Any) -> None:
    """PUT customers/{identifier} with a body `id` (which `CustomerIO.identify` cannot send)."""
    import httpx

    response = httpx.put(f"{emu.track_url}/customers/{identifier}", json=body, auth=(emu.site_id, emu.api_key))
    assert response.status_code == 200, response.text


def test_a_cio_id_changes_the_persons_id_and_email(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1", email="ana@example.com")
    ana = _profile(emu, id="cus_1")["cio_id"]
    _identify(emu, ana, id="cus_1b")
    assert (_profile(emu, cio_id=ana)["id"], _profile(emu, cio_id=ana)["email"]) == ("cus_1b", "ana@example.com")
    track.track("cus_1b", "product_viewed", {"product_id": "p_1", "category": "coffee"})
    assert _profile(emu, cio_id=ana)["events"] == 1  # the new id finds her
    track.identify("cus_1")  # the old one does not: a new person
    assert _profile(emu, id="cus_1")["cio_id"] != ana

    track.identify("ben@example.com")  # no id (changing his email was dropped as "not modelled")
    ben = _profile(emu, email="ben@example.com")["cio_id"]
    track.identify(ben, email="ben@example.org", plan="gold")
    assert _profile(emu, cio_id=ben)["email"] == "ben@example.org"
    track.identify("ben@example.org", tier="b")
    assert _profile(emu, cio_id=ben)["attributes"] == {"plan": "gold", "tier": "b"}
    assert [
        {k: r.get(k) for k in ("cio_id", "id", "old_id", "email", "old_email")}
        for r in _trace(emu, "identifiers_updated")
    ] == [
        {"cio_id": ana, "id": "cus_1b", "old_id": "cus_1", "email": None, "old_email": None},
        {"cio_id": ben, "id": None, "old_id": None, "email": "ben@example.org", "old_email": "ben@example.com"},
    ]
    assert _trace(emu, "call_dropped") == []


def test_a_cio_id_never_takes_another_persons_identifier(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1", email="ana@example.com")
    track.identify("cus_2", email="ben@example.com")
    profiles = emu.get("/profiles")
    ana = _profile(emu, id="cus_1")["cio_id"]
    assert ana == "cio_1"
    _identify(emu, ana, id="cus_2", plan="gold")
    track.identify(ana, email="ben@example.com")
    assert emu.get("/profiles") == profiles  # nobody merged, nothing changed
    assert [r["reason"] for r in _trace(emu, "call_dropped")] == [
        "id cus_2 belongs to cio_2; cio_1 keeps its id and nobody is merged (Attribute Update Failure)",
        "email ben@example.com belongs to cio_2; cio_1 keeps its email and nobody is merged (Attribute Update Failure)",
    ]
    assert _trace(emu, "profile_merged", "identifiers_updated") == []


def test_a_body_identifier_unlike_the_paths_is_not_applied_and_says_so(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    _identify(emu, "cus_1", id="cus_9", plan="gold")
    track.identify("ana@example.com", email="ana@example.org")
    assert [(p["id"], p["email"], p["attributes"]) for p in emu.get("/profiles")["profiles"]] == [
        ("cus_1", None, {"plan": "gold"}),
        (None, "ana@example.com", {}),
    ]
    assert [r["reason"] for r in _trace(emu, "call_ignored")] == [
        "id 'cus_9' in the request was not applied: the person is named by id, "
        "and a person's id changes only when they are named by their cio_id",
        "email 'ana@example.org' in the request was not applied: the person is named by email, "
        "and a person's email changes only when they are named by their cio_id",
    ]


def test_update_only_identify_never_creates_a_person(segsim_emulator: Any) -> None:
    import httpx

    emu = segsim_emulator
    track = emu.track_client()
    track.identify("newguy", _update=True, z=1)
    v2 = {"type": "person", "identifiers": {"id": "v2"}, "action": "identify", "attributes": {"_update": True}}
    assert httpx.post(f"{emu.base_url}/api/v2/entity", json=v2, auth=(emu.site_id, emu.api_key)).status_code == 200
    assert emu.get("/profiles")["profiles"] == []
    assert [r["reason"] for r in _trace(emu, "call_dropped")] == [
        "_update is true and no person has newguy: nobody is created",
        "_update is true and no person has v2: nobody is created",
    ]
    track.identify("cus_1")
    track.identify("cus_1", _update=True, z=1)
    track.identify("cus_2", _update=False, y=2)
    assert [(p["id"], p["attributes"]) for p in emu.get("/profiles")["profiles"]] == [
        ("cus_1", {"z": 1}),
        ("cus_2", {"y": 2}),
    ]  # `_update` is never an attribute


def test_unsuppress_lifts_every_identifier_the_suppress_added(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("cus_1", email="ana@example.com")
    track.suppress("cus_1")
    track.unsuppress("cus_1")
    track.identify("ana@example.com", plan="gold")  # was dropped: her email stayed suppressed
    assert _profile(emu, email="ana@example.com")["attributes"] == {"plan": "gold"}
    assert [r["identifier"] for r in _trace(emu, "identifier_unsuppressed")] == ["cus_1", "ana@example.com"]
    assert _trace(emu, "call_dropped") == []


def test_a_path_email_finds_its_person_in_any_case(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("ana@example.com")
    track.add_device("Ana@Example.com", "tok_1", "ios")  # emails are case-insensitive (the platform's index)
    ana = emu.get(f"/profiles/{_profile(emu, email='ana@example.com')['cio_id']}")
    assert [d["id"] for d in ana["devices"]] == ["tok_1"]
    track.delete("ANA@example.com")
    assert emu.get("/profiles")["profiles"] == []
    assert _trace(emu, "call_dropped") == []


def test_a_suppressed_email_is_suppressed_in_any_case(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    track = emu.track_client()
    track.identify("Ana@Example.com", plan="x")
    track.suppress("Ana@Example.com")
    track.identify("ana@example.com", plan="gold")  # the same person: still suppressed
    assert emu.get("/profiles")["profiles"] == []
    assert [r["reason"] for r in _trace(emu, "call_dropped")] == ["ana@example.com is suppressed"]
    track.unsuppress("ANA@example.com")
    track.identify("ana@example.com", plan="gold")
    assert _profile(emu, email="ana@example.com")["attributes"] == {"plan": "gold"}


def test_a_body_email_differing_only_in_case_is_the_same_email(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    auth = (emu.site_id, emu.api_key)
    answer = httpx.put(f"{emu.track_url}/customers/Ana@Example.com", json={"email": "ana@example.com"}, auth=auth)
    assert answer.status_code == 200
    assert _trace(emu, "call_ignored") == []


def test_the_trace_records_are_flat_as_timeline_json_writes_them(segsim_emulator: Any) -> None:
    emu = segsim_emulator
    emu.track_client().identify("cus_1", vip=True, prefs={"color": "red"})
    records = emu.get("/trace")["trace"]
    updated = next(r for r in records if r["kind"] == "attributes_updated")
    assert (updated["attributes.vip"], updated["attributes.prefs.color"]) == (True, "red")
    assert not [v for r in records for v in r.values() if isinstance(v, dict)]


def test_update_and_timestamp_are_reserved_not_attributes(segsim_emulator: Any) -> None:
    """The Track API's OpenAPI reserves `_update` and `_timestamp` in an identify's body."""
    emu = segsim_emulator
    emu.track_client().identify("cus_1", plan="gold", _timestamp=1772442000, _update=False)
    assert _profile(emu, id="cus_1")["attributes"] == {"plan": "gold"}
