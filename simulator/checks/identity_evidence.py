"""Where a shopper's identity went: which profile an identify landed on, where
an anonymous event was when its shopper identified, and the identity causes
of SPEC section 9 built on them.
"""

from __future__ import annotations

from functools import cached_property

from simulator.checks.evidence import Evidence
from simulator.model.calls import Send
from simulator.model.config import JourneyDef
from simulator.model.values import read_generously
from simulator.platform.state import Event, Message, Run, email_key

__all__ = ["IdentityEvidence"]


class IdentityEvidence(Evidence):
    """Where identifies landed and anonymous events were: the identity causes."""

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
        if self.refresh_decided(r, j, m, send.at):
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
