"""The `segsim lint` and `segsim gate` commands.

Exit codes: lint 1 when any finding is an error, 0 otherwise; gate 1 when any
item fails, 0 when all pass; both 2 when an input cannot be read.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from simulator.cli_paths import GivenPath
from simulator.scenario.errors import Problem

__all__ = ["gate", "lint"]


def _refuse(problems: Sequence[Problem], printed_as_json: bool = False) -> NoReturn:
    """Input errors on stderr and exit 2; not again when they went out as JSON on stdout and the
    two streams are one file (`--format json > out.json 2>&1` must stay one JSON document)."""
    from simulator.cli import _same_stream

    if not (printed_as_json and _same_stream()):
        for problem in problems:
            click.echo(f"ERROR {problem.render()}", err=True)
    sys.exit(2)


def _as_finding(problem: Problem) -> dict[str, Any]:
    message = problem.message + (f" ({problem.hint})" if problem.hint else "")
    return {
        "rule": "invalid-input",
        "severity": "error",
        "file": problem.file,
        "line": problem.line,
        "path": problem.path,
        "message": message,
    }


@click.command()
@click.argument("workspace", type=GivenPath())
@click.argument("files", nargs=-1)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)
def lint(workspace: str, files: tuple[str, ...], fmt: str) -> None:
    """Check a workspace, scenario files and event logs against the tracking plan.

    FILES are scenario files (.yaml with a top-level scenario: key), folders of
    them, and event logs with one JSON object a line: segsim's call log, Data
    Pipelines messages, or Track API v2 operations (plain or gzip).
    """
    from simulator.lint.lint_run import lint_paths

    # The wall clock is read here only: log timestamps without an arrival
    # instant are checked against it.
    run = lint_paths(Path(workspace), files, int(time.time()))
    if run.problems:
        if fmt == "json":  # a CI job parsing stdout gets the problems, in the findings' shape
            click.echo(json.dumps([_as_finding(p) for p in run.problems], indent=1))
        _refuse(run.problems, printed_as_json=fmt == "json")
    if fmt == "json":
        click.echo(json.dumps([f.as_json() for f in run.findings], indent=1))
    else:
        for finding in run.findings:
            click.echo(finding.render())
        errors = sum(1 for f in run.findings if f.severity == "error")
        warnings = len(run.findings) - errors
        checked = 1 + len(files)
        click.echo(
            f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''} "
            f"in {checked} input{'s' if checked != 1 else ''}"
            + (f" ({run.log_lines} log lines)" if run.log_lines else "")
        )
    sys.exit(1 if run.has_errors else 0)


@click.command()
@click.argument("workspace", type=GivenPath())
@click.argument("scenarios", nargs=-1, required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format."
)
def gate(workspace: str, scenarios: tuple[str, ...], fmt: str) -> None:
    """The ship-it checklist for a workspace: each item pass or fail, with its evidence.

    Runs the SCENARIOS (files or folders) and reads their results.
    """
    from simulator.lint.gate import run_gate
    from simulator.lint.lint_run import read_workspace
    from simulator.scenario.errors import InputError
    from simulator.scenario.loader import load_plan
    from simulator.scenario.yamlfile import load_yaml_file

    def refuse(problems: Sequence[Problem]) -> NoReturn:
        if fmt == "json":  # a CI job parsing stdout reads why, in the checklist's shape
            evidence = [f"ERROR {problem.render()}" for problem in problems]
            click.echo(json.dumps([{"item": "inputs readable", "passed": False, "evidence": evidence}], indent=1))
        _refuse(problems, printed_as_json=fmt == "json")

    problems: list[Problem] = []
    try:
        loaded = read_workspace(Path(workspace))
    except InputError as exc:
        refuse(exc.problems)
    from simulator.scenario.files import collect_scenario_files

    paths, missing = collect_scenario_files(scenarios)
    problems += [Problem(raw, 0, 0, "", problem) for raw, problem in missing]
    docs = []
    for path in paths:
        try:
            load_plan(path)
            docs.append((path, load_yaml_file(path)))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        refuse(problems)
    try:
        items = run_gate(loaded, docs)
    except InputError as exc:  # a scenario that never ends, found when it is run
        refuse(exc.problems)
    if fmt == "json":
        click.echo(json.dumps([item.as_json() for item in items], indent=1))
    else:
        for item in items:
            click.echo(f"{'PASS' if item.passed else 'FAIL'}  {item.title}")
            for line in item.evidence:
                click.echo(f"      {line}")
        passed = sum(1 for item in items if item.passed)
        click.echo("")
        click.echo(f"{passed} of {len(items)} checks pass: " + ("ship it" if passed == len(items) else "not ready"))
    sys.exit(0 if all(item.passed for item in items) else 1)
