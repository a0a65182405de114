"""One `segsim lint` run: the workspace, then each scenario file (the workspace
it runs on, when its overrides or an inline workspace change it, and its
timeline) and each log.

Inputs that cannot be read (a missing file, invalid YAML, a scenario that
does not load) are collected as `Problem`s rather than findings: the command
reports them and exits 2.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from simulator.lint.events import UniqueValues
from simulator.lint.findings import Finding, FindingSink
from simulator.lint.log_rules import lint_log
from simulator.lint.names import EventNames
from simulator.lint.scenario_rules import lint_scenario
from simulator.lint.scenario_workspace import ScenarioWorkspaces
from simulator.lint.trackplan import TrackingPlanView
from simulator.lint.workspace_rules import WorkspaceLint
from simulator.model.config import WorkspaceConfig
from simulator.scenario import schema as s
from simulator.scenario.errors import InputError, Problem
from simulator.scenario.files import collect_files, workspace_file_problem
from simulator.scenario.loader import is_scenario_file, load_plan, load_workspace, misspells_the_scenario_key
from simulator.scenario.yamlfile import YamlDoc, load_yaml_file, top_level_keys

__all__ = ["LintRun", "LoadedWorkspace", "lint_paths", "read_workspace"]

_LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".log", ".gz")


@dataclass
class LoadedWorkspace:
    path: Path
    config: WorkspaceConfig
    model: s.Workspace
    doc: YamlDoc

    @property
    def plan(self) -> TrackingPlanView:
        return TrackingPlanView(self.config.tracking_plan)


@dataclass
class LintRun:
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    log_lines: int = 0

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


def read_workspace(path: Path) -> LoadedWorkspace:
    """Raises InputError when the workspace cannot be read or is invalid."""
    problem = workspace_file_problem(path)
    if problem is not None:
        raise InputError([Problem(str(path), 0, 0, "", problem)])
    config, model = load_workspace(path)
    return LoadedWorkspace(path, config, model, load_yaml_file(path))


def _expand(raw: Iterable[str], problems: list[Problem]) -> list[Path]:
    files, found = collect_files(
        raw,
        lambda p: _a_story(p) or p.name.endswith(_LOG_SUFFIXES),
        "no scenario files or logs in this folder",
        (".yaml", ".yml", *_LOG_SUFFIXES),
    )
    problems.extend(Problem(path, 0, 0, "", message) for path, message in found)
    return files


def _a_story(path: Path) -> bool:
    """A scenario, or one whose `scenario` key is misspelt (loading it says so)."""
    return is_scenario_file(path) or misspells_the_scenario_key(path)


def lint_paths(workspace: Path, files: Iterable[str], now: int) -> LintRun:
    """Lint the workspace and every file; `now` is the wall clock, used only for
    log timestamps that carry no arrival instant."""
    run = LintRun()
    try:
        loaded = read_workspace(workspace)
    except InputError as exc:
        run.problems.extend(exc.problems)
        return run
    sink = FindingSink()
    names = EventNames()  # every event name met, judged once all files are read
    unique = UniqueValues()  # the unique_by values of every log, so a repeat in another file is found
    plan = loaded.plan
    found = WorkspaceLint(loaded.config, loaded.model, loaded.doc, plan, sink, names).run()
    scenario_workspaces = ScenarioWorkspaces(loaded.path, loaded.doc, found, plan.events)
    for path in _expand(files, run.problems):
        # A scenario whatever its name (`replay --to-scenario skel.txt`), as `segsim run` reads it.
        named = not path.name.endswith(_LOG_SUFFIXES) and "scenario" in (top_level_keys(path) or {})
        if path.suffix in (".yaml", ".yml") or named:
            if not named and not _a_story(path):
                run.problems.append(
                    Problem(str(path), 0, 0, "", "not a scenario file (no top-level 'scenario:' key) and not a log")
                )
                continue
            try:
                compiled = load_plan(path)
                doc = load_yaml_file(path)
                # What its overrides (or inline workspace) change in its workspace.
                scenario_workspaces.lint(compiled, doc, path, sink, names)
            except InputError as exc:
                run.problems.extend(exc.problems)
                continue
            # Then its timeline: a scenario whose overrides extend the plan is judged by its own plan.
            own = compiled.workspace.tracking_plan
            lint_scenario(
                compiled, doc, plan if own == loaded.config.tracking_plan else TrackingPlanView(own), sink, names
            )
            continue
        try:
            run.log_lines += lint_log(path, loaded.config, plan, sink, now, names, unique)
        except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            run.problems.append(Problem(str(path), 0, 0, "", f"cannot read the log: {exc}"))
    names.report(sink)
    run.findings = sink.findings()
    return run
