"""The trace keeps the engine's frequent records as rows and turns them into
the same dicts `add` makes, in processing order, whenever it is read."""

from __future__ import annotations

from simulator.platform.trace import EVENT_ADDED, JOURNEY_EXITED, SEGMENT_ENTERED, Kind, Trace


def test_a_row_reads_as_the_record_add_would_make() -> None:
    by_row, by_keyword = Trace(0), Trace(0)
    by_row.put((EVENT_ADDED, 5, 3, "checkout_started", 7, 1, "ana", "direct", 4))
    by_keyword.add(
        5, "event_added", cio_id="cio_3", event="checkout_started", seq=7, copy=1, who="ana", via="direct", timestamp=4
    )
    assert by_row.records == by_keyword.records
    assert list(by_row.records[0]) == ["at", "kind", "cio_id", "event", "seq", "copy", "who", "via", "timestamp"]


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
    trace.put((JOURNEY_EXITED, 2, "cart_recovery", 1, 4, "ana", "goal"))
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
