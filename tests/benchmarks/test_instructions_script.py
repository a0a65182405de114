"""`benchmarks/instructions.py`: the replay's instructions are those of a run
that generates and replays less those of a run that only generates, per
delivery; no valgrind, or a failed run, is said plainly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "instructions.py"

# Stands in for valgrind: runs the command after the options and reports its instructions
# as callgrind does on stderr: 1000 for generating only, 1000 plus 7 per delivery replayed.
FAKE_VALGRIND = """#!{python}
import subprocess, sys
command = [a for a in sys.argv[1:] if not a.startswith("--")]
done = subprocess.run(command, capture_output=True, text=True)
sys.stdout.write(done.stdout)
if {fail}:
    sys.stderr.write("==1== out of memory\\n")
    sys.exit(1)
deliveries = int(done.stdout.split()[-1])
sys.stderr.write(f"==1== Events    : Ir\\n==1== Collected : {{1000 + 7 * deliveries}}\\n")
"""


def run_script(
    tmp_path: Path, *args: str, valgrind: bool = True, fail: bool = False
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if valgrind:
        fake = bin_dir / "valgrind"
        fake.write_text(FAKE_VALGRIND.format(python=sys.executable, fail=fail))
        fake.chmod(0o755)
    env = os.environ | {"PATH": str(bin_dir)}  # the script and the fake run Python by its full path
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_the_replay_is_the_difference_of_the_two_runs_per_delivery(tmp_path: Path) -> None:
    done = run_script(tmp_path, "--population", "20", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["deliveries"] > 20  # every shopper sends several events
    assert figures["generate_instructions"] == 1000
    assert figures["replay_instructions"] == 7 * figures["deliveries"]
    assert figures["instructions_per_delivery"] == 7
    assert (figures["population"], figures["seed"]) == (20, 0)


def test_without_valgrind_it_says_what_to_install(tmp_path: Path) -> None:
    done = run_script(tmp_path, "--population", "20", valgrind=False)
    assert done.returncode == 2
    assert "valgrind is not installed" in done.stderr


def test_a_failed_run_is_reported_with_what_valgrind_said(tmp_path: Path) -> None:
    done = run_script(tmp_path, "--population", "20", fail=True)
    assert done.returncode == 1
    assert "the run under valgrind failed" in done.stderr and "out of memory" in done.stderr
    assert "Traceback" not in done.stderr
