"""The grid of a what-if sweep: parsing `--window` and `--latency` values, and
the workspace each cell replays against.

A cell's workspace is the team's workspace with the segment's `within`
replaced (every one, or the one of `--window-of EVENT`) and each varied
source's latency model replaced. Segments and journeys the sweep does not
look at, and that nothing it looks at reads, are left out of the replay (see
`cell_workspace`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

from simulator.model.conditions import AttributeTest, Cond, InSegment, Performed, map_performed, walk
from simulator.model.config import (
    JourneyDef,
    LatencyModel,
    SegmentDef,
    WorkspaceConfig,
    builtin_source,
    journey_conditions,
)
from simulator.model.time import clock_reading_hint, format_duration, parse_duration

__all__ = [
    "Cell",
    "GridError",
    "Grid",
    "cell_workspace",
    "describe_latency",
    "measured_windows",
    "parse_latency",
    "parse_windows",
    "plan_grid",
]


class GridError(ValueError):
    """A `--window`, `--latency`, `--segment` or `--journey` value segsim cannot use."""


@dataclass(frozen=True, slots=True)
class Cell:
    index: int
    window: int
    latencies: tuple[tuple[str, LatencyModel], ...]  # (source, model) in `--latency` order

    def label(self) -> str:
        parts = [f"window {format_duration(self.window)}"]
        parts += [f"{source} {describe_latency(model)}" for source, model in self.latencies]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Grid:
    segment: str
    journey: str | None
    window_of: str | None
    windows: tuple[int, ...]
    sources: tuple[str, ...]
    cells: tuple[Cell, ...]

    def workspace(self, base: WorkspaceConfig, cell: Cell) -> WorkspaceConfig:
        return cell_workspace(base, self, cell)

    def latency_flags(self) -> list[str]:
        """Each `--latency` flag as the rows write its values (`backend=1h1m,3d`
        for `backend=61m,72h`), in the order given, repeated values once."""
        flags = []
        for i, source in enumerate(self.sources):
            values = dict.fromkeys(describe_latency(cell.latencies[i][1]) for cell in self.cells)
            flags.append(f"{source}={','.join(values)}")
        return flags


_LATENCY_HINT = "use 0s, 5m (fixed), batch:30m, batch:30m+2m (every 30m, 2m delay), uniform:1s-2m or exponential:5m"


def comma_items(option: str, text: str) -> list[str]:
    """The comma-separated values of `text`, from the option written `option` (`--window '1h,,2h'`).

    An empty value (`1h,,2h`, `1h,`) is a value lost on the way, refused."""
    values = [v.strip() for v in text.split(",")]
    if any(values) and not all(values):
        position = values.index("") + 1
        raise GridError(f"{option}: item {position} is empty; remove the extra comma or write the missing value")
    return [v for v in values if v]


def parse_windows(text: str) -> tuple[int, ...]:
    values = comma_items(f"--window {text!r}", text)
    if not values:
        raise GridError("--window: give at least one duration, e.g. --window 15m,30m,1h,2h")
    out = []
    for value in values:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise GridError(f"--window {value!r}: {exc}") from None
        if seconds == 0:
            raise GridError(f"--window {value!r}: a window must be longer than 0s")
        out.append(seconds)
    return tuple(dict.fromkeys(out))


def parse_latency(value: str) -> LatencyModel:
    """`0s`, `5m`, `batch:30m`, `batch:30m+2m`, `uniform:1s-2m`, `exponential:5m` -> a latency model."""
    text = value.strip()
    kind, _, rest = text.partition(":")
    try:
        if not rest:
            return LatencyModel("fixed", parse_duration(text))
        if kind == "batch":
            every, plus, delay = rest.partition("+")
            seconds = parse_duration(every)
            if seconds == 0:
                raise ValueError("a batch interval must be longer than 0s")
            return LatencyModel("batch", seconds, 0, parse_duration(delay) if plus else 0)
        if kind == "uniform":
            low, _, high = rest.partition("-")
            a, b = parse_duration(low), parse_duration(high)
            if b < a:
                raise ValueError(f"uniform:{rest}: the lower bound is above the upper one")
            return LatencyModel("uniform", a, b)
        if kind in ("exponential", "exp"):
            return LatencyModel("exponential", parse_duration(rest))
    except ValueError as exc:
        raise GridError(f"latency {value!r}: {exc} ({_LATENCY_HINT})") from None
    hint = clock_reading_hint(text)  # `1:30` is a clock reading, not a model named `1`
    if hint:
        raise GridError(f"latency {value!r}: not a duration{hint}")
    raise GridError(f"latency {value!r}: unknown latency model {kind!r} ({_LATENCY_HINT})")


def describe_latency(model: LatencyModel) -> str:
    """The inverse of `parse_latency`: how the value is written on the command line and in the outputs."""
    if model.kind == "fixed":
        return format_duration(model.a)
    if model.kind == "batch":
        return f"batch:{format_duration(model.a)}" + (f"+{format_duration(model.c)}" if model.c else "")
    if model.kind == "uniform":
        return f"uniform:{format_duration(model.a)}-{format_duration(model.b)}"
    return f"exponential:{format_duration(model.a)}"


def _parse_latency_flag(flag: str) -> tuple[str, tuple[LatencyModel, ...]]:
    source, sep, values = flag.partition("=")
    if not sep or not source.strip() or not values.strip():
        raise GridError(f"--latency {flag!r}: expected SOURCE=VALUE[,VALUE...], e.g. --latency backend=0s,5m,batch:30m")
    models = tuple(parse_latency(v) for v in comma_items(f"--latency {flag!r}", values))
    if not models:
        raise GridError(f"--latency {flag!r}: give at least one value, e.g. --latency {source.strip()}=0s,batch:30m")
    return source.strip(), tuple(dict.fromkeys(models))


def _suggest(word: str, choices: list[str]) -> str:
    from simulator.scenario.errors import did_you_mean

    hint = did_you_mean(word, choices)
    return f" ({hint})" if hint else ""


def plan_grid(
    ws: WorkspaceConfig,
    segment: str,
    windows: str,
    latencies: tuple[str, ...],
    journey: str | None = None,
    window_of: str | None = None,
) -> Grid:
    """Check the options against the workspace and lay out the cells, windows outermost."""
    segments = {s.name: s for s in ws.segments}
    if segment not in segments:
        raise GridError(f"--segment: the workspace has no segment {segment!r}{_suggest(segment, list(segments))}")
    if journey is not None and journey not in {j.name for j in ws.journeys}:
        names = [j.name for j in ws.journeys]
        raise GridError(f"--journey: the workspace has no journey {journey!r}{_suggest(journey, names)}")
    windowed = [n for n in walk(segments[segment].rule) if isinstance(n, Performed) and n.within is not None]
    if not windowed:
        raise GridError(
            f"--segment {segment}: its rule has no `within` for --window to replace "
            f"(choose a segment with a time window, e.g. one with `performed: ..., within: 2h`)"
        )
    if window_of is not None and not any(n.event == window_of for n in windowed):
        events = sorted({n.event for n in windowed})
        raise GridError(
            f"--window-of: no `within` of segment {segment!r} counts {window_of!r}{_suggest(window_of, events)}"
        )
    parsed_windows = parse_windows(windows)
    if not latencies:
        raise GridError("--latency: give at least one, e.g. --latency backend=0s,5m,batch:30m")
    flags = [_parse_latency_flag(f) for f in latencies]
    sources: list[str] = []
    for name, _models in flags:
        if name in sources:
            raise GridError(f"--latency {name}=...: this source is given twice; list all its values in one flag")
        if name not in ws.sources and builtin_source(name) is None:
            raise GridError(f"--latency: the workspace has no source {name!r}{_suggest(name, list(ws.sources))}")
        sources.append(name)
    cells: list[Cell] = []
    for window in parsed_windows:
        for combo in itertools.product(*(models for _name, models in flags)):
            cells.append(Cell(len(cells), window, tuple(zip(sources, combo, strict=True))))
    return Grid(segment, journey, window_of, parsed_windows, tuple(sources), tuple(cells))


def _rewindow(cond: Cond, window: int, event: str | None) -> Cond:
    return map_performed(
        cond,
        lambda p: replace(p, within=window) if p.within is not None and (event is None or p.event == event) else p,
    )


def _needed_segments(ws: WorkspaceConfig, roots: set[str]) -> set[str]:
    by_name = {s.name: s for s in ws.segments}
    needed: set[str] = set()
    todo = sorted(roots)
    while todo:
        name = todo.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        todo += [n.segment for n in walk(by_name[name].rule) if isinstance(n, InSegment)]
    return needed


def _roots(grid: Grid, kept: tuple[JourneyDef, ...]) -> set[str]:
    """The swept segment and the segments the `kept` journeys trigger on or read."""
    found = {grid.segment} | {j.trigger_segment for j in kept if j.trigger_segment}
    for cond in journey_conditions(kept):
        found |= {n.segment for n in walk(cond) if isinstance(n, InSegment)}
    return found


def measured_windows(base: WorkspaceConfig, grid: Grid, window: int) -> list[int]:
    """The `within`s of what a cell with this window measures: the swept segment
    (rewindowed), the segments it reads, and the `--journey`'s trigger segment
    and conditions. (Not those of journeys kept only because they may `update`
    an attribute: their windows change nothing the sweep reports.)"""
    journeys = tuple(j for j in base.journeys if j.name == grid.journey)
    needed = _needed_segments(base, _roots(grid, journeys))
    conds = [
        _rewindow(s.rule, window, grid.window_of) if s.name == grid.segment else s.rule
        for s in base.segments
        if s.name in needed
    ]
    conds += list(journey_conditions(journeys))
    return [n.within for c in conds for n in walk(c) if isinstance(n, Performed) and n.within is not None]


def cell_workspace(base: WorkspaceConfig, grid: Grid, cell: Cell) -> WorkspaceConfig:
    """The workspace one cell replays against: the swept segment rewindowed, the
    varied sources' latencies replaced, and only what the swept segment and
    journey depend on kept. A journey depends on the segments its trigger,
    filter, goal and steps read; when anything kept reads an attribute, every
    journey is kept (one may `update` it), with the segments they read."""
    journeys = tuple(j for j in base.journeys if j.name == grid.journey)

    needed = _needed_segments(base, _roots(grid, journeys))
    kept_conditions = [s.rule for s in base.segments if s.name in needed] + list(journey_conditions(journeys))
    if any(isinstance(n, AttributeTest) for c in kept_conditions for n in walk(c)):
        journeys = base.journeys  # a journey's `update` may write what is read
        needed = _needed_segments(base, _roots(grid, journeys))
    segments: list[SegmentDef] = []
    for seg in base.segments:
        if seg.name not in needed:
            continue
        if seg.name == grid.segment:
            seg = replace(seg, rule=_rewindow(seg.rule, cell.window, grid.window_of))
        segments.append(seg)
    windows: set[int] = set()
    ages: set[int] = set()
    for cond in [s.rule for s in segments] + list(journey_conditions(journeys)):
        for n in walk(cond):
            if isinstance(n, Performed) and n.within is not None:
                windows.add(n.within)
                if n.negative:
                    ages.add(n.within)
    sources = dict(base.sources)
    for name, model in cell.latencies:
        source = sources.get(name) or builtin_source(name)
        assert source is not None
        sources[name] = replace(source, latency=model)
    return base.but(
        sources=sources,
        segments=tuple(segments),
        journeys=journeys,
        windows=tuple(sorted(windows)),
        ages=tuple(sorted(ages)),
    )
