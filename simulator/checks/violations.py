"""The four invariants of SPEC section 9 and the cause of each violation.

Ghost abandons, missed entries, duplicate entries and split identities are
found by comparing what the platform did with the ground truth (the sends),
and each gets the first cause of the SPEC's list that applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from simulator.checks.evidence import Violation, single_performed
from simulator.checks.missed import MissedEntries
from simulator.model.calls import Send
from simulator.model.conditions import Cond, Performed, excluding, holds
from simulator.model.config import JourneyDef
from simulator.model.values import fold_name, tests_pass
from simulator.model.verdicts import CAUSES, INVARIANTS
from simulator.pipeline import Outcome
from simulator.platform.state import Event, Message, Run

__all__ = ["CAUSES", "INVARIANTS", "Violation", "find_violations", "violations_by"]


class _Finder(MissedEntries):
    """The four invariants: ghost abandons and duplicate and split identities here,
    missed entries and the shared evidence in the classes it builds on."""

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
        if single_performed(goal):
            candidates += [(s, "goal") for s in later if self.generous_match(goal, s, trigger)]
        elif goal is not None:
            if holds(goal, self.ideal_view(who, at, trigger, key)):
                made_true = self.goal_made_true(goal, who, at, trigger, key)
                if made_true is not None:
                    candidates.append((made_true, "goal"))
                else:
                    names = self.event_names(goal, waited_for=True)
                    candidates += [(s, "goal") for s in later if fold_name(s.name or "") in names][:1]
        exclusions = list(excluding(j.filter, segments=self.segment_rules))  # the events the filter excludes
        if exclusions and j.filter is not None and not isinstance(j.filter, Performed):
            # A compound filter: the exclusion counts only when it made the filter
            # false on the ideal profile (`any: [not_performed: order, vip]` keeps a VIP).
            if holds(j.filter, self.ideal_view(who, at, trigger, None)):  # a filter sees the whole profile (SPEC 8)
                exclusions = []
        for node in exclusions:
            candidates += [(s, "filter") for s in later if self.generous_match(node, s, trigger)]
        if not candidates:
            return None
        # One send may be both the goal's event and one the filter excludes: it is
        # judged in the role the journey's exit consults (the filter, under stop_matching).
        consulted = {"goal": j.exits_on_goal, "filter": j.exits_on_stop_matching}
        return min(candidates, key=lambda c: (c[0].at, c[0].seq, not consulted[c[1]]))

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
            return self.unprocessed_cause(send)
        first = min(events, key=lambda e: (e.arrival, e.proc))
        run_at = self.run_profile_at(r, at)
        if first.arrival > at or (first.arrival == at and after is not None and first.proc > after):
            landed = first.history[0][1]  # live as it was added
            if landed != self.live_when_added(run_at, first):
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
        # First that applies (SPEC 9): a skewed stamp is `clock_skew` whatever the exit, as a drifted
        # name or type keeps its own cause under an exit that never consults the goal.
        restamped_counts = self.counts_stamped_when_sent(r, role, target, send.at, first, (at, after), run_at)
        if first.ts != send.at and read_exactly and restamped_counts:
            return "clock_skew", f"it was stamped {self.t(first.ts)}, not its send instant"
        if self.refresh_decided(r, j, m, send.at):
            return "refresh_lag", "the segments it depends on had not been refreshed"
        if target is not None and send.name != target.event:
            return "name_mismatch", f"it is named {send.name!r}, the rule waits for {target.event!r}"
        if target is not None and not tests_pass(target.where, send.properties, r.trigger_props, self.ws.coerce):
            return "type_mismatch", "its properties match only when read as numbers"
        later = self.later_after_events(j, role, send, at)
        hiding = next((s for s in later if self.would_reset(s, first, at, after, run_at)), None)
        moot = (
            f" (consulted, it would not have ended the run either: the {role} reads only events after the latest "
            f"{hiding.name}, and another {hiding.name} was sent at {self.t(hiding.at)})"
            if hiding is not None
            else ""
        )
        if role == "goal" and not j.exits_on_goal:
            return "exit_setting", f"exit: {j.exit} never consults the goal{moot}"
        if role == "filter" and not j.exits_on_stop_matching:
            return "exit_setting", f"exit: {j.exit} never re-tests the filter{moot}"
        reset = hiding or next(iter(later), None)
        if reset is not None:
            return "other", (
                f"it arrived in time on the run's profile, but the {role} reads only events after the latest "
                f"{reset.name}, and another {reset.name} was sent at {self.t(reset.at)}: the run went on"
            )
        trigger = r.trigger
        skewed_trigger = trigger is not None and trigger.ts != trigger.delivery.send.at and trigger.ts >= first.ts
        if role == "goal" and trigger is not None and skewed_trigger:
            return "other", (
                f"it arrived in time on the run's profile, but the goal reads only events later than the run's "
                f"trigger, which was stamped {self.t(trigger.ts)}, not its send instant "
                f"{self.t(trigger.delivery.send.at)}"
            )
        if role == "filter" and trigger is not None and skewed_trigger and target and target.after == trigger.name:
            return "other", (
                f"it arrived in time on the run's profile, but the filter reads only {target.event} events after "
                f"the latest {target.after}, and the run's trigger was stamped {self.t(trigger.ts)}, not its send "
                f"instant {self.t(trigger.delivery.send.at)}"
            )
        if (
            role == "goal"
            and trigger is not None
            and trigger.ts == first.ts
            and first.proc < trigger.proc
            and (trigger.delivery.send.at, trigger.seq) < (send.at, send.seq)
        ):
            return "other", (
                f"it arrived in time on the run's profile, but it was stamped the same second as the run's trigger "
                f"({trigger.name}, sent before it), and arrived first ({self.t(first.arrival)}; the trigger at "
                f"{self.t(trigger.arrival)}): of two events stamped the same second the platform counts the one "
                "it processed first as the earlier, so the goal read it as before the trigger"
            )
        return "other", "it arrived in time on the run's profile, yet the run went on"

    @cached_property
    def events_named(self) -> dict[str, list[Event]]:
        """The platform's events by name, in processing order."""
        named: dict[str, list[Event]] = {}
        for e in self.p.events:
            named.setdefault(e.name, []).append(e)
        return named

    def counts_stamped_when_sent(
        self,
        r: Run,
        role: str,
        target: Performed | None,
        sent: int,
        first: Event,
        message: tuple[int, int | None],
        run_at: int,
    ) -> bool:
        """Stamped at its send instant `sent`, would the event `first` be later
        (timestamp, then processing order, SPEC 6) than what the rule reads it
        after: the run's trigger for the goal, and the latest event an `after:`
        of the rule names that the rule read when the message went out (on the
        run's profile, stamped by then, processed before the message)? An order
        sent before a checkout stamped hours ahead is no later however it is stamped."""
        at, before = message
        marks: list[tuple[int, int]] = []
        if role == "goal" and r.trigger is not None:
            marks.append((r.trigger.ts, r.trigger.proc))
        if target is not None and target.after is not None:
            marks += [
                (e.ts, e.proc)
                for e in self.events_named.get(target.after, ())
                if e.ts <= at
                and e.delivery.arrival <= at
                and (before is None or e.proc <= before)
                and (loc := self.location_at(e, at)) is not None
                and self.live_at(loc, at) == run_at
            ]
        return not marks or (sent, first.proc) > max(marks)

    def would_reset(self, reset: Send, excluded: Event, at: int, after: int | None, run_at: int) -> bool:
        """Had the exit consulted the rule at the message, would the later event of what
        it reads after have hidden the `excluded` one: processed by then on the run's
        profile, and stamped after it (timestamp, then processing order)?"""
        for e in self.p.processed.get(reset.seq, []):
            if e.arrival > at or (e.arrival == at and after is not None and e.proc > after):
                continue
            loc = self.location_at(e, at)
            if loc is not None and self.live_at(loc, at) == run_at and (e.ts, e.proc) > (excluded.ts, excluded.proc):
                return True
        return False

    def later_after_events(self, j: JourneyDef, role: str, send: Send, at: int) -> list[Send]:
        """The shopper's sends, after `send` and by `at`, of the event an `after:` of
        the rule waiting for `send` names (in send order): each may have moved that
        rule's horizon past `send`."""
        target = self.rule_for(j, role, send)
        if target is None or target.after is None:
            return []
        after = fold_name(target.after)
        return [
            s
            for s in self.shopper_tracks(send.shopper or "")
            if (send.at, send.seq) < (s.at, s.seq) and s.at <= at and fold_name(s.name or "") == after
        ]

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
            entries = sorted(r.entered_at for r in runs)
            second = entries[1]
            # Profiles merged into one before the last entry were one profile for it:
            # the copies, not the split, doubled the run.
            if len({self.live_at(r.profiles[0][1], entries[-1]) for r in runs}) > 1:
                cause, why = "identity_split", "it entered on more than one profile"
            elif copies > 1:
                cause, why = "duplicate_delivery", f"{copies} copies of it were processed"
            else:
                cause, why = "other", "it entered more than once"
            at = send.at if send else runs[0].entered_at
            text = f"{self.describe_send(send) if send else 'one event'} started {len(runs)} runs of {journey}: {why}"
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
