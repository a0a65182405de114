"""Compile a validated workspace into `WorkspaceConfig`, checking the names
rules refer to (segments, `trigger:` references) and `in_segment` cycles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simulator.model.conditions import (
    All,
    Any_,
    AttributeTest,
    Cond,
    Count,
    InSegment,
    Not,
    Performed,
    TriggerTest,
    walk,
)
from simulator.model.config import (
    Branch,
    JourneyDef,
    LatencyModel,
    SegmentDef,
    SendStep,
    SourceConfig,
    Step,
    Update,
    Wait,
    WaitUntil,
    WorkspaceConfig,
    builtin_source,
)
from simulator.model.time import parse_duration
from simulator.model.values import TriggerRef, ValueTest
from simulator.scenario import schema as s
from simulator.scenario.errors import Problem, did_you_mean

__all__ = ["compile_workspace"]

Report = Callable[[tuple[object, ...], str, str], Problem]
_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists")


class _Compiler:
    def __init__(self, ws: s.Workspace, report: Report) -> None:
        self.ws = ws
        self.report = report
        self.problems: list[Problem] = []
        self.windows: set[int] = set()
        self.ages: set[int] = set()

    def fail(self, path: tuple[object, ...], message: str, hint: str = "") -> None:
        self.problems.append(self.report(path, message, hint))

    # --------------------------------------------------------------- values

    def operand(self, value: Any, path: tuple[object, ...], in_journey: bool, literal_mappings: bool = False) -> Any:
        """A value a test compares with or an `update` sets: a literal, or
        `{trigger: PROPERTY}` inside a journey. An `update` may also set a
        mapping (`{last: {category: coffee}}`), read by `a.b` paths."""
        if isinstance(value, dict):
            if set(value) == {"trigger"} and isinstance(value["trigger"], str):
                if not in_journey:
                    self.fail(
                        path,
                        "{trigger: ...} refers to a journey's triggering event "
                        "and is only allowed in journey conditions",
                    )
                return TriggerRef(value["trigger"])
            if literal_mappings:
                nested = _trigger_ref_inside(value)
                if nested is not None:
                    self.fail(
                        path + nested,
                        "{trigger: ...} is the whole value of an update key, not a part of one",
                        "set the key itself: update: {KEY: {trigger: PROPERTY}}",
                    )
                return value
            self.fail(path, f"expected a value or {{trigger: PROPERTY}}, got a mapping {value!r}")
        if isinstance(value, list):
            return [self.operand(v, path + (i,), in_journey) for i, v in enumerate(value)]
        return value

    def tests(self, where: dict[str, Any] | None, path: tuple[object, ...], in_journey: bool) -> tuple[ValueTest, ...]:
        out: list[ValueTest] = []
        for prop, test in (where or {}).items():
            here = path + (prop,)
            if any(not part.removesuffix("[]") for part in str(prop).split(".")):
                self.fail(here, f"the path {prop!r} has an empty key", "join keys with dots: a.b, items[].category")
                continue
            if isinstance(test, dict) and not (set(test) == {"trigger"}):
                if not test:
                    self.fail(here, "an empty test: write a value or {op: value}")
                for op, value in test.items():
                    if op not in _OPS:
                        self.fail(here + (op,), f"unknown operator {op!r}", did_you_mean(op, _OPS))
                        continue
                    if op == "in" and not isinstance(value, list):
                        self.fail(here + (op,), "in takes a list of values")
                        continue
                    if op == "exists" and not isinstance(value, bool):
                        self.fail(here + (op,), "exists takes true or false")
                        continue
                    out.append(ValueTest(prop, op, self.operand(value, here + (op,), in_journey)))
            else:
                out.append(ValueTest(prop, "eq", self.operand(test, here, in_journey)))
        return tuple(out)

    # --------------------------------------------------------------- conditions

    def cond(self, c: s.Condition, path: tuple[object, ...], in_journey: bool) -> Cond:
        if c.all is not None:
            return All(tuple(self.cond(x, path + ("all", i), in_journey) for i, x in enumerate(c.all)))
        if c.any is not None:
            return Any_(tuple(self.cond(x, path + ("any", i), in_journey) for i, x in enumerate(c.any)))
        if isinstance(c.not_, list):  # `not: [a, b]`: none of them holds
            return Not(Any_(tuple(self.cond(x, path + ("not", i), in_journey) for i, x in enumerate(c.not_))))
        if c.not_ is not None:
            return Not(self.cond(c.not_, path + ("not",), in_journey))
        if c.performed is not None or c.not_performed is not None:
            negative = c.performed is None
            name = c.not_performed if negative else c.performed
            within = parse_duration(c.within) if c.within is not None else None
            if within is not None:
                self.windows.add(within)
                if negative:
                    self.ages.add(within)
            counts: tuple[Count, ...] = ()
            if c.count is not None:
                counts = tuple(Count(op, v) for op, v in c.count.model_dump().items() if v is not None)
                if not counts:
                    self.fail(path + ("count",), "count needs one of eq, gte, lte, gt, lt")
                elif negative:
                    self.fail(
                        path + ("count",),
                        "count applies to performed; not_performed means no such event at all",
                        f"for 'fewer than N', write not: {{performed: {name}, count: {{gte: N}}}}",
                    )
            return Performed(
                str(name), negative, within, self.tests(c.where, path + ("where",), in_journey), counts, c.after
            )
        if c.attribute is not None:
            tests = []
            for op in _OPS:
                key = "in_" if op == "in" else op
                if key in c.model_fields_set:
                    value = getattr(c, key)
                    tests.append(ValueTest(c.attribute, op, self.operand(value, path + (op,), in_journey)))
            return AttributeTest(tuple(tests))
        if c.in_segment is not None:
            if c.in_segment not in self.ws.segments:
                self.fail(
                    path + ("in_segment",),
                    f"unknown segment {c.in_segment!r}",
                    did_you_mean(c.in_segment, self.ws.segments),
                )
            return InSegment(c.in_segment)
        if not in_journey:
            self.fail(
                path + ("trigger",),
                "trigger: tests the event that started a journey run and is only allowed in journey conditions",
            )
        return TriggerTest(self.tests(c.trigger, path + ("trigger",), in_journey))

    # --------------------------------------------------------------- journeys

    def steps(self, steps: list[s.JourneyStep], path: tuple[object, ...], messages: list[str]) -> tuple[Step, ...]:
        out: list[Step] = []
        for i, step in enumerate(steps):
            here = path + (i,)
            if step.wait is not None:
                out.append(Wait(parse_duration(step.wait)))
            elif step.send is not None:
                messages.append(step.send)
                out.append(SendStep(step.send))
            elif step.wait_until is not None:
                w = step.wait_until
                out.append(
                    WaitUntil(
                        self.cond(w.condition, here + ("wait_until", "condition"), True),
                        parse_duration(w.max),
                        self.steps(w.then, here + ("wait_until", "then"), messages),
                    )
                )
            elif step.branch is not None:
                b = step.branch
                out.append(
                    Branch(
                        self.cond(b.if_, here + ("branch", "if"), True),
                        self.steps(b.then, here + ("branch", "then"), messages),
                        self.steps(b.else_, here + ("branch", "else"), messages),
                    )
                )
            elif step.update is not None:
                values = tuple(
                    (k, self.operand(v, here + ("update", k), True, literal_mappings=True))
                    for k, v in step.update.items()
                )
                out.append(Update(values))
        return tuple(out)

    def journey(self, name: str, j: s.Journey) -> JourneyDef:
        path: tuple[object, ...] = ("journeys", name)
        segment = j.trigger.segment
        if segment is not None and segment not in self.ws.segments:
            self.fail(
                path + ("trigger", "segment"), f"unknown segment {segment!r}", did_you_mean(segment, self.ws.segments)
            )
        messages: list[str] = []
        where = self.tests(j.trigger.where, path + ("trigger", "where"), True)
        filt = self.cond(j.filter, path + ("filter",), True) if j.filter else None
        goal = self.cond(j.goal, path + ("goal",), True) if j.goal else None
        steps = self.steps(j.steps, path + ("steps",), messages)
        if segment is not None:
            uses_trigger = _cond_uses_trigger(filt) or _cond_uses_trigger(goal) or _steps_use_trigger(steps)
            if uses_trigger:
                raw = j.model_dump(by_alias=True, exclude_none=True, include={"filter", "goal", "steps"})
                self.fail(
                    path + _first_trigger_reference(raw),
                    "a segment-triggered journey has no triggering event: "
                    "{trigger: ...} references are not allowed in it",
                )
        freq = j.frequency
        window = 0
        if freq is None:
            freq_name = "once" if segment is not None else "every_time"
        elif isinstance(freq, s.OncePer):
            freq_name, window = "once_per", parse_duration(freq.once_per)
        else:
            freq_name = freq
        return JourneyDef(
            name,
            j.trigger.event,
            where,
            segment,
            filt,
            freq_name,
            window,
            goal,
            j.exit,
            steps,
            tuple(dict.fromkeys(messages)),
        )

    # --------------------------------------------------------------- whole

    def segment_order(self, segs: dict[str, Cond]) -> list[str]:
        """Every segment after the segments its rule reads (depth first, without
        recursion: a chain of a thousand `in_segment`s is a valid workspace)."""
        deps = {name: [n.segment for n in walk(rule) if isinstance(n, InSegment)] for name, rule in segs.items()}
        order: list[str] = []
        done: set[str] = set()
        for root in segs:
            if root in done:
                continue
            chain: list[str] = [root]  # the path being visited; `on_chain` indexes it
            on_chain = {root: 0}
            pending = [iter(deps[root])]
            while pending:
                dep = next((d for d in pending[-1] if d in segs and d not in done), None)
                if dep is None:
                    name = chain.pop()
                    del on_chain[name]
                    pending.pop()
                    done.add(name)
                    order.append(name)
                elif dep in on_chain:
                    self._cycle(chain[on_chain[dep] :])  # told, and not followed: the search goes on
                else:
                    on_chain[dep] = len(chain)
                    chain.append(dep)
                    pending.append(iter(deps[dep]))
        return order

    def _cycle(self, cycle: list[str]) -> None:
        # Told at a segment of the cycle that a scenario's overrides wrote, if
        # any: most often the change that closed it.
        told = [self.report(("segments", m, "rule"), "", "") for m in cycle]
        at = next((i for i, t in enumerate(told) if t.path.startswith("overrides.")), 0)
        shown = [*cycle[at:], *cycle[:at], cycle[at]]
        self.fail(("segments", cycle[at], "rule"), "in_segment references form a cycle: " + " -> ".join(shown))

    def run(self) -> WorkspaceConfig:
        ws = self.ws
        sources = {name: _source(name, src) for name, src in ws.sources.items()}
        segs = {name: self.cond(seg.rule, ("segments", name, "rule"), False) for name, seg in ws.segments.items()}
        order = self.segment_order(segs)
        journeys = tuple(self.journey(name, j) for name, j in ws.journeys.items())
        return WorkspaceConfig(
            sources=sources,
            auto_merge=ws.identity.auto_merge,
            merge_anonymous=ws.identity.merge_anonymous,
            anonymous_retention=parse_duration(ws.identity.anonymous_retention),
            anonymous_grace=parse_duration(ws.identity.anonymous_grace),
            merge_event_window=parse_duration(ws.identity.merge_event_window),
            by_event_id=ws.dedupe.by_event_id,
            idempotency_keys=tuple(ws.dedupe.idempotency_keys.items()),
            coerce=ws.rules.types == "coerce",
            negative_window_needs_age=ws.rules.negative_window_needs_age,
            segment_refresh=parse_duration(ws.rules.segment_refresh) if ws.rules.segment_refresh else None,
            max_age=parse_duration(ws.triggers.max_age),
            filter_retry=parse_duration(ws.triggers.filter_retry),
            entry_grace=parse_duration(ws.checks.entry_grace),
            segments=tuple(SegmentDef(name, segs[name]) for name in order),
            journeys=journeys,
            windows=tuple(sorted(self.windows)),
            ages=tuple(sorted(self.ages)) if ws.rules.negative_window_needs_age else (),
            tracking_plan=ws.tracking_plan.model_dump(exclude_none=True),
        )


def _first_trigger_reference(data: Any, at: tuple[object, ...] = ()) -> tuple[object, ...]:
    """The path of the first `trigger:` key in a journey's filter, goal or steps
    (as written), for pointing at it; () when none is found."""
    if isinstance(data, dict):
        if "trigger" in data:
            return (*at, "trigger")
        for key in ("filter", "goal", "steps") if not at else data:
            if key in data:
                found = _first_trigger_reference(data[key], (*at, key))
                if found:
                    return found
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found = _first_trigger_reference(item, (*at, i))
            if found:
                return found
    return ()


def _cond_uses_trigger(cond: Cond | None) -> bool:
    for node in walk(cond):
        if isinstance(node, TriggerTest):
            return True
        tests: tuple[ValueTest, ...] = ()
        if isinstance(node, Performed):
            tests = node.where
        elif isinstance(node, AttributeTest):
            tests = node.tests
        for t in tests:
            operands = t.operand if isinstance(t.operand, list) else [t.operand]
            if any(isinstance(o, TriggerRef) for o in operands):
                return True
    return False


def _steps_use_trigger(steps: tuple[Step, ...]) -> bool:
    for step in steps:
        if isinstance(step, Update) and any(isinstance(v, TriggerRef) for _, v in step.values):
            return True
        if isinstance(step, WaitUntil):
            if _cond_uses_trigger(step.condition) or _steps_use_trigger(step.then):
                return True
        if isinstance(step, Branch):
            if _cond_uses_trigger(step.condition):
                return True
            if _steps_use_trigger(step.then) or _steps_use_trigger(step.else_):
                return True
    return False


def _latency(model: s.Latency) -> LatencyModel:
    if isinstance(model, str):
        return LatencyModel("fixed", parse_duration(model))
    if isinstance(model, s.UniformLatency):
        low, high = (parse_duration(x) for x in model.uniform)
        return LatencyModel("uniform", low, high)
    if isinstance(model, s.ExponentialLatency):
        return LatencyModel("exponential", parse_duration(model.exponential))
    b = model.batch
    return LatencyModel("batch", parse_duration(b.every), parse_duration(b.offset), parse_duration(b.delay))


def _source(name: str, src: s.Source) -> SourceConfig:
    builtin = builtin_source(name)
    kind = src.kind or (builtin.kind if builtin is not None else "client")
    event_ids = src.event_ids if src.event_ids is not None else kind == "client"
    return SourceConfig(
        name,
        kind,
        _latency(src.latency),
        src.identify_by,
        src.drop_rate,
        src.duplicate_rate,
        parse_duration(src.retry_after),
        src.timestamps,
        event_ids,
    )


def compile_workspace(ws: s.Workspace, report: Report) -> tuple[WorkspaceConfig, list[Problem]]:
    compiler = _Compiler(ws, report)
    config = compiler.run()
    return config, compiler.problems


def _trigger_ref_inside(value: Any, path: tuple[object, ...] = ()) -> tuple[object, ...] | None:
    """Where a `{trigger: PROPERTY}` sits inside a literal value (None: nowhere)."""
    if isinstance(value, dict):
        if path and set(value) == {"trigger"}:
            return path
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _trigger_ref_inside(item, path + (key,))
        if found is not None:
            return found
    return None
