"""Lint of scenario files: each timeline `track` against the tracking plan
(names, required properties, types, server-only events sent from a client,
repeated `unique_by` values), and `copies:` on client steps, which the
default dedupe absorbs."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.lint.events import UniqueValues, check_event
from simulator.lint.findings import ERROR, WARNING, FindingSink, Severity
from simulator.lint.trackplan import TrackingPlanView
from simulator.model.calls import Send
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

    def __call__(
        self, rule: str, severity: Severity, message: str, detail: tuple[str, ...], key: tuple[object, ...]
    ) -> None:
        target: tuple[object, ...] = ("track",) if detail == ("event",) else detail
        if rule in ("server-event-from-client", "client-event-from-server"):
            target = ("source",) if self._names_source() else ("device",)
            message += f" (step source {self.send.source!r} is a {self.source_kind} source)"
        self.add(rule, severity, message, target)

    def _names_source(self) -> bool:
        data = self.doc.data
        try:
            step = data["timeline"][self.send.step]
        except (KeyError, IndexError, TypeError):
            return False
        return isinstance(step, dict) and "source" in step


def lint_scenario(plan: Plan, doc: YamlDoc, tracking: TrackingPlanView, sink: FindingSink) -> None:
    """`plan` is the compiled scenario (its own workspace gives the source kinds);
    `tracking` is the plan of the workspace being linted."""
    ws = plan.workspace
    unique = UniqueValues()
    guarded = dict(ws.idempotency_keys)
    for send in plan.sends:
        if send.call != "track" or send.name is None:
            continue
        source = ws.source(send.source)
        report = _StepReport(doc, sink, send, source.kind)
        if tracking.defined:
            check_event(tracking, send.name, send.properties, source.kind == "client", report)
            planned = tracking.get(send.name)
            value = send.properties.get(planned.unique_by) if planned and planned.unique_by else None
            if planned is not None and planned.unique_by is not None and value is not None:
                first = unique.first_seen(send.name, value, send.step, send.event_id)
                if first is not None:
                    first_line, _ = doc.mark(("timeline", first))
                    safe = guarded.get(send.name) == planned.unique_by
                    report.add(
                        "duplicate-unique-value",
                        WARNING if safe else ERROR,
                        f"{send.name} with {planned.unique_by} {value!r} is sent again (first at line {first_line}): "
                        + (
                            "dedupe.idempotency_keys absorbs the repeat; use copies: to model a retry"
                            if safe
                            else "the platform processes both, so journeys and counts see two orders; add "
                            f"dedupe.idempotency_keys: {{{send.name}: {planned.unique_by}}}"
                        ),
                        ("properties", planned.unique_by),
                    )
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
