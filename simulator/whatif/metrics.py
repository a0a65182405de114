"""Segment membership over time, per shopper, and the figures of one cell.

Membership comes from the trace: `segment_entered` / `segment_left` records
name a profile (`cio_id`); each profile belongs to the shopper whose
identifiers it holds. A shopper is in the segment whenever any of their
profiles is (SPEC section 10). Intervals are half-open `[entered, left)`; a
profile that entered and left at one instant holds a zero-length interval,
which still counts as having been in the segment.

    recall              of the shoppers ever in the ideal segment, the share ever in the real one
    false_hold          of the shoppers ever in the real segment, the share held at some instant
                        when the ideal segment did not hold them
    median_entry_lag_s  over shoppers in both, the median of real first entry minus ideal first entry
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from simulator.checks.violations import CAUSES
from simulator.platform.engine import Platform

__all__ = ["CAUSES", "Intervals", "Tally", "compare", "figures", "memberships"]

Intervals = list[tuple[int, int]]

# Section 9's causes, in its order, are the columns of the journey figures (CAUSES).


def memberships(platform: Platform, segment: str, end: int) -> dict[str, Intervals]:
    """Shopper -> the merged intervals during which any of their profiles was in `segment`."""
    opened: dict[str, int] = {}
    per_profile: dict[str, Intervals] = {}
    for record in platform.trace.records:
        kind = record["kind"]
        if kind != "segment_entered" and kind != "segment_left":
            continue
        if record.get("segment") != segment:
            continue
        cio = record["cio_id"]
        if kind == "segment_entered":
            opened.setdefault(cio, record["at"])
        elif cio in opened:
            per_profile.setdefault(cio, []).append((opened.pop(cio), record["at"]))
    for cio, since in opened.items():
        per_profile.setdefault(cio, []).append((since, max(since, end)))
    by_shopper: dict[str, Intervals] = {}
    for cio, spans in per_profile.items():
        who = platform.owner(platform.profiles[int(cio[4:])])
        if who is not None:
            by_shopper.setdefault(who, []).extend(spans)
    return {who: _union(spans) for who, spans in by_shopper.items()}


def _union(spans: Intervals) -> Intervals:
    out: Intervals = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] and not (a == out[-1][1] and a == b and out[-1][0] < a):
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _escapes(a: int, b: int, ideal: Intervals) -> bool:
    """Whether the real interval [a, b) (or the instant a, when a == b) holds an instant outside `ideal`."""
    if a == b:
        return not any(c <= a < d or c == d == a for c, d in ideal)
    covered_to = a
    for c, d in ideal:
        if d <= covered_to or c == d:
            continue
        if c > covered_to:
            return True
        covered_to = d
        if covered_to >= b:
            return False
    return covered_to < b


@dataclass(slots=True)
class Tally:
    """One cell's counts over one partition of the population; partitions add up."""

    shoppers: int = 0
    ideal_members: int = 0
    real_members: int = 0
    both: int = 0
    false_holds: int = 0
    lags: list[int] = field(default_factory=list)
    trigger_events: int = 0
    ghost_abandons: int = 0
    missed_entries: int = 0
    duplicate_entries: int = 0
    causes: dict[str, int] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.shoppers += other.shoppers
        self.ideal_members += other.ideal_members
        self.real_members += other.real_members
        self.both += other.both
        self.false_holds += other.false_holds
        self.lags.extend(other.lags)
        self.trigger_events += other.trigger_events
        self.ghost_abandons += other.ghost_abandons
        self.missed_entries += other.missed_entries
        self.duplicate_entries += other.duplicate_entries
        for cause, n in other.causes.items():
            self.causes[cause] = self.causes.get(cause, 0) + n


def compare(ideal: dict[str, Intervals], real: dict[str, Intervals], shoppers: int) -> Tally:
    tally = Tally(shoppers=shoppers, ideal_members=len(ideal), real_members=len(real))
    for who in sorted(real):
        spans = real[who]
        truth = ideal.get(who, [])
        if any(_escapes(a, b, truth) for a, b in spans):
            tally.false_holds += 1
        if truth:
            tally.both += 1
            tally.lags.append(spans[0][0] - truth[0][0])
    return tally


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def figures(tally: Tally, journey: str | None) -> dict[str, Any]:
    """The published figures of one cell (None where the share has no denominator)."""
    lag = statistics.median(tally.lags) if tally.lags else None
    out: dict[str, Any] = {
        "shoppers": tally.shoppers,
        "ideal_members": tally.ideal_members,
        "real_members": tally.real_members,
        "recall": _share(tally.both, tally.ideal_members),
        "false_hold": _share(tally.false_holds, tally.real_members),
        "median_entry_lag_s": None if lag is None else (int(lag) if float(lag).is_integer() else float(lag)),
    }
    if journey is not None:
        out["trigger_events"] = tally.trigger_events
        out["ghost_abandon_rate"] = _share(tally.ghost_abandons, tally.trigger_events)
        out["missed_entry_rate"] = _share(tally.missed_entries, tally.trigger_events)
        out["duplicate_entry_rate"] = _share(tally.duplicate_entries, tally.trigger_events)
        for cause in CAUSES:
            out[f"cause_{cause}"] = tally.causes.get(cause, 0)
    return out
