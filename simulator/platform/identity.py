"""Identity: which profile a call lands on, identify, merges and deletes (SPEC
section 5).

Functions of the `Platform`: they read and write its identifier indexes,
profiles, runs and holds, and tell it when a profile changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.model.calls import Delivery, Send
from simulator.platform import journeys
from simulator.platform.rules import CHANGED_ATTRIBUTES
from simulator.platform.state import Event, Profile, email_key
from simulator.platform.trace import (
    ANONYMOUS_ID_RECORDED,
    ATTRIBUTES_UPDATED,
    PROFILE_MERGED,
    SEGMENT_LEFT_BECAUSE,
)

if TYPE_CHECKING:
    from simulator.platform.engine import Platform

__all__ = ["delete", "identify", "merge", "merge_anonymous", "merge_call", "track_profile"]


def track_profile(pf: Platform, send: Send) -> tuple[Profile, str]:
    """The profile a track lands on, and how (`direct`, `grace` or `orphan`): the
    identifier's profile (created if none), else the anonymous id's."""
    if send.user_id is not None or send.email is not None:
        p = pf.by_id.get(send.user_id) if send.user_id is not None else None
        if p is None and send.email is not None:
            p = pf.by_email.get(email_key(send.email))
        if p is None:
            p = pf.create_profile(id=send.user_id, email=send.email)
        return p, "direct"
    anon = send.anonymous_id or ""
    merged = pf.merged_anon.get(anon)
    if merged is not None:
        target, at = merged
        if pf.ws.merge_anonymous and pf.now <= at + pf.ws.anonymous_grace:
            return pf.live(target), "grace"
        orphan = pf.orphans.get(anon)
        if orphan is None or orphan.deleted_at is not None:  # merged away: a new one holds it
            orphan = pf.create_profile(anon=anon, orphan=True)
        return orphan, "orphan"
    p = pf.by_anon.get(anon)
    if p is None or p.deleted_at is not None:
        p = pf.create_profile(anon=anon)
    return p, "direct"


def identify(pf: Platform, d: Delivery) -> None:
    """An identify: resolved as the Track API does (the id's profile, else the
    email's, else a new one; two of them merged or a conflict recorded), its
    attributes set, its anonymous id merged; then the profile changed once."""
    send = d.send
    uid, email = send.user_id, send.email
    p_id = pf.by_id.get(uid) if uid is not None else None
    p_em = pf.by_email.get(email_key(email)) if email is not None else None
    target: Profile | None
    if p_id is not None and p_em is not None and p_id is not p_em:
        if pf.ws.auto_merge:
            primary, secondary = sorted((p_id, p_em), key=lambda p: p.num)
            # One delivery, one profile update: the merge, the attributes and the
            # anonymous id's events are all in before anything is evaluated.
            merge(pf, primary, secondary, "auto_merge", settle=False)
            target = primary
        else:
            target = p_id
            pf.trace.add(
                pf.now,
                "identity_conflict",
                id=uid,
                email=email,
                cio_id=p_id.cio_id,
                other=p_em.cio_id,
                who=send.shopper,
            )
    elif p_id is not None:
        target = p_id
        if email is not None and (p_id.email is None or email_key(p_id.email) != email_key(email)):
            if p_id.email is not None and pf.by_email.get(email_key(p_id.email)) is p_id:
                del pf.by_email[email_key(p_id.email)]
                _replaced(pf, p_id, "email", p_id.email, email, send.shopper)
            p_id.email = email
            pf.by_email[email_key(email)] = p_id
    elif p_em is not None:
        target = p_em
        if uid is not None:
            if p_em.id is not None and pf.by_id.get(p_em.id) is p_em:
                del pf.by_id[p_em.id]
                _replaced(pf, p_em, "id", p_em.id, uid, send.shopper)
            p_em.id = uid
            pf.by_id[uid] = p_em
    elif uid is not None or email is not None:
        target = pf.create_profile(id=uid, email=email)
    elif send.anonymous_id is not None:
        # No known identifier: the traits land on the anonymous profile, as in
        # Customer.io, and nothing is merged.
        anon_profile, _via = track_profile(pf, send)
        if send.attributes:
            anon_profile.attributes.update(send.attributes)
            pf.trace.add(
                pf.now,
                "attributes_updated",
                cio_id=anon_profile.cio_id,
                attributes=dict(send.attributes),
                who=send.shopper,
            )
        pf.changed(anon_profile, names=CHANGED_ATTRIBUTES)
        return
    else:
        return
    if send.attributes:
        target.attributes.update(send.attributes)
        pf.trace.put((ATTRIBUTES_UPDATED, pf.now, target.num, dict(send.attributes), send.shopper))
    moved: list[Event] = []
    if send.anonymous_id is not None and pf.ws.merge_anonymous:
        moved = merge_anonymous(pf, target, send.anonymous_id, send.shopper)
    pf.changed(target, moved=moved)


def _replaced(pf: Platform, p: Profile, key: str, old: str, new: str, who: str | None) -> None:
    """An identify gave a profile another id (its email matched) or email (its
    id matched): the old one no longer finds it. Told, since it splits whoever
    the old one was."""
    pf.trace.add(pf.now, "identifier_replaced", cio_id=p.cio_id, identifier=key, old=old, new=new, who=who)


def merge_anonymous(pf: Platform, target: Profile, anon: str, who: str | None) -> list[Event]:
    """Move the anonymous id's events (within `anonymous_retention`) to `target` and
    delete their profile; the moved events a trigger may still take (`max_age`)."""
    if anon in pf.merged_anon or anon in pf.orphans:
        return []
    pf.merged_anon[anon] = (target.num, pf.now)
    anon_profile = pf.by_anon.get(anon)
    if anon not in target.anonymous_ids:
        target.anonymous_ids.append(anon)
    pf.by_anon[anon] = target
    if (
        anon_profile is None
        or anon_profile is target
        or anon_profile.deleted_at is not None
        or anon_profile.identified  # the id's profile was merged into a known one: not anonymous
    ):
        pf.trace.put((ANONYMOUS_ID_RECORDED, pf.now, target.num, anon, who))
        return []
    horizon = pf.now - pf.ws.anonymous_retention
    moved = sorted((e for e in anon_profile.events if e.ts >= horizon), key=lambda e: (e.ts, e.seq, e.copy))
    for e in anon_profile.events:
        if e.ts < horizon:
            e.lost, e.lost_at = "anonymous_retention", pf.now
    for e in moved:
        if e.via != "merge":  # one a Merge People call brought in stays inherited
            e.via = "anonymous_merge"
        pf.add_event(target, e)
    _merged_away(pf, anon_profile, target, "anonymous_merge", len(moved))
    low = pf.now - pf.ws.max_age
    return [e for e in moved if low <= e.ts <= pf.now]


def _merged_away(pf: Platform, gone: Profile, into: Profile, how: str, moved: int) -> None:
    gone.deleted_at = pf.now
    gone.merged_into = into.num
    for seg in sorted(gone.segments):
        pf.trace.put((SEGMENT_LEFT_BECAUSE, pf.now, seg, gone.num, pf.owner(gone), "profile_merged"))
    pf.clear_segments(gone)
    pf.trace.put((PROFILE_MERGED, pf.now, how, into.num, gone.num, moved, pf.owner(into)))


def merge_call(pf: Platform, d: Delivery) -> None:
    """A Merge People call: both profiles found, else nothing happens (traced)."""
    send = d.send
    primary = _find(pf, send.primary)
    secondary = _find(pf, send.secondary)
    if primary is None or secondary is None or primary is secondary:
        reason = "same profile" if primary is not None and primary is secondary else "profile missing"
        pf.trace.add(pf.now, "merge_ignored", reason=reason, **pf._send_fields(send))
        return
    merge(pf, primary, secondary, "merge_people")


def _find(pf: Platform, ref: tuple[str, str] | None) -> Profile | None:
    if ref is None:
        return None
    kind, value = ref
    if kind == "id":
        return pf.by_id.get(value)
    if kind == "email":
        return pf.by_email.get(email_key(value))
    if value.startswith("cio_") and value[4:].isdigit():
        p = pf.profiles.get(int(value[4:]))
        return p if p is not None and p.deleted_at is None else None
    return None


def merge(pf: Platform, primary: Profile, secondary: Profile, how: str, settle: bool = True) -> None:
    """The Merge People operation (also what auto_merge performs). `settle`:
    evaluate the primary at once; an identify that merges does so at its end."""
    if primary.id is None and secondary.id is not None:
        primary.id = secondary.id
    if secondary.id is not None and pf.by_id.get(secondary.id) is secondary:
        if primary.id == secondary.id:
            pf.by_id[secondary.id] = primary
        else:
            del pf.by_id[secondary.id]
    if primary.email is None and secondary.email is not None:
        primary.email = secondary.email
    if secondary.email is not None and pf.by_email.get(email_key(secondary.email)) is secondary:
        if primary.email is not None and email_key(primary.email) == email_key(secondary.email):
            pf.by_email[email_key(secondary.email)] = primary
        else:
            del pf.by_email[email_key(secondary.email)]
    for anon in secondary.anonymous_ids:
        if anon not in primary.anonymous_ids:
            primary.anonymous_ids.append(anon)
        if pf.by_anon.get(anon) is secondary:
            pf.by_anon[anon] = primary
    for key, value in secondary.attributes.items():
        primary.attributes.setdefault(key, value)
    horizon = pf.now - pf.ws.merge_event_window
    moved = [e for e in secondary.events if e.ts >= horizon]
    for e in secondary.events:
        if e.ts < horizon:
            e.lost, e.lost_at = "merge_event_window", pf.now
    for e in sorted(moved, key=lambda e: (e.ts, e.proc)):
        e.via = "merge"
        pf.add_event(primary, e)
    _merged_away(pf, secondary, primary, how, len(moved))
    primary.history.extend(secondary.history)
    for hold in pf.holds_on.pop(secondary.num, []):
        hold.profile = primary.num
        pf.holds_on.setdefault(primary.num, []).append(hold)
    moving = pf.open_runs.pop(secondary.num, [])
    here = pf.open_runs.setdefault(primary.num, [])
    open_here = {r.journey.name for r in here}
    for r in moving:
        if r.journey.name in open_here:
            pf.open_runs[secondary.num] = [r]
            journeys.end(pf, r, "merged")
        else:
            r.profile = primary.num
            r.profiles.append((pf.now, primary.num))
            here.append(r)
            pf.trace.add(pf.now, "run_moved", journey=r.journey.name, run=r.num, cio_id=primary.cio_id, who=r.shopper)
    here.sort(key=lambda r: r.num)
    pf.open_runs.pop(secondary.num, None)
    if settle:
        pf.changed(primary)


def delete(pf: Platform, p: Profile, how: str = "deleted") -> None:
    """Delete a person (Track API DELETE, suppress): identifiers freed, segments
    left, open runs ended `deleted`, holds dropped."""
    if p.deleted_at is not None:
        return
    p.deleted_at = pf.now
    if p.id is not None and pf.by_id.get(p.id) is p:
        del pf.by_id[p.id]
    if p.email is not None and pf.by_email.get(email_key(p.email)) is p:
        del pf.by_email[email_key(p.email)]
    for anon in p.anonymous_ids:
        for index in (pf.by_anon, pf.orphans):
            if index.get(anon) is p:
                del index[anon]
    for seg in sorted(p.segments):
        pf.trace.add(pf.now, "segment_left", segment=seg, cio_id=p.cio_id, reason="profile_deleted")
    pf.clear_segments(p)
    for r in list(pf.open_runs.get(p.num, [])):
        journeys.end(pf, r, "deleted")
    for hold in pf.holds_on.pop(p.num, []):
        if hold.alive:
            pf.retire()  # its end
        hold.alive = False
    pf.trace.add(pf.now, "profile_deleted", cio_id=p.cio_id, how=how)
