"""What the engine derives once from a workspace's conditions, to re-evaluate
only what a change can affect: compiled rules, what each condition reads
(event names, their windows, attributes, age), and which window closings can
only remove a profile from a segment or need looking at only when the last
such event leaves.

A change is described by names: an event name (such an event was added),
`window_key(event, within)` (one left that window), ATTRIBUTES, AGE.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from simulator.model.conditions import (
    All,
    Any_,
    AttributeTest,
    Compiled,
    Cond,
    InSegment,
    Not,
    Performed,
    compile_condition,
    walk,
)
from simulator.model.config import Branch, JourneyDef, SegmentDef, Step, Wait, WaitUntil, WorkspaceConfig

__all__ = [
    "AGE",
    "ATTRIBUTES",
    "CHANGED_ATTRIBUTES",
    "Rules",
    "dependencies",
    "existence_windows",
    "longest_waits",
    "rules_of",
    "segment_dependencies",
    "window_key",
    "windows_by_event",
]

ATTRIBUTES = "@attributes"  # a change of profile attributes
CHANGED_ATTRIBUTES = frozenset((ATTRIBUTES,))
AGE = "@age"  # a profile reaching an age a negative window needs


def window_key(event: str, within: int) -> str:
    """What changes when an `event` leaves a `within`-second window."""
    return f"@window:{event}:{within}"


def dependencies(cond: Cond | None, segments: dict[str, frozenset[str]]) -> frozenset[str]:
    """What can change the value of `cond`: the event names it counts, their
    windows, ATTRIBUTES, AGE, and what can change the `segments` it refers to."""
    mine: set[str] = set()
    for node in walk(cond):
        if isinstance(node, Performed):
            mine.add(node.event)
            if node.after:
                mine.add(node.after)
            if node.within is not None:
                mine.add(window_key(node.event, node.within))
                if node.negative:
                    mine.add(AGE)
        elif isinstance(node, AttributeTest):
            mine.add(ATTRIBUTES)
        elif isinstance(node, InSegment):
            mine |= segments.get(node.segment, frozenset())
    return frozenset(mine)


def segment_dependencies(ws: WorkspaceConfig) -> list[tuple[SegmentDef, frozenset[str], frozenset[str]]]:
    """Each segment (in evaluation order) with what can change its membership,
    and the windows whose closing can only make a member leave, never a
    profile join."""
    deps: dict[str, frozenset[str]] = {}
    out = []
    for seg in ws.segments:
        mine = deps[seg.name] = dependencies(seg.rule, deps)
        windows = {key for key in mine if key.startswith("@window:")}
        out.append((seg, mine, frozenset(k for k in windows if _closing_only_removes(seg.rule, k))))
    return out


def _closing_only_removes(rule: Cond, key: str) -> bool:
    """Can fewer events in window `key` only turn `rule` false? True when every
    `performed` counting that window is a plain or at-least count under no
    negation, and the rule refers to no other segment."""
    found = [False]

    def visit(node: Cond, positive: bool) -> bool:
        if isinstance(node, Performed):
            if node.within is None or window_key(node.event, node.within) != key:
                return True
            found[0] = True
            growing = all(c.op in ("gte", "gt") for c in node.counts)
            return positive and not node.negative and growing
        if isinstance(node, InSegment):
            return False
        if isinstance(node, Not):
            return visit(node.item, not positive)
        if isinstance(node, (All, Any_)):
            return all(visit(item, positive) for item in node.items)
        return True

    return visit(rule, True) and found[0]


def existence_windows(ws: WorkspaceConfig) -> dict[str, tuple[str, int]]:
    """Window keys that every condition only tests for existence (no `where`, no
    counts), with their event and length: when one such event leaves the window
    while a later one of that name is still in it, no condition can change."""
    found: dict[str, tuple[str, int]] = {}
    refused: set[str] = set()
    for cond in ws.conditions():
        for node in walk(cond):
            if isinstance(node, Performed) and node.within is not None:
                key = window_key(node.event, node.within)
                if node.where or node.counts:
                    refused.add(key)
                else:
                    found[key] = (node.event, node.within)
    return {key: place for key, place in found.items() if key not in refused}


def windows_by_event(ws: WorkspaceConfig) -> dict[str, tuple[tuple[int, str], ...]]:
    """Event name -> the `within` windows that count it, with their keys: an
    event leaving one of them is a time-driven change of its profile."""
    found: dict[str, set[int]] = {}
    for cond in ws.conditions():
        for node in walk(cond):
            if isinstance(node, Performed) and node.within is not None:
                found.setdefault(node.event, set()).add(node.within)
    return {name: tuple((w, window_key(name, w)) for w in sorted(ws_)) for name, ws_ in found.items()}


def longest_waits(ws: WorkspaceConfig) -> tuple[int, int]:
    """The longest a workspace can keep a story going after its last call: its
    longest time window (or age a negative window needs) and its longest
    journey run (every wait and `wait_until` of every path)."""
    windows = [w for found in windows_by_event(ws).values() for w, _key in found]
    return max([0, *windows, *ws.ages]), max([0, *(_steps_span(j.steps) for j in ws.journeys)])


def run_span(journey: JourneyDef) -> int:
    """The longest one run of `journey` can wait, every path taken."""
    return _steps_span(journey.steps)


def _steps_span(steps: tuple[Step, ...]) -> int:
    """The longest a run of `steps` can wait: every wait, the longer branch."""
    total = 0
    for step in steps:
        if isinstance(step, Wait):
            total += step.seconds
        elif isinstance(step, WaitUntil):
            total += step.max + _steps_span(step.then)
        elif isinstance(step, Branch):
            total += max(_steps_span(step.then), _steps_span(step.else_))
    return total


class Rules:
    """One workspace's conditions, analysed and compiled. Shared by every
    platform replaying that workspace (`rules_of`)."""

    def __init__(self, ws: WorkspaceConfig) -> None:
        self.ws = ws
        self.windows = windows_by_event(ws)
        self.existence = existence_windows(ws)
        self.existence_index = {key: i for i, key in enumerate(sorted(self.existence))}
        # Event name -> {age of such an event: what it changes at that age}, ages
        # ascending: its name when it is stamped (age 0), a window's key when it
        # leaves it.
        self.due_offsets: dict[str, dict[int, tuple[str, ...]]] = {}
        for name, windows in self.windows.items():
            offsets: dict[int, list[str]] = {0: [name]}
            for w, key in windows:
                offsets.setdefault(w, []).append(key)
            self.due_offsets[name] = {age: tuple(keys) for age, keys in sorted(offsets.items())}
        # Event name -> (the last of those ages, its offsets): an event older than
        # that changes nothing any more.
        self.due_after: dict[str, tuple[int, dict[int, tuple[str, ...]]]] = {
            name: (max(offsets), offsets) for name, offsets in self.due_offsets.items()
        }
        self._compiled: dict[int, tuple[Cond, Compiled]] = {}  # id(condition) -> (it, compiled)
        seg_deps = segment_dependencies(ws)
        self.segments = [(seg.name, deps, leaves, self.compiled(seg.rule)) for seg, deps, leaves in seg_deps]
        self.segment_deps = {seg.name: deps for seg, deps, _leaves in seg_deps}
        # Names -> `affected(names)`, for the names asked about so far.
        self.affected_by: dict[frozenset[str] | None, list[tuple[str, Compiled, bool]]] = {}
        self._deps: dict[int, tuple[Cond | None, frozenset[str]]] = {}  # id(condition) -> (it, dependencies)
        self.added_by: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # event name -> `added(name)`, once asked
        self.triggering: dict[str, tuple[JourneyDef, ...]] = {}  # event name -> `triggered_by(name)`, once asked

    def compiled(self, cond: Cond) -> Compiled:
        """`cond` compiled for this workspace's rules (once per condition)."""
        found = self._compiled.get(id(cond))
        if found is None:
            fn = compile_condition(cond, coerce=self.ws.coerce, needs_age=self.ws.negative_window_needs_age)
            self._compiled[id(cond)] = found = (cond, fn)
        return found[1]

    def affected(self, names: frozenset[str] | None) -> list[tuple[str, Compiled, bool]]:
        """The segments a change of `names` can affect (all for None), in evaluation
        order, each with whether that change can only make a member leave."""
        found = self.affected_by.get(names)
        if found is None:
            found = [
                (name, rule, names is not None and (names & deps) <= leaves)
                for name, deps, leaves, rule in self.segments
                if names is None or not names.isdisjoint(deps)
            ]
            self.affected_by[names] = found
        return found

    def added(self, name: str) -> tuple[frozenset[str], frozenset[str]]:
        """What adding an event named `name` changes: its name; and its name and AGE,
        when the event made the profile older. One set per name, made once."""
        found = self.added_by.get(name)
        if found is None:
            self.added_by[name] = found = (frozenset((name,)), frozenset((name, AGE)))
        return found

    def triggered_by(self, name: str) -> tuple[JourneyDef, ...]:
        """The journeys an event named `name` can trigger, in the workspace's order."""
        found = self.triggering.get(name)
        if found is None:
            self.triggering[name] = found = tuple(j for j in self.ws.journeys if j.trigger_event == name)
        return found

    def depends(self, cond: Cond | None, names: frozenset[str]) -> bool:
        """Can a change of `names` change the value of `cond`?"""
        found = self._deps.get(id(cond))
        if found is None:
            self._deps[id(cond)] = found = (cond, dependencies(cond, self.segment_deps))
        return not names.isdisjoint(found[1])


_RECENT: OrderedDict[int, Rules] = OrderedDict()  # id(workspace) -> its rules, most recent last
_KEEP = 16
_LOCK = threading.Lock()  # emulator sessions build platforms from several threads


def rules_of(ws: WorkspaceConfig) -> Rules:
    """The rules of `ws`, analysed once for the last few workspaces replayed (a
    fuzz search replays one workspace thousands of times)."""
    with _LOCK:
        found = _RECENT.get(id(ws))
        if found is None or found.ws is not ws:
            found = Rules(ws)
            _RECENT[id(ws)] = found
            if len(_RECENT) > _KEEP:
                _RECENT.popitem(last=False)
        else:
            _RECENT.move_to_end(id(ws))
        return found
