"""Sudden drops in an event's hourly volume: a tracking regression (a release
that stopped firing `checkout_started`) looks like a conversion miracle in
the segments, so lint flags it on logs.

The rule, per event name, over hours of event time (the event's timestamp,
else its arrival; a timestamp lint refuses as in the future counts as its
arrival, and a line with no arrival then is not counted):

- an hour *starts a drop* when its count is below `DROP_RATIO` (20%) of the
  median of the `TRAILING_HOURS` (6) hours before it, counting empty hours
  as 0, with at least `MIN_HISTORY` (3) such hours; the following hours stay
  in the drop while they are below 20% of that same median (the baseline is
  the traffic before the drop, not the drop itself);
- when the log also holds the same hour one day earlier, and the event was
  running then (traffic in at least two hours of the day before it), the hour must
  also be below 20% of that day-earlier count (nightly lulls are not drops);
- a drop is reported when so few events would be a fluke with odds below
  `MAX_CHANCE` (one in a million) were the traffic still at its baseline (a
  Poisson count): 20 an hour falling to 2 for an hour is a drop, 10 an hour
  missing one hour is not, 5 an hour stopping for 3 hours is;
- only complete hours are judged: an hour is judged once the log reached
  its end plus the event's usual lag (the log's latest arrival, or the
  instant of a line that does not say when it arrived; the lag is the 95th
  percentile of arrival minus timestamp over the event's lines that say, up
  to 72 hours: a backend that batches every 2 hours leaves its last 2 hours
  unjudged, a backfill of a few old lines changes nothing); the log's last
  hour of event time is never judged (an export usually ends mid-hour);
- consecutive drop hours give one finding, at the first of them.

Memory: one counter per (event name, hour) and per (event name, minute of
lag up to 72 hours), never per line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from statistics import median

__all__ = ["DROP_RATIO", "MAX_CHANCE", "MIN_HISTORY", "TRAILING_HOURS", "VolumeCounter", "VolumeDrop"]

DROP_RATIO = 0.2
TRAILING_HOURS = 6
MIN_HISTORY = 3
_RUNNING_HOURS = 2  # hours with traffic in the day before a day-earlier hour: the event was running
MAX_CHANCE = 1e-6
MAX_RUN_HOURS = 72  # how long a drop is followed past the event's last line
LAG_PERCENTILE = 0.95  # an event's usual lag: backfills and offline queues (a few lines) do not count
MAX_LAG = 72 * 3600  # a line older than this at arrival is a backfill (lint's timestamp-too-old), not a lag


@dataclass(frozen=True, slots=True)
class VolumeDrop:
    event: str
    hour: int  # epoch seconds of the first hour's start
    hours: int  # how many consecutive hours stayed low
    count: int  # events in those hours
    baseline: float  # the median an hour before the drop
    line: int


def poisson_at_most(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean), in log space (no overflow at large means)."""
    if mean <= 0:
        return 1.0
    log_mean = math.log(mean)
    return min(1.0, sum(math.exp(-mean + i * log_mean - math.lgamma(i + 1)) for i in range(k + 1)))


class VolumeCounter:
    def __init__(self) -> None:
        self._counts: dict[str, dict[int, list[int]]] = {}
        self._lags: dict[str, dict[int, int]] = {}  # event -> lag in whole minutes -> lines
        self._last_hour: int | None = None
        self._horizon: int | None = None  # the latest arrival, or instant of a line without one

    def add(self, event: str, instant: int, line: int, arrival: int | None = None) -> None:
        """One event at `instant` (its timestamp, else its arrival), arrived at
        `arrival` when the line says."""
        hour = instant // 3600
        per_hour = self._counts.get(event)
        if per_hour is None:
            per_hour = self._counts[event] = {}
        slot = per_hour.get(hour)
        if slot is None:
            per_hour[hour] = [1, line]
        else:
            slot[0] += 1
        if self._last_hour is None or hour > self._last_hour:
            self._last_hour = hour
        reached = instant if arrival is None else arrival
        if self._horizon is None or reached > self._horizon:
            self._horizon = reached
        if arrival is not None and 0 <= arrival - instant <= MAX_LAG:
            minutes = -(-(arrival - instant) // 60)
            lags = self._lags.setdefault(event, {})
            lags[minutes] = lags.get(minutes, 0) + 1

    def drops(self) -> list[VolumeDrop]:
        if self._last_hour is None:
            return []
        found: list[VolumeDrop] = []
        for event in sorted(self._counts):
            found.extend(self._drops_of(event, self._counts[event], self._judged_before(event)))
        return found

    def _judged_before(self, event: str) -> int:
        """The first hour not judged for `event`: the log's last hour of event
        time, or earlier when its events may still have been on their way: an
        hour is judged once the log reached its end plus the event's usual lag."""
        assert self._last_hour is not None and self._horizon is not None
        lag = 0
        lags = self._lags.get(event)
        if lags:
            total = sum(lags.values())
            seen = 0
            for minutes in sorted(lags):
                seen += lags[minutes]
                lag = minutes
                if seen >= LAG_PERCENTILE * total:
                    break
        return min(self._last_hour, (self._horizon - lag * 60) // 3600)

    @staticmethod
    def _hours_to_judge(per_hour: dict[int, list[int]], first: int, last: int) -> list[int]:
        """The hours strictly between `first` and `last` that could be in a drop: those
        with events, and those up to `MAX_RUN_HOURS` after one. Any other hour has an empty
        history (median 0), so a stray timestamp years away costs a few steps, not one per
        empty hour."""
        hours = {h + k for h in per_hour for k in range(MAX_RUN_HOURS + 1)}
        return sorted(h for h in hours if first < h < last)

    def _drops_of(self, event: str, per_hour: dict[int, list[int]], last: int) -> list[VolumeDrop]:
        first = min(per_hour)
        out: list[VolumeDrop] = []
        current: VolumeDrop | None = None
        last_line = per_hour[first][1]

        def count(hour: int) -> int:
            slot = per_hour.get(hour)
            return slot[0] if slot else 0

        def lull_a_day_before(hour: int, n: int) -> bool:
            """As low a day earlier (an empty night after an empty night too), when
            the event was running then: traffic in at least two hours of the day
            before that hour. A day earlier before the event's traffic began (one
            stray line) says nothing of its nights."""
            day_before = hour - 24
            if day_before < first or n < DROP_RATIO * count(day_before):
                return False
            busy = sum(1 for h in range(max(first, day_before - 24), day_before) if count(h))
            return busy >= _RUNNING_HOURS

        def close() -> None:
            nonlocal current
            if current is not None and poisson_at_most(current.count, current.baseline * current.hours) < MAX_CHANCE:
                out.append(current)
            current = None

        previous = first
        for hour in self._hours_to_judge(per_hour, first, last):
            if hour != previous + 1:
                close()  # an hour skipped in between was not low
            previous = hour
            n = count(hour)
            if current is not None:
                if n < DROP_RATIO * current.baseline and not lull_a_day_before(hour, n):
                    current = replace(current, hours=current.hours + 1, count=current.count + n)
                else:
                    close()
            if current is None:
                history = [count(h) for h in range(max(first, hour - TRAILING_HOURS), hour)]
                if len(history) >= MIN_HISTORY:
                    baseline = median(history)
                    if baseline > 0 and n < DROP_RATIO * baseline and not lull_a_day_before(hour, n):
                        line = per_hour[hour][1] if hour in per_hour else last_line
                        current = VolumeDrop(event, hour * 3600, 1, n, baseline, line)
            if hour in per_hour:
                last_line = per_hour[hour][1]
        close()
        return out
