"""The four invariants of SPEC section 9 and the cause of each violation.

Ghost abandons, missed entries, duplicate entries and split identities are
found by comparing what the platform did with the ground truth (the sends),
and each gets the first cause of the SPEC's list that applies.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from simulator.model.conditions import AttributeTest, Cond, InSegment, Performed, View, excluding, holds, walk
from simulator.model.config import JourneyDef
from simulator.model.time import format_offset
from simulator.model.values import canonical_key, fold_name, lookup, read_generously, tests_pass
from simulator.model.verdicts import CAUSES, INVARIANTS
from simulator.pipeline import Outcome
from simulator.platform.state import Event, Message, Run, email_key

__all__ = ["CAUSES", "INVARIANTS", "Violation", "find_violations", "violations_by"]


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


class _Finder:
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

    # ------------------------------------------------------------ helpers

    def live_at(self, num: int, at: int) -> int:
        p = self.p.profiles[num]
        while p.merged_into is not None and p.deleted_at is not None and p.deleted_at <= at:
            p = self.p.profiles[p.merged_into]
        return p.num

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
    def tracks_by_shopper(self) -> dict[str, list[Send]]:
        """Each shopper's real tracks in send order. A send that repeats an earlier
        send's event id or idempotency value is a replay of it, not a second act."""
        seen_ids: set[str] = set()
        seen_keys: set[tuple[str, str]] = set()
        keys = dict(self.ws.idempotency_keys)
        out: dict[str, list[Send]] = {}
        for s in sorted(self.plan.sends, key=lambda s: s.seq):
            if s.call != "track" or s.shopper is None:
                continue
            if s.event_id is not None:
                if s.event_id in seen_ids:
                    continue
                seen_ids.add(s.event_id)
            prop = keys.get(s.name or "")
            if prop is not None:
                values = lookup(s.properties, prop)
                if values and values[0] is not None:  # as the platform: a null value is no value
                    key = (s.name or "", canonical_key(values[0]))
                    if key in seen_keys:
                        continue
                    seen_keys.add(key)
            out.setdefault(s.shopper, []).append(s)
        return out

    def shopper_tracks(self, who: str) -> list[Send]:
        return self.tracks_by_shopper.get(who, [])

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

    def ideal_events(self, who: str) -> list[_Ev]:
        """The shopper's events as the ideal profile holds them: at their send
        instants, names and types read generously (read once per shopper)."""
        cache: dict[str, list[_Ev]] = self.__dict__.setdefault("_ideal_events", {})
        found = cache.get(who)
        if found is None:
            found = cache[who] = [
                _Ev(self.names.get(fold_name(s.name or ""), s.name or ""), read_generously(s.properties), s.at, s.seq)
                for s in self.shopper_tracks(who)
            ]
        return found

    def ideal_view(
        self,
        who: str,
        at: int,
        trigger: dict[str, Any] | None,
        floor: tuple[int, int],
        upto: tuple[int, int] | None = None,
    ) -> View:
        """The shopper's ideal profile at `at`: every send of theirs at its send
        instant, names and types read generously, segments evaluated on it too.
        With `upto` (send instant, seq), only the sends up to that one count."""
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
        rules = {seg.name: seg.rule for seg in self.ws.segments}

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
            rule = rules.get(name)
            return rule is not None and holds(rule, base())

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

    # ------------------------------------------------------------ ghosts

    def ghosts(self) -> list[Violation]:
        out: list[Violation] = []
        runs = {r.num: r for r in self.p.runs}
        for m in self.p.messages:
            r = runs[m.run]
            j = r.journey
            if (j.goal is None and j.filter is None) or m.shopper is None:
                continue
            found = self.ghost_event(r, j, m.shopper, m.at)
            if found is None:
                continue
            send, role = found
            cause, why = self.ghost_cause(r, j, send, role, m.at, m)
            text = f"{self.describe_arrival(send)}; {m.message} sent at {self.t(m.at)} on cio_{m.profile}: {why}"
            out.append(Violation("ghost_abandon", m.shopper, cause, m.at, j.name, m.message, send.seq, text))
        return out

    def ghost_event(self, r: Run, j: JourneyDef, who: str, at: int) -> tuple[Send, str] | None:
        key = self.trigger_key(r)
        trigger = r.trigger_props
        later = [s for s in self.shopper_tracks(who) if (s.at, s.seq) > key and s.at <= at]
        candidates: list[tuple[Send, str]] = []
        goal = j.goal
        if _single_performed(goal):
            candidates += [(s, "goal") for s in later if self.generous_match(goal, s, trigger)]
        elif goal is not None:
            if holds(goal, self.ideal_view(who, at, trigger, key)):
                made_true = self.goal_made_true(goal, who, at, trigger, key)
                if made_true is not None:
                    candidates.append((made_true, "goal"))
                else:
                    names = self.event_names(goal, waited_for=True)
                    candidates += [(s, "goal") for s in later if fold_name(s.name or "") in names][:1]
        exclusions = list(excluding(j.filter))  # the events the filter excludes
        if exclusions and j.filter is not None and not isinstance(j.filter, Performed):
            # A compound filter: the exclusion counts only when it made the filter
            # false on the ideal profile (`any: [not_performed: order, vip]` keeps a VIP).
            if holds(j.filter, self.ideal_view(who, at, trigger, key)):
                exclusions = []
        for node in exclusions:
            candidates += [(s, "filter") for s in later if self.generous_match(node, s, trigger)]
        if not candidates:
            return None
        return min(candidates, key=lambda c: (c[0].at, c[0].seq))

    def goal_made_true(
        self, goal: Cond, who: str, at: int, trigger: dict[str, Any] | None, key: tuple[int, int]
    ) -> Send | None:
        """The shopper's first send after the trigger that turned `goal` true on
        the ideal profile at `at` (false with the sends before it, true with it):
        an identify, or an event the goal (or a segment it reads) names. None
        when the goal held already with the sends up to the trigger."""
        if holds(goal, self.ideal_view(who, at, trigger, key, upto=key)):
            return None
        names = self.event_names(goal)
        later = sorted(
            (
                s
                for s in (*self.shopper_tracks(who), *self.shopper_identifies(who))
                if key < (s.at, s.seq) and s.at <= at and (s.call == "identify" or fold_name(s.name or "") in names)
            ),
            key=lambda s: (s.at, s.seq),
        )
        for s in later:
            if holds(goal, self.ideal_view(who, at, trigger, key, upto=(s.at, s.seq))):
                return s
        return None

    def ghost_cause(
        self, r: Run, j: JourneyDef, send: Send, role: str, at: int, m: Message | None = None
    ) -> tuple[str, str]:
        """The cause of a ghost whose deciding send is `send`, for the message `m`
        sent at `at`: a call arriving at that instant but processed after the
        message is late."""
        if send.call == "identify":
            return self.identify_cause(r, j, send, at, m)
        after = m.after if m is not None else None
        events = self.p.processed.get(send.seq, [])
        if not events:
            if send.seq in self.dropped:
                return "dropped", "it never arrived"
            if send.seq in self.p.ignored:
                return "other", "the platform ignored it as a duplicate of an earlier event"
            return "late_arrival", "it had not arrived when the simulation ended"
        first = min(events, key=lambda e: (e.arrival, e.proc))
        run_at = self.run_profile_at(r, at)
        if first.arrival > at or (first.arrival == at and after is not None and first.proc > after):
            landed = self.live_at(first.history[0][1], first.arrival)
            if landed != self.live_at(run_at, first.arrival):
                return "identity_split", (
                    f"it landed on cio_{first.history[0][1]}, not on the run's profile cio_{run_at}"
                )
            return "late_arrival", "it arrived after the message was sent"
        loc = self.location_at(first, at)
        if loc is None:
            return "merge_lost", f"a merge left it behind ({first.lost})"
        if self.live_at(loc, at) != run_at:
            return "identity_split", (
                f"it was on cio_{loc}, not on the run's profile cio_{run_at}, when the message went out"
            )
        target = self.rule_for(j, role, send, r.trigger_props)
        read_exactly = target is None or (
            send.name == target.event and tests_pass(target.where, send.properties, r.trigger_props, self.ws.coerce)
        )
        consulted = j.exits_on_goal if role == "goal" else j.exits_on_stop_matching
        if first.ts != send.at and read_exactly and consulted:  # stamped at its send instant, it would have counted
            return "clock_skew", f"it was stamped {self.t(first.ts)}, not its send instant"
        if self.ws.segment_refresh and self.reads_segments(j):
            return "refresh_lag", "the segments it depends on had not been refreshed"
        if target is not None and send.name != target.event:
            return "name_mismatch", f"it is named {send.name!r}, the rule waits for {target.event!r}"
        if target is not None and not tests_pass(target.where, send.properties, r.trigger_props, self.ws.coerce):
            return "type_mismatch", "its properties match only when read as numbers"
        if role == "goal" and not j.exits_on_goal:
            return "exit_setting", f"exit: {j.exit} never consults the goal"
        if role == "filter" and not j.exits_on_stop_matching:
            return "exit_setting", f"exit: {j.exit} never re-tests the filter"
        reset = self.later_after_event(j, role, send, at)
        if reset is not None:
            return "other", (
                f"it arrived in time on the run's profile, but the {role} reads only events after the latest "
                f"{reset.name}, and another {reset.name} was sent at {self.t(reset.at)}: the run went on"
            )
        trigger = r.trigger
        if role == "goal" and trigger is not None and trigger.ts != trigger.delivery.send.at and trigger.ts >= first.ts:
            return "other", (
                f"it arrived in time on the run's profile, but the goal reads only events later than the run's "
                f"trigger, which was stamped {self.t(trigger.ts)}, not its send instant "
                f"{self.t(trigger.delivery.send.at)}"
            )
        return "other", "it arrived in time on the run's profile, yet the run went on"

    def later_after_event(self, j: JourneyDef, role: str, send: Send, at: int) -> Send | None:
        """A send of the shopper's, after `send` and by `at`, of the event an
        `after:` of the rule waiting for `send` names: it moved that rule's
        horizon past `send`."""
        target = self.rule_for(j, role, send)
        if target is None or target.after is None:
            return None
        after = fold_name(target.after)
        return next(
            (
                s
                for s in self.shopper_tracks(send.shopper or "")
                if (send.at, send.seq) < (s.at, s.seq) and s.at <= at and fold_name(s.name or "") == after
            ),
            None,
        )

    @cached_property
    def identify_landed(self) -> dict[int, int]:
        """Identify send seq -> the profile its first processed copy updated."""
        kinds = {
            "attributes_updated": "cio_id",
            "profile_created": "cio_id",
            "anonymous_id_recorded": "cio_id",
            "identity_conflict": "cio_id",
            "profile_merged": "primary",
        }
        out: dict[int, int] = {}
        current: int | None = None
        for rec in self.p.trace.records:
            if rec["kind"] == "arrived":
                current = rec["seq"] if rec.get("call") == "identify" and rec["seq"] not in out else None
            elif current is not None and rec["kind"] in kinds:
                cio = rec.get(kinds[rec["kind"]])
                if isinstance(cio, str) and cio.startswith("cio_"):
                    out[current] = int(cio[4:])
                    current = None
        return out

    def identified_home(self, who: str, by: int, device: str | None) -> int | None:
        """The shopper's identified profile at `by`: where their latest identify
        processed by then landed; the sending device's own first, then any
        device's, then a server's (a backend keyed by email does not move the
        profile the device identified)."""
        arrived = [
            s
            for s in self.shopper_identifies(who)
            if self.first_arrival.get(s.seq, by + 1) <= by and s.seq not in self.p.ignored
        ]
        own = [s for s in arrived if device is not None and s.device == device]
        devices = [s for s in arrived if s.device is not None]
        chosen = max(own or devices or arrived, key=lambda s: (self.first_arrival[s.seq], s.seq), default=None)
        return None if chosen is None else self.identify_profile(chosen)

    def anonymous_when_identified(self, who: str, e: Event) -> str | None:
        """Where `e` was when a call of the shopper's carrying a known identifier
        (an identify, a server's track) first reached an identified profile
        after `e` arrived, if that was an anonymous profile: it waited there,
        merged later or never, and the journey never saw it in time. The ideal
        run is identified from that call on. None when it was already there."""
        calls: list[tuple[int, int, int]] = []  # (first arrival, seq, identified profile)
        for s in self.shopper_identifies(who):
            num = self.identify_profile(s) if s.seq in self.first_arrival else None
            if num is not None and s.seq not in self.p.ignored:
                calls.append((self.first_arrival[s.seq], s.seq, num))
        for s in self.shopper_tracks(who):
            landed = self.p.processed.get(s.seq, [])
            if (s.user_id is not None or s.email is not None) and landed:
                calls.append((landed[0].arrival, s.seq, landed[0].history[0][1]))
        first_home = e.history[0][1]
        for at, _seq, num in sorted(calls):
            if at < e.arrival:
                if not self.p.profiles[first_home].identified:  # identified already (a server's track, say)
                    return (
                        f"it landed on an anonymous profile (cio_{first_home}) though the shopper had been identified "
                        f"on cio_{self.live_at(num, e.arrival)} since {self.t(at)}"
                    )
                continue
            identified, where = self.live_at(num, at), self.location_at(e, at)
            if where is None or where == identified or self.p.profiles[where].identified:
                return None
            moved = next((t for t, n in e.history if t > at and n != where), None)
            later = f"; it moved there only at {self.t(moved)}" if moved is not None else ""
            return (
                f"it was on an anonymous profile (cio_{where}) when the shopper was identified on "
                f"cio_{identified} at {self.t(at)}{later}"
            )
        return None

    def identified_elsewhere(self, who: str, by: int, landed: int, device: str | None) -> list[int]:
        """The shopper's other live profiles, at `by`, that an identify of theirs
        landed on; none when the sending device had identified itself (its
        own identified profile is the one that needed the send)."""
        arrived = [
            s
            for s in self.shopper_identifies(who)
            if self.first_arrival.get(s.seq, by + 1) <= by and s.seq not in self.p.ignored
        ]
        if device is not None and any(s.device == device for s in arrived):
            return []
        found = {self.live_at(num, by) for s in arrived for num in [self.identify_profile(s)] if num is not None}
        found.discard(landed)
        return sorted(n for n in found if (self.p.profiles[n].deleted_at or by + 1) > by)

    def identify_profile(self, send: Send) -> int | None:
        found = self.identify_landed.get(send.seq)
        if found is None:  # an identify of a known profile that changed nothing visible
            p = self.p.by_id.get(send.user_id or "") or self.p.by_email.get(email_key(send.email or ""))
            found = p.num if p is not None else None
        return found

    @cached_property
    def trace_positions(self) -> tuple[dict[int, int], dict[tuple[int, str, int], int]]:
        """Where in the trace each identify first arrived (by send seq) and each
        message went out (by run, message, instant): which came first at one instant."""
        identifies: dict[int, int] = {}
        messages: dict[tuple[int, str, int], int] = {}
        for i, rec in enumerate(self.p.trace.records):
            kind = rec["kind"]
            if kind == "arrived" and rec.get("call") == "identify":
                identifies.setdefault(rec["seq"], i)
            elif kind == "message_sent":
                messages.setdefault((rec["run"], rec["message"], rec["at"]), i)
        return identifies, messages

    def processed_after(self, send: Send, m: Message | None) -> bool:
        """The identify `send`, arriving at `m`'s instant, was processed after `m` went out."""
        if m is None:
            return False
        identifies, messages = self.trace_positions
        arrived, sent = identifies.get(send.seq), messages.get((m.run, m.message, m.at))
        return arrived is not None and sent is not None and arrived > sent

    def identify_cause(self, r: Run, j: JourneyDef, send: Send, at: int, m: Message | None = None) -> tuple[str, str]:
        """The cause for a goal the shopper met with an identify (its attributes
        or identifiers), in SPEC 9's order."""
        if send.seq in self.dropped:
            return "dropped", "it never arrived"
        arrival = self.first_arrival.get(send.seq)
        run_at = self.run_profile_at(r, at)
        if arrival is None or arrival > self.o.end:
            return "late_arrival", "it had not arrived when the simulation ended"
        landed = self.identify_profile(send)
        when = max(arrival, at)
        if landed is not None and self.live_at(landed, when) != self.live_at(run_at, when):
            return "identity_split", f"it updated cio_{landed}, not the run's profile cio_{run_at}"
        if arrival > at or (arrival == at and self.processed_after(send, m)):
            return "late_arrival", "it arrived after the message was sent"
        if self.ws.segment_refresh and self.reads_segments(j):
            return "refresh_lag", "the segments it depends on had not been refreshed"
        if not j.exits_on_goal:
            return "exit_setting", f"exit: {j.exit} never consults the goal"
        exact = {k: v for k, v in send.attributes.items() if read_generously(v) != v}
        if exact:
            shown = ", ".join(f"{k}={v!r}" for k, v in sorted(exact.items()))
            return "other", f"the platform reads {shown} exactly: a string, not a number"
        return "other", (
            f"it arrived in time on the run's profile cio_{run_at}, "
            "yet the goal was false there when the message was sent"
        )

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
        return {seg.name: seg.rule for seg in self.ws.segments}

    # ------------------------------------------------------------ missed entries

    def missed(self) -> list[Violation]:
        out: list[Violation] = []
        ideal, back = self.ideal
        journeys = {jd.name: jd for jd in self.ws.journeys}  # as written (the ideal's spell names one way)
        for r in ideal.platform.runs:
            j = journeys.get(r.journey.name, r.journey)
            if j.trigger_event is None or r.trigger is None:
                continue
            seq = back.get(r.trigger.seq)
            if seq is None:
                continue
            if self.entered_for(self.o, j.name, seq):
                continue
            send = self.sends[seq]
            who = send.shopper or ""
            if self.excused(j, send, who):
                continue
            cause, why = self.missed_cause(j, send)
            text = f"{self.describe_arrival(send)}; no run of {j.name} entered for it: {why}"
            out.append(Violation("missed_entry", who, cause, send.at, j.name, None, seq, text, decided=r.entered_at))
        return out

    def excused(self, j: JourneyDef, send: Send, who: str) -> bool:
        if j.goal is None:
            return False
        key = (send.at, send.seq)
        limit = send.at + self.ws.entry_grace
        later = [s for s in self.shopper_tracks(who) if (s.at, s.seq) > key and s.at <= limit]
        goal = j.goal
        if _single_performed(goal):
            return any(self.generous_match(goal, s, send.properties) for s in later)
        return holds(goal, self.ideal_view(who, limit, send.properties, key))

    def missed_cause(self, j: JourneyDef, send: Send) -> tuple[str, str]:
        events = self.p.processed.get(send.seq, [])
        if not events:
            if send.seq in self.dropped:
                return "dropped", "it never arrived"
            if send.seq in self.p.ignored:
                return "other", "the platform ignored it as a duplicate"
            return "late_arrival", "it had not arrived when the simulation ended"
        first = min(events, key=lambda e: e.arrival)
        if first.lost is not None:
            return "merge_lost", f"a merge left it behind ({first.lost})"
        holder = self.p.live(first.holder)
        if not holder.identified:
            what = "an orphaned anonymous profile" if holder.orphan else "an anonymous profile"
            return "identity_split", f"it stayed on {what} (cio_{holder.num})"
        waiting = self.anonymous_when_identified(send.shopper or "", first)
        if waiting is not None:
            return "identity_split", waiting
        home = self.identified_home(send.shopper or "", first.arrival, send.device)
        landed = self.live_at(first.history[0][1], first.arrival)
        if home is not None and landed != self.live_at(home, first.arrival):
            return "identity_split", (f"it landed on cio_{landed}, not on cio_{home}, where the shopper had identified")
        others = self.identified_elsewhere(send.shopper or "", first.arrival, landed, send.device)
        if others and self.p.matches_trigger(j, first):
            # Two identified profiles (say a backend keyed by id, another by email)
            # and no device's own: the trigger was right, its profile not the whole shopper.
            shown = ", ".join(f"cio_{n}" for n in others)
            return "identity_split", f"it landed on cio_{landed}; the shopper was also identified on {shown}"
        if first.arrival - first.ts > self.ws.max_age:
            return "too_old", "it arrived more than triggers.max_age after its timestamp"
        if self.entered_for(self.instant, j.name, send.seq):
            why = "delivered at its send instant it would have entered"
            if first.arrival == send.at:  # the trigger was on time: another call of the shopper's was not
                culprits = [
                    (s, "was dropped" if s.seq in self.dropped else "arrived late")
                    for s in self.shopper_tracks(send.shopper or "")
                    if s.seq in self.dropped or (self.first_arrival.get(s.seq, s.at) > s.at and s.at <= first.arrival)
                ]
                culprits.sort(key=lambda pair: pair[1] != "was dropped")  # dropped first, each kind in send order
                if culprits:
                    shown = ", ".join(f"{s.name} sent at {self.t(s.at)} {what}" for s, what in culprits[:3])
                    why = (
                        "it arrived on time, but with every call delivered at its send instant it would have "
                        f"entered ({shown})"
                    )
            return "late_arrival", why
        if first.ts != send.at and self.entered_for(self.unskewed, j.name, send.seq):
            return "clock_skew", f"it was stamped {self.t(first.ts)}, not its send instant"
        if self.ws.segment_refresh and self.entered_for(self.unrefreshed, j.name, send.seq):
            return "refresh_lag", "without segment_refresh it would have entered"
        name = send.name or ""
        if j.trigger_event is not None and name != j.trigger_event:
            return "name_mismatch", f"it is named {name!r}, the trigger is {j.trigger_event!r}"
        if self.entered_for(self.renamed, j.name, send.seq):  # the filter, or a segment it reads
            return "name_mismatch", "with the shopper's events named as the rules spell them it would have entered" + (
                self.drifted_names(send.shopper or "")
            )
        if not tests_pass(j.trigger_where, send.properties, send.properties, self.ws.coerce):
            return "type_mismatch", "the trigger's where fails only because of a type"
        filt = [n for n in walk(j.filter) if isinstance(n, Performed)]
        for node in filt:
            for s in self.shopper_tracks(send.shopper or ""):
                if (
                    fold_name(s.name or "") == fold_name(node.event)
                    and node.where
                    and tests_pass(node.where, read_generously(s.properties), None, True)
                    != tests_pass(node.where, s.properties, None, self.ws.coerce)
                ):
                    return "type_mismatch", "the filter's where differs only because of a type"
        if self.entered_for(self.retyped, j.name, send.seq):  # the filter's `trigger:` tests, a segment it reads
            return "type_mismatch", "with numeric strings read as numbers it would have entered"
        return "other", self.what_kept_it_out(j, send)

    def drifted_names(self, who: str) -> str:
        """The shopper's event names that the rules spell otherwise, as a parenthesis (or nothing)."""
        names = canonical_names(self.ws)
        drifted = sorted(
            {
                f"{s.name!r} is {names[fold_name(s.name or '')]!r}"
                for s in self.shopper_tracks(who)
                if names.get(fold_name(s.name or ""), s.name) != s.name
            }
        )
        return f" ({', '.join(drifted[:3])})" if drifted else ""

    @cached_property
    def records_by_seq(self) -> dict[Any, list[dict[str, Any]]]:
        """The platform's trace records about each send, by send seq (read once)."""
        out: dict[Any, list[dict[str, Any]]] = {}
        for rec in self.p.trace.records:
            if "seq" in rec:
                out.setdefault(rec["seq"], []).append(rec)
        return out

    def skewed_tracks(self, who: str) -> list[str]:
        """The shopper's events the platform holds stamped other than at their send instant."""
        return [
            f"{s.name} sent at {self.t(s.at)} was stamped {self.t(e.ts)}"
            for s in self.shopper_tracks(who)
            for e in self.p.processed.get(s.seq, [])[:1]
            if e.ts != s.at
        ]

    def what_kept_it_out(self, j: JourneyDef, send: Send) -> str:
        """What differed, for a missed entry of no named cause: what the
        platform did with the trigger, and what in the shopper's data it read
        differently from the ideal run."""
        said: list[str] = []
        for rec in self.records_by_seq.get(send.seq, []):
            if rec.get("journey") != j.name:
                continue
            if rec["kind"] == "entry_refused":
                said.append(f"at {self.t(rec['at'])} {rec['reason']} refused it on {rec['cio_id']}")
            elif rec["kind"] == "entry_filtered":
                said.append(f"at {self.t(rec['at'])} the filter was false on {rec['cio_id']}")
            elif rec["kind"] == "entry_held":
                said.append(f"at {self.t(rec['at'])} the filter was false on {rec['cio_id']}, so the entry was held")
            elif rec["kind"] == "entry_expired":
                said.append(f"at {self.t(rec['at'])} the held entry expired, the filter still false")
        skewed = self.skewed_tracks(send.shopper or "")
        if skewed and self.entered_for(self.unskewed, j.name, send.seq):
            # The trigger, whose cause this is, was stamped right (SPEC 9 names
            # the deciding event's causes); an event the filter reads was not.
            said.append(
                "with the shopper's events stamped at their send instants it would have entered ("
                + "; ".join(skewed)
                + ")"
            )
        read = {t.path.split(".")[0] for n in walk(j.filter) if isinstance(n, AttributeTest) for t in n.tests}
        strings = sorted(
            f"{k}={v!r}"
            for s in self.shopper_identifies(send.shopper or "")
            for k, v in s.attributes.items()
            if k in read and read_generously(v) != v
        )
        if strings:
            said.append(f"the platform reads attribute {', '.join(strings)} exactly: a string, not a number")
        if not said:
            tried = any(rec.get("journey") == j.name for rec in self.records_by_seq.get(send.seq, []))
            if not tried:
                return "it was never offered to the journey: no entry, refusal or hold is recorded for it"
            return "the journey's filter or frequency kept it out"
        return "; ".join(said)

    # ------------------------------------------------------------ duplicates, splits

    def duplicates(self) -> list[Violation]:
        groups: dict[tuple[str, int], list[Run]] = {}
        for r in self.p.runs:
            if r.trigger is not None:
                groups.setdefault((r.journey.name, r.trigger.seq), []).append(r)
        out = []
        for (journey, seq), runs in sorted(groups.items()):
            if len(runs) < 2:
                continue
            send = self.sends.get(seq)
            who = runs[0].shopper or ""
            copies = len(self.p.processed.get(seq, []))
            if len({r.profiles[0][1] for r in runs}) > 1:
                cause, why = "identity_split", "it entered on more than one profile"
            elif copies > 1:
                cause, why = "duplicate_delivery", f"{copies} copies of it were processed"
            else:
                cause, why = "other", "it entered more than once"
            at = send.at if send else runs[0].entered_at
            text = f"{self.describe_send(send) if send else 'one event'} started {len(runs)} runs of {journey}: {why}"
            second = sorted(r.entered_at for r in runs)[1]
            out.append(Violation("duplicate_entry", who, cause, at, journey, None, seq, text, decided=second))
        return out

    def splits(self, at: int | None = None) -> list[Violation]:
        """Shoppers who sent an identify and whose events are on more than one
        profile at the end (or, when `at` is given, at that instant)."""
        out = []
        identified = {
            s.shopper for s in self.plan.sends if s.call == "identify" and s.shopper and (at is None or s.at <= at)
        }
        for who in sorted(identified):
            if at is None:
                holding = sorted(
                    {
                        e.holder
                        for e in self.p.events
                        if e.shopper == who and e.lost is None and self.p.profiles[e.holder].deleted_at is None
                    }
                )
            else:
                places = (self.location_at(e, at) for e in self.p.events if e.shopper == who)
                live = (self.live_at(n, at) for n in places if n is not None)
                holding = sorted(n for n in set(live) if not self.deleted_by(n, at))
            if len(holding) > 1:
                names = ", ".join(f"cio_{n}" for n in holding)
                when = "at the end" if at is None else f"at {self.t(at)}"
                out.append(
                    Violation(
                        "split_identity",
                        who,
                        "identity_split",
                        self.o.end if at is None else at,
                        explanation=f"{who}'s events are split over {len(holding)} profiles {when}: {names}",
                    )
                )
        return out

    def deleted_by(self, num: int, at: int) -> bool:
        deleted = self.p.profiles[num].deleted_at
        return deleted is not None and deleted <= at


def _single_performed(goal: Cond | None) -> TypeGuard[Performed]:
    """A goal met by one event (SPEC 9's "single performed test"): a
    `performed` without a count (`count: {gte: 2}` is met by the second
    buy, which the ideal profile tells)."""
    return isinstance(goal, Performed) and not goal.negative and not goal.counts


@dataclass(slots=True)
class _Ev:
    name: str
    props: Any
    ts: int
    proc: int


def find_violations(outcome: Outcome, kinds: Iterable[str] | None = None) -> list[Violation]:
    """Every violation of the outcome (or only those of `kinds`: the ideal run,
    the costliest part, is made only when missed entries are asked for)."""
    wanted = set(kinds) if kinds is not None else set(INVARIANTS.values())
    finder = _Finder(outcome)
    found: list[Violation] = []
    if "ghost_abandon" in wanted:
        found += finder.ghosts()
    if "missed_entry" in wanted:
        found += finder.missed()
    if "duplicate_entry" in wanted:
        found += finder.duplicates()
    if "split_identity" in wanted:
        found += finder.splits()
    return _in_order(found)


def violations_by(outcome: Outcome, violations: list[Violation], at: int) -> list[Violation]:
    """The violations decided by `at`: those found whose instant is at or
    before it, and the identities split at that instant."""
    early = [v for v in violations if v.kind != "split_identity" and max(v.at, v.decided or v.at) <= at]
    return _in_order(early + _Finder(outcome).splits(at))


def _in_order(found: list[Violation]) -> list[Violation]:
    order = {"ghost_abandon": 0, "missed_entry": 1, "duplicate_entry": 2, "split_identity": 3}
    return sorted(found, key=lambda v: (v.at, order[v.kind], v.who, v.journey or "", v.message or "", v.seq or 0))
