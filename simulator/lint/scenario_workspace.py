"""Lint of the workspace a scenario runs on: its base workspace with its
`overrides:` merged (or its inline `workspace:` mapping), checked with the
workspace rules. A segment added in the overrides, a rule replaced there, a
source made slower there: each is a finding of the scenario, located in the
scenario file at the override that makes it (the rule's own key, else the
setting it follows from, else the `overrides:` key). What the base workspace
already reports on its own is not repeated for each scenario. An empty mapping
in the overrides over one the workspace fills, which changes nothing, is
`empty-override`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.lint.findings import WARNING, FindingSink
from simulator.lint.names import EventNames
from simulator.lint.trackplan import TrackingPlanView
from simulator.lint.workspace_rules import RuleFinding, WorkspaceLint
from simulator.model.plan import Plan
from simulator.scenario import schema as s
from simulator.scenario.compile_workspace import compile_workspace
from simulator.scenario.errors import InputError, Problem, format_path
from simulator.scenario.loader import WHOLE, load_workspace, merge_overrides
from simulator.scenario.yamlfile import YamlDoc, load_yaml_file

__all__ = ["ScenarioWorkspaces"]

KeyPath = tuple[object, ...]


@dataclass(frozen=True)
class _Base:
    """A workspace scenarios build on: its mapping, what lint finds in it alone,
    and its planned event names. `doc` is None for the empty workspace an inline
    `workspace:` mapping starts from."""

    doc: YamlDoc | None
    data: dict[str, Any]
    found: frozenset[tuple[str, KeyPath, str]]
    events: frozenset[str]


def _base(doc: YamlDoc | None, data: dict[str, Any], found: list[RuleFinding], events: dict[str, Any]) -> _Base:
    return _Base(doc, data, frozenset(f.identity for f in found), frozenset(events))


class ScenarioWorkspaces:
    """The scenario workspaces of one lint run; each base workspace is linted once."""

    def __init__(self, linted: Path, doc: YamlDoc, found: list[RuleFinding], events: dict[str, Any]) -> None:
        """`linted` is the run's workspace file, already linted (`found`, its plan's `events`)."""
        data = doc.data if isinstance(doc.data, dict) else {}
        self._bases: dict[Path, _Base] = {linted.resolve(): _base(doc, data, found, events)}
        self._empty: _Base | None = None

    def lint(self, compiled: Plan, doc: YamlDoc, path: Path, sink: FindingSink, names: EventNames) -> None:
        """Report what the scenario at `path` changes in its workspace; the event names
        its own plan adds join the run's naming checks, located at their plan entry."""
        data = doc.data if isinstance(doc.data, dict) else {}
        named = data.get("workspace")
        overrides = data.get("overrides") or {}
        inline = isinstance(named, dict) and bool(named)
        start: dict[str, Any] = named if isinstance(named, dict) else {}
        if isinstance(named, str):
            if not overrides:
                return  # the workspace file as it is, linted on its own
            base = self._file_base(Path(os.path.normpath(path.parent / named)))
            start = base.data
        elif inline or overrides:
            base = self._empty_base()
        else:
            return
        if isinstance(overrides, dict):
            _empty_overrides(doc, overrides, start, sink)
        merged = merge_overrides(start, overrides) if overrides else start
        model = s.Workspace.model_validate(merged)  # the loader already accepted it
        plan = TrackingPlanView(compiled.workspace.tracking_plan)
        place = _Placer(doc, base, inline, bool(overrides))
        for found in WorkspaceLint(compiled.workspace, model, doc, plan).run():
            if found.identity not in base.found:
                line, where, message = place(found)
                sink.add(found.rule, found.severity, doc.file, line, message, where)
        for event in plan.events:
            if event not in base.events:
                line, where, _ = place.key(("tracking_plan", "events", event), ())
                names.planned(event, doc.file, line, where)

    def _file_base(self, path: Path) -> _Base:
        key = path.resolve()
        known = self._bases.get(key)
        if known is not None:
            return known
        doc = load_yaml_file(path)
        data = doc.data if isinstance(doc.data, dict) else {}
        try:
            config, model = load_workspace(path)
        except InputError:
            # Valid only with the scenario's overrides: nothing of it is reported on its own.
            base = _Base(doc, data, frozenset(), frozenset())
        else:
            found = WorkspaceLint(config, model, doc, TrackingPlanView(config.tracking_plan)).run()
            base = _base(doc, data, found, config.tracking_plan.get("events") or {})
        self._bases[key] = base
        return base

    def _empty_base(self) -> _Base:
        """What an inline `workspace:` mapping starts from: nothing at all."""
        if self._empty is None:
            model = s.Workspace.model_validate({})
            config, _ = compile_workspace(model, _nowhere)
            doc = YamlDoc("", {})
            self._empty = _base(None, {}, WorkspaceLint(config, model, doc, TrackingPlanView({})).run(), {})
        return self._empty


def _empty_overrides(doc: YamlDoc, overrides: dict[str, Any], base: dict[str, Any], sink: FindingSink) -> None:
    """`empty-override`: an empty mapping under `overrides` over a mapping the workspace
    fills merges key by key, so it changes nothing; a file meaning to clear it
    (`idempotency_keys: {}`) silently keeps it. One that adds an entry (a planned
    property `gift_note: {}`) or sits in a key replaced whole (a `where: {}`) is no finding."""
    stack: list[tuple[KeyPath, Any, Any]] = [((key,), value, base.get(key)) for key, value in overrides.items()]
    while stack:
        path, value, there = stack.pop(0)
        if not isinstance(value, dict) or not isinstance(there, dict):
            continue  # a value that replaces, or an entry the workspace does not have
        if len(path) >= 3 and (path[0], path[2]) in WHOLE:
            continue  # replaced whole: `{}` is the value
        if not value:
            if not there:
                continue
            entry = len(path) == 1 or (len(path) == 2 and path[0] in ("sources", "segments", "journeys"))
            fix = (
                "remove it"  # a section, source, segment or journey: null is refused there
                if entry
                else f"write {path[-1]}: null for none"
                if path[-1] == "idempotency_keys"
                else "overrides cannot empty a mapping: change the keys you mean to change"
            )
            where = ("overrides", *path)
            sink.add(
                "empty-override",
                WARNING,
                doc.file,
                doc.mark(where)[0],
                f"{{}} changes nothing here (overrides merge mappings key by key, and the workspace's "
                f"{format_path(path)} is kept): {fix}",
                format_path(where),
            )
            continue
        stack += [((*path, key), inner, there.get(key)) for key, inner in value.items()]


def _nowhere(path: KeyPath, message: str, hint: str = "") -> Problem:
    return Problem("", 0, 0, format_path(path), message, hint)


@dataclass
class _Placer:
    """Where in the scenario file a finding of its workspace goes: (line, key path, message)."""

    doc: YamlDoc
    base: _Base
    inline: bool
    overridden: bool

    def __call__(self, found: RuleFinding) -> tuple[int, str, str]:
        line, where, own = self.key(found.path, found.causes)
        return line, where, found.message if own else found.message + self._on(found.path)

    def key(self, path: KeyPath, causes: tuple[KeyPath, ...]) -> tuple[int, str, bool]:
        """The line and key path in the scenario file for a workspace key `path` (or
        the settings it follows from), and whether that is `path` itself."""
        roots: list[KeyPath] = [("overrides",)] if self.overridden else []
        if self.inline:
            roots.append(("workspace",))
        # The key itself as the scenario writes it, else the setting it follows from.
        for root in roots:
            for candidate in (path, *causes):
                if root + candidate in self.doc.marks:
                    return self.doc.marks[root + candidate][0], format_path(root + candidate), candidate == path
        # Else the deepest key the scenario writes on the way to one (the segment it changes).
        for root in roots:
            for candidate in (path, *causes):
                probe = root + candidate
                while len(probe) > len(root) + 1 and probe not in self.doc.marks:
                    probe = probe[:-1]
                if len(probe) > len(root) + 1:
                    return self.doc.marks[probe][0], format_path(probe), False
        root = roots[0] if roots else ()
        return self.doc.mark(root)[0], format_path(root), False

    def _on(self, path: KeyPath) -> str:
        """Names the key the finding is about, when the scenario's line is another one."""
        if not path:
            return " (in this scenario's workspace)"
        if self.inline and ("workspace",) + path in self.doc.marks:
            return f" (on workspace.{format_path(path)}, line {self.doc.mark(('workspace',) + path)[0]})"
        base = self.base.doc
        if base is not None and path in base.marks:
            return f" (on {format_path(path)}, {base.file}:{base.marks[path][0]}, with this scenario's overrides)"
        return f" (on {format_path(path)}, with this scenario's overrides)"
