"""Sudden drops in an event's hourly volume: a tracking regression (a release
that stopped firing `checkout_started`) looks like a conversion miracle in
the segments, so lint flags it on logs.

The rule, per event name, over hours of event time (the event's timestamp,
else its arrival):

- an hour is a *drop* when its count is below `DROP_RATIO` (20%) of the
  median of the `TRAILING_HOURS` (6) hours before it, counting empty hours
  as 0, with at least `MIN_HISTORY` (3) such hours and a median of at least
  `MIN_VOLUME` (20) events an hour;
- when the log also holds the same hour one day earlier, the hour must also
  be below 20% of that day-earlier count (nightly lulls are not drops);
- the log's last hour is never judged (an export usually ends mid-hour);
- consecutive drop hours give one finding, at the first of them.

Memory: one counter per (event name, hour), never per line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from statistics import median

__all__ = ["DROP_RATIO", "MIN_HISTORY", "MIN_VOLUME", "TRAILING_HOURS", "VolumeDrop", "VolumeCounter"]

DROP_RATIO = 0.2
TRAILING_HOURS = 6
MIN_HISTORY = 3
MIN_VOLUME = 20


@dataclass(frozen=True, slots=True)
class VolumeDrop:
    event: str
    hour: int  # epoch seconds of the hour's start
    hours: int  # how many consecutive hours stayed low
    count: int
    baseline: float
    line: int


class VolumeCounter:
    def __init__(self) -> None:
        self._counts: dict[str, dict[int, list[int]]] = {}
        self._last_hour: int | None = None

    def add(self, event: str, instant: int, line: int) -> None:
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

    def drops(self) -> list[VolumeDrop]:
        if self._last_hour is None:
            return []
        found: list[VolumeDrop] = []
        for event in sorted(self._counts):
            found.extend(self._drops_of(event, self._counts[event], self._last_hour))
        return found

    @staticmethod
    def _hours_to_judge(per_hour: dict[int, list[int]], first: int, last: int) -> list[int]:
        """The hours strictly between `first` and `last` that could be drops: those with events, and
        those with an event in the trailing window. Any other hour has an empty history (median 0), so
        a stray timestamp years away costs nothing instead of one step per empty hour."""
        hours = {h + k for h in per_hour for k in range(TRAILING_HOURS + 1)}
        return sorted(h for h in hours if first < h < last)

    def _drops_of(self, event: str, per_hour: dict[int, list[int]], last: int) -> list[VolumeDrop]:
        first = min(per_hour)
        out: list[VolumeDrop] = []
        current: VolumeDrop | None = None
        last_line = per_hour[first][1]

        def count(hour: int) -> int:
            slot = per_hour.get(hour)
            return slot[0] if slot else 0

        previous = first
        for hour in self._hours_to_judge(per_hour, first, last):
            if hour != previous + 1 and current is not None:
                out.append(current)  # an hour skipped in between was not low
                current = None
            previous = hour
            history = [count(h) for h in range(max(first, hour - TRAILING_HOURS), hour)]
            n = count(hour)
            low = False
            if len(history) >= MIN_HISTORY:
                baseline = median(history)
                low = baseline >= MIN_VOLUME and n < DROP_RATIO * baseline
                day_before = hour - 24
                if low and day_before >= first and count(day_before) and n >= DROP_RATIO * count(day_before):
                    low = False
            if low:
                line = per_hour[hour][1] if hour in per_hour else last_line
                if current is None:
                    current = VolumeDrop(event, hour * 3600, 1, n, baseline, line)
                else:
                    current = replace(current, hours=current.hours + 1)
            elif current is not None:
                out.append(current)
                current = None
            if hour in per_hour:
                last_line = per_hour[hour][1]
        if current is not None:
            out.append(current)
        return out
