"""Time checks: the instants at which time alone changes a profile (an event
leaving a window, an event stamped ahead becoming visible, an age reached).

They wait in a heap of plain numbers beside the platform's queue, one number
a check: `(instant << NUM_BITS | cio number) << WHAT_BITS | code`, the code
indexing `names` (event names, window keys, AGE). A window that asks only
whether an event exists in it (`existence`) keeps one check per profile,
moved on to the latest such event as it fires (a chain), instead of one per
event. `Profile.next_due` bounds the search for what is due: before it,
nothing is.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from simulator.platform.rules import AGE, Rules
from simulator.platform.state import NEVER, Event, Profile

__all__ = ["NUM_BITS", "NUM_MASK", "WHAT_BITS", "WHAT_MASK", "TimeChecks"]

NUM_BITS = 40
WHAT_BITS = 32
NUM_MASK = (1 << NUM_BITS) - 1
WHAT_MASK = (1 << WHAT_BITS) - 1
_NOTHING_DUE: frozenset[str] = frozenset()


class TimeChecks:
    """The pending time checks of one platform."""

    __slots__ = ("heap", "names", "_codes", "_chains", "_chained", "_ages", "_windows", "_existence", "_index", "_due")

    def __init__(self, rules: Rules, ages: Sequence[int], exhaustive: bool) -> None:
        self.heap: list[int] = []
        self.names: list[str] = []
        self._codes: dict[str, int] = {}
        # (cio number, existence window key) -> the instant of its pending check.
        self._chains: dict[int, int] = {}
        # Exhaustive evaluation keeps a check per event: the reference for chains.
        self._chained = not exhaustive
        self._ages = ages
        self._windows = rules.windows
        self._existence = rules.existence
        self._index = rules.existence_index
        self._due = rules.due_after

    def at(self, instant: int, now: int, num: int, what: str) -> None:
        """A check of `what` for profile `num` at `instant`, if that is still ahead."""
        if instant <= now:
            return
        code = self._codes.get(what)
        if code is None:
            code = self._codes[what] = len(self.names)
            self.names.append(what)
        heapq.heappush(self.heap, (instant << NUM_BITS | num) << WHAT_BITS | code)

    def _chain_at(self, instant: int, now: int, num: int, key: str) -> None:
        """A check when an event leaves existence window `key` at `instant`, unless
        one is pending for the profile by then: it will look for the latest event."""
        if instant <= now:
            return
        chain = num * len(self._index) + self._index[key]
        pending = self._chains.get(chain)
        if pending is not None and now < pending <= instant:
            return
        self._chains[chain] = instant
        self.at(instant, now, num, key)

    def ages(self, p: Profile, now: int) -> None:
        """Checks for the ages the rules read, from the profile's age start."""
        for a in self._ages:
            self.at(p.age_start + a, now, p.num, AGE)
            if now <= p.age_start + a < p.next_due:
                p.next_due = p.age_start + a

    def event_added(self, p: Profile, e: Event, now: int) -> None:
        """Checks for an event's windows closing, and for its stamp if it is ahead."""
        ts = e.ts
        windows = self._windows.get(e.name)
        if windows is not None:
            chained = self._chained
            existence = self._existence
            for w, key in windows:
                closing = ts + w
                if chained and key in existence:
                    self._chain_at(closing, now, p.num, key)
                else:
                    self.at(closing, now, p.num, key)
                if now <= closing < p.next_due:
                    p.next_due = closing
        if ts > now:
            self.at(ts, now, p.num, e.name)
            if ts < p.next_due:
                p.next_due = ts

    def due_now(self, p: Profile, now: int) -> frozenset[str]:
        """What time itself changes for `p` at this instant: windows closing on its
        events, events stamped now becoming visible, an age reached. A change
        at this instant sees them at once, even before the time phase gets to
        them: the profile is evaluated as it is now.

        `p.next_due` is lowered as events arrive (their stamps ahead, their
        windows' closings) and ages move, and set here to the next instant
        something is due. An event stamped at the instant it is added does not
        lower it: the change that adds it names it already, and a later change
        at that instant finds everything that depends on it evaluated."""
        if now < p.next_due:
            return _NOTHING_DUE
        found: set[str] = set()
        upcoming = NEVER
        due_after = self._due
        for name, events in p.by_name.items():
            known = due_after.get(name)
            if known is None:
                for e in events:
                    ts = e.ts
                    if ts == now:
                        found.add(name)
                    elif now < ts < upcoming:
                        upcoming = ts
                continue
            last, keys = known
            for e in events:
                age = now - e.ts
                if age > last:
                    continue  # every window it was in has closed
                due = keys.get(age)
                if due is not None:
                    found.update(due)
                for ahead in keys:  # ascending: the first one ahead is its next
                    if age < ahead:
                        if now - age + ahead < upcoming:
                            upcoming = now - age + ahead
                        break
        for a in self._ages:
            if p.age_start + a == now:
                found.add(AGE)
            elif now < p.age_start + a < upcoming:
                upcoming = p.age_start + a
        p.next_due = upcoming
        return frozenset(found)

    def settle(self, num: int, p: Profile, what: set[str], now: int) -> None:
        """Take out of `what` (checks due now for profile `num`, live as `p`) the
        existence windows that still hold an event of `p`, chaining a check for
        when the latest leaves (or the earliest stamped ahead enters and leaves)."""
        existence = self._existence
        index = self._index
        for key in list(what):
            place = existence.get(key)
            if place is None:
                continue
            event, within = place
            chain = num * len(index) + index[key]
            if self._chains.get(chain) == now:
                del self._chains[chain]
            latest: int | None = None  # the latest such event in the window now
            coming: int | None = None  # the earliest stamped later than now
            for e in p.by_name.get(event, ()):
                if now < e.ts:
                    coming = e.ts if coming is None else min(coming, e.ts)
                elif now - within < e.ts:
                    latest = e.ts if latest is None else max(latest, e.ts)
            if latest is not None:
                self._chain_at(latest + within, now, p.num, key)  # when it leaves
                what.discard(key)  # it is still in the window: nothing changed
            elif coming is not None:
                self._chain_at(coming + within, now, p.num, key)
