"""`benchmarks/layers.py`: the same deliveries replayed through the D2C fixture
whole, without journeys, and without journeys or segments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "layers.py"


def test_each_layer_replays_the_same_deliveries_with_less_of_the_model() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--population", "60", "--runs", "1", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    layers = figures["layers"]
    assert [layer["layer"] for layer in layers] == [
        "whole workspace",
        "without journeys",
        "without journeys or segments",
    ]
    assert figures["deliveries"] > 0
    # Journeys add run and step records, segments add entered and left ones.
    whole, no_journeys, plumbing = (layer["trace_records"] for layer in layers)
    assert whole > no_journeys > plumbing > 0
    for layer in layers:
        assert layer["replay_cpu_s"] > 0
        rate = figures["deliveries"] / layer["replay_cpu_s"]
        assert abs(layer["deliveries_per_cpu_s"] - rate) <= 0.01 * rate


def test_a_stripped_workspace_is_compiled_from_what_is_left() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import layers
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    whole = layers.stripped(())
    plumbing = layers.stripped(("journeys", "segments"))
    assert whole.segments and whole.journeys and whole.windows
    assert (plumbing.segments, plumbing.journeys, plumbing.windows, plumbing.ages) == ((), (), (), ())
    assert plumbing.sources == whole.sources
