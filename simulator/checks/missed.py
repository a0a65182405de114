"""Missed entries (SPEC section 9): a shopper the ideal platform entered into a
journey that the real one did not, and why.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from simulator.checks.evidence import Violation, single_performed
from simulator.checks.ideal import canonical_names
from simulator.checks.identity_evidence import IdentityEvidence
from simulator.model.calls import Send
from simulator.model.conditions import AttributeTest, Performed, holds, walk
from simulator.model.config import JourneyDef
from simulator.model.time import format_duration
from simulator.model.values import fold_name, read_generously, tests_pass

__all__ = ["MissedEntries"]


class MissedEntries(IdentityEvidence):
    """Missed entries and their causes, on the identity evidence."""

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
            send = self.sends[seq]
            who = send.shopper or ""
            # Entered for this send, or for the shopper's own replay of it that the platform took first.
            again = [a for a in self.acts[1].get(seq, ()) if self.sends[a].shopper == send.shopper]
            if any(self.entered_for(self.o, j.name, act) for act in (seq, *again)):
                continue
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
        if single_performed(goal):
            return any(self.generous_match(goal, s, send.properties) for s in later)
        return holds(goal, self.ideal_view(who, limit, send.properties, key))

    def missed_cause(self, j: JourneyDef, send: Send) -> tuple[str, str]:
        events = self.p.processed.get(send.seq, [])
        if not events:
            return self.unprocessed_cause(send)
        first = min(events, key=lambda e: e.arrival)
        if first.lost is not None:
            return "merge_lost", f"a merge left it behind ({first.lost})"
        holder = self.p.live(first.holder)
        if not holder.identified:
            what = "an orphaned anonymous profile" if holder.orphan else "an anonymous profile"
            return "identity_split", f"it stayed on {what} (cio_{holder.num})"
        # It reached an identified profile in the end. Waiting on an anonymous one while the
        # shopper was identified elsewhere, or landing on a second identified profile (say a
        # device identified by id, a backend keyed by email): the split decided it only if the
        # trigger was right, else it would not have entered on any profile (its name or type
        # decided it); or if it joined the identified profile (its first move) past
        # triggers.max_age, when even a right one would not have entered (SPEC 5).
        right = self.p.matches_trigger(j, first)
        waiting = self.anonymous_when_identified(send.shopper or "", first)
        joined = first.history[1][0] if len(first.history) > 1 else first.arrival
        if waiting is not None and (right or joined - first.ts > self.ws.max_age):
            return "identity_split", waiting
        home = self.identified_home(send.shopper or "", first.arrival, send.device)
        landed = first.history[0][1]  # live as it was added
        if home is not None and landed != self.live_when_added(home, first) and right:
            return "identity_split", (f"it landed on cio_{landed}, not on cio_{home}, where the shopper had identified")
        others = self.identified_elsewhere(send.shopper or "", first.arrival, landed, send.device)
        if others and right:
            # No device's own profile: the trigger was right, its profile not the whole shopper.
            shown = ", ".join(f"cio_{n}" for n in others)
            return "identity_split", f"it landed on cio_{landed}; the shopper was also identified on {shown}"
        if first.arrival - first.ts > self.ws.max_age:
            return "too_old", "it arrived more than triggers.max_age after its timestamp"
        if self.entered_for(self.instant, j.name, send.seq):
            why = "delivered at its send instant it would have entered"
            if first.arrival == send.at:  # the trigger was on time: another call of the shopper's was not
                culprits = []
                for s in self.shopper_tracks(send.shopper or ""):
                    copies = [e for e in self.p.processed.get(s.seq, []) if e.arrival <= first.arrival]
                    if s.seq in self.dropped:
                        culprits.append((s, "was dropped"))
                    elif self.first_arrival.get(s.seq, s.at) > s.at and s.at <= first.arrival:
                        culprits.append((s, "arrived late"))
                    elif len(copies) > 1 and s.seq != send.seq:
                        culprits.append((s, f"was processed {len(copies)} times"))
                order = {"was dropped": 0, "arrived late": 1}
                culprits.sort(key=lambda pair: order.get(pair[1], 2))  # dropped, late, copied; each in send order
                if culprits:
                    shown = ", ".join(f"{s.name} sent at {self.t(s.at)} {what}" for s, what in culprits[:3])
                    why = (
                        "it arrived on time, but with every call delivered once, at its send instant, it would have "
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
        if self.entered_for(self.retyped, j.name, send.seq):  # the filter, its `trigger:` tests, a segment it reads
            return "type_mismatch", "with numeric strings read as numbers it would have entered"
        if self.entered_for(self.renamed_and_retyped, j.name, send.seq):  # neither drift alone: other
            return "other", (
                "only with both the shopper's events named as the rules spell them and their numeric strings read "
                "as numbers would it have entered; either alone is not enough" + self.drifted_names(send.shopper or "")
            )
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

    def read_elsewhere(self, j: JourneyDef, send: Send) -> list[str]:
        """What the filter reads that the shopper had on another of their profiles than
        the one it was last tested on, then, and that profile lacked: an attribute an
        identify set to another value, an event matching a `performed` test's name and
        `where` of which it held none (SPEC 9's `other` says what differed). Said as
        facts: whether the filter needed it, or needed it absent, is the reader's."""
        tested = [
            (rec["at"], int(rec["cio_id"].removeprefix("cio_")))
            for rec in self.records_by_seq.get(send.seq, [])
            if rec.get("journey") == j.name and rec["kind"] in ("entry_filtered", "entry_held", "entry_expired")
        ]
        if not tested:
            return []
        at, num = tested[-1]
        since = tested[0][0]  # a window test could count an event at any instant the entry was tested or held
        here = self.live_at(num, at)
        nodes = self.nodes(j.filter)
        read = {t.path.split(".")[0] for n in nodes if isinstance(n, AttributeTest) for t in n.tests}
        tests = [n for n in nodes if isinstance(n, Performed)]
        who = send.shopper or ""
        attributes: dict[str, Any] = {}  # the profile read's, as they were then (the trace's updates up to `at`)
        for rec in self.p.trace.records:
            if rec["at"] > at:
                break
            if rec["kind"] == "attributes_updated" and rec["cio_id"] == f"cio_{here}":
                attributes.update(rec.get("attributes") or {})
        found: list[str] = []
        for s in self.shopper_identifies(who):
            keys = sorted(k for k in s.attributes if k in read and attributes.get(k) != s.attributes[k])
            landed = self.identify_profile(s) if keys and self.first_arrival.get(s.seq, at + 1) <= at else None
            if landed is not None and self.live_at(landed, at) != here:
                shown = ", ".join(keys)
                found.append(f"{shown} (set by the identify sent at {self.t(s.at)}) on cio_{self.live_at(landed, at)}")

        def matching(name: str | None, props: dict[str, Any], ts: int, arrived: int) -> list[Performed]:
            """The filter's `performed` tests an event stamped `ts` passes at some instant from
            the first test to the last, once it had arrived (name, `where`, window): a hold
            re-tests in between."""
            return [
                n
                for n in tests
                if fold_name(name or "") == fold_name(n.event)
                and tests_pass(n.where, props, None, self.ws.coerce)
                and (n.within is None or max(since, arrived) - n.within < ts <= at)
            ]

        held = {
            id(n)
            for e in self.p.events
            if (loc := self.location_at(e, at)) is not None and self.live_at(loc, at) == here
            for n in matching(e.name, e.props, e.ts, e.arrival)
        }
        for s in self.shopper_tracks(who):
            events = self.p.processed.get(s.seq, [])
            stamp, arrived = (events[0].ts, events[0].arrival) if events else (s.at, at + 1)
            if not any(id(n) not in held for n in matching(s.name, s.properties, stamp, arrived)):
                continue
            where = self.location_at(events[0], at) if events and events[0].arrival <= at else None
            if where is not None and self.live_at(where, at) != here:
                found.append(f"{s.name} (sent at {self.t(s.at)}) on cio_{self.live_at(where, at)}")
        if not found:
            return []
        return [f"the filter read cio_{here}; of what it reads, the shopper had on another profile: {'; '.join(found)}"]

    def too_young(self, j: JourneyDef, send: Send) -> list[str]:
        """A filter's `not_performed ... within` matches only profiles at least that
        old (SPEC 6): the profiles the filter was tested on while younger."""
        if not self.ws.negative_window_needs_age:
            return []
        windows = sorted({n.within for n in walk(j.filter) if isinstance(n, Performed) and n.negative and n.within})
        ages: dict[str, list[tuple[int, int]]] = {}  # profile -> (instant, age) of each test
        for rec in self.records_by_seq.get(send.seq, []):
            if rec.get("journey") == j.name and rec["kind"] in ("entry_filtered", "entry_held", "entry_expired"):
                # The age now is no less than it was then (events and merges only make a profile older).
                born = self.p.profiles[int(rec["cio_id"].removeprefix("cio_"))].age_start
                ages.setdefault(rec["cio_id"], []).append((rec["at"], rec["at"] - born))
        said = []
        for window in windows:
            for cio, tests in ages.items():
                young = [f"{format_duration(age)} old at {self.t(at)}" for at, age in tests if age < window]
                if young:
                    said.append(
                        f"{cio} was {' and '.join(young)}, and a not_performed within {format_duration(window)} "
                        "matches only profiles at least that old"
                    )
        return said

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
        said += self.too_young(j, send)
        said += self.read_elsewhere(j, send)
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
