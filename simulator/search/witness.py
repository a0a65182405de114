"""Witness files: each distinct failure written as a scenario `segsim run`
replays, and the shipped scenarios replayed as pinned examples.

A witness names its workspace by a path relative to itself, expects its
violation with a `{violation: ..., who, journey, cause}` expectation, and
carries the search seed and the Hypothesis reproduction blob in comments.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.checks.expectations import check_plan, matches
from simulator.checks.violations import Violation, find_violations
from simulator.fileout import check_not_an_input, reference_from, write_all
from simulator.pipeline import simulate
from simulator.scenario.errors import InputError
from simulator.scenario.loader import is_scenario_file, load_plan
from simulator.scenario.yamlfile import load_yaml_file
from simulator.search.driver import Crash, Finding, FuzzOptions, FuzzReport, Pinned
from simulator.search.dump import Witness, dump_witness

__all__ = ["Written", "pinned_scenarios", "replay_pinned", "write_outputs"]


@dataclass
class Written:
    path: Path
    steps: int
    replays: bool  # `segsim run` on it passes (its violation is expected)
    problem: str = ""


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def fuzz_command(options: FuzzOptions) -> str:
    parts = ["segsim fuzz", shlex.quote(_display(options.workspace))]  # pasted into a shell as it is
    if options.journey:
        parts.append(f"--journey {shlex.quote(options.journey)}")
    for name in options.invariants:
        parts.append(f"--invariant {shlex.quote(name)}")
    parts.append(f"--max-examples {options.max_examples}")
    if options.faults:
        parts.append("--faults")
    parts.append(f"--seed {options.seed}")
    return " ".join(parts)


def witness_name(finding: Finding) -> str:
    kind, journey, cause = finding.key
    return f"{kind}-{journey or 'any'}-{cause}.yaml"


def _expectation(v: Violation) -> dict[str, Any]:
    expect: dict[str, Any] = {"violation": v.kind, "who": v.who}
    if v.journey:
        expect["journey"] = v.journey
    expect["cause"] = v.cause
    return expect


def witness_of(finding: Finding, options: FuzzOptions, out_dir: Path, file_name: str) -> Witness:
    v = finding.violation
    # the violation found first; then every other the story shows, so `segsim run --strict` passes it too
    expects = [_expectation(v)]
    for other in finding.also:
        if _expectation(other) not in expects:
            expects.append(_expectation(other))
    story = finding.story
    scenario: dict[str, Any] = {
        "scenario": f"fuzz: {v.kind} in {v.journey or 'any journey'} ({v.cause})",
        "description": v.explanation,
        "seed": story.get("seed", 0),
        "workspace": reference_from(out_dir, options.workspace),
        "shoppers": story.get("shoppers", {}),
        "timeline": story.get("timeline", []),
        "expect": expects,
    }
    header = {
        "found by": fuzz_command(options),
        "seed": str(options.seed),
        "reproduce": finding.blob or "(no blob: found by a pinned example)",
        # The file's own name, not the folder it was written to: the same search
        # writes the same bytes wherever `--out` points.
        "replay": f"segsim run {file_name} (from this folder)",
    }
    return Witness(scenario, header)


def write_outputs(report: FuzzReport, options: FuzzOptions, out_dir: Path) -> tuple[list[Written], list[Path]]:
    """Every witness and crash file of a search, written all or none (a
    failure raises OutputError with nothing changed); then each witness
    replayed as `segsim run` does."""
    texts: dict[Path, str] = {}
    steps: list[tuple[Path, int]] = []
    for finding in report.findings:
        name = witness_name(finding)
        witness = witness_of(finding, options, out_dir, name)
        texts[out_dir / name] = dump_witness(witness)
        steps.append((out_dir / name, len(witness.scenario["timeline"])))
    crashes = []
    for index, crash in enumerate(report.crashes, start=1):
        path, text = crash_file(crash, options, out_dir, index)
        texts[path] = text
        crashes.append(path)
    for path in texts:  # a witness name linked to the workspace would replace it
        check_not_an_input(path, [options.workspace])
    write_all({path: _writer(text) for path, text in texts.items()})
    return [replayed(path, count) for path, count in steps], crashes


def _writer(text: str) -> Callable[[Path], Any]:
    return lambda target: target.write_text(text, encoding="utf-8")


def replayed(path: Path, steps: int) -> Written:
    """A written witness replayed the way `segsim run` does: it must load and pass."""
    try:
        result = check_plan(load_plan(path))
    except InputError as exc:
        return Written(path, steps, False, str(exc))
    if not result.passed:
        return Written(path, steps, False, "the written scenario does not show the violation when replayed")
    return Written(path, steps, True)


def crash_file(crash: Crash, options: FuzzOptions, out_dir: Path, index: int) -> tuple[Path, str]:
    path = out_dir / f"crash-{index}.yaml"
    last = crash.error.strip().splitlines()[-1] if crash.error.strip() else "crash"
    scenario: dict[str, Any] = {
        "scenario": f"fuzz: the simulator raised {last}",
        "seed": crash.story.get("seed", 0),
        "workspace": reference_from(out_dir, options.workspace),
        "shoppers": crash.story.get("shoppers", {}),
        "timeline": crash.story.get("timeline", []),
    }
    header = {"found by": fuzz_command(options), "error": last, "reproduce": crash.blob or "(none)"}
    return path, dump_witness(Witness(scenario, header))


def pinned_scenarios(workspace: Path) -> list[Path]:
    """Shipped scenario files (`scenarios/*.yaml` beside the workspace's project
    or the current folder) whose workspace is `workspace`, those that cannot be
    parsed (not UTF-8, broken YAML) included when a top-level `workspace:` line
    names it: loading them says what is wrong."""
    target = workspace.resolve()
    folders = [Path.cwd() / "scenarios"] + [up / "scenarios" for up in list(workspace.resolve().parents)[:3]]
    seen: set[Path] = set()
    found: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            real = path.resolve()
            if real in seen or not path.is_file() or not is_scenario_file(path):
                continue
            seen.add(real)
            try:
                data = load_yaml_file(path).data  # as `segsim run` reads it
            except InputError:
                data = {"workspace": _workspace_line(path)}  # its load error is reported, as `segsim run` would
            named = data.get("workspace") if isinstance(data, dict) else None
            if isinstance(named, str) and (path.parent / named).resolve() == target:
                found.append(_from_here(path))
    return found


def _from_here(path: Path) -> Path:
    """`path` relative to the working folder when it is inside it: what the output
    shows does not depend on where the project lives."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


_WORKSPACE_LINE = re.compile(rb"^workspace:[ \t]*['\"]?([^'\"#\r\n]+?)['\"]?[ \t]*(?:#.*)?\r?$", re.MULTILINE)


def _workspace_line(path: Path) -> str | None:
    """The workspace a file that does not parse names on a top-level line, if any."""
    try:
        found = _WORKSPACE_LINE.search(path.read_bytes())
    except OSError:
        return None
    return found.group(1).decode("utf-8", "replace").strip() if found else None


def replay_pinned(options: FuzzOptions) -> list[Pinned]:
    out: list[Pinned] = []
    for path in pinned_scenarios(options.workspace):
        try:
            plan = load_plan(path)
        except InputError as exc:
            out.append(Pinned(path, [], str(exc)))
            continue
        violations = [v for v in find_violations(simulate(plan)) if options.wants(v)]
        documented = [v for v in violations if any(matches(v, e) for e in plan.expectations)]
        out.append(Pinned(path, [v for v in violations if v not in documented], documented=documented))
    return out
