"""The emulator loses nothing it acknowledged: concurrent load, `kill -9`
mid-load, and a restart of `serve` on the same call log.

`segsim serve` runs as a real child process on a free loopback port; client
threads load it; afterwards every call answered 2xx must be in the log, in
`segsim replay`'s platform, and (for live checks) in the inspection API.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from simulator.emulator.calllog import read_log
from simulator.emulator.replay import replay_log
from simulator.scenario.loader import load_workspace

from .conftest import WORKSPACE, Served, run_segsim
from .conftest import serving as serve_process

START = "2026-03-02T09:00:00Z"
AUTH = ("segsim-site", "segsim-key")


def serving(log: Path, *extra: str) -> AbstractContextManager[Served]:
    """`segsim serve` on a free port with a manual clock and `log`; killed (if still alive) when the block ends."""
    return serve_process("--log", log, "--clock", "manual", "--start", START, *extra)


@dataclass
class Load:
    """Client threads identifying distinct customers; `acked` holds the ids answered 2xx."""

    base_url: str
    threads: int
    calls: int
    prefix: str = "c"
    acked: list[list[str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def run(self, stop_after: int | None = None, on_stop: object = None) -> None:
        self.acked = [[] for _ in range(self.threads)]
        reached = threading.Event()

        def worker(n: int) -> None:
            with httpx.Client(base_url=self.base_url, auth=AUTH, timeout=30) as http:
                for i in range(self.calls):
                    customer = f"{self.prefix}{n}-{i}"
                    try:
                        response = http.put(f"/api/v1/customers/{customer}", json={"email": f"{customer}@example.com"})
                    except httpx.HTTPError as exc:
                        if stop_after is None:
                            self.failures.append(repr(exc))
                        return
                    if response.status_code != 200:
                        self.failures.append(f"{customer}: {response.status_code} {response.text}")
                        return
                    self.acked[n].append(customer)
                    if stop_after is not None and sum(map(len, self.acked)) >= stop_after:
                        reached.set()

        workers = [threading.Thread(target=worker, args=(n,)) for n in range(self.threads)]
        for thread in workers:
            thread.start()
        if stop_after is not None:
            assert reached.wait(timeout=120), "the load never reached the kill point"
            assert callable(on_stop)
            on_stop()
        for thread in workers:
            thread.join(timeout=120)

    @property
    def all_acked(self) -> set[str]:
        return {customer for ids in self.acked for customer in ids}


def _logged_customers(log: Path) -> set[str]:
    found = set()
    for record in read_log(log).records:
        for op in record.get("ops", []):
            if op.get("ref", [None])[0] == "id":
                found.add(op["ref"][1])
    return found


def _replayed_customers(log: Path) -> set[str]:
    session = replay_log(read_log(log), load_workspace(WORKSPACE)[0])
    return {p.id for p in session.platform.live_profiles() if p.id is not None}


@pytest.mark.slow
def test_concurrent_load_every_acknowledged_call_is_logged_and_applied(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with serving(log) as served:
        load = Load(served.base_url, threads=8, calls=2000)
        load.run()
        assert load.failures == []
        profiles = httpx.get(f"{served.base_url}/_segsim/profiles", timeout=60).json()["profiles"]
    acked = load.all_acked
    assert len(acked) == 8 * 2000
    assert {p["id"] for p in profiles} == acked
    assert _logged_customers(log) == acked
    assert _replayed_customers(log) == acked


def test_kill_9_mid_load_loses_no_acknowledged_call(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with serving(log) as served:
        load = Load(served.base_url, threads=6, calls=2000)
        load.run(stop_after=1500, on_stop=lambda: os.kill(served.process.pid, signal.SIGKILL))
        assert served.process.wait(timeout=30) == -signal.SIGKILL
    acked = load.all_acked
    assert 1500 <= len(acked) < 6 * 2000
    logged = _logged_customers(log)
    assert acked <= logged, f"{len(acked - logged)} acknowledged calls are missing from the log"
    assert len(logged - acked) <= 6, "at most one logged-but-unanswered call per client"
    result = run_segsim(["replay", log, "--workspace", WORKSPACE])
    assert result.returncode == 0, result.stderr
    assert f"{len(read_log(log).records)} records replayed" in result.stdout
    assert acked <= _replayed_customers(log)


def test_serve_resumes_an_existing_log_after_a_crash_and_never_truncates_it(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with serving(log) as first:
        before = Load(first.base_url, threads=2, calls=20, prefix="a")
        before.run()
        httpx.post(f"{first.base_url}/_segsim/advance", params={"by": "2h"}).raise_for_status()
        first.process.send_signal(signal.SIGKILL)
    # The crash also cut a line short mid-write: a request never answered.
    with log.open("a", encoding="utf-8") as fh:
        fh.write('{"kind":"request","n":999,"at":17672')
    written = log.read_bytes()
    torn_line = written.count(b"\n") + 1

    with serving(log) as second:
        notes = "".join(second.banner)
        assert "resumed         41 records replayed" in notes
        assert f"calls.jsonl:{torn_line} was cut short by a crash" in notes
        now = httpx.get(f"{second.base_url}/_segsim/now").json()["now"]
        assert now == "2026-03-02T11:00:00Z", "the manual clock resumes where the log left it"
        after = Load(second.base_url, threads=2, calls=20, prefix="b")
        after.run()
        assert after.failures == []
        held = {p["id"] for p in httpx.get(f"{second.base_url}/_segsim/profiles").json()["profiles"]}
        assert held == before.all_acked | after.all_acked
        second.process.send_signal(signal.SIGTERM)
        second.process.wait(timeout=30)

    resumed = log.read_bytes()
    assert resumed.startswith(written), "the earlier log must be kept byte for byte"
    records = [json.loads(line) for line in resumed.decode().splitlines()[torn_line:]]
    assert records[0]["kind"] == "resume" and records[0]["torn_line"] == torn_line
    assert [r["n"] for r in records] == list(range(42, 42 + len(records)))
    replayed = run_segsim(["replay", log, "--workspace", WORKSPACE])
    assert replayed.returncode == 0, replayed.stderr
    assert _replayed_customers(log) == before.all_acked | after.all_acked
    linted = run_segsim(["lint", WORKSPACE, log, "--format", "json"])
    assert not [f for f in json.loads(linted.stdout) if f["rule"] == "malformed-line"]


def test_serve_refuses_to_resume_a_file_that_is_not_a_call_log(tmp_path: Path) -> None:
    log = tmp_path / "notes.jsonl"
    log.write_text('{"type": "track", "userId": "u", "event": "x"}\n', "utf-8")
    result = run_segsim(["serve", "--workspace", WORKSPACE, "--port", "0", "--log", log])
    assert result.returncode == 2
    assert "notes.jsonl:1: expected a JSON object with a 'kind' key" in result.stderr
    assert "left untouched" in result.stderr and "Traceback" not in result.stderr
    assert log.read_text("utf-8") == '{"type": "track", "userId": "u", "event": "x"}\n'


def test_serve_on_a_busy_port_writes_no_call_log(tmp_path: Path) -> None:
    """A start that fails leaves nothing a retry would resume."""
    log = tmp_path / "calls.jsonl"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_segsim(["serve", "--workspace", WORKSPACE, "--port", str(port), "--log", log])
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    assert not log.exists()
