"""`benchmarks/run.py`'s segment snapshot, through its own functions: the probe
reads the platform's maintained membership at T, and the snapshot agrees only
when that membership, a fresh evaluation and DuckDB's answer are the same."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("duckdb", reason="the benchmark compares with DuckDB: pip install 'segsim[bench]'")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# (the outcome, the plan's start, the snapshot taken at T): run.py's own types
Replayed = tuple[Any, int, Any]


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    """`benchmarks/run.py` as a module (it imports its neighbours by plain name)."""
    neighbours = {"population", "snapshot_sql"} - set(sys.modules)
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCHMARKS))
        spec = importlib.util.spec_from_file_location("bench_run", BENCHMARKS / "run.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        mp.setitem(sys.modules, "bench_run", module)
        spec.loader.exec_module(module)
        yield module
    for name in neighbours:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def replayed(bench: ModuleType) -> Replayed:
    """A small replay with the probe at +30h, when the segment has members."""
    _args, settings = bench.parse_args(["--population", "200", "--snapshot-at", "30h"])
    plan, _ = bench.build_plan(settings)
    outcome, figures, taken = bench.replay(plan, plan.start + settings.snapshot_at)
    assert taken is not None and taken.at == plan.start + settings.snapshot_at
    assert taken.maintained, "the instant must have members for the checks below to mean anything"
    assert figures["snapshot_probe_s"] >= 0
    return outcome, plan.start, taken


def test_the_three_member_sets_agree(bench: ModuleType, replayed: Replayed) -> None:
    _outcome, start, taken = replayed
    sql = bench.cart_abandoners_sql(taken.rows, taken.at)
    figures = bench.snapshot_figures(taken, sql, start)
    assert figures["snapshot_agree"] is True
    assert figures["snapshot_members"] == len(taken.maintained) == len(sql.members)
    assert figures["snapshot_at_s"] == 30 * 3600
    assert figures["snapshot_events"] == len(taken.rows)


def test_any_wrong_member_set_disagrees(bench: ModuleType, replayed: Replayed) -> None:
    _outcome, start, taken = replayed
    sql = bench.cart_abandoners_sql(taken.rows, taken.at)
    stranger = max(taken.maintained) + 1_000_000
    for wrong in (taken.maintained[1:], [*taken.maintained, stranger], []):
        assert bench.snapshot_figures(replace(taken, maintained=wrong), sql, start)["snapshot_agree"] is False
        assert bench.snapshot_figures(replace(taken, fresh=wrong), sql, start)["snapshot_agree"] is False
        theirs = bench.SqlSnapshot(wrong, sql.rows, sql.load_s, sql.query_s)
        assert bench.snapshot_figures(taken, theirs, start)["snapshot_agree"] is False


def test_the_probe_reads_the_platforms_membership(bench: ModuleType, replayed: Replayed) -> None:
    outcome, start, _taken = replayed
    platform = outcome.platform
    members = platform.members_of[bench.SEGMENT]
    before = bench.take_snapshot(platform, 0)
    assert before.maintained == sorted(members)
    sql = bench.cart_abandoners_sql(before.rows, before.at)
    assert bench.snapshot_figures(before, sql, start)["snapshot_agree"] is True
    stranger = max(p.num for p in platform.live_profiles())
    assert stranger not in members, "the test needs a live profile outside the segment"
    members.add(stranger)
    try:
        after = bench.take_snapshot(platform, 0)
        assert after.maintained == sorted(members)
        assert bench.snapshot_figures(after, sql, start)["snapshot_agree"] is False
    finally:
        members.discard(stranger)


def test_a_snapshot_the_replay_never_reaches_is_an_error(bench: ModuleType) -> None:
    _args, settings = bench.parse_args(["--population", "5", "--horizon", "1h", "--tail", "1h", "--replay-only"])
    plan, _ = bench.build_plan(settings)
    with pytest.raises(bench.SnapshotMissed, match="never reached"):
        bench.replay(plan, plan.until + 1)
