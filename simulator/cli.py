"""The `segsim` command. Heavy modules are imported inside each command so that
`segsim --help` stays fast."""

from __future__ import annotations

import errno
import io
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from simulator._version import __version__

__all__ = ["main"]


def _collect(paths: Iterable[str]) -> tuple[list[Path], list[str]]:
    from simulator.scenario.files import collect_scenario_files

    files, problems = collect_scenario_files(paths)
    return files, [f"{raw}: {problem}" for raw, problem in problems]


# Commands that live beside their feature, loaded only when run (so `--help`
# stays fast): name -> (module:attribute, one-line help).
_LAZY = {
    "fuzz": ("simulator.search.command:fuzz", "Search for stories that break your journeys (Hypothesis)."),
    "whatif": ("simulator.whatif.command:whatif", "Sweep a segment's time window against sources' latency."),
    "report": ("simulator.report.html_command:report", "Write one self-contained HTML report of scenario runs."),
    "serve": ("simulator.emulator.command:serve", "Serve a local Customer.io (Track API, Data Pipelines) emulator."),
    "replay": ("simulator.emulator.command:replay", "Replay a call log written by `segsim serve --log`."),
    "lint": ("simulator.lint.command:lint", "Check a workspace, scenarios and event logs against the tracking plan."),
    "gate": ("simulator.lint.command:gate", "The ship-it checklist for a workspace, with evidence."),
}


class _LazyGroup(click.Group):
    def _available(self) -> dict[str, tuple[str, str]]:
        import importlib.util

        found = {}
        for name, (target, text) in _LAZY.items():
            package, _, module = target.split(":")[0].rpartition(".")
            try:
                spec = importlib.util.find_spec(package)
            except ModuleNotFoundError:
                continue
            locations = spec.submodule_search_locations if spec is not None else None
            if locations and any(os.path.exists(os.path.join(folder, module + ".py")) for folder in locations):
                found[name] = (target, text)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self._available()))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        found = self._available().get(name)
        if found is None:
            return None
        import importlib

        module, attr = found[0].split(":")
        loaded = getattr(importlib.import_module(module), attr)
        return loaded if isinstance(loaded, click.Command) else None

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Exit 2 with one line, never a traceback, when the machine refuses (a
        name too long, a full disk, stdout gone), from any command and from
        `--help`/`--version`, which print before `invoke`. Exit 1 stays what it
        says: an expectation failed, a search found something."""
        stdout = sys.stdout
        if stdout is not None:  # None: started with stdout closed (`>&-`), which click already handles
            sys.stdout = _OutlivesItsReader(stdout)  # type: ignore[assignment]
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click's own (stderr gone): not an error of the command
            where = f"{exc.filename}: " if exc.filename else ""
            _quiet_stdout()
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            sys.exit(2)
        finally:
            sys.stdout = stdout

    def invoke(self, ctx: click.Context) -> Any:
        """130 on Ctrl-C (click would say "Aborted!" with exit 1, a failure's code)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        lazy = self._available()
        rows = []
        for name in self.list_commands(ctx):
            if name in lazy:
                rows.append((name, lazy[name][1]))
                continue
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=formatter.width - 6 - 10)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class _OutlivesItsReader:
    """stdout for every command: once its reader has gone (`segsim run scenarios/ | head -3`),
    what is still written goes nowhere and the command runs to its end, so that its exit code
    is still its verdict (click would exit 1 at the first line that found no reader, a
    failure's code, and a search would stop before writing its witnesses)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            self._stream.write(text)
        except BrokenPipeError:
            _quiet_stdout()
        return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            _quiet_stdout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _quiet_stdout() -> None:
    """After stdout failed (a full disk), send what is still buffered nowhere,
    so that the interpreter's last flush does not fail again on the way out."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # not a real file (a test's captured output)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segsim")
def main() -> None:
    """segsim: replay shopper stories against your segments and journeys, and
    find the ghost abandons."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--strict", is_flag=True, help="Fail a scenario on any violation it does not document.")
def run(paths: tuple[str, ...], strict: bool) -> None:
    """Run scenario files (or folders of them) and check their expectations."""
    from simulator.checks.expectations import check_plan
    from simulator.report.text import failure_lines, render_violations, scenario_line
    from simulator.scenario.errors import InputError
    from simulator.scenario.loader import load_plan

    files, problems = _collect(paths)
    invalid = len(problems)
    for line in problems:
        _report_error(f"ERROR {line}", line)
    passed = failed = 0
    failures: list[list[str]] = []
    for file in files:
        try:
            plan = load_plan(file)
            res = check_plan(plan, strict=strict)  # a story that never ends is refused too
        except InputError as exc:
            invalid += 1
            click.echo(f"ERROR {file}")
            for problem in exc.problems:
                _report_error(f"    {problem.render()}", problem.render())
            continue
        click.echo(scenario_line(res))
        for line in render_violations(res):
            click.echo(line)
        if res.passed:
            passed += 1
        else:
            failed += 1
            failures.append(failure_lines(res, violations=False))
    total = passed + failed + invalid
    click.echo("")
    click.echo(
        f"{total} scenario{'s' if total != 1 else ''}: {passed} passed, {failed} failed"
        + (f", {invalid} invalid" if invalid else "")
    )
    for block in failures:
        click.echo("")
        for line in block:
            click.echo(line)
    sys.exit(2 if invalid else 1 if failed else 0)


@main.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the machine trace as JSON.")
def timeline(file: str, as_json: bool) -> None:
    """The whole story of one scenario in time order."""
    from simulator.checks.violations import find_violations
    from simulator.pipeline import simulate
    from simulator.platform.trace import flat_record
    from simulator.report.story import describe, story_records
    from simulator.scenario.errors import InputError
    from simulator.scenario.loader import load_plan

    try:
        plan = load_plan(file)
        outcome = simulate(plan)  # a story that never ends is refused too
    except InputError as exc:
        _input_error(exc)
    records = story_records(outcome, find_violations(outcome))
    if as_json:
        click.echo(json.dumps([flat_record(r) for r in records], indent=1, sort_keys=False, default=str))
        return
    from simulator.model.time import format_instant

    click.echo(f"{plan.name} ({plan.file}), start {format_instant(plan.start)}")
    for r in records:
        click.echo(f"{r['offset']:>10}  {r['kind']:<18} {describe(r)}")


@main.command()
@click.argument("files", nargs=-1, required=True)
def check(files: tuple[str, ...]) -> None:
    """Validate scenario and workspace files without running them."""
    from simulator.scenario.errors import InputError
    from simulator.scenario.loader import is_scenario_file, load_plan, load_workspace, top_level_keys

    paths, problems = _collect(files)
    bad = len(problems)
    for line in problems:
        _report_error(f"ERROR {line}", line)
    for path in paths:
        try:
            if is_scenario_file(path) or "scenario" in (top_level_keys(path) or {}):  # any name, as `run` reads it
                load_plan(path)
            else:
                load_workspace(path)
            click.echo(f"ok     {path}")
        except InputError as exc:
            bad += 1
            click.echo(f"ERROR  {path}")
            for problem in exc.problems:
                _report_error(f"    {problem.render()}", problem.render())
    sys.exit(2 if bad else 0)


@main.command()
@click.argument("kind", type=click.Choice(["scenario", "workspace"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of a scenario or workspace file."""
    from simulator.scenario.jsonschema import json_schema

    click.echo(json.dumps(json_schema(kind), indent=2, sort_keys=True))


def _report_error(report_line: str, error: str) -> None:
    """An input error in `run` and `check`: a line of the report on stdout, and
    the error itself on stderr as every other command prints it, unless the two
    streams are one terminal or one file (`2>&1`), where it would show twice."""
    click.echo(report_line)
    if not _same_stream():
        click.echo(error, err=True)


def _same_stream(stat: Callable[[int], Any] = os.fstat) -> bool:
    try:
        out = stat(sys.stdout.fileno())
        err = stat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False  # not real files (a test's captured output): both get it
    if not out.st_ino:  # a pipe or console where the system gives no file identity: both get it
        return False
    return (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino)


def _input_error(exc: Any) -> None:
    for problem in exc.problems:
        click.echo(problem.render(), err=True)
    sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
