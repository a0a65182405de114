"""`segsim report`: run scenarios and write the suite as one self-contained HTML page."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from simulator.cli_paths import GivenPath

__all__ = ["report"]


def _scenario_files(paths: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    from simulator.scenario.files import collect_scenario_files

    files, problems = collect_scenario_files(paths)
    return files, [f"{raw}: {problem}" for raw, problem in problems]


def _workspaces_named(files: list[Path]) -> list[Path]:
    """The workspace files the scenarios name (`workspace: PATH`), read without validating them."""
    from simulator.scenario.loader import top_level_keys

    named = [(file, (top_level_keys(file) or {}).get("workspace")) for file in files]
    return [file.parent / ref for file, ref in named if isinstance(ref, str) and ref]


@click.command()
@click.argument("scenarios", nargs=-1, required=True)
@click.option("--out", default="report.html", show_default=True, type=GivenPath(dir_okay=False), help="The page.")
@click.option(
    "--whatif",
    "whatif_dir",
    default=None,
    type=GivenPath(file_okay=False),
    help="A `segsim whatif` output folder whose heatmap the page shows.",
)
@click.option("--strict", is_flag=True, help="Judge scenarios as `segsim run --strict` does.")
def report(scenarios: tuple[str, ...], out: str, whatif_dir: str | None, strict: bool) -> None:
    """Run scenario files (or folders) and write one self-contained HTML report.

    The page holds the results, a swimlane timeline per shopper, journey
    coverage across the suite and, with --whatif, a sweep's heatmap. It
    needs no network. Exit 0 when written (whatever the scenarios' results),
    2 when an input is invalid (then nothing is written).

    \b
    Example:
      segsim report scenarios/ --out report.html --whatif whatif-out
    """
    from simulator.checks.expectations import check_plan
    from simulator.fileout import OutputError, check_not_an_input, check_writable_folder, write_text
    from simulator.report.html import WhatifView, load_whatif, render_report
    from simulator.scenario.errors import InputError
    from simulator.scenario.loader import load_plan

    files, problems = _scenario_files(scenarios)
    try:
        if out == "-":
            raise OutputError("-: the page is written to a file, not to standard output: name one (--out report.html)")
        check_writable_folder(Path(out).parent, (Path(out).name,))
        sweep = [Path(whatif_dir) / name for name in ("whatif.json", "whatif.png")] if whatif_dir else []
        check_not_an_input(Path(out), [*files, *_workspaces_named(files), *sweep])
    except OutputError as exc:
        problems.append(f"--out {exc}")
    view: WhatifView | None = None
    if whatif_dir is not None:
        try:
            view = load_whatif(Path(whatif_dir))
        except ValueError as exc:
            problems.append(f"--whatif {exc}")
    plans = []
    for file in files:
        try:
            plans.append(load_plan(file))
        except InputError as exc:
            problems.append(f"{file}: invalid scenario")
            problems.extend(f"    {p.render()}" for p in exc.problems)
    if problems:
        for line in problems:
            click.echo(f"ERROR {line}" if not line.startswith("    ") else line, err=True)
        click.echo("no report written: fix the inputs above", err=True)
        sys.exit(2)
    try:
        results = [check_plan(plan, strict=strict) for plan in plans]
    except InputError as exc:  # a story that never ends
        for problem in exc.problems:
            click.echo(f"ERROR {problem.render()}", err=True)
        click.echo("no report written: fix the inputs above", err=True)
        sys.exit(2)
    page = render_report(results, view)
    try:
        write_text(Path(out), page)
    except OutputError as exc:
        click.echo(f"ERROR {exc}", err=True)
        sys.exit(2)
    passed = sum(1 for r in results if r.passed)
    noun = "scenario" if len(results) == 1 else "scenarios"
    click.echo(f"{len(results)} {noun}: {passed} passed, {len(results) - passed} failed; wrote {out}")
