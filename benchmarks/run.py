"""The engine benchmark: replay a synthetic population through the D2C fixture,
read one segment snapshot during the replay and compare it with a
hand-written DuckDB query, and time the front ends.

    python benchmarks/run.py --population 10000            # figures, JSON on the last line
    python benchmarks/run.py --population 200 --json       # the JSON object only
    python benchmarks/run.py --population 100000 --replay-only --json   # generate and replay only
    python benchmarks/run.py --population 10000 --profile replay.prof   # where the replay's time goes

Figures (keys of the JSON object):

- `deliveries`, `replay_s`, `deliveries_per_s`: `simulator.pipeline.simulate`
  on one `Plan` holding every shopper's sends (all segments, all journeys),
  less the snapshot probe's own time (`snapshot_probe_s`);
- `replay_cpu_s`, `deliveries_per_cpu_s`: the same in CPU time, steadier than
  wall time on a shared machine (less `snapshot_probe_cpu_s`);
- `peak_rss_mb` (the process's peak resident set), `replay_rss_mb` (what the
  replay added to it, less what the snapshot probe kept:
  `snapshot_probe_rss_mb`) and `bytes_per_delivery` (that, per delivery held);
- `floor_s`, `replay_over_floor`: the same deliveries through a loop that
  only looks each profile up in a dict (the cyclic collector off, as in the
  replay): the cost of Python itself;
- `snapshot_segsim_s`, `snapshot_duckdb_s`, `snapshot_ratio`: membership of
  `cart_abandoners` at instant T (`--snapshot-at`), taken during the replay
  by a probe at T. segsim's snapshot is a read of the membership the platform
  maintains (`Platform.members_of`); DuckDB's is the SQL in `snapshot_sql.py`
  over the events the live profiles hold at T (`snapshot_events` rows),
  queried after the replay. Best of three each; loading the table is
  `snapshot_duckdb_load_s`;
- `snapshot_eval_s`, `snapshot_eval_ratio`: the rule evaluated afresh on
  every live profile at T (best of three), beside the read;
- `snapshot_members`, `snapshot_agree`: true only when the maintained
  membership, the fresh evaluation and DuckDB's answer are the same members;
- `snapshot_probe_s`, `snapshot_probe_cpu_s`: everything the probe did at T
  (the reads, the evaluations, copying the events out for DuckDB);
- `fuzz_examples_per_s`: the fuzz search on the fixture with a fixed budget;
- `cli_help_s`, `suite_s`: `segsim --help` and `segsim run scenarios/` as
  subprocesses.

`--replay-only` generates and replays without the probe, then stops after
the floor: the figures `scaling.py` collects, and no DuckDB needed.

Everything is seeded; the figures vary only with the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from population import population_plan
from snapshot_sql import EventRow, SqlSnapshot, cart_abandoners_sql

from simulator.model.conditions import View, holds
from simulator.model.plan import Plan
from simulator.model.time import DEFAULT_START, parse_duration, parse_instant
from simulator.pipeline import Outcome, simulate
from simulator.platform.engine import Platform
from simulator.scenario.errors import InputError
from simulator.scenario.loader import load_workspace

ROOT = Path(__file__).resolve().parent.parent
D2C = ROOT / "fixtures" / "workspaces" / "dtc_store.yaml"
SEGMENT = "cart_abandoners"
SNAPSHOT_PROBE = 0  # the snapshot's index among the replay's probes


@dataclass(frozen=True, slots=True)
class Settings:
    population: int
    seed: int
    horizon: int
    tail: int
    snapshot_at: int
    fuzz_examples: int

    def until(self, start: int) -> int:
        return start + self.horizon + self.tail


# ---------------------------------------------------------------- memory


def current_rss_mb() -> float:
    """The resident set now (Linux `/proc`), else the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


# ---------------------------------------------------------------- the figures


def build_plan(settings: Settings) -> tuple[Plan, float]:
    ws, _ = load_workspace(D2C)
    start = parse_instant(DEFAULT_START)
    began = time.perf_counter()
    plan = population_plan(
        ws, settings.population, start=start, horizon=settings.horizon, until=settings.until(start), seed=settings.seed
    )
    return plan, time.perf_counter() - began


class SnapshotMissed(Exception):
    """The replay ended before the snapshot's instant."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """`cart_abandoners` at one instant of the replay, as the probe found it."""

    at: int
    maintained: list[int]  # read from the platform's membership index
    maintained_s: float
    fresh: list[int]  # the rule evaluated on every live profile
    fresh_s: float
    rows: list[EventRow]  # the events the live profiles held, for DuckDB
    wall_s: float  # the probe's own cost, taken out of the replay's figures
    cpu_s: float
    rss_mb: float


def take_snapshot(platform: Platform, _index: int, repeat: int = 3) -> Snapshot:
    """The probe at T: read the maintained membership, evaluate the rule afresh,
    copy out the events; each timing is the best of `repeat`."""
    began, began_cpu, rss = time.perf_counter(), time.process_time(), current_rss_mb()
    ws = platform.ws
    read_s = float("inf")
    maintained: list[int] = []
    for _ in range(repeat):
        t = time.perf_counter()
        maintained = sorted(platform.members_of[SEGMENT])
        read_s = min(read_s, time.perf_counter() - t)
    rule = next(seg.rule for seg in ws.segments if seg.name == SEGMENT)
    live = platform.live_profiles()
    eval_s = float("inf")
    fresh: list[int] = []
    for _ in range(repeat):
        t = time.perf_counter()
        fresh = [
            p.num
            for p in live
            if holds(
                rule,
                View(
                    now=platform.now,
                    events=p.events,
                    attributes=p.attributes,
                    age_start=p.age_start,
                    in_segment=p.segments.__contains__,
                    coerce=ws.coerce,
                    needs_age=ws.negative_window_needs_age,
                ),
            )
        ]
        eval_s = min(eval_s, time.perf_counter() - t)
    rows: list[EventRow] = [(p.num, e.name, e.ts, e.proc) for p in live for e in p.events]
    return Snapshot(
        at=platform.now,
        maintained=maintained,
        maintained_s=read_s,
        fresh=fresh,
        fresh_s=eval_s,
        rows=rows,
        wall_s=time.perf_counter() - began,
        cpu_s=time.process_time() - began_cpu,
        rss_mb=max(0.0, current_rss_mb() - rss),
    )


def replay(plan: Plan, snapshot_at: int | None = None) -> tuple[Outcome, dict[str, Any], Snapshot | None]:
    """`simulate(plan)`, timed; with `snapshot_at`, the snapshot probe runs at that
    instant and its own cost is taken out of the figures."""
    probes = [] if snapshot_at is None else [(snapshot_at, SNAPSHOT_PROBE, take_snapshot)]
    gc.collect()
    before = current_rss_mb()
    began, began_cpu = time.perf_counter(), time.process_time()
    outcome = simulate(plan, probes=probes)
    replay_s = time.perf_counter() - began
    replay_cpu_s = time.process_time() - began_cpu
    peak = peak_rss_mb()
    taken: Snapshot | None = None
    kept_mb = 0.0
    if snapshot_at is not None:
        taken = outcome.probes.get(SNAPSHOT_PROBE)
        if taken is None:
            raise SnapshotMissed(
                f"the replay ended at +{outcome.end - plan.start} s and never reached the snapshot at "
                f"+{snapshot_at - plan.start} s: pass a --snapshot-at within --horizon plus --tail"
            )
        replay_s -= taken.wall_s
        replay_cpu_s -= taken.cpu_s
        kept_mb = taken.rss_mb
    deliveries = len(outcome.deliveries)
    grown = max(0.0, peak - before - kept_mb)
    platform = outcome.platform
    figures = {
        "shoppers": len(plan.shoppers),
        "sends": len(plan.sends),
        "deliveries": deliveries,
        "replay_s": round(replay_s, 3),
        "deliveries_per_s": round(deliveries / replay_s) if replay_s > 0 else None,
        "replay_cpu_s": round(replay_cpu_s, 3),
        "deliveries_per_cpu_s": round(deliveries / replay_cpu_s) if replay_cpu_s > 0 else None,
        "peak_rss_mb": round(peak, 1),
        "replay_rss_mb": round(grown, 1),
        "bytes_per_delivery": round(grown * 2**20 / deliveries) if deliveries else None,
        "profiles": len(platform.profiles),
        "live_profiles": len(platform.live_profiles()),
        "runs": len(platform.runs),
        "messages": len(platform.messages),
        "trace_records": len(platform.trace),  # counted, not turned into dicts
    }
    if taken is not None:
        figures |= {
            "snapshot_probe_s": round(taken.wall_s, 3),
            "snapshot_probe_cpu_s": round(taken.cpu_s, 3),
            "snapshot_probe_rss_mb": round(taken.rss_mb, 1),
        }
    return outcome, figures, taken


def floor(outcome: Outcome) -> float:
    """The same deliveries through the least a replay must do: find the profile.

    Without the cyclic collector, as `simulate` runs the replay: otherwise the
    first full collection over the replay's heap lands in this loop."""
    profiles: dict[str, list[Any]] = {}
    collecting = gc.isenabled()
    gc.disable()
    try:
        began = time.perf_counter()
        for delivery in outcome.deliveries:
            send = delivery.send
            key = send.user_id or send.email or send.anonymous_id or ""
            held = profiles.get(key)
            if held is None:
                held = profiles[key] = []
            held.append(delivery)
        return time.perf_counter() - began
    finally:
        if collecting:
            gc.enable()


def significant(value: float, digits: int = 3) -> float:
    """`value` to `digits` significant figures: a read of a few members takes microseconds."""
    return float(f"{value:.{digits}g}")


def snapshot_figures(taken: Snapshot, sql: SqlSnapshot, start: int) -> dict[str, Any]:
    """The snapshot's figures; it agrees only when the three member lists are the same."""
    maintained, fresh, theirs = sorted(taken.maintained), sorted(taken.fresh), sorted(sql.members)
    return {
        "snapshot_at_s": taken.at - start,
        "snapshot_events": sql.rows,
        "snapshot_members": len(maintained),
        "snapshot_segsim_s": significant(taken.maintained_s),
        "snapshot_eval_s": significant(taken.fresh_s),
        "snapshot_duckdb_s": significant(sql.query_s),
        "snapshot_duckdb_load_s": significant(sql.load_s),
        "snapshot_ratio": significant(taken.maintained_s / sql.query_s) if sql.query_s else None,
        "snapshot_eval_ratio": significant(taken.fresh_s / sql.query_s) if sql.query_s else None,
        "snapshot_agree": maintained == fresh == theirs,
    }


def fuzz_rate(examples: int, seed: int) -> dict[str, Any]:
    """The fuzz search on the fixture (no faults) with a fixed budget: examples per second."""
    from simulator.search.driver import FuzzOptions, search

    began = time.perf_counter()
    report = search(FuzzOptions(D2C, max_examples=examples, seed=seed))
    elapsed = time.perf_counter() - began
    return {
        "fuzz_examples": report.examples,
        "fuzz_s": round(elapsed, 3),
        "fuzz_examples_per_s": round(report.examples / elapsed, 1) if elapsed else None,
    }


def segsim_command() -> list[str]:
    found = shutil.which("segsim")
    return [found] if found else [sys.executable, "-m", "simulator.cli"]


def timed_command(*args: str) -> tuple[float, int]:
    began = time.perf_counter()
    done = subprocess.run([*segsim_command(), *args], cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - began, done.returncode


def front_ends() -> dict[str, Any]:
    help_s, _ = timed_command("--help")
    suite_s, suite_exit = timed_command("run", "scenarios/")
    return {"cli_help_s": round(help_s, 3), "suite_s": round(suite_s, 3), "suite_exit": suite_exit}


# ---------------------------------------------------------------- profile


def profile_replay(plan: Plan, out: Path, top: int) -> dict[str, Any]:
    """The replay under cProfile: stats written to `out`, the top functions by own time."""
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    outcome = simulate(plan)
    profiler.disable()
    elapsed = time.perf_counter() - began
    profiler.dump_stats(str(out))
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values()) or 1.0
    # Inclusive shares are of the replay itself (cProfile's own bookkeeping makes the sums disagree a little).
    whole = max((entry[3] for entry in stats.values()), default=0.0) or 1.0

    def label(key: tuple[str, int, str]) -> str:
        file, line, func = key
        if file == "~":
            return func
        return f"{Path(file).relative_to(ROOT) if file.startswith(str(ROOT)) else Path(file).name}:{line}({func})"

    by_own = sorted(stats.items(), key=lambda kv: (-kv[1][2], label(kv[0])))[:top]
    by_total = sorted(
        ((k, v) for k, v in stats.items() if k[0].startswith(str(ROOT / "simulator"))),
        key=lambda kv: (-kv[1][3], label(kv[0])),
    )[:top]
    return {
        "deliveries": len(outcome.deliveries),
        "profiled_replay_s": round(elapsed, 3),
        "own_time": [
            {"function": label(k), "calls": v[1], "own_s": round(v[2], 3), "share": round(v[2] / total, 4)}
            for k, v in by_own
        ],
        "inclusive_time": [
            {"function": label(k), "calls": v[1], "total_s": round(v[3], 3), "share": round(v[3] / whole, 4)}
            for k, v in by_total
        ],
    }


# ---------------------------------------------------------------- the command


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Settings]:
    parser = argparse.ArgumentParser(description="Replay, snapshot and front-end figures for segsim.")
    parser.add_argument("--population", type=int, default=10_000, help="shoppers (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizon", default="3d", help="how long the shoppers live (default 3d)")
    parser.add_argument(
        "--tail", default="75d", help="replay this long after the horizon, so 60-day segments move (default 75d)"
    )
    parser.add_argument(
        "--snapshot-at", default="36h", help="offset from start of the cart_abandoners snapshot (default 36h)"
    )
    parser.add_argument("--fuzz-examples", type=int, default=200, help="fuzz budget (default 200)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    parser.add_argument(
        "--replay-only",
        action="store_true",
        help="generate and replay only: no snapshot, fuzz or front ends (what scaling.py runs)",
    )
    parser.add_argument("--profile", type=Path, help="profile the replay instead, writing cProfile stats here")
    parser.add_argument("--top", type=int, default=20, help="functions listed by --profile (default 20)")
    args = parser.parse_args(argv)
    if args.population < 1:
        parser.error("--population must be at least 1")
    try:
        settings = Settings(
            population=args.population,
            seed=args.seed,
            horizon=parse_duration(args.horizon),
            tail=parse_duration(args.tail),
            snapshot_at=parse_duration(args.snapshot_at),
            fuzz_examples=args.fuzz_examples,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if not args.replay_only and args.profile is None and settings.snapshot_at > settings.horizon + settings.tail:
        parser.error(
            f"--snapshot-at {args.snapshot_at} is after the replay's last instant "
            f"(--horizon {args.horizon} plus --tail {args.tail})"
        )
    return args, settings


def say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    args, settings = parse_args(argv)
    quiet = bool(args.json)
    full = not args.replay_only and args.profile is None
    if full and importlib.util.find_spec("duckdb") is None:
        print(
            "error: the snapshot is compared with DuckDB, which is not installed: "
            "pip install 'segsim[bench]' (or pass --replay-only)",
            file=sys.stderr,
        )
        return 2
    try:
        plan, generate_s = build_plan(settings)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    say(quiet, f"{settings.population} shoppers: {len(plan.sends)} sends generated in {generate_s:.2f} s")
    if args.profile is not None:
        figures = profile_replay(plan, args.profile, args.top)
        say(quiet, f"profiled replay: {figures['profiled_replay_s']:.2f} s, stats in {args.profile}")
        for row in figures["own_time"]:
            say(quiet, f"  {row['share']:6.1%} {row['own_s']:8.2f} s {row['calls']:>9}  {row['function']}")
        print(json.dumps(figures, sort_keys=True))
        return 0

    figures = {"population": settings.population, "generate_s": round(generate_s, 3)}
    try:
        outcome, replayed, taken = replay(plan, plan.start + settings.snapshot_at if full else None)
    except SnapshotMissed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    figures |= replayed
    say(quiet, f"replay: {replayed['deliveries']} deliveries in {replayed['replay_s']:.2f} s")
    floor_s = floor(outcome)
    figures |= {
        "floor_s": round(floor_s, 6),
        "replay_over_floor": round(replayed["replay_s"] / floor_s) if floor_s else None,
    }
    del outcome
    gc.collect()
    if taken is not None:
        figures |= snapshot_figures(taken, cart_abandoners_sql(taken.rows, taken.at), plan.start)
        say(quiet, f"snapshot: {figures['snapshot_members']} members, agree={figures['snapshot_agree']}")
        del taken
        figures |= fuzz_rate(settings.fuzz_examples, settings.seed)
        figures |= front_ends()
    if not quiet:
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            print(f"  {key:<{width}} {value}")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
