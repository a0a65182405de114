"""Running a what-if sweep: every partition of the population through every cell.

The unit of work is one partition (with `--workers` above 1: one partition
and one window, or one cell when that leaves workers idle): its sends are
generated, the ideal segment is computed once per window, and the partition
is replayed for every cell of the job. Jobs are independent, so a process
pool runs them in any order; their tallies are added up in partition and
cell order, which makes the figures the same whatever `workers`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from functools import cached_property
from multiprocessing import get_context
from typing import Any

from simulator.model.calls import Send
from simulator.model.config import JourneyDef, WorkspaceConfig
from simulator.model.values import fold_name, read_generously, tests_pass
from simulator.whatif.grid import Cell, Grid, cell_workspace, describe_latency, measured_windows
from simulator.whatif.metrics import Tally, figures

__all__ = ["Sweep", "SweepResult", "die_with_parent", "run_sweep", "sweep_partition"]


@dataclass(frozen=True)
class Sweep:
    """Everything a worker needs to replay one partition (picklable)."""

    workspace: WorkspaceConfig
    grid: Grid
    population: int
    horizon: int
    seed: int
    start: int

    @property
    def partitions(self) -> int:
        from simulator.whatif.population import PARTITION_SIZE

        return -(-self.population // PARTITION_SIZE)

    @property
    def journey(self) -> JourneyDef | None:
        """The journey `--journey` names, if any."""
        return next((j for j in self.workspace.journeys if j.name == self.grid.journey), None)

    @property
    def worst_latency(self) -> int:
        """The longest any call of any cell takes to arrive (an exponential's: five means)."""
        models = [m for c in self.grid.cells for _s, m in c.latencies]
        models += [s.latency for s in self.workspace.sources.values()]
        return max((m.worst_case if m.worst_case is not None else 5 * m.a for m in models), default=0)

    @cached_property
    def end(self) -> int:
        """Where every replay stops: the horizon plus room for every window of what
        the sweep measures to close (`grid.measured_windows`: the swept ones and
        those left as written; a `not_performed ... within: 7d` lets a shopper in
        only once their profile is 7 days old), the last deliveries to land and,
        with `--journey`, the last run of the journey to send its last message.
        The same end for every cell, so a cell's figures do not depend on the
        other cells."""
        from simulator.platform.rules import run_span

        worst = self.worst_latency
        read = [w for window in self.grid.windows for w in measured_windows(self.workspace, self.grid, window)]
        widest = max([*self.grid.windows, *read])
        run = run_span(self.journey) if self.journey is not None else 0
        return self.start + self.horizon + widest + worst + self.workspace.filter_retry + run


@dataclass
class SweepResult:
    sweep: Sweep
    tallies: list[Tally]

    def rows(self) -> list[dict[str, Any]]:
        """One row per cell: segment, window, each varied source's latency, then the figures."""
        from simulator.model.time import format_duration

        grid = self.sweep.grid
        out = []
        for cell, tally in zip(grid.cells, self.tallies, strict=True):
            row: dict[str, Any] = {"segment": grid.segment}
            if grid.journey is not None:
                row["journey"] = grid.journey
            row["window"] = format_duration(cell.window)
            for source, model in cell.latencies:
                row[f"latency_{source}"] = describe_latency(model)
            row.update(figures(tally, grid.journey))
            out.append(row)
        return out


def _triggers(sends: list[Send], journey: JourneyDef) -> int:
    """Real trigger events of an event-triggered journey, read generously (the ground truth)."""
    if journey.trigger_event is None:
        return 0
    name = fold_name(journey.trigger_event)
    count = 0
    for s in sends:
        if s.call == "track" and fold_name(s.name or "") == name:
            props = read_generously(s.properties)
            if tests_pass(journey.trigger_where, props, props, True):
                count += 1
    return count


def sweep_partition(sweep: Sweep, partition: int, only: tuple[int, ...] | None = None) -> list[Tally]:
    """One partition's tally for every cell (or the cells numbered `only`), in cell order."""
    from simulator.checks.violations import find_violations
    from simulator.pipeline import simulate
    from simulator.whatif.ideal import ideal_memberships
    from simulator.whatif.metrics import compare, memberships
    from simulator.whatif.population import partition_plan

    grid, end = sweep.grid, sweep.end
    plan = partition_plan(
        sweep.workspace,
        seed=sweep.seed,
        partition=partition,
        population=sweep.population,
        start=sweep.start,
        horizon=sweep.horizon,
        until=end,
    )
    journey = sweep.journey
    triggers = _triggers(plan.sends, journey) if journey is not None else 0
    tallies: list[Tally] = []
    for window in grid.windows:
        cells: list[Cell] = [c for c in grid.cells if c.window == window and (only is None or c.index in only)]
        if not cells:
            continue
        ideal = ideal_memberships(
            replace(plan, workspace=cell_workspace(sweep.workspace, grid, cells[0])), grid.segment, end
        )
        for cell in cells:
            cell_plan = replace(plan, workspace=cell_workspace(sweep.workspace, grid, cell))
            outcome = simulate(cell_plan)
            tally = compare(ideal, memberships(outcome.platform, grid.segment, end), len(plan.shoppers))
            if journey is not None:
                tally.trigger_events = triggers
                for v in find_violations(outcome):
                    if v.journey != journey.name:
                        continue
                    if v.kind == "ghost_abandon":
                        tally.ghost_abandons += 1
                    elif v.kind == "missed_entry":
                        tally.missed_entries += 1
                    elif v.kind == "duplicate_entry":
                        tally.duplicate_entries += 1
                    else:
                        continue
                    tally.causes[v.cause] = tally.causes.get(v.cause, 0) + 1
            tallies.append(tally)
    return tallies


def die_with_parent() -> None:
    """A worker's initializer: end the worker when the process that started it
    is gone (killed by SIGTERM or SIGHUP, which reach it alone), instead of
    sleeping on as an orphan that holds the parent's output pipes open."""
    import multiprocessing
    import os
    import threading
    import time

    # The starter's own pid, even when it died while this worker was still starting up
    # (then this worker is already someone else's child, and ends at once).
    starter = multiprocessing.parent_process()
    parent = starter.pid if starter is not None and starter.pid is not None else os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="segsim-parent-watch", daemon=True).start()


def _job(args: tuple[Sweep, int, tuple[int, ...] | None]) -> tuple[int, tuple[int, ...] | None, list[Tally]]:
    sweep, partition, only = args
    return partition, only, sweep_partition(sweep, partition, only)


def run_sweep(sweep: Sweep, workers: int = 1, on_job: Callable[[int, int], None] | None = None) -> SweepResult:
    """Replay every partition through every cell; `on_job(done, total)` reports progress.

    With one worker, a job is a partition through every cell. With more, a job
    is a partition through the cells of one window (they share the ideal
    segment), or through one cell when that still leaves workers idle. Tallies
    are added up in partition order and cell order: the figures are the same
    whatever `workers`."""
    grid = sweep.grid
    groups: list[tuple[int, ...] | None] = [None]
    if workers > 1:
        groups = [tuple(c.index for c in grid.cells if c.window == w) for w in grid.windows]
        if sweep.partitions * len(groups) < workers:
            groups = [(c.index,) for c in grid.cells]
    jobs = [(sweep, p, group) for p in range(sweep.partitions) for group in groups]
    by_cell: dict[tuple[int, int], Tally] = {}
    done: list[int] = []

    def finished(partition: int, only: tuple[int, ...] | None, tallies: list[Tally]) -> None:
        cells = only if only is not None else tuple(c.index for c in grid.cells)
        for index, tally in zip(cells, tallies, strict=True):
            by_cell[(partition, index)] = tally
        done.append(partition)
        if on_job is not None:
            on_job(len(done), len(jobs))

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            finished(*_job(job))
    else:
        context = get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=die_with_parent) as pool:
            futures = [pool.submit(_job, job) for job in jobs]
            for future in as_completed(futures):
                finished(*future.result())
    totals = [Tally() for _ in grid.cells]
    for partition in range(sweep.partitions):
        for cell in grid.cells:
            totals[cell.index].add(by_cell[(partition, cell.index)])
    return SweepResult(sweep, totals)
