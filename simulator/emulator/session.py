"""One emulator session: a live `Platform`, the call log, and what the engine
does not model (deleted and suppressed people, devices).

HTTP handlers turn a request into a list of *operations* (plain JSON dicts,
see `track_api` and `pipelines_api`); the session logs them and applies
them. Replaying a log applies the same operations at the same instants, so
the trace is the same. Everything that depends on the platform's state
(which profile a `cio_` id is, whether an alias names a known person) is
decided here, when the operation is applied, never when it is parsed.

Records this module adds to the platform's trace (the engine has no notion
of them):

    call_dropped      an invalid or undeliverable call (reason, api, call)
    call_ignored      a valid call segsim does not model (group, objects), or
                      the part of one that is not applied (reason, api, call)
    identifiers_updated  an identify by cio_id changed the person's id or email
                      (cio_id, id, old_id, email, old_email)
    profile_deleted   DELETE customers/{id} or a suppress (cio_id, how)
    identifier_suppressed / identifier_unsuppressed (identifier)
    device_added / device_deleted (cio_id, device)
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from simulator.model.calls import Delivery, Send
from simulator.model.config import WorkspaceConfig
from simulator.model.time import format_instant, on_our_clock
from simulator.platform import identity
from simulator.platform.engine import Platform
from simulator.platform.state import Profile, email_key

from .calllog import CallLog, SessionLog, read_log, session_header
from .clock import VirtualClock
from .protocol import LATEST_INSTANT

__all__ = ["EmulatorSession"]


class EmulatorSession:
    """The platform behind one emulator (or one replay of its log)."""

    def __init__(self, workspace: WorkspaceConfig, start: int, log: CallLog | None = None) -> None:
        self.workspace = workspace
        self.start = start
        self.log = log
        self.lock = threading.RLock()
        self.records = 0
        self.platform = Platform(workspace, start, owners={})
        self.touched = False  # no call applied since the start (or the last reset)
        self.unsettled = False  # the clock moved by advance: the work due at the platform's now waits for a read
        self.seq = 0
        self.suppressed: set[str] = set()
        self.suppressed_with: dict[str, tuple[str, ...]] = {}  # identifier -> all its suppress added
        self.devices: dict[int, dict[str, dict[str, Any]]] = {}
        self.sends: list[Send] = []  # every call delivered since the last reset, for scenario skeletons
        self.resumed_from: SessionLog | None = None  # the log this session resumed, if any

    @classmethod
    def open(
        cls, workspace_path: Path | str, clock: VirtualClock, log_path: Path | str | None = None, fsync: bool = False
    ) -> EmulatorSession:
        """A live session on the workspace file; raises InputError for a bad workspace.

        A new (or empty) call log gets a session header; an existing one is
        resumed (see `resume`), or refused with LogError when it is not a
        segsim call log, without writing to it."""
        from simulator.scenario.loader import load_workspace

        workspace, _ = load_workspace(workspace_path)
        resolved = str(Path(workspace_path).resolve())
        if log_path is not None and Path(log_path).exists() and Path(log_path).stat().st_size > 0:
            return cls.resume(workspace, resolved, Path(log_path), clock, fsync)
        start = clock.now()
        log: CallLog | None = None
        if log_path is not None:
            log = CallLog(log_path, fsync=fsync)
            log.write(session_header(resolved, start, clock.kind))
        return cls(workspace, start, log)

    @classmethod
    def resume(
        cls, workspace: WorkspaceConfig, workspace_name: str, path: Path, clock: VirtualClock, fsync: bool = False
    ) -> EmulatorSession:
        """Replay an existing call log into a new session that appends to it.

        The clock never runs behind the log: a manual clock is moved forward
        to the last logged instant, and one given no `--start` resumes there
        (not at the wall clock, which would fire months of timers). A
        `resume` record marks the restart (and names a torn last line, which
        stays in the file)."""
        from .replay import replay_log

        previous = read_log(path)
        session = replay_log(previous, workspace)
        session.resumed_from = previous
        session.records = max(previous.last_n, len(previous.records))
        if clock.kind == "manual" and not clock.start_given:
            clock.start, clock.offset = session.platform.now, 0
        behind = session.platform.now - clock.now()
        if behind > 0:
            clock.offset += behind
        session.log = CallLog(path, fsync=fsync)
        record: dict[str, Any] = {"kind": "resume", "workspace": workspace_name}
        if previous.torn_line is not None:
            record["torn_line"] = previous.torn_line
        at = max(clock.now(), session.platform.now)
        session._log({"at": at, "time": format_instant(at), **record})
        return session

    # ------------------------------------------------------------------ live use

    def submit(self, at: int, route: str, ops: list[dict[str, Any]], status: int = 200) -> int:
        """Log a request's operations, then apply them. Returns the arrival instant used."""
        with self.lock:
            self._begin_earlier(at)
            at = max(at, self.platform.now)
            record = {"kind": "request", "at": at, "time": format_instant(at), "route": route, "status": status}
            record["ops"] = ops
            self._log(record)
            self.apply_request(at, ops)
            return at

    def sync(self, at: int, settle: bool = True) -> int:
        """Move the platform to `at` (firing due timers); logged so a replay moves the same way.

        `settle=False` (the clock moved by `advance`) does what falls due before
        `at` and leaves the work due at `at` itself (timers, windows closing,
        holds ending) for the next read or call: a call arriving at `at` is
        processed before it, as SPEC 4 orders one instant (deliveries first)."""
        with self.lock:
            self._begin_earlier(at)
            if at > self.platform.now or (settle and self.unsettled and at == self.platform.now):
                record: dict[str, Any] = {"kind": "advance", "at": at, "time": format_instant(at)}
                if not settle:
                    record["settle"] = False
                self._log(record)
                self.apply_advance(at, settle)
            return self.platform.now

    def apply_advance(self, at: int, settle: bool = True) -> None:
        if settle:
            self.platform.advance_to(at)
        else:
            self.platform.move_to(at)
        self.unsettled = not settle

    def reset(self, at: int) -> None:
        with self.lock:
            at = max(at, self.platform.now)
            self._log({"kind": "reset", "at": at, "time": format_instant(at)})
            self.apply_reset(at)

    def _begin_earlier(self, at: int) -> None:
        """A test froze time before the platform's start (the emulator started
        at the wall clock's now, then `freeze_time` went back): while nothing
        has happened yet, the platform starts over at the frozen instant, so
        calls arrive then. Logged as a reset, so a replay does the same."""
        if at < self.platform.now and not self.touched:
            self._log({"kind": "reset", "at": at, "time": format_instant(at), "why": "the clock went back"})
            self.apply_reset(at)

    def _log(self, record: dict[str, Any]) -> None:
        self.records += 1
        record["n"] = self.records
        if self.log is not None:
            self.log.write(record)

    # ------------------------------------------------------------------ applying

    def apply_reset(self, at: int) -> None:
        self.touched = False  # no call applied since this start
        self.unsettled = False  # the work due at the platform's now is done
        self.platform = Platform(self.workspace, at, owners={})
        self.seq = 0
        self.suppressed = set()
        self.suppressed_with = {}
        self.devices = {}
        self.sends = []

    def apply_request(self, at: int, ops: list[dict[str, Any]]) -> None:
        self.touched = True
        if at - 1 > self.platform.now:
            # Everything due before this second; what is due at it runs after the delivery (SPEC section 4).
            self.platform.advance_to(at - 1)
        for op in ops:
            self._apply(at, op)
        # What falls due at this instant (timers, windows closing, holds ending) waits
        # for the next read or a later instant: another call arriving now comes
        # before it, as deliveries come first within an instant (SPEC 4).
        self.platform.move_to(at)
        self.unsettled = True

    def _apply(self, at: int, op: dict[str, Any]) -> None:
        kind = op.get("op")
        if kind == "call":
            self._call(at, op)
        elif kind == "alias":
            self._alias(at, op)
        elif kind == "drop":
            self._drop(at, op, str(op.get("reason", "invalid call")))
        elif kind == "ignored":
            self.platform.trace.add(at, "call_ignored", api=op.get("api"), call=op.get("call"), reason=op.get("reason"))
        elif kind in ("delete", "suppress"):
            self._delete(at, op, kind)
        elif kind == "unsuppress":
            self._unsuppress(at, op)
        elif kind in ("device_add", "device_delete"):
            self._device(at, op, kind)
        else:
            self._drop(at, op, f"unknown operation {kind!r}")

    def _drop(self, at: int, op: dict[str, Any], reason: str) -> None:
        self.platform.trace.add(at, "call_dropped", api=op.get("api"), call=op.get("call"), reason=reason)

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _live(self, ref: list[str] | tuple[str, str] | None) -> Profile | None:
        """The live profile a reference names, or None."""
        if ref is None:
            return None
        kind, value = ref[0], ref[1]
        pf = self.platform
        if kind == "id":
            return pf.by_id.get(value)
        if kind == "email":
            return pf.by_email.get(email_key(value))
        if kind == "cio_id" and value.startswith("cio_") and value[4:].isdigit():
            p = pf.profiles.get(int(value[4:]))
            return p if p is not None and p.deleted_at is None else None
        return None

    def _call(self, at: int, op: dict[str, Any]) -> None:
        call = str(op["call"])
        user_id: str | None = op.get("user_id")
        email: str | None = op.get("email")
        anonymous_id: str | None = op.get("anonymous_id")
        ref = op.get("ref")
        if ref is not None:
            if ref[0] == "cio_id":
                p = self._live(ref)
                if p is None:
                    self._drop(at, op, f"no person has {ref[1]} (unknown or deleted cio_id)")
                    return
                if call == "identify":
                    if not self._change_identifiers(at, op, p, user_id, email):
                        return
                    user_id, email = p.id, p.email
                    if user_id is None and email is None and p.anonymous_ids:
                        return  # nothing to set on an anonymous profile
                elif p.id is not None:
                    user_id = p.id
                elif p.email is not None:
                    email = p.email
                elif p.anonymous_ids:
                    anonymous_id = p.anonymous_ids[-1]
            elif ref[0] == "id":
                user_id = ref[1]
            else:
                email = ref[1]
        blocked = next((x for x in (user_id, email) if x is not None and _suppression_key(x) in self.suppressed), None)
        if blocked is not None:
            self._drop(at, op, f"{blocked} is suppressed")
            return
        if call == "identify" and anonymous_id is not None and user_id is None and email is None:
            self._drop(at, op, "an identify needs an id or an email")
            return
        if op.get("update_only") and not any(
            self._live([kind, value]) for kind, value in (("id", user_id), ("email", email)) if value is not None
        ):
            who = " or ".join(x for x in (user_id, email) if x is not None)
            self._drop(at, op, f"_update is true and no person has {who}: nobody is created")
            return
        if call == "track" and anonymous_id is not None and (user_id is not None or email is not None):
            # A call naming a person and an anonymous id merges the anonymous id first (as an identify).
            pf = self.platform
            if anonymous_id not in pf.merged_anon and anonymous_id not in pf.orphans:
                merge = Send(self._next_seq(), at, "identify", str(op.get("api")), user_id=user_id, email=email)
                merge.anonymous_id = anonymous_id
                self._deliver(at, merge)
            anonymous_id = None
        send = Send(self._next_seq(), at, call, str(op.get("api")), user_id=user_id, email=email)
        send.anonymous_id = anonymous_id
        send.name = op.get("name")
        send.properties = dict(op.get("properties") or {})
        send.attributes = dict(op.get("attributes") or {})
        send.timestamp = op.get("timestamp")
        if send.timestamp is not None and op.get("sent_at") is not None:
            send.timestamp = on_our_clock(send.timestamp, int(op["sent_at"]), at)
        if send.timestamp is not None and not 0 <= send.timestamp <= LATEST_INSTANT:
            self._drop(at, op, "the event timestamp, moved by the sender's clock gap, is out of range")
            return
        send.event_id = op.get("event_id")
        if op.get("primary") is not None:
            send.primary = (op["primary"][0], op["primary"][1])
            send.secondary = (op["secondary"][0], op["secondary"][1])
        self._deliver(at, send)

    def _change_identifiers(
        self, at: int, op: dict[str, Any], p: Profile, user_id: str | None, email: str | None
    ) -> bool:
        """An identify by cio_id sets the person's id and email to the call's (the
        OpenAPI: "If your request includes a cio_id, we'll attempt to update that
        person, including any identifiers in the request"), and the platform's
        indexes with them: the old identifier no longer finds the person. An
        identifier of another live person is not taken, and nobody is merged:
        the call is dropped (the real API's Attribute Update Failure), as it is
        for a suppressed one. False when the call is dropped."""
        new_id = user_id if user_id is not None and user_id != p.id else None
        same_email = email is not None and p.email is not None and email_key(email) == email_key(p.email)
        new_email = email if email is not None and not same_email else None
        for kind, value in (("id", new_id), ("email", new_email)):
            if value is None:
                continue
            other = self._live([kind, value])
            if other is not None and other is not p:
                why = f"{kind} {value} belongs to {other.cio_id}; {p.cio_id} keeps its {kind} and nobody is merged"
                self._drop(at, op, f"{why} (Attribute Update Failure)")
                return False
            if _suppression_key(value) in self.suppressed:
                self._drop(at, op, f"{value} is suppressed")
                return False
        if new_id is None and new_email is None:
            return True
        pf = self.platform
        old_id, old_email = p.id, p.email
        if new_id is not None:
            if old_id is not None and pf.by_id.get(old_id) is p:
                del pf.by_id[old_id]
            p.id = new_id
            pf.by_id[new_id] = p
        if new_email is not None:
            if old_email is not None and pf.by_email.get(email_key(old_email)) is p:
                del pf.by_email[email_key(old_email)]
            p.email = new_email
            pf.by_email[email_key(new_email)] = p
        changed: dict[str, Any] = {}
        if new_id is not None:
            changed.update(id=new_id, old_id=old_id)
        if new_email is not None:
            changed.update(email=new_email, old_email=old_email)
        pf.trace.add(at, "identifiers_updated", api=op.get("api"), cio_id=p.cio_id, **changed)
        return True

    def _deliver(self, at: int, send: Send) -> None:
        self.sends.append(send)
        self.platform.accept(Delivery(arrival=at, send=send, copy=1))

    def _alias(self, at: int, op: dict[str, Any]) -> None:
        """Pipelines alias: a known previous id is merged into the user; an anonymous one is identified."""
        user_id, previous = str(op["user_id"]), str(op["previous_id"])
        if previous in self.platform.by_id:
            send = Send(self._next_seq(), at, "merge", str(op.get("api")), primary=("id", user_id))
            send.secondary = ("id", previous)
        else:
            send = Send(self._next_seq(), at, "identify", str(op.get("api")), user_id=user_id, anonymous_id=previous)
        self._deliver(at, send)

    def _delete(self, at: int, op: dict[str, Any], how: str) -> None:
        ref = op.get("ref")
        p = self._live(ref)
        if how == "suppress" and ref is not None:
            added: list[str] = []
            for given in (ref[1], p.id if p else None, p.email if p else None):
                key = _suppression_key(given) if given is not None else None
                if key is not None and key not in self.suppressed and not key.startswith("cio_"):
                    self.suppressed.add(key)
                    added.append(key)
                    self.platform.trace.add(at, "identifier_suppressed", identifier=given)
            for key in added:  # an unsuppress of any of them lifts them all
                self.suppressed_with[key] = tuple(added)
            if p is None and added:
                return  # an identifier nobody has yet is suppressed all the same: nothing to delete
        if p is None:
            self._drop(at, op, f"no person has {ref[1] if ref else '?'}")
            return
        self._delete_profile(at, p, how)

    def _delete_profile(self, at: int, p: Profile, how: str) -> None:
        self.platform.now = max(self.platform.now, at)
        identity.delete(self.platform, p, how)
        self.devices.pop(p.num, None)

    def _unsuppress(self, at: int, op: dict[str, Any]) -> None:
        """Lifts the identifier and every other one the same suppress added (a
        person's id and email are suppressed together, and lifted together)."""
        ref = op.get("ref")
        key = _suppression_key(ref[1]) if ref is not None else None
        if key is None or key not in self.suppressed:
            self._drop(at, op, f"{ref[1] if ref is not None else None} is not suppressed")
            return
        for lifted in self.suppressed_with.get(key, (key,)):
            if lifted in self.suppressed:
                self.suppressed.discard(lifted)
                self.platform.trace.add(at, "identifier_unsuppressed", identifier=lifted)
            self.suppressed_with.pop(lifted, None)

    def _device(self, at: int, op: dict[str, Any], kind: str) -> None:
        p = self._live(op.get("ref"))
        if p is None:
            self._drop(at, op, f"no person has {op.get('ref', ['', '?'])[1]}")
            return
        devices = self.devices.setdefault(p.num, {})
        if kind == "device_add":
            device = dict(op["device"])
            device["last_used"] = device.get("last_used") or at
            devices[str(device["id"])] = device
            self.platform.trace.add(at, "device_added", cio_id=p.cio_id, device=str(device["id"]))
            return
        device_id = str(op["device_id"])
        if devices.pop(device_id, None) is None:
            self._drop(at, op, f"{p.cio_id} has no device {device_id}")
            return
        self.platform.trace.add(at, "device_deleted", cio_id=p.cio_id, device=device_id)

    def devices_of(self, p: Profile) -> list[dict[str, Any]]:
        return [dict(d) for _, d in sorted(self.devices.get(p.num, {}).items())]


def _suppression_key(identifier: str) -> str:
    """How a suppressed identifier is remembered: an email in any case is one email."""
    return email_key(identifier) if "@" in identifier else identifier
