"""`benchmarks/scaling.py`: one row of figures per population, each run in its
own process, and a failed population reported with its reason while the others
still run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "scaling.py"

# Stands in for run.py: figures for most populations, a different failure for a few.
STAND_IN = """
import json, os, signal, sys, time
n = int(sys.argv[sys.argv.index("--population") + 1])
assert "--replay-only" in sys.argv and "--json" in sys.argv
if n == 13:
    sys.exit("error: thirteen is unlucky")
if n == 14:
    raise MemoryError
if n == 15:
    os.kill(os.getpid(), signal.SIGKILL)
if n == 16:
    time.sleep(30)
if n == 17:
    print("no figures today")
    sys.exit(0)
print("progress")
print(json.dumps({
    "shoppers": n, "deliveries": 10 * n, "replay_s": n / 1000, "replay_cpu_s": n / 1000,
    "deliveries_per_s": 10000, "deliveries_per_cpu_s": 10000, "peak_rss_mb": 50.0,
    "replay_rss_mb": 10.0, "bytes_per_delivery": 2000, "generate_s": 0.1,
}))
"""


def run_scaling(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def data_rows(stdout: str) -> list[list[str]]:
    rows = [line for line in stdout.splitlines() if line.startswith("| ")][1:]  # after the heading
    return [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]


def test_two_small_populations_make_two_rows_of_figures() -> None:
    done = run_scaling("--populations", "100,200")
    assert done.returncode == 0, done.stderr
    rows = data_rows(done.stdout)
    assert [row[0] for row in rows] == ["100", "200"]
    for row in rows:
        assert len(row) == 8
        assert all(re.fullmatch(r"[\d,]+(\.\d+)?( s| MB)?", cell) for cell in row), row
    assert re.search(r"100 -> 200 shoppers: [\d.]+x the deliveries took [\d.]+x the CPU", done.stdout)


def test_a_failed_population_is_reported_and_the_others_still_run(tmp_path: Path) -> None:
    stand_in = tmp_path / "stand_in.py"
    stand_in.write_text(STAND_IN)
    done = run_scaling("--populations", "100,13,14,15,16,17,300", "--timeout", "2", "--run-script", str(stand_in))
    assert done.returncode == 1
    rows = {row[0]: row[1] for row in data_rows(done.stdout)}
    assert list(rows) == ["100", "13", "14", "15", "16", "17", "300"]
    assert rows["100"] == "1,000" and rows["300"] == "3,000"
    assert rows["13"] == "failed: exit status 1: error: thirteen is unlucky"
    assert rows["14"] == "failed: out of memory (MemoryError)"
    assert rows["15"].startswith("failed: killed by SIGKILL")
    assert rows["16"] == "failed: timed out after 2 s"
    assert rows["17"] == "failed: no JSON object on the last line of its output"
    assert "100 -> 300 shoppers: 3.0x the deliveries took 3.0x the CPU (1.00x the CPU per delivery)" in done.stdout


def test_json_prints_every_row(tmp_path: Path) -> None:
    stand_in = tmp_path / "stand_in.py"
    stand_in.write_text(STAND_IN)
    done = run_scaling("--populations", "100,13", "--json", "--run-script", str(stand_in))
    assert done.returncode == 1
    rows = json.loads(done.stdout)
    assert [(row["population"], row["ok"]) for row in rows] == [(100, True), (13, False)]
    assert rows[0]["deliveries"] == 1000 and rows[0]["failure"] is None
    assert rows[1]["failure"].startswith("exit status 1")


def test_help_documents_the_stand_in_script() -> None:
    done = run_scaling("--help")
    assert done.returncode == 0
    assert "--run-script" in done.stdout and "--timeout" in done.stdout


def test_bad_populations_are_a_usage_error() -> None:
    done = run_scaling("--populations", "100,zero")
    assert done.returncode == 2
    assert "--populations" in done.stderr and "Traceback" not in done.stderr
