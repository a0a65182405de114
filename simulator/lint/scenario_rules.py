"""Lint of scenario files: each timeline `track` against the tracking plan
(planned names, required properties, types, server-only events sent from a
client, `unique_by` values repeated by another step or by `copies:` the
platform does not dedupe), and `copies:` on client steps, which the default
dedupe absorbs. The names steps send join the run's naming checks."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.lint.events import UniqueValues, check_event
from simulator.lint.findings import ERROR, WARNING, FindingSink, Severity
from simulator.lint.names import EventNames
from simulator.lint.trackplan import TrackingPlanView, show_value
from simulator.model.calls import Send
from simulator.model.config import WorkspaceConfig
from simulator.model.plan import Plan
from simulator.scenario.errors import format_path
from simulator.scenario.yamlfile import YamlDoc

__all__ = ["lint_scenario"]


@dataclass
class _StepReport:
    """Findings of one timeline step, located at the step's keys."""

    doc: YamlDoc
    sink: FindingSink
    send: Send
    source_kind: str

    def add(self, rule: str, severity: Severity, message: str, detail: tuple[object, ...]) -> None:
        path = ("timeline", self.send.step) + detail
        line, _col = self.doc.mark(path)
        self.sink.add(rule, severity, self.doc.file, line, message, format_path(path))

    def path(self, *detail: object) -> str:
        return format_path(("timeline", self.send.step) + detail)

    def __call__(
        self, rule: str, severity: Severity, message: str, detail: tuple[str, ...], key: tuple[object, ...]
    ) -> None:
        target: tuple[object, ...] = ("track",) if detail == ("event",) else detail
        if rule in ("server-event-from-client", "client-event-from-server"):
            # The key that chose the source: `source`, else the `device` (a client), else the event.
            target = next((found for key in ("source", "device") if (found := self._has(key))), ("track",))
            message += f" (step source {self.send.source!r} is a {self.source_kind} source)"
        self.add(rule, severity, message, target)

    def _has(self, key: str) -> tuple[str] | None:
        data = self.doc.data
        try:
            step = data["timeline"][self.send.step]
        except (KeyError, IndexError, TypeError):
            return None
        return (key,) if isinstance(step, dict) and key in step else None


def lint_scenario(plan: Plan, doc: YamlDoc, tracking: TrackingPlanView, sink: FindingSink, names: EventNames) -> None:
    """`plan` is the compiled scenario (its own workspace gives the source kinds);
    `tracking` is the plan of the workspace being linted, or the scenario's own when
    its overrides change it. The event names it sends are added to `names`."""
    ws = plan.workspace
    unique = UniqueValues()
    guarded = dict(ws.idempotency_keys)
    names.planned_elsewhere(tracking.events)
    for send in plan.sends:
        if send.call != "track" or send.name is None:
            continue
        source = ws.source(send.source)
        report = _StepReport(doc, sink, send, source.kind)
        names.seen(send.name, doc.file, doc.mark(("timeline", send.step, "track"))[0], report.path("track"))
        if tracking.defined:
            check_event(tracking, send.name, send.properties, source.kind == "client", report)
            planned = tracking.get(send.name)
            if planned is not None and planned.unique_by is not None:
                _unique_value(send, planned.unique_by, ws, guarded.get(send.name) == planned.unique_by, unique, report)
        copies = send.copies or 1
        if copies > 1 and source.kind == "client" and ws.by_event_id and send.event_id is not None:
            report.add(
                "copies-absorbed-by-dedupe",
                WARNING,
                f"copies: {copies} on a client step repeat one event id ({send.event_id}), and dedupe by event id "
                "keeps only the first, as in production: to test a double-processed event, send it from a server "
                "source without event ids, or give each step its own event_id",
                ("copies",),
            )


def _unique_value(
    send: Send, unique_by: str, ws: WorkspaceConfig, safe: bool, unique: UniqueValues, report: _StepReport
) -> None:
    """`duplicate-unique-value`: a step repeating an earlier step's value, and a step whose
    `copies:` deliver the value more than once with nothing the platform dedupes them by."""
    value = send.properties.get(unique_by)
    if value is None or send.drop is True:
        return  # a dropped step never reaches the platform: it repeats nothing
    name = send.name
    guard = f"dedupe.idempotency_keys: {{{name}: {unique_by}}}"
    # Copies of one send repeat its event id; dedupe by event id keeps the first only.
    dedupe_id = send.event_id if ws.by_event_id else None
    first = unique.first_seen(str(name), value, send.step, dedupe_id)
    if first is not None:
        first_line, _ = report.doc.mark(("timeline", first[1]))
        report.add(
            "duplicate-unique-value",
            WARNING if safe else ERROR,
            f"{name} with {unique_by} {show_value(value)} is sent again (first at line {first_line}): "
            + (
                "dedupe.idempotency_keys absorbs the repeat; use copies: to model a retry"
                if safe
                else f"the platform processes both, so journeys and counts see two orders; add {guard}"
            ),
            ("properties", unique_by),
        )
    copies = send.copies or 1
    if copies > 1 and dedupe_id is None and not safe:
        why = "carries no event id" if send.event_id is None else "has an event id, but dedupe.by_event_id is off"
        report.add(
            "duplicate-unique-value",
            ERROR,
            f"{name} with {unique_by} {show_value(value)} is delivered {copies} times (copies: {copies}) and the "
            f"step {why}: the platform processes every copy, so journeys and counts see it {copies} times; "
            f"add {guard}" + (" or give the step an event_id" if ws.by_event_id else ""),
            ("copies",),
        )
