"""Shared bounds for the reliability tests: every hostile input is fed to a
real `segsim` process with a wall-clock timeout and an address-space limit,
so a hang or a memory blow-up fails the test instead of the machine."""

from __future__ import annotations

import os
import queue
import resource
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
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


@dataclass
class Served:
    process: subprocess.Popen[str]
    base_url: str
    banner: list[str]


@contextmanager
def serving(*args: str | Path) -> Iterator[Served]:
    """`segsim serve -w WORKSPACE --port 0 ARGS` until the block ends (killed if still alive then)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONHASHSEED="0")
    command = [sys.executable, "-m", "simulator.cli", "serve", "--workspace", str(WORKSPACE), "--port", "0"]
    process = subprocess.Popen(
        [*command, *map(str, args)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put("")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    banner: list[str] = []
    try:
        while True:
            line = lines.get(timeout=30)
            banner.append(line)
            if not line or "Track API" in line:
                break
        assert banner[-1], "serve exited before listening:\n" + "".join(banner)
        base = banner[-1].split()[2].removesuffix("/api/v1")
        # The whole banner is printed before the server accepts its first connection.
        httpx.get(f"{base}/_segsim/now", timeout=30).raise_for_status()
        while True:
            try:
                banner.append(lines.get(timeout=0.3))
            except queue.Empty:
                break
        yield Served(process, base, banner)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        reader.join(timeout=30)
        assert process.stdout is not None
        process.stdout.close()
