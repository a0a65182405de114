"""The evidence every invariant's cause is judged on (SPEC section 9): the
outcome, its ground truth (the sends), the counterfactual replays (ideal,
instant, unskewed, unrefreshed, renamed, retyped) and lookups over them.

`Evidence` is the base of a chain of classes, one module each: identity
evidence (`identity_evidence.py`), missed entries (`missed.py`), and the
finder of all four invariants (`violations.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeGuard

from simulator.checks.ideal import (
    canonical_names,
    ideal_outcome,
    instant_outcome,
    renamed_outcome,
    retyped_outcome,
    unrefreshed_outcome,
    unskewed_outcome,
)
from simulator.model.calls import Send
from simulator.model.conditions import Cond, InSegment, Performed, View, holds, walk
from simulator.model.config import JourneyDef
from simulator.model.time import format_offset
from simulator.model.values import canonical_key, fold_name, lookup, read_generously, tests_pass
from simulator.pipeline import Outcome
from simulator.platform.state import Event, Message, Run

__all__ = ["Evidence", "IdealEvent", "Violation", "single_performed"]


@dataclass(frozen=True)
class Violation:
    kind: str
    who: str
    cause: str
    at: int
    journey: str | None = None
    message: str | None = None
    seq: int | None = None
    explanation: str = ""
    decided: int | None = None  # when it became a violation, if later than `at` (a second run, an ideal entry)

    def as_record(self, start: int) -> dict[str, Any]:
        record: dict[str, Any] = {"violation": self.kind, "who": self.who}
        if self.journey:
            record["journey"] = self.journey
        if self.message:
            record["message"] = self.message
        record["cause"] = self.cause
        record["offset"] = format_offset(self.at - start)
        record["explanation"] = self.explanation
        return record


class Evidence:
    """What the checks read of an outcome: the plan, the platform, the counterfactual
    replays and lookups over them, shared by every invariant's cause."""

    def __init__(self, outcome: Outcome) -> None:
        self.o = outcome
        self.plan = outcome.plan
        self.p = outcome.platform
        self.ws = outcome.platform.ws
        self.start = self.plan.start
        self.sends = {s.seq: s for s in self.plan.sends}
        self.dropped = {s.seq for s in outcome.dropped}
        self.names = canonical_names(self.ws)

    def t(self, at: int) -> str:
        return format_offset(at - self.start)

    # ------------------------------------------------------------ counterfactuals

    @cached_property
    def ideal(self) -> tuple[Outcome, dict[int, int]]:
        return ideal_outcome(self.plan)

    @cached_property
    def instant(self) -> Outcome:
        return instant_outcome(self.plan)

    @cached_property
    def unskewed(self) -> Outcome:
        return unskewed_outcome(self.plan)

    @cached_property
    def unrefreshed(self) -> Outcome:
        return unrefreshed_outcome(self.plan)

    @cached_property
    def renamed(self) -> Outcome:
        return renamed_outcome(self.plan)

    @cached_property
    def retyped(self) -> Outcome:
        return retyped_outcome(self.plan)

    @cached_property
    def renamed_and_retyped(self) -> Outcome:
        return renamed_outcome(self.plan, retyped=True)

    _entered: dict[int, set[tuple[str, int]]]

    def entered_for(self, outcome: Outcome, journey: str, seq: int) -> bool:
        """Did `outcome` enter `journey` for the event of send `seq`?"""
        index = self.__dict__.setdefault("_entered", {})
        keys = index.get(id(outcome))
        if keys is None:
            keys = index[id(outcome)] = {
                (r.journey.name, r.trigger.seq) for r in outcome.platform.runs if r.trigger is not None
            }
        return (journey, seq) in keys

    def refresh_decided(self, r: Run, j: JourneyDef, m: Message | None, acted: int) -> bool:
        """Did `rules.segment_refresh` decide the ghost message `m`, whose shopper
        acted at `acted` (SPEC 9's `refresh_lag`: without it, the event would
        have counted)? Not when the story replayed without it sends `m` after
        that act too."""
        if not self.ws.segment_refresh or not self.reads_segments(j):
            return False
        return m is None or not self.sent_without_refresh(r, m, acted)

    def sent_without_refresh(self, r: Run, m: Message, acted: int) -> bool:
        """Replayed without `rules.segment_refresh`, does `m` still go out at or
        after `acted`, at whatever instant (a segment-triggered run enters at
        another): from the run with the same trigger (for a segment trigger,
        from a run of the same shopper's entered by then)?"""
        for twin in self.unrefreshed.platform.runs:
            if twin.journey.name != r.journey.name:
                continue
            if r.trigger is not None:
                if twin.trigger is None or (twin.trigger.seq, twin.trigger.delivery.copy) != (
                    r.trigger.seq,
                    r.trigger.delivery.copy,
                ):
                    continue
            elif twin.trigger is not None or twin.shopper != r.shopper or twin.entered_at > acted:
                continue  # a run entered after the act is another run, not this one live
            if any(sent.message == m.message and sent.at >= acted for sent in twin.messages):
                return True
        return False

    # ------------------------------------------------------------ helpers

    def live_at(self, num: int, at: int, added: Event | None = None) -> int:
        """The live profile that `num` was at `at`; with `added` (an event that
        arrived then), a merge at `at` counts only when it came before that event."""
        merged: dict[int, int] = {}
        mine = -1
        if added is not None:
            merged, order = self.trace_order
            mine = order.get((added.seq, added.delivery.copy), -1)
        p = self.p.profiles[num]
        while p.merged_into is not None and p.deleted_at is not None and p.deleted_at <= at:
            if p.deleted_at == at and merged.get(p.num, -1) > mine:
                break  # merged later in that instant
            p = self.p.profiles[p.merged_into]
        return p.num

    @cached_property
    def trace_order(self) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
        """Where in processing order (the trace's) each profile was merged away, by
        its cio number, and each event was added, by (send seq, copy)."""
        merged: dict[int, int] = {}
        added: dict[tuple[int, int], int] = {}
        for i, rec in enumerate(self.p.trace.records):
            if rec["kind"] == "profile_merged":
                merged.setdefault(int(str(rec["secondary"]).removeprefix("cio_")), i)
            elif rec["kind"] == "event_added":
                added.setdefault((rec["seq"], rec["copy"]), i)
        return merged, added

    def live_when_added(self, num: int, e: Event) -> int:
        """The live profile that `num` was as `e` was added."""
        return self.live_at(num, e.arrival, e)

    @staticmethod
    def run_profile_at(r: Run, at: int) -> int:
        num = r.profiles[0][1]
        for instant, n in r.profiles:
            if instant <= at:
                num = n
        return num

    @staticmethod
    def location_at(e: Event, at: int) -> int | None:
        if e.lost is not None and e.lost_at is not None and e.lost_at <= at:
            return None
        num = None
        for instant, n in e.history:
            if instant <= at:
                num = n
        return num

    def generous_match(self, cond: Performed, send: Send, trigger: dict[str, Any] | None) -> bool:
        if send.call != "track" or fold_name(send.name or "") != fold_name(cond.event):
            return False
        props = read_generously(send.properties)
        trig = read_generously(trigger) if trigger is not None else None
        return tests_pass(cond.where, props, trig, True)

    def trigger_key(self, r: Run) -> tuple[int, int]:
        if r.trigger is not None and r.trigger.seq in self.sends:
            return (self.sends[r.trigger.seq].at, r.trigger.seq)
        return (r.entered_at, 10**9)

    @cached_property
    def acts(self) -> tuple[dict[str, list[Send]], dict[int, list[int]]]:
        """Each shopper's real tracks in send order, and which later sends replay
        each (send seq -> theirs, in send order). A send that repeats an earlier
        send's event id or idempotency value is a replay of it, not a second act."""
        first_of_id: dict[str, int] = {}
        first_of_key: dict[tuple[str, str], int] = {}
        keys = dict(self.ws.idempotency_keys)
        tracks: dict[str, list[Send]] = {}
        replays: dict[int, list[int]] = {}
        replay_of: dict[int, int] = {}  # a replay -> the act it repeats (never itself a replay)
        for s in sorted(self.plan.sends, key=lambda s: s.seq):
            if s.call != "track" or s.shopper is None:
                continue
            original: int | None = None
            if s.event_id is not None:
                original = first_of_id.setdefault(s.event_id, s.seq)
            prop = keys.get(s.name or "")
            if (original is None or original == s.seq) and prop is not None:
                values = lookup(s.properties, prop)
                if values and values[0] is not None:  # as the platform: a null value is no value
                    original = first_of_key.setdefault((s.name or "", canonical_key(values[0])), s.seq)
            if original is not None and original != s.seq:
                original = replay_of.get(original, original)
                replay_of[s.seq] = original
                replays.setdefault(original, []).append(s.seq)
            else:
                tracks.setdefault(s.shopper, []).append(s)
        return tracks, replays

    def shopper_tracks(self, who: str) -> list[Send]:
        return self.acts[0].get(who, [])

    @cached_property
    def identifies_by_shopper(self) -> dict[str, list[Send]]:
        out: dict[str, list[Send]] = {}
        for s in sorted(self.plan.sends, key=lambda s: s.seq):
            if s.call == "identify" and s.shopper is not None:
                out.setdefault(s.shopper, []).append(s)
        return out

    def shopper_identifies(self, who: str) -> list[Send]:
        return self.identifies_by_shopper.get(who, [])

    @cached_property
    def first_arrival(self) -> dict[int, int]:
        """Send seq -> the instant its first copy arrived (whenever that was)."""
        out: dict[int, int] = {}
        for d in self.o.deliveries:
            if d.send.seq not in out or d.arrival < out[d.send.seq]:
                out[d.send.seq] = d.arrival
        return out

    def ideal_events(self, who: str) -> list[IdealEvent]:
        """The shopper's events as the ideal profile holds them: at their send
        instants, names and types read generously (read once per shopper)."""
        cache: dict[str, list[IdealEvent]] = self.__dict__.setdefault("_ideal_events", {})
        found = cache.get(who)
        if found is None:
            found = cache[who] = [
                IdealEvent(
                    self.names.get(fold_name(s.name or ""), s.name or ""), read_generously(s.properties), s.at, s.seq
                )
                for s in self.shopper_tracks(who)
            ]
        return found

    def ideal_view(
        self,
        who: str,
        at: int,
        trigger: dict[str, Any] | None,
        floor: tuple[int, int] | None,
        upto: tuple[int, int] | None = None,
    ) -> View:
        """The shopper's ideal profile at `at`: every send of theirs at its send
        instant, names and types read generously, segments evaluated on it too.
        `floor`: `performed` looks forward from it (a goal's view; None: the whole
        profile, a filter's). With `upto` (send instant, seq), only the sends up
        to that one count."""
        cut = upto if upto is not None else (at, 10**18)
        events = [e for e in self.ideal_events(who) if e.ts <= at and (e.ts, e.proc) <= cut]
        identifiers: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for s in self.shopper_identifies(who):
            if s.at <= at and (s.at, s.seq) <= cut:
                identifiers.update({k: v for k, v in (("id", s.user_id), ("email", s.email)) if v is not None})
                attributes.update(read_generously(s.attributes))
        # The profile's id and email read as attributes too; an attribute of that name wins.
        attributes = {**identifiers, **attributes}
        memberships: dict[str, bool] = {}

        def base() -> View:
            return View(
                now=at,
                events=events,
                attributes=attributes,
                age_start=self.start,
                in_segment=member,
                coerce=True,
                needs_age=False,
                generous_names=True,
            )

        def member(name: str) -> bool:
            # Segments in the workspace's order, each after those it reads: a chain of
            # a thousand `in_segment`s is read one level at a time, not recursively.
            if name not in memberships:
                for seg in self.ws.segments:
                    if seg.name not in memberships:
                        memberships[seg.name] = holds(seg.rule, segments_view)
                    if seg.name == name:
                        break
            return memberships.get(name, False)

        segments_view = base()

        view = base()
        view.trigger = read_generously(trigger) if trigger else None
        view.floor = floor
        return view

    def event_names(self, cond: Cond | None, waited_for: bool = False) -> set[str]:
        """Folded names of the events a condition reads (with `waited_for`: only
        those it waits for, `performed` ones), through its segments."""
        names: set[str] = set()
        for node in self.nodes(cond):
            if isinstance(node, Performed) and not (waited_for and node.negative):
                names.add(fold_name(node.event))
                if node.after is not None and not waited_for:
                    names.add(fold_name(node.after))
        return names

    @staticmethod
    def reads_segments(j: JourneyDef) -> bool:
        return j.trigger_segment is not None or any(
            isinstance(n, InSegment) for c in (j.goal, j.filter) for n in walk(c)
        )

    def describe_send(self, s: Send) -> str:
        return f"{s.name or s.call} sent at {self.t(s.at)}"

    def describe_arrival(self, s: Send) -> str:
        events = self.p.processed.get(s.seq, [])
        if s.seq in self.dropped:
            return f"{self.describe_send(s)} was dropped and never arrived"
        if s.call != "track":
            arrival = self.first_arrival.get(s.seq)
            if arrival is None or arrival > self.o.end:
                return f"{self.describe_send(s)} had not arrived when the simulation ended"
            return f"{self.describe_send(s)} arrived at {self.t(arrival)}"
        if not events:
            if s.seq in self.p.ignored:
                return f"{self.describe_send(s)} was ignored as a duplicate"
            return f"{self.describe_send(s)} had not arrived when the simulation ended"
        first = min(events, key=lambda e: e.arrival)
        return f"{self.describe_send(s)} arrived at {self.t(first.arrival)} on cio_{first.history[0][1]}"

    def unprocessed_cause(self, send: Send) -> tuple[str, str]:
        """The cause, and why, for a send no event was ever processed from."""
        if send.seq in self.dropped:
            return "dropped", "it never arrived"
        if send.seq in self.p.ignored:
            return "other", "the platform ignored it as a duplicate of an earlier event"
        return "late_arrival", "it had not arrived when the simulation ended"

    def rule_for(self, j: JourneyDef, role: str, send: Send, trigger: dict[str, Any] | None = None) -> Performed | None:
        """The test of the goal or filter (or of a segment it reads) that waits for `send`: the
        condition's own tests before its segments', and of those, first one `send` meets when read
        generously (else the first by name)."""
        named = [
            node
            for node in self.nodes(j.goal if role == "goal" else j.filter)
            if isinstance(node, Performed) and fold_name(node.event) == fold_name(send.name or "")
        ]
        met = [node for node in named if self.generous_match(node, send, trigger)]
        return next(iter(met or named), None)

    def nodes(self, cond: Cond | None) -> list[Cond]:
        """Every node of a condition, then of the rules of the segments it reads (level by level)."""
        found: list[Cond] = []
        level: list[Cond | None] = [cond]
        seen: set[str] = set()
        while level:
            segments: list[Cond | None] = []
            for node in (n for c in level for n in walk(c)):
                found.append(node)
                if isinstance(node, InSegment) and node.segment not in seen:
                    seen.add(node.segment)
                    segments.append(self.segment_rules.get(node.segment))
            level = segments
        return found

    @cached_property
    def segment_rules(self) -> dict[str, Cond]:
        return self.ws.segment_rules()


def single_performed(goal: Cond | None) -> TypeGuard[Performed]:
    """A goal met by one event (SPEC 9's "single performed test"): a
    `performed` without a count (`count: {gte: 2}` is met by the second
    buy, which the ideal profile tells)."""
    return isinstance(goal, Performed) and not goal.negative and not goal.counts


@dataclass(slots=True)
class IdealEvent:
    name: str
    props: Any
    ts: int
    proc: int
