"""`segsim serve --log` refuses what would corrupt or misread a call log: a
second writer, a resume on the other clock, a start a scenario cannot hold;
and it names `--log` when the file cannot be written.

Each `serve` runs as a real child process (a refusal that regressed would
otherwise serve forever): on a free loopback port, stopped when the test ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from simulator.emulator.calllog import CallLog, LogBusyError, read_log

from .conftest import WORKSPACE, assert_refused, run_segsim, serving

START = "2026-03-02T09:00:00Z"
AUTH = ("segsim-site", "segsim-key")
TIMEOUT = 30.0


def _serve(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_segsim(["serve", "-w", WORKSPACE, "--port", "0", *args], timeout=TIMEOUT)


def test_a_second_serve_on_a_log_being_written_is_refused_and_replay_still_reads_it(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with serving("--log", log, "--clock", "manual", "--start", START) as served:
        httpx.put(f"{served.base_url}/api/v1/customers/cus_1", json={}, auth=AUTH, timeout=TIMEOUT).raise_for_status()
        written = log.read_bytes()
        second = _serve("--log", log, "--clock", "manual")
        assert_refused(second, log, "another segsim serve is writing this log", "stop it or pass another --log")
        if Path("/proc/locks").exists():
            assert f"(pid {served.process.pid})" in second.stderr
        assert log.read_bytes() == written
        replayed = run_segsim(["replay", log], timeout=TIMEOUT)  # readers take no lock
        assert replayed.returncode == 0, replayed.stderr
        assert "1 records replayed" in replayed.stdout
    with serving("--log", log, "--clock", "manual"):  # the lock went with the first server
        pass


def test_the_call_log_itself_refuses_a_second_writer_in_the_same_process(tmp_path: Path) -> None:
    # What holds when /proc/locks cannot tell (another system), or two serves start at once.
    if sys.platform == "win32":
        pytest.skip("no flock on Windows")
    path = tmp_path / "calls.jsonl"
    first = CallLog(path)
    first.write({"kind": "x"})
    try:
        with pytest.raises(LogBusyError, match="another segsim serve is writing this call log"):
            CallLog(path)
        assert path.read_text() == '{"kind":"x"}\n'
    finally:
        first.close()
    CallLog(path).close()


@pytest.mark.parametrize(("written", "given"), [("manual", "wall"), ("wall", "manual")])
def test_resuming_a_log_on_the_other_clock_is_refused(tmp_path: Path, written: str, given: str) -> None:
    log = tmp_path / f"{written}.jsonl"
    start = ["--start", START] if written == "manual" else []
    with serving("--log", log, "--clock", written, *start):
        pass
    before = log.read_bytes()
    result = _serve("--log", log, "--clock", given)
    assert_refused(
        result,
        log,
        f"was written with --clock {written}; resume it with --clock {written} (or pass another --log)",
    )
    assert log.read_bytes() == before


def test_a_start_a_scenario_cannot_hold_is_refused_with_the_range(tmp_path: Path) -> None:
    log = tmp_path / "far.jsonl"
    result = _serve("--clock", "manual", "--start", "9999-12-31T23:59:59Z", "--log", log)
    assert_refused(result, "--start", "1970-01-01T00:00:00Z to 9000-08-29T23:59:59Z")
    assert not log.exists()


def test_the_log_folder_is_made_when_missing(tmp_path: Path) -> None:
    log = tmp_path / "new" / "deeper" / "calls.jsonl"
    with serving("--log", log):
        assert read_log(log).clock == "wall"


def test_a_failed_start_takes_away_the_folders_it_made(tmp_path: Path) -> None:
    result = _serve("--log", tmp_path / "new" / "calls.jsonl", "-w", tmp_path / "missing.yaml")
    assert result.returncode == 2
    assert not (tmp_path / "new").exists()


def test_a_log_under_a_file_is_refused_naming_log(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    result = _serve("--log", tmp_path / "afile" / "calls.jsonl")
    assert_refused(result, "calls.jsonl", "--log", "is a file, not a folder")
    assert "Errno" not in result.stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes any folder")
def test_a_log_in_a_read_only_folder_is_refused_naming_log(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = _serve("--log", folder / "calls.jsonl")
    finally:
        folder.chmod(0o755)
    assert_refused(result, "calls.jsonl", "--log", "not writable")
    assert "Errno" not in result.stderr
