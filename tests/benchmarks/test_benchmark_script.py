"""Smoke test of `benchmarks/run.py`: a small population end to end, one JSON
object on the last line with every figure, and the segment snapshot agreeing
with the hand-written DuckDB query; `--replay-only`; usage errors."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

needs_duckdb = pytest.mark.skipif(
    importlib.util.find_spec("duckdb") is None,
    reason="the benchmark compares with DuckDB: pip install 'segsim[bench]'",
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "run.py"

KEYS = {
    "deliveries",
    "replay_s",
    "deliveries_per_s",
    "peak_rss_mb",
    "bytes_per_delivery",
    "floor_s",
    "replay_over_floor",
    "snapshot_segsim_s",
    "snapshot_eval_s",
    "snapshot_duckdb_s",
    "snapshot_ratio",
    "snapshot_eval_ratio",
    "snapshot_members",
    "snapshot_agree",
    "snapshot_probe_s",
    "snapshot_probe_cpu_s",
    "fuzz_examples_per_s",
    "cli_help_s",
    "suite_s",
}

REPLAY_KEYS = {
    "shoppers",
    "deliveries",
    "replay_s",
    "replay_cpu_s",
    "deliveries_per_s",
    "deliveries_per_cpu_s",
    "peak_rss_mb",
    "replay_rss_mb",
    "bytes_per_delivery",
    "generate_s",
    "floor_s",
}


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


@needs_duckdb
def test_small_population_prints_every_figure_and_agrees_with_duckdb() -> None:
    done = run_script("--population", "200", "--fuzz-examples", "1", "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, "--json prints the JSON object only"
    figures = json.loads(lines[-1])
    assert KEYS <= set(figures), KEYS - set(figures)
    assert figures["shoppers"] == 200
    assert figures["deliveries"] >= figures["shoppers"]
    assert figures["replay_s"] > 0 and figures["deliveries_per_s"] > 0
    assert figures["floor_s"] > 0 and figures["replay_over_floor"] >= 1
    assert figures["peak_rss_mb"] > 0
    assert figures["snapshot_agree"] is True
    assert figures["snapshot_events"] > 0
    assert figures["snapshot_members"] >= 0
    assert figures["snapshot_segsim_s"] >= 0 and figures["snapshot_eval_s"] > 0 and figures["snapshot_duckdb_s"] > 0
    assert figures["snapshot_probe_s"] >= figures["snapshot_eval_s"]
    assert figures["fuzz_examples"] >= 1 and figures["fuzz_examples_per_s"] > 0
    assert figures["suite_exit"] == 0
    assert figures["cli_help_s"] > 0 and figures["suite_s"] > 0


def test_same_seed_same_population() -> None:
    spec = importlib.util.spec_from_file_location("bench_population", SCRIPT.parent / "population.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    population_plan = module.population_plan
    from simulator.model.time import DEFAULT_START, parse_instant
    from simulator.scenario.loader import load_workspace

    ws, _ = load_workspace(ROOT / "fixtures" / "workspaces" / "dtc_store.yaml")
    start = parse_instant(DEFAULT_START)

    def fingerprint(seed: int) -> list[tuple[int, int, str, str | None, str | None]]:
        plan = population_plan(ws, 30, start=start, horizon=86_400, until=None, seed=seed)
        assert [s.seq for s in plan.sends] == list(range(1, len(plan.sends) + 1))
        assert [s.at for s in plan.sends] == sorted(s.at for s in plan.sends)
        return [(s.seq, s.at, s.call, s.shopper, s.name) for s in plan.sends]

    assert fingerprint(0) == fingerprint(0)
    assert fingerprint(0) != fingerprint(1)


def test_bad_population_is_a_usage_error() -> None:
    done = run_script("--population", "0", "--json")
    assert done.returncode == 2
    assert "--population" in done.stderr
    assert "Traceback" not in done.stderr


def test_replay_only_prints_the_replay_figures_and_nothing_else() -> None:
    done = run_script("--population", "100", "--replay-only", "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[-1])
    assert REPLAY_KEYS <= set(figures), REPLAY_KEYS - set(figures)
    assert figures["shoppers"] == 100 and figures["deliveries"] >= 100
    assert not [key for key in figures if key.startswith(("snapshot_", "fuzz_", "cli_", "suite_"))]


def test_a_snapshot_after_the_last_instant_is_a_usage_error() -> None:
    done = run_script("--population", "10", "--horizon", "1d", "--tail", "1d", "--snapshot-at", "49h", "--json")
    assert done.returncode == 2
    assert "--snapshot-at" in done.stderr and "last instant" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
