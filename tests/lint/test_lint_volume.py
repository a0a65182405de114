"""The hourly volume-drop rule: a sudden fall below 20% of the trailing median
is flagged once, when it could not be a fluke; steady traffic, a small event
missing one hour, the log's last (partial) hour, hours whose events are still
on their way and a lull that also happened a day earlier are not."""

from __future__ import annotations

from lint_support import LintFolder, track

from simulator.lint.volume import VolumeCounter
from simulator.model.time import format_instant

T0 = 1_799_996_400  # an hour boundary


def _counter(per_hour: list[int], event: str = "checkout_started") -> VolumeCounter:
    counter = VolumeCounter()
    line = 0
    for hour, n in enumerate(per_hour):
        for i in range(n):
            line += 1
            counter.add(event, T0 + hour * 3600 + i, line)
    return counter


def test_a_sudden_drop_is_flagged_once_at_its_first_hour() -> None:
    drops = _counter([100] * 8 + [5, 3] + [100] * 3).drops()
    assert [(d.event, d.hour, d.hours, d.count) for d in drops] == [("checkout_started", T0 + 8 * 3600, 2, 8)]
    assert drops[0].baseline == 100


def test_an_event_that_stops_altogether_is_a_drop() -> None:
    counter = _counter([100] * 6)
    counter.add("page_viewed", T0 + 9 * 3600, 10_000)  # the log goes on for other events
    counter.add("page_viewed", T0 + 10 * 3600, 10_001)
    drops = [d for d in counter.drops() if d.event == "checkout_started"]
    assert [(d.hour, d.count) for d in drops] == [(T0 + 6 * 3600, 0)]


def test_steady_traffic_is_not_a_drop() -> None:
    assert _counter([100, 90, 110, 95, 105, 100, 98, 102]).drops() == []


def test_a_drop_of_a_small_event_is_not_flagged() -> None:
    assert _counter([10] * 8 + [0] + [10] * 2).drops() == []


def test_a_drop_is_reported_when_it_could_not_be_a_fluke() -> None:
    # 5 an hour: 3 empty hours are a one-in-3-million fluke, 2 are one in 22,000
    assert [(d.hours, d.count) for d in _counter([5] * 8 + [0] * 3 + [5] * 3).drops()] == [(3, 0)]
    assert _counter([5] * 8 + [0] * 2 + [5] * 3).drops() == []
    # 20 an hour falling to 2 is a drop; to 3 it is not (odds one in 300,000)
    assert [d.count for d in _counter([20] * 8 + [2] + [20] * 3).drops()] == [2]
    assert _counter([20] * 8 + [3] + [20] * 3).drops() == []


def test_a_small_event_that_stops_for_hours_is_a_drop() -> None:
    counter = _counter([12] * 36 + [0] * 12, event="order_completed")
    for hour in range(48):  # the rest of the log goes on
        counter.add("page_ping", T0 + hour * 3600, 100_000 + hour)
    counter.add("page_ping", T0 + 49 * 3600, 100_049)
    drops = counter.drops()
    assert [(d.event, d.hour, d.hours, d.count, d.baseline) for d in drops] == [
        ("order_completed", T0 + 36 * 3600, 13, 0, 12)  # hours 36 to 48: the log ends at 49
    ]


def test_hours_whose_events_are_still_on_their_way_are_not_judged() -> None:
    """A backend that delivers every 2 hours: the export ends at 05:10, so what was
    stamped after 04:00 has not arrived yet. That is latency, not a drop."""
    counter = VolumeCounter()
    line = 0
    for minute in range(0, 5 * 60 + 10, 3):  # 20 an hour of each, stamped all along
        stamp = T0 + minute * 60
        line += 1
        counter.add("product_viewed", stamp, line, arrival=stamp + 1)
        batch = T0 + (minute // 120 + 1) * 7200
        if batch <= T0 + 5 * 3600 + 600:
            line += 1
            counter.add("order_completed", stamp, line, arrival=batch)
    assert counter.drops() == []
    # the same counts without arrivals: the empty hour 04:00 looks like a drop
    blind = VolumeCounter()
    for event, per_hour in counter._counts.items():
        for hour, (n, first_line) in per_hour.items():
            for i in range(n):
                blind.add(event, hour * 3600 + i, first_line + i)
    assert [(d.event, d.hour) for d in blind.drops()] == [("order_completed", T0 + 4 * 3600)]


def _stops_at_36(late_lines: int = 0, others_say_arrival: bool = True) -> list[tuple[int, int]]:
    """checkout_started at 40 an hour for 36 hours, then nothing, while page_ping
    goes on to hour 49; the first `late_lines` checkouts were queued offline and
    arrive at hour 48."""
    counter = VolumeCounter()
    line = 0
    for hour in range(36):
        for i in range(40):
            line += 1
            stamp = T0 + hour * 3600 + i * 60
            counter.add("checkout_started", stamp, line, T0 + 48 * 3600 if line <= late_lines else stamp + 2)
    for hour in range(50):
        line += 1
        counter.add("page_ping", T0 + hour * 3600, line, T0 + hour * 3600 + 2 if others_say_arrival else None)
    return [((d.hour - T0) // 3600, d.count) for d in counter.drops() if d.event == "checkout_started"]


def test_a_few_lines_queued_offline_do_not_hide_a_stop() -> None:
    assert _stops_at_36() == [(36, 0)]
    assert _stops_at_36(late_lines=60) == [(36, 0)]  # 4% of the lines, up to 48 hours late


def test_lines_that_do_not_say_when_they_arrived_still_move_the_log_on() -> None:
    assert _stops_at_36(others_say_arrival=False) == [(36, 0)]


def test_a_long_batch_is_waited_for() -> None:
    """A backend delivering every 6 hours; the export ends at 11:59, before the
    12:00 batch: what was stamped after 06:00 is still on its way."""
    counter = VolumeCounter()
    line = 0
    for minute in range(0, 12 * 60, 3):
        stamp = T0 + minute * 60
        batch = T0 + (-(-minute // 360)) * 6 * 3600
        line += 1
        counter.add("product_viewed", stamp, line, stamp + 1)
        if batch < T0 + 12 * 3600:
            line += 1
            counter.add("order_completed", stamp, line, batch)
    counter.add("product_viewed", T0 + 12 * 3600 - 60, line + 1, T0 + 12 * 3600 - 59)
    assert counter.drops() == []


def test_an_empty_night_after_an_empty_night_is_a_lull() -> None:
    day = [0] * 8 + [3] * 14 + [0] * 2  # a small store: 3 orders an hour from 08:00 to 22:00
    counter = _counter(day * 3 + [3], event="order_completed")
    # only the first night, which has no night before it, looks like a drop
    assert [(d.hour - T0) // 3600 for d in counter.drops()] == [22]


def test_the_last_hour_of_the_log_is_never_judged() -> None:
    assert _counter([100] * 8 + [1]).drops() == []


def test_a_nightly_lull_seen_a_day_earlier_is_not_a_drop() -> None:
    day = [100] * 20 + [10] * 4
    nights = [d.hour for d in _counter(day + day + [100]).drops()]
    # the first night has no day of history and does look like a drop; the second does not
    assert nights == [T0 + 20 * 3600]


def test_a_day_earlier_before_the_events_traffic_began_is_no_lull() -> None:
    """One stray line a day earlier put that day in the log, and its empty hour
    excused a real drop as a nightly lull."""
    counter = VolumeCounter()
    counter.add("added_to_cart", T0 - 23 * 3600, 1)  # a day before the traffic, alone
    line = 1
    for hour, n in enumerate([20] * 8 + [2] + [20] * 3):
        for i in range(n):
            line += 1
            counter.add("added_to_cart", T0 + hour * 3600 + i, line)
    assert [((d.hour - T0) // 3600, d.count) for d in counter.drops()] == [(8, 2)]


def test_a_log_that_begins_two_hours_before_the_night_still_sees_the_next_night_as_a_lull() -> None:
    day = [0] * 9 + [30] * 15  # 30 an hour from 08:00 to 23:00
    drops = _counter([30, 30] + day * 4).drops()  # the log begins at 21:00
    assert [(d.hour - T0) // 3600 for d in drops] == [3]  # only the first night


def test_a_volume_drop_in_a_log(folder: LintFolder) -> None:
    lines = []
    for hour, n in enumerate([40] * 5 + [2] + [40] * 2):
        for i in range(n):
            stamp = format_instant(T0 + 86400 * 400 + hour * 3600 + i * 60)
            lines.append(track("added_to_cart", {"product_id": f"p_{i}"}, at=stamp))
    found = folder.lint(folder.log(lines)).findings
    assert [(f.rule, f.severity, f.line) for f in found] == [("volume-drop", "warning", 201)]
    assert "fell to 2" in found[0].message


def test_a_line_stamped_in_the_future_does_not_move_the_end_of_the_log(folder: LintFolder) -> None:
    """One line stamped in 2100, saying nothing of its arrival, is refused as in
    the future; it is no reason to judge every event silent until then."""
    lines = []
    for hour in range(8):
        for i in range(40):
            stamp = format_instant(T0 + 86400 * 400 + hour * 3600 + i * 60)
            lines.append(track("added_to_cart", {"product_id": f"p_{i}"}, at=stamp))
    ahead = track("added_to_cart", {"product_id": "p_x"}, at="2100-01-01T00:00:00Z")
    del ahead["receivedAt"]
    found = folder.lint(folder.log([*lines, ahead])).findings
    assert [(f.rule, f.line) for f in found] == [("timestamp-in-future", 321)]
