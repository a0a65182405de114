"""The trace keeps the engine's frequent records as rows and turns them into
the same dicts `add` makes, in processing order, whenever it is read."""

from __future__ import annotations

import pytest

from simulator.model.calls import Delivery, Send
from simulator.platform.state import Event
from simulator.platform.trace import ARRIVED, EVENT_ADDED, SEGMENT_ENTERED, Kind, Trace

EXITED = Kind("journey_exited", "journey", "run", "cio_id", "who", "reason")


def test_a_row_reads_as_the_record_add_would_make() -> None:
    by_row, by_keyword = Trace(0), Trace(0)
    by_row.put((EXITED, 5, "cart_recovery", 2, 3, "ana", "goal"))
    by_keyword.add(5, "journey_exited", journey="cart_recovery", run=2, cio_id="cio_3", who="ana", reason="goal")
    assert by_row.records == by_keyword.records
    assert list(by_row.records[0]) == ["at", "kind", "journey", "run", "cio_id", "who", "reason"]


def test_rows_holding_a_delivery_or_an_event_read_as_their_fields() -> None:
    send = Send(seq=7, at=100, call="track", source="web", shopper="ana", device="phone", name="checkout_started")
    delivery = Delivery(160, send, 2)
    event = Event("checkout_started", {}, 90, 1, delivery, "direct", 3)
    trace = Trace(0)
    trace.put((ARRIVED, 160, delivery))
    trace.put((EVENT_ADDED, 160, event, 3, "grace"))
    event.via = "merge"  # later changes to the event do not rewrite what was recorded
    assert trace.records == [
        {
            "at": 160,
            "kind": "arrived",
            "copy": 2,
            "latency_s": 60,
            "seq": 7,
            "who": "ana",
            "source": "web",
            "call": "track",
            "event": "checkout_started",
            "device": "phone",
        },
        {
            "at": 160,
            "kind": "event_added",
            "cio_id": "cio_3",
            "event": "checkout_started",
            "seq": 7,
            "copy": 2,
            "who": "ana",
            "via": "grace",
            "timestamp": 90,
        },
    ]


def test_absent_fields_are_left_out_and_profile_names_kept() -> None:
    trace = Trace(0)
    trace.put((SEGMENT_ENTERED, 1, "vip", 12, None))
    trace.put((Kind("profile_merged", "primary", "secondary"), 2, 1, "cio_9"))
    assert trace.records == [
        {"at": 1, "kind": "segment_entered", "segment": "vip", "cio_id": "cio_12"},
        {"at": 2, "kind": "profile_merged", "primary": "cio_1", "secondary": "cio_9"},
    ]


def test_rows_and_keyword_records_keep_one_order_across_reads() -> None:
    trace = Trace(0)
    trace.add(1, "dropped", seq=1)
    trace.put((EXITED, 2, "cart_recovery", 1, 4, "ana", "goal"))
    assert [r["kind"] for r in trace.records] == ["dropped", "journey_exited"]
    trace.put((SEGMENT_ENTERED, 3, "vip", 4, "ana"))
    trace.add(4, "segment_refresh")
    assert len(trace) == 4
    assert [(r["at"], r["kind"]) for r in trace] == [
        (1, "dropped"),
        (2, "journey_exited"),
        (3, "segment_entered"),
        (4, "segment_refresh"),
    ]
    assert trace.records[1]["cio_id"] == "cio_4"


def test_a_row_of_the_wrong_length_is_refused_before_it_is_written() -> None:
    trace = Trace(0)
    trace.put((SEGMENT_ENTERED, 1, "vip", 12, "ana"))
    with pytest.raises(ValueError, match="segment_entered row holds 3 values, not 2"):
        trace.put((SEGMENT_ENTERED, 2, "vip", 12))
    assert [r["at"] for r in trace.records] == [1]
