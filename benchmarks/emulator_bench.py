"""Throughput and latency of the local Customer.io emulator, driven by the official clients.

    python benchmarks/emulator_bench.py [--calls 2000] [--threads 4]

Prints calls per second and latency percentiles for the Track API client
(`customerio.track.CustomerIO`) and the Data Pipelines client
(`customerio.analytics.Client`, synchronous), each against a fresh emulator
on the D2C fixture workspace with a call log.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from simulator.emulator.testing import running_emulator

WORKSPACE = Path(__file__).resolve().parents[1] / "fixtures/workspaces/dtc_store.yaml"


def _track_call(emu: Any) -> Callable[[int, int], None]:
    clients: dict[int, Any] = {}

    def call(worker: int, i: int) -> None:
        client = clients.get(worker) or clients.setdefault(worker, emu.track_client())
        client.track(f"cus_{worker}_{i % 50}", "product_viewed", {"product_id": f"p_{i}", "category": "coffee"})

    return call


def _pipelines_call(emu: Any) -> Callable[[int, int], None]:
    clients: dict[int, Any] = {}

    def call(worker: int, i: int) -> None:
        client = clients.get(worker) or clients.setdefault(worker, emu.analytics_client())
        client.track(f"cus_{worker}_{i % 50}", "product_viewed", {"product_id": f"p_{i}", "category": "coffee"})

    return call


def measure(name: str, make: Callable[[Any], Callable[[int, int], None]], calls: int, threads: int) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        running_emulator(
            WORKSPACE, log=Path(folder) / "calls.jsonl", clock="manual", start="2026-03-02T09:00:00Z"
        ) as emu,
    ):
        call = make(emu)
        per_thread = calls // threads
        latencies: list[list[float]] = [[] for _ in range(threads)]

        def worker(n: int) -> None:
            for i in range(per_thread):
                began = time.perf_counter()
                call(n, i)
                latencies[n].append(time.perf_counter() - began)

        began = time.perf_counter()
        pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.perf_counter() - began
        flat = sorted(x for xs in latencies for x in xs)
        events = sum(p["events"] for p in emu.get("/profiles")["profiles"])
    done = len(flat)

    def pct(q: float) -> float:
        return flat[min(done - 1, int(q * done))] * 1000

    print(
        f"{name:<28} {done:>6} calls  {threads} threads  {done / elapsed:8.0f} calls/s  "
        f"p50 {pct(0.50):6.2f} ms  p99 {pct(0.99):6.2f} ms  max {flat[-1] * 1000:6.2f} ms  (events held: {events})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    for threads in sorted({1, args.threads}):
        measure("track API (CustomerIO)", _track_call, args.calls, threads)
        measure("pipelines (analytics sync)", _pipelines_call, args.calls, threads)


if __name__ == "__main__":
    main()
