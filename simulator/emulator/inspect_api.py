"""The inspection API under `/_segsim/`: what the platform holds, as JSON.

    GET  /_segsim/profiles                 {"profiles": [summary, ...]}
    GET  /_segsim/profiles/{cio_id}        summary, with "events" the event list, and "devices"
    GET  /_segsim/segments/{name}[?at=T]   {"segment", "at", "members": [summary without events]}
    GET  /_segsim/runs                     {"runs": [{"journey", "cio_id", "entered_at", "ended_at", "reason", "sent"}]}
    GET  /_segsim/messages                 {"messages": [{"journey", "message", "cio_id", "at"}]}
    GET  /_segsim/trace                    {"trace": [record, ...]}
    GET  /_segsim/now                      {"now": INSTANT}
    POST /_segsim/advance?by=2h            {"now": INSTANT}
    POST /_segsim/reset                    {"now": INSTANT, "reset": true}

A profile summary is `{"cio_id", "id", "email", "anonymous_ids",
"attributes", "events": N}`. Every read first moves the
platform to the clock's now, so due journey timers have fired.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.model.time import format_instant, parse_duration, parse_instant
from simulator.platform.state import Profile
from simulator.scenario.errors import did_you_mean

from .clock import VirtualClock
from .protocol import LATEST_INSTANT, ApiError
from .session import EmulatorSession

__all__ = ["INSPECT_ROUTES", "inspect"]

INSPECT_ROUTES = (
    "GET /_segsim/profiles",
    "GET /_segsim/profiles/{cio_id}",
    "GET /_segsim/segments/{name}?at=INSTANT",
    "GET /_segsim/runs",
    "GET /_segsim/messages",
    "GET /_segsim/trace",
    "GET /_segsim/now",
    "POST /_segsim/advance?by=DURATION",
    "POST /_segsim/reset",
)


def _summary(p: Profile, events: bool = True) -> dict[str, Any]:
    """Exactly the keys SPEC 16 lists: clients compare summaries whole."""
    out = p.summary()
    if not events:
        del out["events"]
    return out


def _event_list(p: Profile) -> list[dict[str, Any]]:
    return [
        {
            "name": e.name,
            "properties": e.props,
            "timestamp": format_instant(e.ts),
            "arrived": format_instant(e.arrival),
            "via": e.via,
            "seq": e.seq,
        }
        for e in sorted(p.events, key=lambda e: (e.ts, e.proc))
    ]


def _members_at(session: EmulatorSession, name: str, at: int) -> list[Profile]:
    """Membership at a past instant, read back from the trace's segment entries and exits."""
    inside: dict[str, bool] = {}
    for record in session.platform.trace.records:
        if record["at"] > at:
            break
        if record.get("segment") == name and record["kind"] in ("segment_entered", "segment_left"):
            inside[record["cio_id"]] = record["kind"] == "segment_entered"
    nums = sorted(int(cio[4:]) for cio, member in inside.items() if member)
    return [session.platform.profiles[n] for n in nums]


# An instant whose offset's `+` arrived as a space: `?at=...T10:00:00+01:00`
# written without percent-encoding (a query string's `+` decodes as a space).
_SPACE_FOR_PLUS = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}[\d:.,]*) (\d{2}(?::?\d{2})?)$")


def _offset_sign(text: str) -> str:
    return _SPACE_FOR_PLUS.sub(r"\1+\2", text.strip())


def _segment(session: EmulatorSession, name: str, query: dict[str, str]) -> dict[str, Any]:
    known = [s.name for s in session.workspace.segments]
    if name not in known:
        hint = did_you_mean(name, known)
        raise ApiError(404, f"no segment {name!r} in the workspace{' (' + hint + ')' if hint else ''}", "not_found")
    now = session.platform.now
    at = now
    if "at" in query:
        try:
            at = parse_instant(_offset_sign(query["at"]))
        except (ValueError, OverflowError) as exc:
            raise ApiError(400, f"at: {exc}") from None
        if at > now:
            raise ApiError(400, f"at {query['at']} is after the emulator's now ({format_instant(now)})")
    members = session.platform.members(name) if at == now else _members_at(session, name, at)
    return {
        "segment": name,
        "at": format_instant(at),
        "members": [_summary(p, events=False) for p in sorted(members, key=lambda p: p.num)],
    }


def _runs(session: EmulatorSession) -> dict[str, Any]:
    return {
        "runs": [
            {
                "journey": r.journey.name,
                "cio_id": f"cio_{r.profile}",
                "entered_at": format_instant(r.entered_at),
                "ended_at": format_instant(r.ended_at) if r.ended_at is not None else None,
                "reason": r.reason,
                "sent": [m.message for m in r.messages],
            }
            for r in session.platform.runs
        ]
    }


def _messages(session: EmulatorSession) -> dict[str, Any]:
    return {
        "messages": [
            {"journey": m.journey, "message": m.message, "cio_id": f"cio_{m.profile}", "at": format_instant(m.at)}
            for m in session.platform.messages
        ]
    }


def inspect(session: EmulatorSession, method: str, parts: list[str], query: dict[str, str], clock: VirtualClock) -> Any:
    """Answer one `/_segsim/...` request (`parts` after `_segsim`); raises ApiError or LookupError (no route)."""
    with session.lock:
        now = clock.now()
        if method == "POST" and parts == ["advance"]:
            if "by" not in query:
                raise ApiError(400, "advance needs ?by=DURATION, such as ?by=2h or ?by=1d30m")
            try:
                seconds = parse_duration(query["by"])
            except ValueError as exc:
                raise ApiError(400, f"by: {exc}") from None
            if now + seconds > LATEST_INSTANT:
                raise ApiError(400, f"by: {query['by']} would move the clock past the year 9999")
            return {"now": format_instant(session.sync(clock.advance(seconds), settle=False)), "advanced": query["by"]}
        if method == "POST" and parts == ["reset"]:
            session.reset(now)
            return {"now": format_instant(session.platform.now), "reset": True}
        if method != "GET":
            raise LookupError(method)
        session.sync(now)
        pf = session.platform
        if parts == ["profiles"]:
            return {"profiles": [_summary(p) for p in sorted(pf.live_profiles(), key=lambda p: p.num)]}
        if len(parts) == 2 and parts[0] == "profiles":
            cio = parts[1]
            known = cio.startswith("cio_") and cio[4:].isdigit() and len(cio) <= 24
            p = pf.profiles.get(int(cio[4:])) if known else None
            if p is None:
                raise ApiError(404, f"no profile {cio!r} (profiles are named cio_1, cio_2, ...)", "not_found")
            out = _summary(p)
            # "adds the event list" (SPEC 16): `events` becomes the list (its length is the summary's count)
            out["events"] = _event_list(p)
            out["devices"] = session.devices_of(p)
            if p.deleted_at is not None:
                out["deleted_at"] = format_instant(p.deleted_at)
                out["merged_into"] = f"cio_{p.merged_into}" if p.merged_into is not None else None
            return out
        if len(parts) == 2 and parts[0] == "segments":
            return _segment(session, parts[1], query)
        if parts == ["runs"]:
            return _runs(session)
        if parts == ["messages"]:
            return _messages(session)
        if parts == ["trace"]:
            return {"trace": pf.trace.as_json_records()}
        if parts == ["now"]:
            return {"now": format_instant(pf.now)}
        raise LookupError("/".join(parts))
