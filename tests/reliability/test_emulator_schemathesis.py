"""Schemathesis against the emulator: the Track API's own OpenAPI description
drives generated requests, and no answer may be a 5xx.

Schemathesis is not a dependency of segsim: without it this test is skipped.
Run by hand (see docs/guarantees.md):

    pip install schemathesis
    SEGSIM_TRACK_OPENAPI=path/to/customer-io-track-api-openapi.json \
        pytest tests/reliability/test_emulator_schemathesis.py -m slow
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from simulator.emulator.testing import running_emulator

from .conftest import WORKSPACE

# Customer.io's Track API description is theirs, not shipped here: name it by this variable.
SPEC = Path(os.environ.get("SEGSIM_TRACK_OPENAPI", "customer-io-track-api-openapi.json"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("schemathesis") is None, reason="schemathesis is not installed"),
    pytest.mark.skipif(not SPEC.is_file(), reason=f"no Track API description at {SPEC} (set SEGSIM_TRACK_OPENAPI)"),
]


def test_generated_track_api_requests_never_get_a_5xx() -> None:
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        result = subprocess.run(
            ["schemathesis", "run", str(SPEC), "--url", emu.base_url, "--auth", f"{emu.site_id}:{emu.api_key}"]
            + ["--checks", "not_a_server_error", "--phases", "examples,fuzzing", "--max-examples", "20"]
            + ["--seed", "1", "--workers", "1", "--no-color"],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert emu.get("/now")["now"] == "2026-03-02T09:00:00Z", "the emulator still answers"
    summary = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert summary is not None, result.stdout[-4000:]
    assert summary.group(1) == summary.group(2), result.stdout[-4000:]
    assert int(summary.group(1)) > 100
    assert "Server error" not in result.stdout
