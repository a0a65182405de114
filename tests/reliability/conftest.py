"""Shared bounds for the reliability tests: every hostile input is fed to a
real `segsim` process with a wall-clock timeout and an address-space limit,
so a hang or a memory blow-up fails the test instead of the machine."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
WORKSPACE = REPO / "fixtures/workspaces/dtc_store.yaml"
MEMORY_LIMIT = 2 * 1024**3  # 2 GB of address space for each segsim process
TIMEOUT = 60.0

Segsim = Callable[..., subprocess.CompletedProcess[str]]


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash is a failure, not a core file


def run_segsim(
    args: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    timeout: float = TIMEOUT,
    hashseed: str = "0",
) -> subprocess.CompletedProcess[str]:
    """`segsim ARGS` in a bounded child process; a timeout raises (and fails the test)."""
    env = dict(os.environ, PYTHONHASHSEED=hashseed, COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *map(str, args)],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        preexec_fn=_limit_memory,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], file: Path | str, *words: str, code: int = 2) -> None:
    """Exit `code`, the file named in the output, the words present, no traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == code, f"exit {result.returncode}, expected {code}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert Path(file).name in output, output[-3000:]
    for word in words:
        assert word in output, f"{word!r} not in:\n{output[-3000:]}"


@pytest.fixture
def segsim() -> Segsim:
    return run_segsim
