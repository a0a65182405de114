"""`segsim whatif`: sweep a segment's window against sources' latency (SPEC section 15).

Needs the optional extra `whatif` (Faker, matplotlib, rich); without it the
command says how to install it and exits 2.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from simulator.cli_paths import GivenPath, given_once

if TYPE_CHECKING:
    from simulator.model.config import WorkspaceConfig
    from simulator.whatif.sweep import Sweep

__all__ = ["whatif", "write_outputs"]

_EXTRA_HINT = "pip install 'segsim[whatif]'"


def _require_extras() -> None:
    missing = []
    for module, package in (("faker", "Faker"), ("matplotlib", "matplotlib"), ("rich", "rich")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    if missing:
        click.echo(
            f"segsim whatif needs the optional packages {', '.join(missing)}: install them with {_EXTRA_HINT}",
            err=True,
        )
        sys.exit(2)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> int:
    from simulator.model.time import parse_duration

    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise click.BadParameter("the horizon must be longer than 0s, e.g. 3d")
    return seconds


def _windows(values: tuple[str, ...]) -> str:
    """Repeated `--window` flags as one list, each flag's own value checked (its errors quote what was typed)."""
    from simulator.whatif.grid import GridError, comma_items

    if len(values) > 1 and not all(value.strip() for value in values):
        raise click.BadParameter("one of the repeated values is empty (an unset variable?): write it or drop the flag")
    try:
        return ",".join(item for value in values for item in comma_items(f"--window {value!r}", value))
    except GridError as exc:
        raise click.BadParameter(str(exc).removeprefix("--window ")) from None


OUTPUTS = ("whatif.csv", "whatif.json", "whatif.png")
MAX_POPULATION = 1_000_000


def write_outputs(rows: list[dict[str, Any]], parameters: dict[str, Any], out: Path) -> list[Path]:
    """whatif.csv, whatif.json and whatif.png into `out`, all three or none
    (OutputError: the previous ones, if any, are left as they were)."""
    from simulator.fileout import write_all
    from simulator.whatif.heatmap import draw_heatmap

    columns = list(rows[0]) if rows else []

    def write_csv(path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row[c] is None else row[c] for c in columns])

    document = {"parameters": parameters, "rows": rows}
    title = f"segment {parameters['segment']}: {parameters['population']} shoppers over {parameters['horizon']}"
    return write_all(
        {
            out / "whatif.csv": write_csv,
            out / "whatif.json": lambda path: path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8"),
            out / "whatif.png": lambda path: draw_heatmap(rows, path, title),
        }
    )


def _print_table(rows: list[dict[str, Any]], journey: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    shown = ["window"] + [k for k in rows[0] if k.startswith("latency_")]
    shown += ["recall", "false_hold", "median_entry_lag_s"]
    if journey is not None:
        shown += ["ghost_abandon_rate", "missed_entry_rate", "duplicate_entry_rate"]
    table = Table(title=f"segment {rows[0]['segment']}", show_lines=False)
    for key in shown:
        table.add_column(key.replace("latency_", "").replace("_", " "), justify="left" if key == "window" else "right")
    for row in rows:
        table.add_row(*("-" if row.get(k) is None else str(row[k]) for k in shown))
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)


@click.command()
@click.argument("workspace", type=GivenPath(dir_okay=False))
@click.option("--segment", required=True, multiple=True, callback=given_once, help="The segment whose window is swept.")
@click.option(
    "--journey",
    multiple=True,
    callback=given_once,
    help="Also measure this journey's ghost abandons and missed entries.",
)
@click.option(
    "--window",
    "windows",
    required=True,
    multiple=True,
    callback=lambda _ctx, _param, values: _windows(values),
    help="Comma-separated windows, e.g. 15m,30m,1h,2h. Repeatable.",
)
@click.option(
    "--window-of",
    multiple=True,
    callback=given_once,
    metavar="EVENT",
    help="Replace only the `within` counting this event.",
)
@click.option(
    "--latency",
    "latencies",
    multiple=True,
    required=True,
    metavar="SOURCE=V,V",
    help="A source's latency values: 0s, 5m, batch:30m, batch:30m+2m, uniform:1s-2m, exponential:5m. Repeatable.",
)
@click.option(
    "--population",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1, max=MAX_POPULATION),
    help="Shoppers (at most 1,000,000: about 7 GB of generated calls).",
)
@click.option("--horizon", default="3d", show_default=True, callback=_duration, help="How long they shop.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same figures.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Processes.")
@click.option("--out", default="./whatif-out", show_default=True, type=GivenPath(file_okay=False), help="Folder.")
def whatif(
    workspace: str,
    segment: str,
    journey: str | None,
    windows: str,
    window_of: str | None,
    latencies: tuple[str, ...],
    population: int,
    horizon: int,
    seed: int,
    workers: int,
    out: str,
) -> None:
    """Sweep a segment's time window against sources' latency on a synthetic population.

    Each cell compares the real segment with its ideal (the same rule on the
    ground truth) and reports recall, false hold and the median entry lag.

    \b
    Example:
      segsim whatif fixtures/workspaces/dtc_store.yaml --segment recent_purchasers \\
        --window 15m,1h --latency backend=0s,batch:30m --population 2000
    """
    _require_extras()
    from simulator.model.time import DEFAULT_START, format_duration, parse_instant
    from simulator.scenario.errors import InputError
    from simulator.scenario.files import workspace_file_problem
    from simulator.scenario.loader import load_workspace
    from simulator.whatif.grid import GridError, plan_grid
    from simulator.whatif.sweep import Sweep, run_sweep

    unusable = workspace_file_problem(Path(workspace))
    if unusable is not None:
        raise click.BadParameter(f"{workspace}: {unusable}", param_hint="WORKSPACE")
    try:
        ws, _model = load_workspace(workspace)
    except InputError as exc:
        for problem in exc.problems:
            click.echo(problem.render(), err=True)
        sys.exit(2)
    try:
        grid = plan_grid(ws, segment, windows, latencies, journey=journey, window_of=window_of)
    except GridError as exc:
        raise click.UsageError(str(exc)) from None
    from simulator.fileout import OutputError, check_not_an_input, check_writable_folder
    from simulator.whatif.population import channels_of

    channels = channels_of(ws)
    used = {channels.phone.name, channels.laptop.name, channels.server.name}
    for name in grid.sources:
        if name not in used:
            click.echo(
                f"warning: --latency {name}: the synthetic shoppers send nothing through {name!r} "
                f"(phones use {channels.phone.name}, laptops {channels.laptop.name}, orders "
                f"{channels.server.name}), so its values change no figure",
                err=True,
            )

    if any(j.name == journey and j.trigger_segment is not None for j in ws.journeys):
        click.echo(
            f"note: --journey {journey} is segment-triggered: the rates are per real trigger event and it has none, "
            "so ghost_abandon_rate, missed_entry_rate and duplicate_entry_rate stay empty; "
            "the violations are still counted by cause",
            err=True,
        )

    unsent = _events_never_sent(ws, segment, journey)
    if unsent:
        from simulator.model.values import fold_name

        missing, sent = unsent
        by_fold = {fold_name(name): name for name in sent}
        drifted = [(name, by_fold[fold_name(name)]) for name in missing if fold_name(name) in by_fold]
        unknown = [name for name in missing if fold_name(name) not in by_fold]
        for name, as_sent in drifted:
            click.echo(
                f"warning: the sweep reads {name!r}, which the synthetic shoppers send as {as_sent!r}: the real "
                f"segment reads names exactly and never counts it; the ideal reads them generously and does, so "
                f"the figures measure that name drift",
                err=True,
            )
        if unknown:
            click.echo(
                f"warning: the synthetic shoppers send {', '.join(sent)}; the sweep reads "
                f"{', '.join(repr(n) for n in unknown)}, which they never send: a performed clause on it never "
                f"matches, a not_performed one always does, in the real segment and the ideal alike (the "
                f"population names its events as the D2C fixture does)",
                err=True,
            )

    sweep = Sweep(ws, grid, population, horizon, seed, parse_instant(DEFAULT_START))
    for warning in _negative_windows_out_of_reach(sweep):
        click.echo(f"warning: {warning}", err=True)

    try:
        if out == "-":
            raise OutputError("-: the sweep writes three files into a folder, not to standard output: name one")
        check_writable_folder(Path(out), OUTPUTS)  # before the sweep, not after it
        for name in OUTPUTS:
            check_not_an_input(Path(out) / name, [Path(workspace)])
    except OutputError as exc:
        click.echo(f"error: --out {exc}", err=True)
        sys.exit(2)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(f"{len(grid.cells)} cells x {sweep.partitions} partitions", total=None)
            result = run_sweep(sweep, workers, lambda done, total: progress.update(task, completed=done, total=total))
    else:
        result = run_sweep(sweep, workers)
    rows = result.rows()
    parameters = {
        "workspace": workspace,
        "segment": segment,
        "journey": journey,
        "window_of": window_of,
        "windows": [format_duration(w) for w in grid.windows],
        "latency": grid.latency_flags(),
        "population": population,
        "horizon": format_duration(horizon),
        "seed": seed,
    }
    try:
        written = write_outputs(rows, parameters, Path(out))
    except OutputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    _print_table(rows, journey)
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _negative_windows_out_of_reach(sweep: Sweep) -> list[str]:
    """The swept segment's `not_performed ... within: W` clauses asked for as they
    are (under no `not`) that no synthetic profile can meet while the rest of the
    rule still holds (`rules.negative_window_needs_age`): shoppers act only during
    the horizon, so a profile is W old only after the `performed ... within`
    clauses required beside it (in the `all`s around it) have closed, latency
    included. No profile joins through such a clause, in the ideal and the real
    alike."""
    from simulator.model.conditions import All, Any_, Cond, Performed
    from simulator.model.time import format_duration

    ws, grid = sweep.workspace, sweep.grid
    if not ws.negative_window_needs_age:
        return []

    def swept(node: Performed) -> bool:
        return grid.window_of is None or node.event == grid.window_of

    def window(node: Performed) -> int | None:
        return max(grid.windows) if swept(node) and node.within is not None else node.within

    found: list[tuple[Performed, int]] = []

    def visit(node: Cond, required: tuple[int, ...]) -> None:
        if isinstance(node, All):
            beside = tuple(
                w
                for item in node.items
                if isinstance(item, Performed) and not item.negative and (w := window(item)) is not None
            )
            for item in node.items:
                visit(item, required + beside)
        elif isinstance(node, Any_):
            for item in node.items:
                visit(item, required)
        elif isinstance(node, Performed) and node.negative and node.within is not None and required:
            reach = sweep.horizon + min(required) + sweep.worst_latency
            if not swept(node) and node.within > reach:
                found.append((node, reach))
        # under a `not` a clause is asked to be false: nothing to warn about

    visit(next(s.rule for s in ws.segments if s.name == grid.segment), ())
    return [
        f"segment {grid.segment}'s `not_performed: {node.event}` (within: {format_duration(node.within or 0)}) "
        f"needs profiles at least that old (rules.negative_window_needs_age), but the synthetic shoppers act "
        f"only during the {format_duration(sweep.horizon)} horizon, and the windows required beside it close at "
        f"most {format_duration(reach - sweep.horizon)} after that (latency included): no profile joins through "
        f"it (raise --horizon)"
        for node, reach in found
    ]


def _events_never_sent(ws: WorkspaceConfig, segment: str, journey: str | None) -> tuple[list[str], list[str]] | None:
    """The events the swept segment (and journey) count that the synthetic
    population never sends, and the ones it sends (None when it sends them all)."""
    from simulator.model.conditions import Cond, Performed, walk
    from simulator.whatif.population import load_model

    sent = sorted(set(load_model().events.values()))
    conds: list[Cond | None] = [s.rule for s in ws.segments if s.name == segment]
    for j in ws.journeys:
        if j.name == journey:
            conds += [j.goal, j.filter]
    read = {n.event for c in conds for n in walk(c) if isinstance(n, Performed)}
    read |= {j.trigger_event for j in ws.journeys if j.name == journey and j.trigger_event}
    missing = sorted(read - set(sent))
    return (missing, sent) if missing else None
