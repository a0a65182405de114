"""SPEC 3, 14, 15: same files and seed, same bytes, whatever PYTHONHASHSEED,
the run, or (for what-if) the number of worker processes.

Each command runs as a child process with a different PYTHONHASHSEED, so
set and dict ordering that leaked into output would show here.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from .conftest import REPO, WORKSPACE, run_segsim

HASHSEEDS = ("0", "1", "4242")


@pytest.mark.parametrize(
    "scenario",
    ["01_cross_device_checkout.yaml", "05_late_batch_vs_first_reminder.yaml", "14_merge_people_guest_order.yaml"],
)
def test_timeline_json_is_byte_identical_across_hash_seeds(scenario: str) -> None:
    outputs = []
    for seed in HASHSEEDS:
        result = run_segsim(["timeline", "--json", REPO / "scenarios" / scenario], hashseed=seed)
        assert result.returncode in (0, 1), result.stderr
        outputs.append(result.stdout)
    assert outputs[0].startswith("[") and len(outputs[0]) > 1000
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_fuzz_with_a_seed_writes_the_same_files_across_hash_seeds(tmp_path: Path) -> None:
    workspace = REPO / "tests/quality/workspaces/late_batch.yaml"
    out = tmp_path / "out"  # one folder for both runs: the witnesses name it in their replay comment
    trees, outputs = [], []
    for seed in HASHSEEDS[:2]:
        result = run_segsim(["fuzz", workspace, "--seed", "1", "--max-examples", "40", "--out", out], hashseed=seed)
        assert result.returncode == 1, result.stdout + result.stderr
        trees.append(_tree(out))
        outputs.append(result.stdout)
        shutil.rmtree(out)
    assert len(trees[0]) >= 2, "the search should find the late batch's ghost abandon"
    assert trees[1] == trees[0]
    assert outputs[1] == outputs[0]


@pytest.mark.skipif(
    importlib.util.find_spec("simulator.whatif.command") is None, reason="segsim whatif is not installed"
)
def test_whatif_json_is_identical_across_hash_seeds_and_worker_counts(tmp_path: Path) -> None:
    grid = ["--segment", "cart_abandoners", "--window", "30m,1h", "--latency", "backend=0s,batch:30m"]
    grid += ["--population", "150", "--horizon", "1d", "--seed", "3"]
    results = {}
    for seed, workers in (("0", "1"), ("4242", "2")):
        out = tmp_path / f"workers{workers}"
        result = run_segsim(["whatif", WORKSPACE, *grid, "--workers", workers, "--out", out], hashseed=seed)
        assert result.returncode == 0, result.stdout + result.stderr
        results[workers] = ((out / "whatif.json").read_bytes(), (out / "whatif.csv").read_bytes())
    assert b'"recall"' in results["1"][0]
    assert results["2"] == results["1"]
