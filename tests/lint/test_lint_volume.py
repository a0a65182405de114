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


def test_the_last_hour_of_the_log_is_never_judged() -> None:
    assert _counter([100] * 8 + [1]).drops() == []


def test_a_nightly_lull_seen_a_day_earlier_is_not_a_drop() -> None:
    day = [100] * 20 + [10] * 4
    nights = [d.hour for d in _counter(day + day + [100]).drops()]
    # the first night has no day of history and does look like a drop; the second does not
    assert nights == [T0 + 20 * 3600]


def test_a_volume_drop_in_a_log(folder: LintFolder) -> None:
    lines = []
    for hour, n in enumerate([40] * 5 + [2] + [40] * 2):
        for i in range(n):
            stamp = format_instant(T0 + 86400 * 400 + hour * 3600 + i * 60)
            lines.append(track("added_to_cart", {"product_id": f"p_{i}"}, at=stamp))
    found = folder.lint(folder.log(lines)).findings
    assert [(f.rule, f.severity, f.line) for f in found] == [("volume-drop", "warning", 201)]
    assert "fell to 2" in found[0].message
