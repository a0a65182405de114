"""The hourly volume-drop rule: a sudden fall below 20% of the trailing median
is flagged once; steady traffic, small volumes, the log's last (partial) hour
and a lull that also happened a day earlier are not."""

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
    assert [(d.event, d.hour, d.hours, d.count) for d in drops] == [("checkout_started", T0 + 8 * 3600, 2, 5)]
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
