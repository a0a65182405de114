"""Lint of a workspace against its own tracking plan: the plan's names, the
events and properties segment and journey rules reference, and time windows
or waits tighter than the latency of the sources their events come from.

Each finding is kept as a `RuleFinding` (its key path in the workspace and the
other settings that cause it), so a scenario's own workspace can be linted too
and its findings told apart from the base workspace's (`scenario_workspace`)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simulator.lint.findings import ERROR, WARNING, FindingSink, Severity
from simulator.lint.names import EventNames
from simulator.lint.trackplan import (
    TrackingPlanView,
    a_type,
    dedupe_key_problem,
    is_snake_case,
    show_value,
    suggested_name,
    type_name,
    value_has_type,
)
from simulator.model.config import BUILTIN_SOURCES, LatencyModel, SourceConfig, WorkspaceConfig, builtin_source
from simulator.model.time import format_duration, parse_duration
from simulator.model.values import read_generously
from simulator.scenario import schema as s
from simulator.scenario.errors import format_path
from simulator.scenario.yamlfile import YamlDoc

__all__ = ["EventUse", "RuleFinding", "WorkspaceLint", "event_uses", "worst_latency"]

Path = tuple[object, ...]
_COMPARE_OPS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True, slots=True)
class RuleFinding:
    """A workspace finding before it is placed in a file: `path` is its key path in
    the workspace, `causes` the key paths of the other settings it follows from
    (the latency of the source that is too slow, the plan entry, `rules.types`)."""

    rule: str
    severity: Severity
    path: Path
    message: str
    causes: tuple[Path, ...] = ()

    @property
    def identity(self) -> tuple[str, Path, str]:
        return (self.rule, self.path, self.message)


@dataclass(frozen=True, slots=True)
class EventUse:
    """One `performed`/`not_performed`/`after`/trigger reference to an event."""

    event: str
    path: Path
    within: int | None = None
    where: dict[str, Any] | None = None


def _conditions(c: s.Condition | None, path: Path) -> Iterator[tuple[s.Condition, Path]]:
    if c is None:
        return
    yield c, path
    for i, item in enumerate(c.all or []):
        yield from _conditions(item, path + ("all", i))
    for i, item in enumerate(c.any or []):
        yield from _conditions(item, path + ("any", i))
    if isinstance(c.not_, list):
        for i, item in enumerate(c.not_):
            yield from _conditions(item, path + ("not", i))
    elif c.not_ is not None:
        yield from _conditions(c.not_, path + ("not",))


def _negated(c: s.Condition) -> list[s.Condition]:
    """What a `not` negates: its condition, or each of its list (`not: [a, b]`, none of them)."""
    if c.not_ is None:
        return []
    return c.not_ if isinstance(c.not_, list) else [c.not_]


def _step_conditions(steps: list[s.JourneyStep], path: Path) -> Iterator[tuple[s.Condition, Path]]:
    for i, step in enumerate(steps):
        here = path + (i,)
        if step.wait_until is not None:
            yield from _conditions(step.wait_until.condition, here + ("wait_until", "condition"))
            yield from _step_conditions(step.wait_until.then, here + ("wait_until", "then"))
        if step.branch is not None:
            yield from _conditions(step.branch.if_, here + ("branch", "if"))
            yield from _step_conditions(step.branch.then, here + ("branch", "then"))
            yield from _step_conditions(step.branch.else_, here + ("branch", "else"))


def _journey_conditions(name: str, j: s.Journey) -> Iterator[tuple[s.Condition, Path]]:
    base: Path = ("journeys", name)
    yield from _conditions(j.filter, base + ("filter",))
    yield from _conditions(j.goal, base + ("goal",))
    yield from _step_conditions(j.steps, base + ("steps",))


def all_conditions(ws: s.Workspace) -> Iterator[tuple[s.Condition, Path]]:
    for name, seg in ws.segments.items():
        yield from _conditions(seg.rule, ("segments", name, "rule"))
    for name, j in ws.journeys.items():
        yield from _journey_conditions(name, j)


def event_uses(ws: s.Workspace) -> list[EventUse]:
    """Every event name the workspace's rules and triggers reference, with its key path."""
    uses: list[EventUse] = []
    for cond, path in all_conditions(ws):
        name = cond.performed if cond.performed is not None else cond.not_performed
        if name is not None:
            head = "performed" if cond.performed is not None else "not_performed"
            within = parse_duration(cond.within) if cond.within is not None else None
            uses.append(EventUse(name, path + (head,), within, cond.where))
        if cond.after is not None:
            uses.append(EventUse(cond.after, path + ("after",)))
    for name, j in ws.journeys.items():
        if j.trigger.event is not None:
            uses.append(EventUse(j.trigger.event, ("journeys", name, "trigger", "event"), None, j.trigger.where))
    return uses


def worst_latency(model: LatencyModel) -> tuple[int, str]:
    """The longest latency a model gives, and how it was read; an exponential is
    unbounded, so its 99th percentile stands in."""
    worst = model.worst_case
    if worst is not None:
        return worst, model.describe()
    p99 = int(math.ceil(model.a * math.log(100)))
    return p99, f"{model.describe()}, 99th percentile {format_duration(p99)}"


class WorkspaceLint:
    def __init__(
        self,
        config: WorkspaceConfig,
        model: s.Workspace,
        doc: YamlDoc,
        plan: TrackingPlanView,
        sink: FindingSink | None = None,
        names: EventNames | None = None,
    ) -> None:
        """Findings go to `sink`, located in `doc`, and are kept in `found` (without a
        sink, only kept). `names` collects the planned event names, judged with the
        names the scenarios and logs send once the run ends (`EventNames.report`)."""
        self.config = config
        self.model = model
        self.doc = doc
        self.plan = plan
        self.sink = sink
        self.names = names
        self.found: list[RuleFinding] = []

    def add(self, rule: str, severity: Severity, path: Path, message: str, causes: tuple[Path, ...] = ()) -> None:
        self.found.append(RuleFinding(rule, severity, path, message, causes))
        if self.sink is not None:
            line, _col = self.doc.mark(path)
            self.sink.add(rule, severity, self.doc.file, line, message, format_path(path))

    def run(self) -> list[RuleFinding]:
        if not self.plan.defined:
            self.add(
                "no-tracking-plan",
                WARNING,
                (),
                "the workspace has no tracking_plan: add one (tracking_plan.events) so lint can check names, "
                "properties and types",
            )
        else:
            self.plan_names()
            self.dedupe_keys()
            self.rule_references()
        self.windows()
        self.waits()
        self.boolean_words()
        self.empty_lists()
        return self.found

    # ---------------------------------------------------------------- the plan itself

    def plan_names(self) -> None:
        for name, event in self.plan.events.items():
            path: Path = ("tracking_plan", "events", name)
            # Event names are judged with the names the scenarios and logs send, at the end of the run.
            if self.names is not None:
                self.names.planned(name, self.doc.file, self.doc.mark(path)[0], format_path(path))
            for prop in event.properties:
                if not is_snake_case(prop):
                    self.add(
                        "property-name-case",
                        WARNING,
                        path + ("properties", prop),
                        f"property {prop!r} is not lowercase snake case: call it {suggested_name(prop)}",
                    )
            if event.unique_by is not None and event.unique_by not in event.properties:
                self.add(
                    "unique-by-unknown-property",
                    ERROR,
                    path + ("unique_by",),
                    f"unique_by names {event.unique_by!r}, which {name} does not list under properties: add it "
                    "(required: true)",
                )

    def dedupe_keys(self) -> None:
        for event, key in self.config.idempotency_keys:
            problem = dedupe_key_problem(self.plan.get(event), key)
            if problem is not None:
                rule, message = problem
                severity = ERROR if rule == "dedupe-key-unknown-property" else WARNING
                self.add(rule, severity, ("dedupe", "idempotency_keys", event), message)

    # ---------------------------------------------------------------- rule references

    def rule_references(self) -> None:
        for use in event_uses(self.model):
            if self.plan.get(use.event) is None:
                hint = self.plan.suggestion(use.event)
                self.add(
                    "rule-unknown-event",
                    ERROR,
                    use.path,
                    f"the rule references event {use.event!r}, which the tracking plan does not define"
                    + (
                        f": {hint}"
                        if hint.startswith("did you mean")
                        else ": add it to tracking_plan.events" + (f" ({hint})" if hint else "")
                    )
                    + " (names match exactly, so this rule never sees the planned event)",
                    (("tracking_plan", "events"),),
                )
                continue
            where_path = use.path[:-1] + ("where",)
            self.tests(use.event, use.where, where_path, "the rule")
        for name, j in self.model.journeys.items():
            trigger = j.trigger.event
            if trigger is None or self.plan.get(trigger) is None:
                continue
            # `trigger: {PATH: TEST}` tests the trigger event's properties with the tests of `where`.
            for tests, path in _trigger_tests(name, j):
                self.tests(trigger, tests, path, "the journey's trigger")
            for prop, path in _trigger_references(name, j):
                self.property_known(trigger, prop, path, "the journey's trigger")

    def tests(self, event: str, where: dict[str, Any] | None, path: Path, who: str) -> None:
        """The property tests of a `where` (or a `trigger:` test) on `event`: each property
        planned, each value compared of the property's planned type."""
        for prop, test in (where or {}).items():
            here = path + (prop,)
            if not self.property_known(event, prop, here, who):
                continue
            spec = self.plan.events[event].properties.get(_head(prop))
            if spec is None or spec.type is None or "[]" in prop or "." in prop:
                continue
            operands = test.items() if isinstance(test, dict) else [("eq", test)]
            for op, operand in operands:
                if op == "trigger" or isinstance(operand, dict) or op in ("exists", "contains"):
                    continue
                values = operand if op == "in" and isinstance(operand, list) else [operand]
                for value in values:
                    wanted = "number" if op in _COMPARE_OPS and spec.type == "integer" else spec.type
                    if value is not None and not value_has_type(value, wanted):
                        at = here + ((op,) if isinstance(test, dict) else ())
                        self.type_mismatch(event, prop, spec.type, value, at, who)

    def type_mismatch(self, event: str, prop: str, planned: str, value: Any, path: Path, who: str) -> None:
        """A test value not of the property's planned type, judged under the workspace's
        `rules.types`: strict never matches it; coerce reads numeric strings as numbers
        in every test (SPEC section 6), so only some mismatches are harmless there."""
        causes: tuple[Path, ...] = (("rules", "types"), ("tracking_plan", "events", event, "properties", _head(prop)))
        start = f"{event}.{prop} is planned as {a_type(planned)} but {who} compares it with the {type_name(value)} "
        start += show_value(value)
        if not self.config.coerce:
            self.add(
                "rule-type-mismatch",
                ERROR,
                path,
                f"{start}: under strict types it never matches; write the value as {a_type(planned)}",
                causes,
            )
            return
        if planned in ("number", "integer") and isinstance(value, str) and _is_number(read_generously(value)):
            return  # rules.types: coerce compares "50" as 50: it matches what the author meant
        if planned == "string" and _is_number(value):
            self.add(
                "rule-type-mismatch",
                WARNING,
                path,
                f"{start}: under rules.types: coerce it matches only the values that are numeric strings "
                f'("{value}"), never other text; if the values are not numbers, compare with a string',
                causes,
            )
            return
        self.add(
            "rule-type-mismatch",
            ERROR,
            path,
            f"{start}: it never matches, even under rules.types: coerce (which reads only numeric strings as "
            f"numbers); write the value as {a_type(planned)}",
            causes,
        )

    def property_known(self, event: str, prop: str, path: Path, who: str) -> bool:
        planned = self.plan.events[event]
        if _head(prop) in planned.properties:
            return True
        import difflib

        close = difflib.get_close_matches(_head(prop), sorted(planned.properties), n=1, cutoff=0.6)
        self.add(
            "rule-unknown-property",
            ERROR,
            path,
            f"{who} tests {event}.{prop}, which the tracking plan does not define"
            + (f": did you mean {close[0]!r}?" if close else f": add {_head(prop)!r} to {event}'s properties"),
            (("tracking_plan", "events", event),),
        )
        return False

    # ---------------------------------------------------------------- YAML 1.1 habits

    def empty_lists(self) -> None:
        """`any: []` never holds and `all: []` always does, as in logic: most often a
        list emptied while editing, and a segment that silently matches nobody (or
        everybody). (`not: []` is refused when the file is read.)"""
        for cond, path in all_conditions(self.model):
            if cond.any == []:
                self.add(
                    "empty-condition-list",
                    WARNING,
                    path + ("any",),
                    "any: [] never holds, so this condition is always false: list the conditions it means, "
                    "or remove it",
                )
            if cond.all == []:
                self.add(
                    "empty-condition-list",
                    WARNING,
                    path + ("all",),
                    "all: [] always holds, so this condition is always true: list the conditions it means, "
                    "or remove it",
                )

    def boolean_words(self) -> None:
        """`attribute: vip, eq: yes`: YAML 1.1 read `yes` as true; segsim reads YAML 1.2, where
        it is the text 'yes', so a file written in the old habit compares a boolean with text.
        (A `where` on a property planned as a boolean is `rule-type-mismatch` already.)"""
        for cond, path in all_conditions(self.model):
            tests: list[tuple[Any, Path]] = []
            if cond.attribute is not None:
                tests += [(getattr(cond, op), path + (op,)) for op in ("eq", "ne")]
                tests += [(value, path + ("in", i)) for i, value in enumerate(cond.in_ or [])]
            event = cond.performed or cond.not_performed
            for prop, test in (cond.where or {}).items():
                planned = self.plan.events.get(event or "")
                spec = planned.properties.get(_head(prop)) if planned is not None else None
                if spec is not None and spec.type == "boolean":
                    continue
                if not isinstance(test, dict):
                    tests.append((test, path + ("where", prop)))
                    continue
                for op in ("eq", "ne"):
                    tests.append((test.get(op), path + ("where", prop, op)))
                in_list = test.get("in")
                if isinstance(in_list, list):
                    tests += [(value, path + ("where", prop, "in", i)) for i, value in enumerate(in_list)]
            for value, at in tests:
                if isinstance(value, str) and value.lower() in _BOOLEAN_WORDS:
                    meant = "true" if _BOOLEAN_WORDS[value.lower()] else "false"
                    self.add(
                        "yaml-boolean-word",
                        WARNING,
                        at,
                        f"{value!r} is text here: segsim reads YAML 1.2, where only true and false are "
                        f"booleans (YAML 1.1 read {value} as {meant}); write {meant} if a boolean is meant",
                    )

    # ---------------------------------------------------------------- latency

    def sources_for(self, event: str) -> list[SourceConfig]:
        planned = self.plan.get(event)
        kind = planned.source if planned is not None else None
        sources = dict(self.config.sources)
        for name in BUILTIN_SOURCES:
            builtin = builtin_source(name)
            if name not in sources and builtin is not None:
                sources[name] = builtin
        return [src for _, src in sorted(sources.items()) if kind is None or src.kind == kind]

    def slowest(self, event: str, sender_stamped: bool = False) -> tuple[int, str, str] | None:
        """The slowest source that may send `event` (with `sender_stamped`: only those whose calls carry
        their own timestamp; a `timestamps: none` source's events are stamped on arrival, so its latency
        never closes a window on them)."""
        found: tuple[int, str, str] | None = None
        for src in self.sources_for(event):
            if sender_stamped and src.timestamps == "none":
                continue
            worst, how = worst_latency(src.latency)
            if found is None or worst > found[0]:
                found = (worst, src.name, how)
        return found

    def windows(self) -> None:
        for use in event_uses(self.model):
            if use.within is None:
                continue
            slowest = self.slowest(use.event, sender_stamped=True)
            if slowest is None or slowest[0] < use.within:
                continue
            worst, source, how = slowest
            self.add(
                "window-tighter-than-latency",
                ERROR,
                use.path[:-1] + ("within",),
                f"within: {format_duration(use.within)} on {use.event} is not longer than the latency of source "
                f"{source!r} ({how}): an event can arrive after its window has closed and never count; "
                f"widen the window beyond {format_duration(worst)} or speed up {source}",
                (("sources", source, "latency"), ("sources", source), ("tracking_plan", "events", use.event)),
            )

    def waits(self) -> None:
        for name, j in self.model.journeys.items():
            watched = _watched_events(j)
            if not watched:
                continue
            before = _wait_before_first_send(j.steps)
            if before is None:
                continue
            wait, message = before
            for event in watched:
                slowest = self.slowest(event)
                if slowest is None or slowest[0] <= wait:
                    continue
                worst, source, how = slowest
                self.add(
                    "wait-shorter-than-latency",
                    WARNING,
                    ("journeys", name, "steps"),
                    f"{message} goes out {format_duration(wait)} after entry, but {event} from {source!r} can take "
                    f"{format_duration(worst)} to arrive ({how}): a shopper who already did it still gets the "
                    f"message (a ghost abandon); wait longer than {format_duration(worst)} first",
                    (("sources", source, "latency"), ("sources", source), ("tracking_plan", "events", event)),
                )


# The words YAML 1.1 read as booleans, and which one.
_BOOLEAN_WORDS = {"yes": True, "y": True, "on": True, "no": False, "n": False, "off": False}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _head(prop: str) -> str:
    return prop.split(".", 1)[0].removesuffix("[]")


def _trigger_tests(name: str, j: s.Journey) -> Iterator[tuple[dict[str, Any], Path]]:
    """Every `trigger: {PATH: TEST}` condition of a journey (filter, goal, branches, waits)."""
    for cond, path in _journey_conditions(name, j):
        if cond.trigger is not None:
            yield cond.trigger, path + ("trigger",)


def _trigger_references(name: str, j: s.Journey) -> Iterator[tuple[str, Path]]:
    """Every `{trigger: prop}` value of a journey: in a `where`, or in an `update` step."""
    base: Path = ("journeys", name)
    for cond, path in _journey_conditions(name, j):
        for prop, test in (cond.where or {}).items():
            yield from _refs(test, path + ("where", prop))
    yield from _update_references(j.steps, base + ("steps",))


def _refs(value: Any, path: Path) -> Iterator[tuple[str, Path]]:
    if isinstance(value, dict):
        if set(value) == {"trigger"} and isinstance(value["trigger"], str):
            yield value["trigger"], path
            return
        for key, inner in value.items():
            yield from _refs(inner, path + (key,))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _refs(inner, path + (i,))


def _update_references(steps: list[s.JourneyStep], path: Path) -> Iterator[tuple[str, Path]]:
    for i, step in enumerate(steps):
        here = path + (i,)
        if step.update is not None:
            for key, value in step.update.items():
                yield from _refs(value, here + ("update", key))
        if step.wait_until is not None:
            yield from _update_references(step.wait_until.then, here + ("wait_until", "then"))
        if step.branch is not None:
            yield from _update_references(step.branch.then, here + ("branch", "then"))
            yield from _update_references(step.branch.else_, here + ("branch", "else"))


def _watched_events(j: s.Journey) -> list[str]:
    """Events whose arrival should stop a message: the goal's, and those a filter excludes."""
    names: list[str] = []
    if j.goal is not None and j.exit in ("goal", "goal_or_stop_matching"):
        names += [c.performed for c, _ in _conditions(j.goal, ()) if c.performed is not None]
    if j.filter is not None and j.exit in ("stop_matching", "goal_or_stop_matching"):
        for c, _ in _conditions(j.filter, ()):
            if c.not_performed is not None:
                names.append(c.not_performed)
            names += [n.performed for n in _negated(c) if n.performed is not None]
    return sorted(set(names))


def _wait_before_first_send(steps: list[s.JourneyStep]) -> tuple[int, str] | None:
    """How soon after entry a message can first go out, and which: along every
    path, through `branch` arms and past a `wait_until` not met by its `max`
    (its `then` runs when what it waits for happened: no reminder)."""
    found, _ = _first_send(steps, 0)
    return found


def _first_send(steps: list[s.JourneyStep], start: int | None) -> tuple[tuple[int, str] | None, int | None]:
    """From `start` (the soonest a path gets here without a message; None when
    none does): the soonest message of these steps, and the soonest a path
    leaves them without one. Each step is read once, however many branches."""
    best: tuple[int, str] | None = None
    soonest = start
    for step in steps:
        if soonest is None:
            break
        if step.wait is not None:
            soonest += parse_duration(step.wait)
        elif step.wait_until is not None:
            soonest += parse_duration(step.wait_until.max)
        elif step.send is not None:
            if best is None or soonest < best[0]:
                best = (soonest, step.send)
            soonest = None
        elif step.branch is not None:
            arms = [_first_send(arm, soonest) for arm in (step.branch.then, step.branch.else_)]
            for sent, _ in arms:
                if sent is not None and (best is None or sent[0] < best[0]):
                    best = sent
            ends = [end for _, end in arms if end is not None]
            soonest = min(ends) if ends else None
    return best, soonest
