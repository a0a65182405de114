"""`segsim gate`: the ship-it checklist before a journey goes live (SPEC
section 17). Each item passes or fails with its evidence, read from the lint
of the workspace and scenarios and from a run of the scenarios.

Items, in order:

1. event names canonical and documented;
2. required properties present (and typed as planned) in the scenarios;
3. identity strategy defined, and an anonymous merge exercised by a passing
   scenario;
4. purchase events server-side and idempotent;
5. debug segments covered by passing scenarios;
6. journeys built on triggers plus filters rather than near-duplicate events;
7. the scenarios pass.

Only scenarios that run on the gated workspace file (`workspace:` naming it,
overrides allowed) count as evidence for items 3 and 5.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.checks.expectations import ScenarioResult, check_plan
from simulator.lint.findings import Finding, FindingSink
from simulator.lint.lint_run import LoadedWorkspace
from simulator.lint.names import EventNames
from simulator.lint.scenario_rules import lint_scenario
from simulator.lint.trackplan import TrackingPlanView, dedupe_key_problem, encoded_base
from simulator.lint.workspace_rules import WorkspaceLint
from simulator.model.conditions import InSegment, walk
from simulator.model.config import BUILTIN_SOURCES, WorkspaceConfig, builtin_source
from simulator.model.values import fold_name
from simulator.scenario.yamlfile import YamlDoc

__all__ = ["GateItem", "GateScenario", "run_gate"]

_PURCHASE_WORDS = {"order", "orders", "purchase", "purchased", "purchases", "payment", "paid"}
_BROWSING_WORDS = {"viewed", "clicked", "opened", "searched", "shown", "seen", "visited", "started", "abandoned"}
_NAME_RULES = {
    "no-tracking-plan",
    "unplanned-event",
    "event-name-case",
    "near-duplicate-name",
    "name-encodes-property",
    "rule-unknown-event",
}
_PROPERTY_RULES = {"required-missing", "datatype-mismatch"}
_SHOWN = 5
_IDENTITY = ("auto_merge", "merge_anonymous", "anonymous_retention", "anonymous_grace", "merge_event_window")
_SEGMENT_SETTINGS = ("coerce", "negative_window_needs_age", "segment_refresh")


@dataclass
class GateItem:
    title: str
    passed: bool
    evidence: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"item": self.title, "passed": self.passed, "evidence": self.evidence}


@dataclass
class GateScenario:
    result: ScenarioResult
    doc: YamlDoc
    on_workspace: bool  # runs on the gated workspace file
    identity_changed: list[str] = field(default_factory=list)  # identity settings its overrides change
    segments_changed: set[str] = field(default_factory=set)  # segments it judges under other rules

    def evidence_for_identity(self) -> bool:
        return self.on_workspace and self.result.passed and not self.identity_changed and self.checks_something

    @property
    def checks_something(self) -> bool:
        return bool(self.result.plan.expectations)

    def evidence_for(self, segment: str) -> bool:
        return self.on_workspace and self.result.passed and segment not in self.segments_changed

    @property
    def name(self) -> str:
        return self.result.plan.name


def _quoted(scenarios: list[str]) -> str:
    """Scenario names in evidence: quoted, since a name may hold commas of its own."""
    return ", ".join(json.dumps(name, ensure_ascii=False) for name in scenarios)


def _shown(findings: Sequence[Finding]) -> list[str]:
    lines = [f.render() for f in findings[:_SHOWN]]
    if len(findings) > _SHOWN:
        lines.append(f"... and {len(findings) - _SHOWN} more (segsim lint shows them all)")
    return lines


def run_gate(ws: LoadedWorkspace, scenarios: Sequence[tuple[Path, YamlDoc]]) -> list[GateItem]:
    from simulator.scenario.loader import load_plan

    sink = FindingSink()
    names = EventNames()
    plan = ws.plan
    WorkspaceLint(ws.config, ws.model, ws.doc, plan, sink, names).run()
    runs: list[GateScenario] = []
    target = ws.path.resolve()
    for path, doc in scenarios:
        compiled = load_plan(path)
        own = compiled.workspace.tracking_plan
        lint_scenario(compiled, doc, plan if own == ws.config.tracking_plan else TrackingPlanView(own), sink, names)
        named = doc.data.get("workspace") if isinstance(doc.data, dict) else None
        on_workspace = isinstance(named, str) and (path.parent / named).resolve() == target
        runs.append(
            GateScenario(
                check_plan(compiled),
                doc,
                on_workspace,
                [f for f in _IDENTITY if getattr(compiled.workspace, f) != getattr(ws.config, f)],
                _segments_changed(ws.config, compiled.workspace),
            )
        )
    names.report(sink)
    findings = sink.findings()
    return [
        _names(ws, findings),
        _properties(findings, runs),
        _identity(ws, runs),
        _purchases(ws, findings),
        _segments(ws, runs),
        _journeys(ws),
        _passing(runs),
    ]


def _segments_changed(base: WorkspaceConfig, scenario: WorkspaceConfig) -> set[str]:
    """The gated segments a scenario judges under other rules than the workspace's:
    its overrides replace the rule, or change how every rule reads (types, ages,
    refresh); a segment reading a changed one (`in_segment`) is changed too."""
    own = {d.name: d.rule for d in scenario.segments}
    if any(getattr(base, f) != getattr(scenario, f) for f in _SEGMENT_SETTINGS):
        return {d.name for d in base.segments}
    changed = {d.name for d in base.segments if own.get(d.name) != d.rule}
    growing = True
    while growing:
        growing = False
        for d in base.segments:
            if d.name not in changed and {n.segment for n in walk(d.rule) if isinstance(n, InSegment)} & changed:
                changed.add(d.name)
                growing = True
    return changed


def _names(ws: LoadedWorkspace, findings: list[Finding]) -> GateItem:
    item = GateItem("event names canonical and documented", True)
    bad = [f for f in findings if f.rule in _NAME_RULES]
    undocumented = sorted(
        name
        for name, raw in ws.config.tracking_plan.get("events", {}).items()
        if not str(raw.get("description") or "").strip()  # blank is no description
    )
    if bad:
        item.passed = False
        item.evidence += _shown(bad)
    if undocumented:
        item.passed = False
        item.evidence.append("planned events without a description: " + ", ".join(undocumented))
    if item.passed:
        names = sorted(ws.config.tracking_plan.get("events", {}))
        item.evidence.append(f"{len(names)} planned events, all snake case and described: " + ", ".join(names))
        item.evidence.append("every event the rules and scenarios use is planned")
    return item


def _properties(findings: list[Finding], runs: list[GateScenario]) -> GateItem:
    bad = [f for f in findings if f.rule in _PROPERTY_RULES]
    if bad:
        return GateItem("required properties present", False, _shown(bad))
    tracks = sum(1 for r in runs for send in r.result.plan.sends if send.call == "track")
    return GateItem(
        "required properties present",
        True,
        [
            f"{tracks} track{'s' if tracks != 1 else ''} in {len(runs)} scenario{'s' if len(runs) != 1 else ''} "
            "carry every required property with its planned type"
        ],
    )


def _written(value: object) -> str:
    """A value as the workspace file writes it (`true`, `null`: the default)."""
    if value is None:
        return "null (the default)"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _identity(ws: LoadedWorkspace, runs: list[GateScenario]) -> GateItem:
    item = GateItem("identity strategy defined and an anonymous merge exercised by a passing scenario", True)
    data = ws.doc.data if isinstance(ws.doc.data, dict) else {}
    identity = data.get("identity")
    if not isinstance(identity, dict) or not identity:
        item.passed = False
        what = "the identity: section is empty" if isinstance(identity, dict) else "no identity: section"
        item.evidence.append(
            f"{ws.path}: {what}; write the strategy down (auto_merge, merge_anonymous, "
            "anonymous_retention, anonymous_grace, merge_event_window) even where it keeps the defaults"
        )
    else:
        keys = ", ".join(f"{k}: {_written(v)}" for k, v in identity.items())
        item.evidence.append(f"identity: {{{keys}}}")
    merged = [r.name for r in runs if r.evidence_for_identity() and _anonymous_merge(r.result)]
    for r in runs:
        if r.on_workspace and r.result.passed and not r.checks_something and _anonymous_merge(r.result):
            item.evidence.append(f"{r.name} ({r.result.plan.file}) merges but expects nothing: not counted")
        if not (r.on_workspace and r.result.passed and r.identity_changed and _anonymous_merge(r.result)):
            continue
        item.evidence.append(
            f"{r.name} ({r.result.plan.file}) merges under its own identity overrides "
            f"({', '.join(r.identity_changed)}): not counted"
        )
    if merged:
        item.evidence.append("anonymous merge exercised by passing scenario(s): " + _quoted(merged))
    elif not ws.config.merge_anonymous:
        item.passed = False
        item.evidence.append("identity.merge_anonymous is false: no anonymous profile is ever merged")
    else:
        item.passed = False
        item.evidence.append(
            "no passing scenario on this workspace merges an anonymous profile: add one where a shopper "
            "browses anonymously, then identifies on that device"
        )
    return item


def _anonymous_merge(result: ScenarioResult) -> bool:
    return any(
        r.get("kind") == "profile_merged" and r.get("how") == "anonymous_merge"
        for r in result.outcome.platform.trace.records
    )


def purchase_events(events: dict[str, Any]) -> list[str]:
    """Planned events that record a purchase: those with `unique_by`, or named for an
    order or payment (not a page about one: `order_history_viewed`)."""
    found = []
    for name, raw in events.items():
        words = re.split(r"[^a-z0-9]+", name.lower())
        browsing = words[-1] in _BROWSING_WORDS
        if raw.get("unique_by") or (set(words) & _PURCHASE_WORDS and not browsing):
            found.append(name)
    return sorted(found)


def _id_property(raw: dict[str, Any]) -> str:
    """The planned property to deduplicate a purchase event by: its `unique_by`, else
    an id property named for the order (or any id property), else `order_id`."""
    if raw.get("unique_by"):
        return str(raw["unique_by"])
    ids = [p for p in raw.get("properties") or {} if re.search(r"(^|_)id$", p.lower())]
    named = [p for p in ids if set(re.split(r"[^a-z0-9]+", p.lower())) & (_PURCHASE_WORDS | {"transaction"})]
    return next(iter(named + ids), "order_id")


def _purchases(ws: LoadedWorkspace, findings: list[Finding]) -> GateItem:
    item = GateItem("purchase events server-side and idempotent", True)
    events = ws.config.tracking_plan.get("events", {})
    names = purchase_events(events)
    if not names:
        item.passed = False
        item.evidence.append(
            "the tracking plan has no purchase event (one with unique_by, or named for an order or payment)"
        )
        return item
    keys = dict(ws.config.idempotency_keys)
    sources = dict(ws.config.sources)
    for name in BUILTIN_SOURCES:  # a built-in is there unless a source of its name is declared
        builtin = builtin_source(name)
        if name not in sources and builtin is not None:
            sources[name] = builtin
    server = [src for src in sources.values() if src.kind == "server"]
    ids_everywhere = ws.config.by_event_id and bool(server) and all(src.event_ids for src in server)
    plan = TrackingPlanView(ws.config.tracking_plan)
    for name in names:
        raw = events[name]
        if raw.get("source") != "server":
            item.passed = False
            item.evidence.append(f"{name}: not marked source: server in the tracking plan")
        else:
            item.evidence.append(f"{name}: source: server")
        problem = dedupe_key_problem(plan.get(name), keys[name]) if name in keys else None
        unplanned = not raw.get("properties")  # the plan cannot say the key is sent
        if problem is not None:
            item.passed = False
            item.evidence.append(f"{name}: {problem[1]}")
        elif name in keys and unplanned:
            # SPEC 17 asks for a dedupe key; one the plan cannot check is still one, and said so.
            item.evidence.append(
                f"{name}: idempotent by dedupe.idempotency_keys ({name}: {keys[name]}); its plan lists no "
                f"properties, so lint cannot check that {keys[name]} is sent: plan it "
                f"({keys[name]}: {{type: string, required: true}})"
            )
        elif name in keys:
            item.evidence.append(f"{name}: idempotent by dedupe.idempotency_keys ({name}: {keys[name]})")
        elif ids_everywhere:
            item.evidence.append(f"{name}: idempotent by event ids (every server source sends event_ids)")
        else:
            item.passed = False
            hint = _id_property(raw)
            silent = [
                src.name + (" (built-in)" if src.name not in ws.config.sources else "")
                for src in server
                if not src.event_ids
            ]
            why = (
                "event ids are not deduplicated (dedupe.by_event_id: false)"
                if not ws.config.by_event_id
                else "no server source"
                if not server
                else "server source(s) " + ", ".join(silent) + " send no event ids"
            )
            plan_it = f" and plan it ({hint}: {{type: string, required: true}})" if unplanned else ""
            item.evidence.append(
                f"{name}: no dedupe key, and {why}: add dedupe.idempotency_keys: {{{name}: {hint}}}{plan_it}"
            )
    # a scenario sending one from a client says the tracking is not server-side, whatever the plan says
    from_clients = [
        f
        for f in findings
        if f.rule == "server-event-from-client"
        and any(f.message.startswith(f"{name} is planned as server-only") for name in names)
    ]
    if from_clients:
        item.passed = False
        item.evidence.append("sent from a client in a scenario:")
        item.evidence += _shown(from_clients)
    return item


def _segment_names(doc: YamlDoc) -> set[str]:
    data = doc.data if isinstance(doc.data, dict) else {}
    named: set[str] = set()
    for expectation in data.get("expect") or []:
        if isinstance(expectation, dict):
            for key in ("segment", "in_segment", "not_in_segment"):
                if isinstance(expectation.get(key), str):
                    named.add(expectation[key])
    return named


def _segments(ws: LoadedWorkspace, runs: list[GateScenario]) -> GateItem:
    item = GateItem("debug segments covered by passing scenarios", True)
    covered: dict[str, list[str]] = {}
    others: dict[str, list[str]] = {}
    for run in runs:
        if run.on_workspace and run.result.passed:
            for segment in _segment_names(run.doc):
                (covered if run.evidence_for(segment) else others).setdefault(segment, []).append(run.name)
    for segment in ws.model.segments:
        if segment in covered:
            item.evidence.append(f"{segment}: " + _quoted(sorted(covered[segment])))
        elif segment in others:
            item.passed = False
            item.evidence.append(
                f"{segment}: checked only by scenarios whose overrides change its rule or how rules read "
                f"({_quoted(sorted(others[segment]))}): add one on the workspace's own rule"
            )
        else:
            item.passed = False
            item.evidence.append(f"{segment}: no passing scenario on this workspace checks it (add an expectation)")
    if not ws.model.segments:
        item.evidence.append("the workspace defines no segments")
    return item


def _journeys(ws: LoadedWorkspace) -> GateItem:
    item = GateItem("journeys built on triggers plus filters rather than near-duplicate events", True)
    events = sorted(ws.config.tracking_plan.get("events", {}))
    triggers = {name: j.trigger.event for name, j in ws.model.journeys.items() if j.trigger.event is not None}
    everything = sorted(set(events) | set(triggers.values()))
    by_fold: dict[str, list[str]] = {}
    for journey, event in sorted(triggers.items()):
        base = encoded_base(event, everything)
        if base is not None:
            item.passed = False
            item.evidence.append(
                f"{journey}: triggers on {event!r}, a variant of {base!r}: trigger on {base!r} and filter on the "
                "property (trigger: {event: ..., where: {...}})"
            )
        by_fold.setdefault(fold_name(event), []).append(journey)
    for folded, journeys in sorted(by_fold.items()):
        names = {triggers[j] for j in journeys}
        if len(names) > 1:
            item.passed = False
            item.evidence.append(
                "journeys " + ", ".join(journeys) + " trigger on near-duplicate names " + ", ".join(sorted(names))
            )
        del folded
    if item.passed:
        segment_triggered = len(ws.model.journeys) - len(triggers)
        item.evidence.append(
            f"{len(triggers)} event-triggered journeys on distinct planned events "
            f"({', '.join(sorted(set(triggers.values())))}), {segment_triggered} segment-triggered"
        )
    return item


def _passing(runs: list[GateScenario]) -> GateItem:
    failed = [r for r in runs if not r.result.passed]
    if not runs:
        return GateItem("scenarios pass", False, ["no scenarios given"])
    if failed:
        return GateItem(
            "scenarios pass",
            False,
            [f"{r.name} ({r.result.plan.file}): {len(r.result.failures)} expectation(s) failed" for r in failed],
        )
    return GateItem("scenarios pass", True, [f"{len(runs)} of {len(runs)} scenarios pass"])
