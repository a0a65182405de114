"""The ideal run and the counterfactuals the causes are judged against.

The ideal run (SPEC section 9): every send delivered once at its send
instant, stamped with it, names and types read generously, identity stitched
perfectly (one profile per shopper, anonymous until the shopper's first call
carrying a known identifier, identified and holding all their events from
then on).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from simulator.model.calls import Send
from simulator.model.conditions import Cond, Performed, map_performed, walk
from simulator.model.config import Branch, LatencyModel, SourceConfig, Step, WaitUntil, WorkspaceConfig, builtin_source
from simulator.model.plan import Plan
from simulator.model.values import fold_name, read_generously
from simulator.pipeline import Outcome, simulate

__all__ = [
    "canonical_names",
    "ideal_outcome",
    "instant_outcome",
    "ideal_workspace",
    "renamed_outcome",
    "retyped_outcome",
    "unskewed_outcome",
    "unrefreshed_outcome",
]

_FOREVER = 10**10


def canonical_names(ws: WorkspaceConfig) -> dict[str, str]:
    """Folded name -> the name the workspace's rules use."""
    names: dict[str, str] = {}
    conds = [seg.rule for seg in ws.segments]
    for j in ws.journeys:
        if j.trigger_event:
            names.setdefault(fold_name(j.trigger_event), j.trigger_event)
        conds.extend(c for c in (j.filter, j.goal) if c is not None)
    for cond in conds:
        for node in walk(cond):
            if isinstance(node, Performed):
                names.setdefault(fold_name(node.event), node.event)
                if node.after:
                    names.setdefault(fold_name(node.after), node.after)
    return names


def _canonical_cond(cond: Cond, names: dict[str, str]) -> Cond:
    """`cond` with every event name spelt as `names` spells its folded form."""

    def spelt(p: Performed) -> Performed:
        after = names.get(fold_name(p.after), p.after) if p.after is not None else None
        return replace(p, event=names.get(fold_name(p.event), p.event), after=after)

    return map_performed(cond, spelt)


def _canonical_steps(steps: tuple[Step, ...], names: dict[str, str]) -> tuple[Step, ...]:
    out: list[Step] = []
    for step in steps:
        if isinstance(step, WaitUntil):
            step = replace(
                step, condition=_canonical_cond(step.condition, names), then=_canonical_steps(step.then, names)
            )
        elif isinstance(step, Branch):
            step = replace(
                step,
                condition=_canonical_cond(step.condition, names),
                then=_canonical_steps(step.then, names),
                else_=_canonical_steps(step.else_, names),
            )
        out.append(step)
    return tuple(out)


def canonical_rules(ws: WorkspaceConfig) -> WorkspaceConfig:
    """The workspace with one spelling per folded event name (`canonical_names`) in
    every rule, trigger and dedupe key: the ideal reads names generously, so a
    segment on `checkout_started` and a journey on `Checkout Started` both see
    a shopper's `checkout_started`, whichever spelling the ideal's sends take."""
    names = canonical_names(ws)

    def name(event: str | None) -> str | None:
        return names.get(fold_name(event), event) if event is not None else None

    return ws.but(
        segments=tuple(replace(seg, rule=_canonical_cond(seg.rule, names)) for seg in ws.segments),
        journeys=tuple(
            replace(
                j,
                trigger_event=name(j.trigger_event),
                filter=_canonical_cond(j.filter, names) if j.filter is not None else None,
                goal=_canonical_cond(j.goal, names) if j.goal is not None else None,
                steps=_canonical_steps(j.steps, names),
            )
            for j in ws.journeys
        ),
        idempotency_keys=tuple((names.get(fold_name(event), event), key) for event, key in ws.idempotency_keys),
    )


def _instant_sources(ws: WorkspaceConfig, plan: Plan) -> dict[str, SourceConfig]:
    names = set(ws.sources) | {send.source for send in plan.sends}
    sources = {}
    for name in sorted(names):
        src = ws.sources.get(name) or builtin_source(name) or SourceConfig(name)
        sources[name] = replace(src, latency=LatencyModel("fixed"), drop_rate=0.0, duplicate_rate=0.0)
    return sources


def ideal_workspace(ws: WorkspaceConfig, plan: Plan) -> WorkspaceConfig:
    sources = {name: replace(src, timestamps="sent") for name, src in _instant_sources(ws, plan).items()}
    return canonical_rules(ws).but(
        sources=sources,
        auto_merge=True,
        merge_anonymous=True,
        anonymous_retention=_FOREVER,
        merge_event_window=_FOREVER,
        coerce=True,
        segment_refresh=None,
    )


def ideal_outcome(plan: Plan) -> tuple[Outcome, dict[int, int]]:
    """The ideal run, and a map from its send numbers to the real ones."""
    names = canonical_names(plan.workspace)
    known: set[str] = set()
    sends: list[Send] = []
    back: dict[int, int] = {}
    # The ideal profile is keyed by `ideal:<who>`; the identifiers the shopper's
    # calls carried are given to it as `id` and `email` attributes (which
    # conditions read as the platform reads a profile's identifiers), unless
    # an identify set an attribute of that name: that one wins, as on the platform.
    set_by_identify: dict[str, set[str]] = {}

    def identifiers(send: Send, who: str) -> dict[str, Any]:
        explicit = set_by_identify.setdefault(who, set())
        explicit.update(send.attributes if send.call == "identify" else ())
        carried = {"id": send.user_id, "email": send.email}
        return {k: v for k, v in carried.items() if v is not None and k not in explicit}

    for send in sorted(plan.sends, key=lambda x: x.seq):
        who = send.shopper
        if send.call == "merge" or who is None:
            continue
        carries_known = send.user_id is not None or send.email is not None
        ideal_id, anon = f"ideal:{who}", f"ideal-anon:{who}"
        # A track that identifies the shopper is sent anonymously just before the
        # stitch, which moves it with their earlier events: all are on the profile
        # when each is offered to triggers, in (timestamp, send) order, as a merge
        # offers moved events (SPEC 5, 9): a purchase refuses its own checkout.
        first_known = carries_known and who not in known
        joining = first_known and send.call == "track"
        stitch_seq, twin_seq = (send.seq * 2, send.seq * 2 - 1) if joining else (send.seq * 2 - 1, send.seq * 2)
        if first_known:
            known.add(who)
            # The ideal profile's own `id` is its `ideal:` key, not the shopper's:
            # until a call carries their id, the profile has none (a guest never does).
            carried = identifiers(send, who)
            if "id" not in carried and "id" not in set_by_identify[who]:
                carried = {"id": None, **carried}
            stitch = Send(
                seq=stitch_seq,
                at=send.at,
                call="identify",
                source=send.source,
                shopper=who,
                user_id=ideal_id,
                anonymous_id=anon,
                timestamp=send.at,
                attributes=carried,
            )
            sends.append(stitch)
        twin = Send(
            seq=twin_seq,
            at=send.at,
            call=send.call,
            source=send.source,
            shopper=who,
            device=send.device,
            timestamp=send.at,
            event_id=send.event_id,
            step=send.step,
        )
        if who in known and not joining:
            twin.user_id = ideal_id
        else:
            twin.anonymous_id = anon
        if send.call == "track":
            name = send.name or ""
            twin.name = names.get(fold_name(name), name)
            twin.properties = read_generously(send.properties)
        else:
            twin.attributes = {**identifiers(send, who), **send.attributes}
        sends.append(twin)
        back[twin.seq] = send.seq
    owners = {f"ideal:{s}": s for s in plan.shoppers} | {f"ideal-anon:{s}": s for s in plan.shoppers}
    ideal_plan = replace(plan, sends=sends, expectations=[])
    outcome = simulate(ideal_plan, workspace=ideal_workspace(plan.workspace, plan), until=None)
    outcome.platform.owners.update(owners)
    return outcome, back


def instant_outcome(plan: Plan) -> Outcome:
    """Every call delivered at its send instant, once; all else as real."""
    ws = plan.workspace.but(sources=_instant_sources(plan.workspace, plan))
    sends = [replace(s, latency=0, drop=False, copies=1) for s in plan.sends]
    return simulate(replace(plan, sends=sends, expectations=[]), workspace=ws, until=None)


def unskewed_outcome(plan: Plan) -> Outcome:
    sends = [replace(s, timestamp=s.at) for s in plan.sends]
    return simulate(replace(plan, sends=sends, expectations=[]), until=None)


def renamed_outcome(plan: Plan, retyped: bool = False) -> Outcome:
    """Every event named as the rules spell it (and the rules spelt one way);
    with `retyped`, its numeric strings read as numbers too; all else as real."""
    names = canonical_names(plan.workspace)
    sends = [replace(s, name=names.get(fold_name(s.name), s.name)) if s.name else s for s in plan.sends]
    if retyped:
        sends = [replace(s, properties=read_generously(s.properties)) if s.properties else s for s in sends]
    workspace = canonical_rules(plan.workspace)
    return simulate(replace(plan, sends=sends, expectations=[]), workspace=workspace, until=None)


def retyped_outcome(plan: Plan) -> Outcome:
    """Every event's numeric strings read as numbers; all else as real."""
    sends = [replace(s, properties=read_generously(s.properties)) if s.properties else s for s in plan.sends]
    return simulate(replace(plan, sends=sends, expectations=[]), until=None)


def unrefreshed_outcome(plan: Plan) -> Outcome:
    return simulate(replace(plan, expectations=[]), workspace=plan.workspace.but(segment_refresh=None), until=None)
