"""Journeys: entry (triggers, filters and their retry, frequency), steps, goals
and the four exit settings (SPEC section 8).

A mixin of `Platform`: it reads and writes the platform's runs, holds and
trace, and asks the platform to evaluate conditions.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from simulator.model.config import Branch, JourneyDef, SendStep, Update, Wait, WaitUntil
from simulator.model.time import format_duration
from simulator.model.values import TriggerRef, lookup
from simulator.platform.rules import CHANGED_ATTRIBUTES
from simulator.platform.state import HOLD_END, TIMER, Event, Frame, Hold, Message, Profile, Run
from simulator.platform.trace import (
    ENTRY_FILTERED,
    ENTRY_HELD,
    ENTRY_REFUSED,
    JOURNEY_ENTERED,
    JOURNEY_EXITED,
    MESSAGE_SENT,
    STEP,
)

if TYPE_CHECKING:
    from simulator.platform.engine import Platform


__all__ = ["end", "entries", "goals_and_waits", "run_pending", "timer_due", "try_enter"]

_NO_EVENT_YET = 2**62
_RUN_ORDER = operator.attrgetter("num")


# ------------------------------------------------------------------ entry


def entries(
    pf: Platform,
    p: Profile,
    offer: list[Event],
    joined: Sequence[str],
    names: frozenset[str] | None = None,
    moved: list[Event] | None = None,
) -> None:
    """Entries after a profile change, journey by journey in the workspace's order:
    held triggers re-tested, segment joins, the delivery's event (`offer`, one
    track or a held event reaching its stamp). Events an anonymous merge moved
    (`moved`) are offered after, each in (timestamp, send) order to the
    journeys in their order (SPEC 5), however many moved. `names` says what
    changed (None: anything): a held trigger whose filter reads none of it
    still fails and is not re-tested."""
    if not p.identified or p.deleted_at is not None:
        return
    holds = pf.holds_on.get(p.num)
    if holds:
        holds = [h for h in holds if h.alive and (names is None or pf.depends(h.journey.filter, names))]
    if not offer and not joined and not holds and not moved:
        return
    now = pf.now
    low = now - pf.ws.max_age
    # Inherited events (a Merge People call) never start a run; none older than max_age does.
    # One the merge moved while it was held for its timestamp (at its stamp too: deliveries
    # come before held events at an instant) was never seen before it: it is offered when it
    # reaches its stamp, as a held trigger moves and enters on the primary.
    offered: list[Event] = []
    for e in offer:
        if (e.via != "merge" or e.moves[-2] <= e.ts) and low <= e.ts <= now:
            offered.append(e)
    later = [e for e in moved if e.via != "merge" and low <= e.ts <= now] if moved else []
    triggered_by = pf.rules.triggered_by
    if holds or joined or len(offered) > 1:
        candidates = pf.ws.journeys
    elif offered:
        # Only the journeys this event can trigger: no other has anything to do.
        name = offered[0].name
        found = pf.rules.triggering.get(name)
        candidates = found if found is not None else triggered_by(name)
    else:
        candidates = ()
    for j in candidates:
        for hold in [h for h in holds if h.journey is j] if holds else ():
            if hold.alive and pf.now <= hold.expires and pf._filter_passes(j, p, hold.event.props):
                hold.alive = False
                pf.retire()  # its end
                try_enter(pf, j, p, hold.event, from_hold=True)
        if j.trigger_segment is not None and j.trigger_segment in joined:
            try_enter(pf, j, p, None)
        if j.trigger_event is not None:
            for e in offered:  # one delivery's event: journey by journey
                if pf.matches_trigger(j, e):
                    try_enter(pf, j, p, e)
    for e in later:
        for j in triggered_by(e.name):
            if pf.matches_trigger(j, e):
                try_enter(pf, j, p, e)


@functools.cache
def _refusal(frequency: str) -> str:
    return f"frequency {frequency}"


@functools.cache
def _wait_label(seconds: int) -> str:
    return f"wait {format_duration(seconds)}"


def frequency_ok(pf: Platform, j: JourneyDef, p: Profile) -> bool:
    frequency = j.frequency
    if frequency == "every_time":
        return True
    name, now = j.name, pf.now
    for r in p.history:
        if r.journey.name != name:
            continue
        if frequency == "once":
            return False
        if frequency == "once_at_a_time":
            if r.open:
                return False
        elif now - j.frequency_window < r.entered_at <= now:
            return False
    return True


def try_enter(pf: Platform, j: JourneyDef, p: Profile, e: Event | None, from_hold: bool = False) -> Run | None:
    if not p.identified:
        return None
    who = e.shopper if e is not None else pf.owner(p)
    seq = e.seq if e is not None else None
    if not frequency_ok(pf, j, p):
        pf.trace.put((ENTRY_REFUSED, pf.now, j.name, p.num, who, seq, _refusal(j.frequency)))
        return None
    trigger = e.props if e is not None else None
    if not pf._filter_passes(j, p, trigger):
        if from_hold or e is None:
            pf.trace.put((ENTRY_FILTERED, pf.now, j.name, p.num, who, seq))
            return None
        hold = Hold(j, p.num, e, pf.now, pf.now + pf.ws.filter_retry)
        pf.holds_on.setdefault(p.num, []).append(hold)
        pf.push(hold.expires, HOLD_END, next(pf._holds_made), 0, hold)
        pf.trace.put((ENTRY_HELD, pf.now, j.name, p.num, who, seq, hold.expires))
        return None
    floor = (e.ts, e.proc) if e is not None else (pf.now, _NO_EVENT_YET)
    r = Run(len(pf.runs) + 1, j, p.num, who, pf.now, e, floor)
    r.stack.append(Frame(j.steps))
    r.profiles.append((pf.now, p.num))
    pf.runs.append(r)
    pf.open_runs.setdefault(p.num, []).append(r)
    p.history.append(r)
    pf.trace.put((JOURNEY_ENTERED, pf.now, r))
    if j.exits_on_goal and j.goal is not None and pf.condition(j.goal, p, r, forward=True):
        end(pf, r, "goal")
        return r
    pf._pending.append(r)
    return r


# ------------------------------------------------------------------ exits


def end(pf: Platform, r: Run, reason: str) -> None:
    still_open = pf.open_runs.get(r.profile)
    if still_open is not None and r in still_open:
        still_open.remove(r)
    r.ended_at = pf.now
    r.reason = reason
    r.token += 1
    if r.waiting is not None:
        pf.retire()  # its timer
    r.waiting = None
    pf.trace.put((JOURNEY_EXITED, pf.now, r))


def still_matching(pf: Platform, r: Run, p: Profile) -> bool:
    j = r.journey
    if j.trigger_segment is not None and j.trigger_segment not in p.segments:
        return False
    return pf._filter_passes(j, p, r.trigger_props)


def goals_and_waits(pf: Platform, p: Profile, names: frozenset[str] | None = None) -> None:
    """Goal exits and met `wait_until` conditions of the profile's open runs.
    `names` says what changed (None: anything): a goal or condition that reads
    none of it was false when last evaluated and still is."""
    runs = pf.open_runs.get(p.num)
    if not runs:
        return
    for r in list(runs):
        if not r.open:
            continue
        j = r.journey
        goal = j.goal
        if (
            j.exits_on_goal
            and goal is not None
            and (names is None or pf.depends(goal, names))
            and pf.condition(goal, p, r, True)
        ):
            end(pf, r, "goal")
            continue
        if (
            r.waiting == "until"
            and (names is None or pf.depends(r.wait_step.condition, names))
            and pf.condition(r.wait_step.condition, p, r, True)
        ):
            r.waiting = None
            r.token += 1
            pf.retire()  # the max's timer
            r.stack.append(Frame(r.wait_step.then, ends_run=True))
            pf.trace.put((STEP, pf.now, r, "wait_until met", p.num))
            pf._pending.append(r)


# ------------------------------------------------------------------ steps


def run_pending(pf: Platform) -> None:
    while pf._pending:
        if len(pf._pending) > 1:
            pf._pending.sort(key=_RUN_ORDER)
        r = pf._pending.pop(0)
        advance(pf, r)


def timer_due(pf: Platform, r: Run, token: int) -> None:
    if not r.open or token != r.token:
        return
    kind = r.waiting
    r.waiting = None
    p = pf.live(r.profile)
    step = "wait ended" if kind == "wait" else "wait_until max reached"
    pf.trace.put((STEP, pf.now, r, step, p.num))
    if r.journey.exits_on_stop_matching and not still_matching(pf, r, p):
        end(pf, r, "stopped_matching")
        return
    advance(pf, r)
    run_pending(pf)


def wait(pf: Platform, r: Run, seconds: int, kind: str, step: Any) -> None:
    if r.waiting is not None:
        pf.retire()  # never while a timer is pending; kept exact if it were
    r.waiting = kind
    r.wait_step = step
    r.token += 1
    due = pf.now + seconds
    pf.push(due, TIMER, r.num, 0, (r, r.token))


def advance(pf: Platform, r: Run) -> None:
    j = r.journey
    while r.open:
        if not r.stack:
            end(pf, r, "completed")
            return
        frame = r.stack[-1]
        if frame.index >= len(frame.steps):
            r.stack.pop()
            if frame.ends_run:
                end(pf, r, "completed")
                return
            continue
        step = frame.steps[frame.index]
        frame.index += 1
        p = pf.profiles[r.profile]
        if p.merged_into is not None:
            p = pf.live(r.profile)
        if isinstance(step, Wait):
            pf.trace.put((STEP, pf.now, r, _wait_label(step.seconds), p.num))
            wait(pf, r, step.seconds, "wait", step)
            return
        if isinstance(step, SendStep):
            if j.exits_on_stop_matching and not still_matching(pf, r, p):
                end(pf, r, "stopped_matching")
                return
            m = Message(j.name, step.message, r.num, p.num, pf.now, r.shopper, pf.events[-1].proc if pf.events else 0)
            r.messages.append(m)
            pf.messages.append(m)
            pf.trace.put((MESSAGE_SENT, pf.now, m))
        elif isinstance(step, WaitUntil):
            if pf.condition(step.condition, p, r, forward=True):
                pf.trace.put((STEP, pf.now, r, "wait_until already met", p.num))
                r.stack.append(Frame(step.then, ends_run=True))
                continue
            pf.trace.put((STEP, pf.now, r, "wait_until", p.num))
            wait(pf, r, step.max, "until", step)
            return
        elif isinstance(step, Branch):
            taken = pf.condition(step.condition, p, r)
            pf.trace.put((STEP, pf.now, r, "branch then" if taken else "branch else", p.num))
            r.stack.append(Frame(step.then if taken else step.else_))
        elif isinstance(step, Update):
            values: dict[str, Any] = {}
            for key, value in step.values:
                if isinstance(value, TriggerRef):
                    found = lookup(r.trigger_props, value.path)
                    value = found[0] if found else None
                values[key] = value
            pf.set_attributes(p, values, r.shopper)
            pf.changed(p, names=CHANGED_ATTRIBUTES)
