"""The compiled workspace: plain frozen data the platform and ingestion read.

Built from the validated files by `simulator.scenario.build`; nothing here
knows about YAML or pydantic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Union

from simulator.model.conditions import Cond
from simulator.model.values import TriggerRef, ValueTest

__all__ = [
    "BUILTIN_SOURCES",
    "Branch",
    "JourneyDef",
    "LatencyModel",
    "SegmentDef",
    "SendStep",
    "SourceConfig",
    "Step",
    "Update",
    "Wait",
    "WaitUntil",
    "WorkspaceConfig",
    "builtin_source",
    "step_conditions",
]


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """`fixed` (a), `uniform` [a, b], `exponential` mean a, `batch` every a,
    offset b, delay c."""

    kind: str
    a: int = 0
    b: int = 0
    c: int = 0

    def describe(self) -> str:
        from simulator.model.time import format_duration as d

        if self.kind == "fixed":
            return d(self.a)
        if self.kind == "uniform":
            return f"uniform {d(self.a)}-{d(self.b)}"
        if self.kind == "exponential":
            return f"exponential mean {d(self.a)}"
        extra = f" offset {d(self.b)}" if self.b else ""
        extra += f" delay {d(self.c)}" if self.c else ""
        return f"batch every {d(self.a)}{extra}"

    @property
    def worst_case(self) -> int | None:
        """The longest latency the model can give, None when unbounded."""
        if self.kind == "fixed":
            return self.a
        if self.kind == "uniform":
            return self.b
        if self.kind == "batch":
            return self.a + self.c
        return None


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    kind: str = "client"
    latency: LatencyModel = LatencyModel("fixed")
    identify_by: str = "id"
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    retry_after: int = 60
    timestamps: str = "sent"
    event_ids: bool = True


BUILTIN_SOURCES = ("web", "app", "backend")  # two clients and a server, there without being declared


def builtin_source(name: str) -> SourceConfig | None:
    if name in ("web", "app"):
        return SourceConfig(name, "client", event_ids=True)
    if name == "backend":
        return SourceConfig(name, "server", event_ids=False)
    return None


@dataclass(frozen=True, slots=True)
class SegmentDef:
    name: str
    rule: Cond


@dataclass(frozen=True, slots=True)
class Wait:
    seconds: int


@dataclass(frozen=True, slots=True)
class SendStep:
    message: str


@dataclass(frozen=True, slots=True)
class WaitUntil:
    condition: Cond
    max: int
    then: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Branch:
    condition: Cond
    then: tuple[Step, ...]
    else_: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Update:
    values: tuple[tuple[str, Union[Any, TriggerRef]], ...]


Step = Union[Wait, SendStep, WaitUntil, Branch, Update]


@dataclass(frozen=True, slots=True)
class JourneyDef:
    name: str
    trigger_event: str | None
    trigger_where: tuple[ValueTest, ...]
    trigger_segment: str | None
    filter: Cond | None
    frequency: str
    frequency_window: int
    goal: Cond | None
    exit: str
    steps: tuple[Step, ...]
    messages: tuple[str, ...]

    @property
    def exits_on_goal(self) -> bool:
        return self.exit in ("goal", "goal_or_stop_matching")

    @property
    def exits_on_stop_matching(self) -> bool:
        return self.exit in ("stop_matching", "goal_or_stop_matching")


@dataclass(frozen=True)
class WorkspaceConfig:
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    auto_merge: bool = True
    merge_anonymous: bool = True
    anonymous_retention: int = 30 * 86400
    anonymous_grace: int = 300
    merge_event_window: int = 30 * 86400
    by_event_id: bool = True
    idempotency_keys: tuple[tuple[str, str], ...] = ()
    coerce: bool = False
    negative_window_needs_age: bool = True
    segment_refresh: int | None = None
    max_age: int = 72 * 3600
    filter_retry: int = 1800
    entry_grace: int = 3600
    segments: tuple[SegmentDef, ...] = ()
    journeys: tuple[JourneyDef, ...] = ()
    windows: tuple[int, ...] = ()
    ages: tuple[int, ...] = ()
    tracking_plan: dict[str, Any] = field(default_factory=dict)

    def source(self, name: str) -> SourceConfig:
        found = self.sources.get(name) or builtin_source(name)
        if found is None:
            raise KeyError(name)
        return found

    def but(self, **changes: Any) -> WorkspaceConfig:
        return replace(self, **changes)

    def segment_rules(self) -> dict[str, Cond]:
        """Each segment's rule by its name."""
        return {seg.name: seg.rule for seg in self.segments}

    def conditions(self) -> Iterator[Cond]:
        """Every condition of the workspace: segment rules, then each journey's
        filter, goal and the conditions of its steps."""
        for seg in self.segments:
            yield seg.rule
        yield from journey_conditions(self.journeys)


def journey_conditions(journeys: Iterable[JourneyDef]) -> Iterator[Cond]:
    """Each journey's filter, goal and the conditions of its steps."""
    for j in journeys:
        for cond in (j.filter, j.goal):
            if cond is not None:
                yield cond
        yield from step_conditions(j.steps)


def step_conditions(steps: tuple[Step, ...]) -> Iterator[Cond]:
    """The conditions of `wait_until` and `branch` steps, nested ones included."""
    for step in steps:
        if isinstance(step, WaitUntil):
            yield step.condition
            yield from step_conditions(step.then)
        elif isinstance(step, Branch):
            yield step.condition
            yield from step_conditions(step.then)
            yield from step_conditions(step.else_)
