"""The platform: profiles, segments and journeys on a virtual clock (identity is
in `identity.py`, journeys in `journeys.py`, the checks time makes on its own
in `time_checks.py`).

Deliveries are processed in arrival order, each completely before the next
(SPEC section 4). At one instant the phases run in this order: deliveries,
held future-stamped events, time-driven changes, journey timers, filter-retry
holds expiring, segment refresh sweeps, expectation probes.

The evaluation is incremental: each change of a profile names what changed
(an event name, a window closing, attributes, age; see `rules.py`), and only
the segments, goals, `wait_until` conditions and held entries that read it
are evaluated again. Segment membership is kept per segment (`members_of`),
so a snapshot is a read. `exhaustive=True` evaluates everything on every
change: slower, the same outcome, the reference the tests hold it to.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from collections.abc import Callable, Iterable
from typing import Any

from simulator.model.calls import Delivery, Send
from simulator.model.conditions import Cond
from simulator.model.config import JourneyDef, WorkspaceConfig
from simulator.model.values import canonical_key, lookup, tests_pass
from simulator.platform import identity, journeys
from simulator.platform.rules import rules_of
from simulator.platform.state import (
    DELIVERY,
    HELD,
    HOLD_END,
    NO_SEGMENTS,
    PROBE,
    SWEEP,
    TIME,
    TIMER,
    Event,
    Hold,
    Message,
    Profile,
    Run,
    email_key,
)
from simulator.platform.time_checks import NUM_BITS, NUM_MASK, WHAT_BITS, WHAT_MASK, TimeChecks
from simulator.platform.trace import (
    ARRIVED,
    ATTRIBUTES_UPDATED,
    EVENT_ADDED,
    EVENT_HELD,
    EVENT_RELEASED,
    JOURNEY_OPEN,
    PROFILE_CREATED,
    SEGMENT_ENTERED,
    SEGMENT_LEFT,
    Trace,
)

__all__ = ["Platform"]


_MANDATORY = {DELIVERY, HELD, TIMER, HOLD_END, PROBE}


class EndlessStory(Exception):
    """A story without `until` that would never end: runs keep entering and
    waiting long after the last call (segment-triggered journeys whose updates
    trigger each other). `simulate` tells it as the scenario's problem."""

    def __init__(self, platform: Platform, at: int) -> None:
        super().__init__(f"still running at {at}")
        self.at = at
        self.since = platform.last_call
        self.running = sorted({r.journey.name for runs in platform.open_runs.values() for r in runs})
        self.entered = sum(1 for r in platform.runs if r.entered_at > platform.last_call)


def _retired(phase: int, payload: Any) -> bool:
    """A timer of a run that ended or moved on, or the end of a hold already over:
    `Platform.retire` took it off the count when that happened."""
    if phase == TIMER:
        run, token = payload
        return not run.open or token != run.token
    return phase == HOLD_END and not payload.alive


_ARRIVAL_ORDER = operator.attrgetter("arrival", "send.seq", "copy")  # a delivery's (arrival, seq, copy)


class Platform:
    """One in-memory Customer.io-like workspace."""

    def __init__(
        self, workspace: WorkspaceConfig, start: int, owners: dict[str, str] | None = None, exhaustive: bool = False
    ) -> None:
        self.ws = workspace
        # Exhaustive: every change re-evaluates every segment, goal, wait and held
        # entry, and every time check runs. Slow; the reference that the
        # incremental evaluation is tested against.
        self.exhaustive = exhaustive
        self.start = start
        self.now = start
        self.owners = owners or {}
        self.trace = Trace(start)
        self.profiles: dict[int, Profile] = {}
        self.by_id: dict[str, Profile] = {}
        self.by_email: dict[str, Profile] = {}  # keyed by `email_key`: case-insensitive
        self.by_anon: dict[str, Profile] = {}
        self.orphans: dict[str, Profile] = {}
        self.merged_anon: dict[str, tuple[int, int]] = {}
        self.seen_ids: set[str] = set()
        self.seen_keys: set[str] = set()  # event name, NUL, canonical idempotency value
        self._keyed_by: dict[str, list[str]] = {}  # event name -> its idempotency properties, in order
        for event_name, prop in workspace.idempotency_keys:
            self._keyed_by.setdefault(event_name, []).append(prop)
        self.events: list[Event] = []
        self.runs: list[Run] = []
        self.messages: list[Message] = []
        self._holds_made = itertools.count(1)  # filter-retry holds expire in creation order
        self.open_runs: dict[int, list[Run]] = {}  # cio number -> its open runs, in entry order
        self.holds_on: dict[int, list[Hold]] = {}  # cio number -> its filter-retry holds
        self._processed: dict[int, list[Event]] = {}  # send seq -> its accepted events, up to:
        self._processed_upto = 0
        self.ignored: dict[int, int] = {}  # send seq -> copies ignored as duplicates
        self._queue: list[tuple[Any, ...]] = []  # (instant, phase, k1, k2, tie-breaker, payload); no TIME
        self._incoming: list[Delivery] = []  # scheduled deliveries in arrival order, beside the heap
        self._next = 0  # the next of them to process
        self._counter = itertools.count()
        self._mandatory = 0
        # Without `until`, past this instant a story is one that never ends (journeys
        # that keep triggering each other): `simulate` sets it, live use never does.
        self.endless_after: int | None = None
        self.last_call = start  # the last arrival, stamp or expectation instant, with it
        self._proc = itertools.count(1)
        self._pending: list[Run] = []
        self._depth = 0
        self.ended = False
        self.rules = rules_of(workspace)
        self.checks = TimeChecks(self.rules, workspace.ages, exhaustive)  # beside the queue
        self.compiled = self.rules.compiled
        self.depends = self.rules.depends
        self._affected = self.rules.affected
        self._affected_by = self.rules.affected_by
        self._added = self.rules.added
        self._added_by = self.rules.added_by
        # Segment name -> cio numbers of its members now, kept as memberships change:
        # a snapshot is a read, not an evaluation of every profile.
        self.members_of: dict[str, set[int]] = {seg.name: set() for seg in workspace.segments}
        if workspace.segment_refresh:
            # Sweeps at start + k*D, k = 0 first, whether deliveries come by
            # `schedule` (a replay) or one by one (`accept`, the emulator).
            self.push(start, SWEEP, 0, 0, None)

    # ------------------------------------------------------------------ the clock

    def push(self, at: int, phase: int, k1: int, k2: int, payload: Any) -> None:
        heapq.heappush(self._queue, (at, phase, k1, k2, next(self._counter), payload))
        if phase in _MANDATORY:
            self._mandatory += 1

    def retire(self) -> None:
        """A pending timer or hold end that will now do nothing (its run ended, its
        `wait_until` was met, its hold entered or went with its profile): it no
        longer keeps a story without `until` going (SPEC 11), and is not counted
        again when it comes off the queue."""
        self._mandatory -= 1

    def schedule(
        self, deliveries: Iterable[Delivery], dropped: Iterable[Send] = (), *, in_arrival_order: bool = False
    ) -> None:
        """Deliveries to process, and the sends dropped on the way. `in_arrival_order`:
        they come sorted by (arrival, send order, copy) already, as `deliver` returns them."""
        for send in dropped:
            self.trace.add(send.at, "dropped", **self._send_fields(send))
        already = len(self._incoming) - self._next
        waiting = self._incoming[self._next :]
        waiting.extend(deliveries)
        self._mandatory += len(waiting) - already
        if already or not in_arrival_order:
            waiting.sort(key=_ARRIVAL_ORDER)
        self._incoming, self._next = waiting, 0

    def probe(self, at: int, index: int, callback: Callable[[int], None]) -> None:
        self.push(at, PROBE, index, 0, callback)

    def run(self, until: int | None = None) -> int:
        """Process everything (or up to `until`); close the books; return the end."""
        self._process(until)
        if until is not None:
            self.now = max(self.now, until)
        self.finish()
        return self.now

    def advance_to(self, instant: int) -> None:
        """Live use (the emulator): process everything due by `instant`, keep going later."""
        self._process(instant)
        self.now = max(self.now, instant)

    def move_to(self, instant: int) -> None:
        """Live use: process what falls due before `instant` and stand at it; what
        falls due at it (timers, windows closing, holds ending) waits for the
        next `advance_to`, so deliveries at `instant` come first (SPEC 4)."""
        self._process(instant - 1)
        self.now = max(self.now, instant)

    def accept(self, delivery: Delivery) -> None:
        """Live use: one delivery arriving now, processed at once, before what falls
        due at its instant (`advance_to` does that)."""
        self.move_to(delivery.arrival)
        self._deliver(delivery)

    def finish(self) -> None:
        self.ended = True
        for r in self.runs:
            if r.open:
                self.trace.put((JOURNEY_OPEN, self.now, r.journey.name, r.num, r.profile, r.shopper))

    def _process(self, until: int | None) -> None:
        queue = self._queue
        checks = self.checks.heap
        while True:
            # The next thing due: the next scheduled delivery, the queue's top or the
            # next time check, whichever sorts first by (instant, phase, seq, copy);
            # a time check sorts as (instant, TIME, cio number).
            top = queue[0] if queue else None
            check_at = checks[0] >> (NUM_BITS + WHAT_BITS) if checks else None
            incoming = self._incoming  # `schedule` may replace it from a probe
            d = incoming[self._next] if self._next < len(incoming) else None
            if d is not None:
                arrival = d.arrival
                if (check_at is None or arrival <= check_at) and (
                    top is None
                    or arrival < top[0]
                    or (arrival == top[0] and (arrival, DELIVERY, d.send.seq, d.copy) < top)
                ):
                    if until is not None and arrival > until:
                        break
                    self._next += 1
                    self._mandatory -= 1
                    self.now = arrival
                    self._deliver(d)
                    continue
            if check_at is not None and (top is None or check_at < top[0] or (check_at == top[0] and TIME < top[1])):
                at, check_first = check_at, True
            elif top is not None:
                at, check_first = top[0], False
            else:
                break
            if until is not None:
                if at > until:
                    break
            elif self._mandatory <= 0 and at > self.now:
                break  # what is left is optional and later than the last instant
            elif self.endless_after is not None and at > self.endless_after:
                raise EndlessStory(self, at)
            self.now = at
            if check_first:
                names = self.checks.names
                key = heapq.heappop(checks)
                due = key >> WHAT_BITS  # instant and cio number
                what = {names[key & WHAT_MASK]}
                while checks and checks[0] >> WHAT_BITS == due:
                    what.add(names[heapq.heappop(checks) & WHAT_MASK])  # one check per profile and instant
                self._time_check(due & NUM_MASK, what)
                continue
            item = heapq.heappop(queue)
            at, phase, k1, payload = item[0], item[1], item[2], item[-1]
            if phase in _MANDATORY and not _retired(phase, payload):
                self._mandatory -= 1
            if phase == DELIVERY:
                self._deliver(payload)
            elif phase == HELD:
                self._release(payload)
            elif phase == TIMER:
                journeys.timer_due(self, payload[0], payload[1])
            elif phase == HOLD_END:
                self._hold_end(payload)
            elif phase == SWEEP:
                self._sweep()
                self.push(at + (self.ws.segment_refresh or 1), SWEEP, 0, 0, None)
            else:
                payload(k1)

    # ------------------------------------------------------------------ views

    @property
    def processed(self) -> dict[int, list[Event]]:
        """Send seq -> the events it was accepted as, in processing order."""
        events = self.events
        if self._processed_upto < len(events):
            for e in events[self._processed_upto :]:
                self._processed.setdefault(e.seq, []).append(e)
            self._processed_upto = len(events)
        return self._processed

    def live(self, num: int) -> Profile:
        """The live profile that `num` is now (following merges)."""
        p = self.profiles[num]
        while p.merged_into is not None:
            p = self.profiles[p.merged_into]
        return p

    def live_profiles(self) -> list[Profile]:
        return [p for p in self.profiles.values() if p.deleted_at is None]

    def members(self, segment: str) -> list[Profile]:
        """The segment's members now, in cio order."""
        return [self.profiles[num] for num in sorted(self.members_of.get(segment, ()))]

    # ------------------------------------------------------------------ profiles

    def create_profile(
        self, *, id: str | None = None, email: str | None = None, anon: str | None = None, orphan: bool = False
    ) -> Profile:
        p = Profile(num=len(self.profiles) + 1, created=self.now, id=id, email=email, orphan=orphan)
        self.profiles[p.num] = p
        if id is not None:
            self.by_id[id] = p
        if email is not None:
            self.by_email[email_key(email)] = p
        if anon is not None:
            p.anonymous_ids.append(anon)
            (self.orphans if orphan else self.by_anon)[anon] = p
        self.trace.put((PROFILE_CREATED, self.now, p.num, id, email, anon, orphan or None))
        self.checks.ages(p, self.now)
        return p

    def add_event(self, p: Profile, e: Event) -> bool:
        """Add an event; True when it made the profile older (an earlier timestamp)."""
        aged = False
        e.holder = p.num
        if e.landed is None:
            e.landed = p.num
        else:
            e.moves += (self.now, p.num)
        p.events.append(e)
        named = p.by_name.get(e.name)
        if named is None:
            p.by_name[e.name] = [e]
        else:
            named.append(e)
        ts = e.ts
        if p.earliest_ts is None or ts < p.earliest_ts:
            p.earliest_ts = ts
            if ts < p.age_start:
                p.age_start = ts
                aged = True
                self.checks.ages(p, self.now)
        self.checks.event_added(p, e, self.now)
        return aged

    def owner(self, p: Profile) -> str | None:
        for key in (p.id, p.email, *p.anonymous_ids):
            if key is not None and key in self.owners:
                return self.owners[key]
        return None

    # ------------------------------------------------------------------ deliveries

    @staticmethod
    def _send_fields(send: Send) -> dict[str, Any]:
        return {
            "seq": send.seq,
            "who": send.shopper,
            "source": send.source,
            "call": send.call,
            "event": send.name,
            "device": send.device,
        }

    def _deliver(self, d: Delivery) -> None:
        send = d.send
        self.trace.put((ARRIVED, self.now, d))
        if send.call == "track":
            self._track(d)
        elif send.call == "identify":
            identity.identify(self, d)
        else:
            identity.merge_call(self, d)
        if self._pending:
            journeys.run_pending(self)

    def _track(self, d: Delivery) -> None:
        send = d.send
        name = send.name or ""
        if self.ws.by_event_id and send.event_id is not None and send.event_id in self.seen_ids:
            self.ignored[send.seq] = self.ignored.get(send.seq, 0) + 1
            self.trace.add(
                self.now, "duplicate_ignored", reason="event_id", event_id=send.event_id, **self._send_fields(send)
            )
            return
        key: str | None = None
        shown: Any = None
        for prop in self._keyed_by.get(name, ()):
            values = lookup(send.properties, prop)
            if values and values[0] is not None:  # a null value is no value: nothing to remember
                key, shown = f"{name}\x00{canonical_key(values[0])}", values[0]
        if key is not None and key in self.seen_keys:
            self.ignored[send.seq] = self.ignored.get(send.seq, 0) + 1
            self.trace.add(
                self.now, "duplicate_ignored", reason="idempotency_key", key=shown, **self._send_fields(send)
            )
            return
        p, via = identity.track_profile(self, send)
        ts = send.timestamp if send.timestamp is not None else self.now
        e = Event(name, send.properties, ts, next(self._proc), d, via, p.num)
        if send.event_id is not None:
            self.seen_ids.add(send.event_id)
        if key is not None:
            self.seen_keys.add(key)
        self.events.append(e)
        aged = self.add_event(p, e)
        added = self._added_by.get(name)
        if added is None:
            added = self._added(name)
        names = added[aged]
        self.trace.put((EVENT_ADDED, self.now, e, p.num, via))
        if ts > self.now:
            self.push(ts, HELD, e.proc, 0, e)
            self.trace.put((EVENT_HELD, self.now, p.num, name, send.seq, ts))
            self.changed(p, names=names)
        else:
            self.changed(p, offer=[e], names=names)

    # ------------------------------------------------------------------ change

    def clear_segments(self, p: Profile) -> None:
        for seg in p.segments:
            self.members_of[seg].discard(p.num)
        p.segments = NO_SEGMENTS

    def _idle(self, p: Profile, names: frozenset[str]) -> bool:
        """Would a change of `names` by time leave `p` as it is? True when no
        segment it can move would move (each evaluated now, in order, unless it
        can only lose members and `p` is not one), and no goal, `wait_until`
        condition or held entry's filter of the profile depends on it: each of
        those was false when last evaluated and nothing it reads has changed
        since. Most age checks end here (an age a negative window needs, on a
        profile that has not done what the rest of the rule asks)."""
        if not p.evaluated:
            return False
        if not self.ws.segment_refresh:
            segments = p.segments
            affected = self._affected_by.get(names)
            if affected is None:
                affected = self._affected(names)
            now = self.now
            for name, rule, only_leave in affected:
                if name in segments:
                    if not rule(p, now, None, None):
                        return False
                elif not only_leave and rule(p, now, None, None):
                    return False
        for r in self.open_runs.get(p.num, ()):
            j = r.journey
            if j.exits_on_goal and j.goal is not None and self.depends(j.goal, names):
                return False
            if r.waiting == "until" and self.depends(r.wait_step.condition, names):
                return False
        for hold in self.holds_on.get(p.num, ()):
            if hold.alive and self.depends(hold.journey.filter, names):
                return False
        return True

    def _recompute(self, p: Profile, names: frozenset[str] | None = None) -> tuple[str, ...]:
        """Re-evaluate the segments the change can affect (all when `names` is None);
        the segments it joined."""
        joined: tuple[str, ...] = ()
        if p.deleted_at is not None:
            return joined
        if not p.evaluated:  # a new profile: every segment gets a first look
            names = None
            p.evaluated = True
        now = self.now
        affected = self._affected_by.get(names)
        if affected is None:
            affected = self._affected(names)
        for name, rule, only_leave in affected:
            was_in = name in p.segments
            if only_leave and not was_in:
                continue
            now_in = rule(p, now, None, None)
            if now_in and not was_in:
                p.segments = {*p.segments, name}
                self.members_of[name].add(p.num)
                joined += (name,)
                self.trace.put((SEGMENT_ENTERED, now, name, p.num, self.owner(p)))
            elif was_in and not now_in:
                p.segments = p.segments - {name} or NO_SEGMENTS
                self.members_of[name].discard(p.num)
                self.trace.put((SEGMENT_LEFT, now, name, p.num, self.owner(p)))
        return joined

    def changed(
        self,
        p: Profile,
        offer: list[Event] | None = None,
        sweep: bool = False,
        names: frozenset[str] | None = None,
        moved: list[Event] | None = None,
    ) -> None:
        """A profile changed: segments, goal exits, waits, entries, then steps.
        `names` says what changed (event names, ATTRIBUTES, AGE); None: anything.
        `offer`: the delivery's event; `moved`: the events an anonymous merge moved."""
        if p.deleted_at is not None:
            return
        self._depth += 1
        # The runs this change starts or resumes take their steps now; runs an
        # outer change queued (another run of the same delivery, waiting for
        # the run whose `update` caused this change) keep their turn after it.
        outer = self._pending
        nested = bool(outer)
        if nested:
            self._pending = []
        try:
            if self._depth > 50:
                self.trace.add(
                    self.now,
                    "loop_guard",
                    cio_id=p.cio_id,
                    note="updates kept changing this profile; stopped re-evaluating",
                )
                return
            joined: tuple[str, ...] = ()
            changes = names
            if sweep or self.exhaustive:
                changes = None
            elif names is not None and self.now >= p.next_due:
                due = self.checks.due_now(p, self.now)
                if due:
                    changes = names | due
            if sweep or not self.ws.segment_refresh:
                joined = self._recompute(p, changes)
            if self.open_runs.get(p.num):
                journeys.goals_and_waits(self, p, changes)
            if offer or joined or moved or self.holds_on.get(p.num):
                journeys.entries(self, p, offer or [], joined, changes, moved)
            if self._pending:
                journeys.run_pending(self)
        finally:
            if nested:
                self._pending = outer + self._pending
            self._depth -= 1

    def _time_check(self, num: int, what: set[str]) -> None:
        """What changes for profile `num` now: event names, window keys, AGE."""
        p = self.profiles[num]
        if p.merged_into is not None:
            p = self.live(num)
        if self.exhaustive:
            self.changed(p)
            return
        self.checks.settle(num, p, what, self.now)
        names = frozenset(what)
        if not names or self._idle(p, names):
            return
        self.changed(p, names=names)

    def _release(self, e: Event) -> None:
        if e.lost is not None:
            return
        p = self.live(e.holder)
        self.trace.put((EVENT_RELEASED, self.now, p.num, e.name, e.seq))
        self.changed(p, offer=[e], names=self._added(e.name)[False])

    def _sweep(self) -> None:
        self.trace.add(self.now, "segment_refresh")
        for p in sorted(self.live_profiles(), key=lambda p: p.num):
            self.changed(p, sweep=True)

    def _hold_end(self, hold: Hold) -> None:
        if not hold.alive:
            return
        hold.alive = False
        p = self.live(hold.profile)
        if self._filter_passes(hold.journey, p, hold.event.props):
            journeys.try_enter(self, hold.journey, p, hold.event, from_hold=True)
            journeys.run_pending(self)
        else:
            self.trace.add(
                self.now,
                "entry_expired",
                journey=hold.journey.name,
                cio_id=p.cio_id,
                seq=hold.event.seq,
                who=hold.event.shopper,
            )

    def set_attributes(self, p: Profile, values: dict[str, Any], who: str | None) -> None:
        p.attributes.update(values)
        self.trace.put((ATTRIBUTES_UPDATED, self.now, p.num, values, who))

    def _filter_passes(self, j: JourneyDef, p: Profile, trigger: dict[str, Any] | None) -> bool:
        return j.filter is None or self.compiled(j.filter)(p, self.now, trigger, None)

    def condition(self, cond: Cond, p: Profile, run: Run | None = None, forward: bool = False) -> bool:
        trigger = run.trigger_props if run is not None else None
        floor = run.floor if (run is not None and forward) else None
        return self.compiled(cond)(p, self.now, trigger, floor)

    def matches_trigger(self, j: JourneyDef, e: Event) -> bool:
        if j.trigger_event != e.name:
            return False
        return not j.trigger_where or tests_pass(j.trigger_where, e.props, e.props, self.ws.coerce)
