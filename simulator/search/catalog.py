"""What a workspace lets a story say: its events, their properties and types,
its sources, and the values its rules care about.

The fuzzer draws every call from this catalog, so generated stories speak the
team's own vocabulary: event names and property types from the tracking plan
(or, for a workspace without one, the events the rules mention), property
values near the thresholds and literals the rules test, and deliveries
through the workspace's own sources (the built-ins `web` and `app`, or
`backend`, only for a kind, client or server, it declares none of).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.model.conditions import AttributeTest, Cond, Performed, TriggerTest, excluding, walk
from simulator.model.config import JourneyDef, WorkspaceConfig
from simulator.model.values import TriggerRef, ValueTest
from simulator.scenario import schema as s
from simulator.scenario.errors import InputError, Problem
from simulator.scenario.loader import load_workspace

__all__ = ["Catalog", "EventSpec", "PropertySpec", "catalog_of", "entry_events", "nested_value", "put_value"]

_NUMERIC = ("number", "integer")


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """One property of an event: its planned type and the values worth trying
    (the typical one first, so shrinking lands on it)."""

    name: str
    type: str | None
    required: bool
    choices: tuple[Any, ...]

    @property
    def numeric(self) -> bool:
        return self.type in _NUMERIC


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    properties: tuple[PropertySpec, ...]
    server_only: bool = False
    unique_by: str | None = None
    client_only: bool = False  # the plan says `source: client`: never from a server source


@dataclass(frozen=True)
class Catalog:
    """The vocabulary of one workspace, ready for the strategies."""

    workspace: WorkspaceConfig
    events: tuple[EventSpec, ...]
    client_sources: tuple[str, ...]
    server_sources: tuple[str, ...]
    path: Path | None = None
    # (trigger event, event the journey waits for): a checkout and its order.
    funnels: tuple[tuple[str, str], ...] = ()
    # (trigger event, closing event, closing property, trigger property, operator): a
    # goal or filter `{cart_ref: {trigger: checkout_id}}` ties the order to its checkout.
    links: tuple[tuple[str, str, str, str, str], ...] = ()

    def event(self, name: str) -> EventSpec:
        for spec in self.events:
            if spec.name == name:
                return spec
        raise KeyError(name)


def catalog_of(workspace: Path | str | tuple[WorkspaceConfig, s.Workspace]) -> Catalog:
    """Build the catalog of a workspace file (or of an already loaded one)."""
    path: Path | None = None
    if isinstance(workspace, tuple):
        config, model = workspace
    else:
        path = Path(workspace)
        config, model = load_workspace(path)
    tests = list(_value_tests(config))
    planned = model.tracking_plan.events
    names = list(planned)
    if not names:
        # Without a tracking plan the rules are the only word on what is sent;
        # with one, the team sends planned names only (a drifted name is a fault).
        names = _rule_events(config)
    events = tuple(_event_spec(name, planned.get(name), tests) for name in names)
    client, server = _sources(config)
    for kind, of_kind in (("client", client), ("server", server)):
        if not of_kind:
            # Only when every built-in of that kind was redeclared as the other kind.
            where = str(path) if path is not None else "<workspace>"
            message = f"a story needs a {kind} source and the workspace has none"
            hint = f"declare one, e.g. `sources: {{my_{kind}: {{kind: {kind}}}}}`"
            raise InputError([Problem(where, 0, 0, "sources", message, hint)])
    funnels = tuple(pair for pair in _funnels(config) if pair[0] in names and pair[1] in names)
    links = tuple(link for link in _links(config) if (link[0], link[1]) in funnels)
    return Catalog(config, events, client, server, path, funnels, links)


def entry_events(config: WorkspaceConfig, j: JourneyDef) -> list[str]:
    """The events that start a journey: its trigger event, or, for a segment-triggered
    one, those its segment's rule (and the segments that rule reads) requires: a
    checkout for `cart_abandoners`, not the order its `not_performed` excludes (a
    segment read both ways gives what it requires where it is read positively)."""
    if j.trigger_event is not None:
        return [j.trigger_event]
    rules = config.segment_rules()
    required = excluding(rules.get(j.trigger_segment or ""), negated=True, segments=rules)
    return list(dict.fromkeys(test.event for test in required))


def _funnels(config: WorkspaceConfig) -> tuple[tuple[str, str], ...]:
    """(an event that starts a journey, an event it waits for): a checkout and its order,
    for segment-triggered journeys too (the segment's events start them)."""
    found: list[tuple[str, str]] = []
    for j in config.journeys:
        for start in entry_events(config, j):
            for cond in (j.goal, j.filter):
                for node in walk(cond):
                    if isinstance(node, Performed) and node.event != start:
                        pair = (start, node.event)
                        if pair not in found:
                            found.append(pair)
    return tuple(found)


def _links(config: WorkspaceConfig) -> tuple[tuple[str, str, str, str, str], ...]:
    """Each equality a journey's goal or filter asks between a property of the
    event it waits for and one of its trigger, whatever their names and paths
    (`items[].sku` to `sku`, `cart_ref` to `checkout_id`): the team sends the
    order of a checkout with that checkout's value there."""
    found: list[tuple[str, str, str, str, str]] = []
    for j in config.journeys:
        if j.trigger_event is None:
            continue
        for cond in (j.goal, j.filter):
            for node in walk(cond):
                if not isinstance(node, Performed) or node.event == j.trigger_event:
                    continue
                for test in node.where:
                    refs = test.operand if isinstance(test.operand, list) else [test.operand]
                    if test.op not in ("eq", "in", "contains"):
                        continue
                    for ref in refs:
                        if isinstance(ref, TriggerRef):
                            link = (j.trigger_event, node.event, test.path, ref.path, test.op)
                            if link not in found:
                                found.append(link)
    return tuple(found)


def put_value(properties: dict[str, Any], path: str, value: Any, contains: bool = False) -> None:
    """Write `value` at `path` into an event's properties, keeping what is there:
    `cart.id` and `cart.sku` both land in `cart`, `items[].sku` in the first item
    (made when there is none); with `contains`, a list already at the path gains
    the value instead of being replaced by it."""
    parts = path.split(".")
    node: dict[str, Any] = properties
    for depth, part in enumerate(parts):
        key, spread, last = part.removesuffix("[]"), part.endswith("[]"), depth == len(parts) - 1
        if spread:
            items = node.get(key)
            if not isinstance(items, list):
                items = node[key] = []
            if last:
                items.append(value)
                return
            if not items or not isinstance(items[0], dict):
                items.insert(0, {})
            node = items[0]
        elif last:
            held = node.get(key)
            if contains and isinstance(held, list):
                held.append(value)
            else:
                node[key] = value
        else:
            inner = node.get(key)
            if not isinstance(inner, dict):
                inner = node[key] = {}
            node = inner


def _sources(config: WorkspaceConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The declared sources of each kind (the team's ingestion reality); the
    built-ins (`web`, `app`; `backend`) only for a kind the workspace declares
    none of."""
    declared = list(config.sources.values())
    out: list[tuple[str, ...]] = []
    for kind, builtins in (("client", ("web", "app")), ("server", ("backend",))):
        names = tuple(src.name for src in declared if src.kind == kind)
        out.append(names or tuple(n for n in builtins if n not in config.sources))
    return out[0], out[1]


def _rule_conditions(config: WorkspaceConfig) -> Iterator[Cond]:
    return config.conditions()


def _rule_events(config: WorkspaceConfig) -> list[str]:
    names: list[str] = []
    for j in config.journeys:
        if j.trigger_event and j.trigger_event not in names:
            names.append(j.trigger_event)
    for cond in _rule_conditions(config):
        for node in walk(cond):
            if isinstance(node, Performed):
                for name in (node.event, node.after):
                    if name and name not in names:
                        names.append(name)
    return names


def _value_tests(config: WorkspaceConfig) -> Iterator[ValueTest]:
    for j in config.journeys:
        yield from j.trigger_where
    for cond in _rule_conditions(config):
        for node in walk(cond):
            if isinstance(node, Performed):
                yield from node.where
            elif isinstance(node, TriggerTest):
                yield from node.tests
            elif isinstance(node, AttributeTest):
                continue  # attributes are not event properties


def _top(path: str) -> str:
    return path.split(".")[0].removesuffix("[]")


def _literals(test: ValueTest) -> list[Any]:
    operand = test.operand
    if isinstance(operand, TriggerRef) or test.op == "exists":
        return []
    values = operand if isinstance(operand, list) else [operand]
    out: list[Any] = []
    for value in values:
        if isinstance(value, TriggerRef):
            continue
        out.append(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # Either side of a threshold: `gt: 0` wants 0 and 1 tried.
            out.append(value + 1 if test.op in ("gt", "gte", "eq", "ne", "in") else value - 1)
    return out


def nested_value(path: str, leaf: Any) -> Any:
    """`items[].category` and `coffee` -> `[{category: coffee}]` (what goes under `items`)."""
    parts = path.split(".")
    value = leaf
    for part in reversed(parts[1:]):
        spread = part.endswith("[]")
        value = {part.removesuffix("[]"): value}
        if spread:
            value = [value]
    if parts[0].endswith("[]"):
        value = [value] if not isinstance(value, list) else value
    return value


def _default(name: str, kind: str | None) -> Any:
    if kind in _NUMERIC:
        return 120 if kind == "number" else 1
    if kind == "boolean":
        return True
    if kind == "list":
        return []
    if kind == "object":
        return {}
    if kind == "timestamp":
        return "2026-01-01T00:00:00Z"
    if name.endswith("_id"):
        return f"{name.removesuffix('_id')}_1"
    return f"{name}_a"


def _choices(name: str, kind: str | None, tests: list[ValueTest]) -> tuple[Any, ...]:
    found: list[Any] = [_default(name, kind)]
    if kind in (None, "string") and name.endswith("_id"):
        found.append(f"{name.removesuffix('_id')}_2")  # a second checkout, order, product
    for test in tests:
        if _top(test.path) != name:
            continue
        for literal in _literals(test):
            value = literal if "." not in test.path and "[]" not in test.path else nested_value(test.path, literal)
            if kind in _NUMERIC and (isinstance(value, bool) or not isinstance(value, (int, float))):
                continue
            if value not in found:
                found.append(value)
    if kind == "boolean" and False not in found:
        found.append(False)
    if kind == "number" and 40 not in found:
        found.append(40)
    return tuple(found)


def _event_spec(name: str, planned: s.PlanEvent | None, tests: list[ValueTest]) -> EventSpec:
    tested = {_top(t.path) for t in tests}
    props: list[PropertySpec] = []
    types: dict[str, str | None] = {}
    required: set[str] = set()
    if planned is not None:
        for prop, spec in planned.properties.items():
            types[prop] = spec.type
            if spec.required:
                required.add(prop)
        if planned.unique_by and planned.unique_by not in types:
            types[planned.unique_by] = "string"
            required.add(planned.unique_by)
    for prop in sorted(tested - set(types)):
        if planned is None:
            types[prop] = _guess_type(prop, tests)
    for prop, kind in types.items():
        # Optional properties no rule reads cannot change a verdict: leave them out.
        if prop in required or prop in tested:
            props.append(PropertySpec(prop, kind, prop in required, _choices(prop, kind, tests)))
    source = planned.source if planned is not None else None
    unique_by = planned.unique_by if planned is not None else None
    return EventSpec(name, tuple(props), source == "server", unique_by, source == "client")


def _guess_type(prop: str, tests: list[ValueTest]) -> str | None:
    for test in tests:
        if _top(test.path) != prop:
            continue
        if "[]" in test.path.split(".")[0]:
            return "list"
        if "." in test.path:
            return "object"
        for literal in _literals(test):
            if isinstance(literal, bool):
                return "boolean"
            if isinstance(literal, (int, float)):
                return "number"
            if isinstance(literal, str):
                return "string"
    return None
