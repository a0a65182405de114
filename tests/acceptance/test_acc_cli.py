"""SPEC sections 11 and 13: the commands, their exit codes, and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PASSING = """
scenario: passes
shoppers: {ana: {id: cus_1}}
workspace:
  segments: {viewers: {rule: {performed: product_viewed}}}
timeline:
  - {at: 0m, who: ana, track: product_viewed}
expect:
  - {at: 1m, who: ana, in_segment: viewers}
"""

FAILING = """
scenario: fails
shoppers: {ana: {id: cus_1}}
workspace:
  segments: {viewers: {rule: {performed: product_viewed}}}
timeline:
  - {at: 0m, who: ana, track: product_viewed}
expect:
  - {at: 1m, who: ana, not_in_segment: viewers}
"""

GHOST = """
scenario: ghost story
seed: 7
shoppers: {ana: {id: cus_1}}
workspace:
  sources:
    app: {kind: client, latency: {uniform: [1s, 2m]}}
    backend: {kind: server, latency: 2h}
  journeys:
    cart_recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
timeline:
  - {at: 0m, who: ana, device: phone, source: app, identify: true}
  - {at: 1m, who: ana, device: phone, source: app, track: checkout_started}
  - {at: 20m, who: ana, track: order_completed}
expect:
  - {who: ana, journey: cart_recovery, entered: 1}
"""

INVALID = """
scenario: invalid
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, track: a}
  - {at: 1m, who: ana, track: b}
  - {at: 2m, who: ana, track: c}
  - {at: 3m, who: ana, track: d, latency: soon}
"""


def segsim(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys; from simulator.cli import main; sys.argv = ['segsim', *sys.argv[1:]]; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_run_exit_codes(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.yaml", PASSING)
    bad = write(tmp_path, "bad.yaml", FAILING)
    invalid = write(tmp_path, "invalid.yaml", INVALID)
    assert segsim("run", str(ok)).returncode == 0
    failed = segsim("run", str(ok), str(bad))
    assert failed.returncode == 1
    assert "fails" in failed.stdout and "passes" in failed.stdout
    broken = segsim("run", str(invalid), str(ok))
    assert broken.returncode == 2
    assert "passes" in broken.stdout  # the other file still runs
    assert "Traceback" not in broken.stdout + broken.stderr


def test_run_a_folder_prints_a_line_per_scenario_and_a_summary(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", PASSING)
    write(tmp_path, "b.yml", FAILING.replace("scenario: fails", "scenario: also fails"))
    write(tmp_path, "notes.yaml", "just: a mapping\n")
    result = segsim("run", str(tmp_path))
    assert result.returncode == 1
    assert "passes" in result.stdout and "also fails" in result.stdout
    assert "1 passed" in result.stdout and "1 failed" in result.stdout
    # the failure explains itself: expected vs actual
    assert "not in viewers" in result.stdout
    assert "cio_1" in result.stdout or "in viewers" in result.stdout


def test_run_lists_violations_and_strict_fails_on_undocumented_ones(tmp_path: Path) -> None:
    ghost = write(tmp_path, "ghost.yaml", GHOST)
    plain = segsim("run", str(ghost))
    assert plain.returncode == 0
    assert "ghost_abandon" in plain.stdout and "late_arrival" in plain.stdout
    assert segsim("run", "--strict", str(ghost)).returncode == 1
    documented = write(
        tmp_path, "documented.yaml", GHOST + "  - {violation: ghost_abandon, who: ana, cause: late_arrival}\n"
    )
    assert segsim("run", "--strict", str(documented)).returncode == 0


def test_timeline_tells_the_whole_story(tmp_path: Path) -> None:
    ghost = write(tmp_path, "ghost.yaml", GHOST)
    result = segsim("timeline", str(ghost))
    assert result.returncode == 0
    text = result.stdout
    for word in ("sent", "arrived", "journey", "reminder", "ghost_abandon"):
        assert word in text, word


def test_timeline_json_is_a_list_of_records_with_an_instant_and_a_kind(tmp_path: Path) -> None:
    ghost = write(tmp_path, "ghost.yaml", GHOST)
    records = json.loads(segsim("timeline", "--json", str(ghost)).stdout)
    assert isinstance(records, list) and records
    assert all(isinstance(r, dict) and "at" in r and "kind" in r for r in records)
    instants = [r["at"] for r in records]
    assert instants == sorted(instants)
    kinds = {r["kind"] for r in records}
    assert {"sent", "arrived", "violation"} <= kinds


def test_same_files_same_seed_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    ghost = write(tmp_path, "ghost.yaml", GHOST)
    one = segsim("timeline", "--json", str(ghost), env={"PYTHONHASHSEED": "1"})
    two = segsim("timeline", "--json", str(ghost), env={"PYTHONHASHSEED": "987"})
    assert one.returncode == 0 and one.stdout == two.stdout
    three = segsim("run", str(ghost), env={"PYTHONHASHSEED": "5"})
    four = segsim("run", str(ghost), env={"PYTHONHASHSEED": "6"})
    assert three.stdout == four.stdout


def test_check_validates_only(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.yaml", FAILING)  # fails when run, valid to check
    workspace = write(tmp_path, "ws.yaml", "segments: {s: {rule: {performed: x}}}\n")
    assert segsim("check", str(ok), str(workspace)).returncode == 0
    invalid = write(tmp_path, "invalid.yaml", INVALID)
    bad_ws = write(tmp_path, "bad_ws.yaml", "segments: {s: {rule: {performd: x}}}\n")
    result = segsim("check", str(invalid), str(bad_ws))
    assert result.returncode == 2
    assert "performed" in result.stdout + result.stderr


@pytest.mark.parametrize("kind", ["scenario", "workspace"])
def test_schema_prints_a_json_schema(kind: str) -> None:
    result = segsim("schema", kind)
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema.get("type") == "object" or "$ref" in schema or "properties" in schema
    text = result.stdout
    expected = (
        ("scenario", "timeline", "expect", "overrides")
        if kind == "scenario"
        else ("sources", "journeys", "tracking_plan")
    )
    for key in expected:
        assert f'"{key}"' in text


def test_schema_refuses_unknown_keys() -> None:
    schema = json.loads(segsim("schema", "scenario").stdout)
    assert schema.get("additionalProperties") is False or '"additionalProperties": false' in json.dumps(schema)


# ---------------------------------------------------------------- section 13


def test_error_names_file_line_column_key_path_and_expectation(tmp_path: Path) -> None:
    invalid = write(tmp_path, "invalid.yaml", INVALID)
    result = segsim("run", str(invalid))
    out = result.stdout + result.stderr
    assert result.returncode == 2
    assert "invalid.yaml:7:" in out, out
    assert "timeline[3].latency" in out, out
    assert "Traceback" not in out


def test_error_suggests_near_miss_keys_and_names(tmp_path: Path) -> None:
    key = write(
        tmp_path,
        "key_typo.yaml",
        """
        scenario: typos
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0m, who: ana, track: product_viewed, latncy: 5m}
        """,
    )
    name = write(
        tmp_path,
        "name_typo.yaml",
        """
        scenario: typos
        shoppers: {ana: {id: cus_1}}
        workspace:
          segments: {viewers: {rule: {performed: product_viewed}}}
        timeline:
          - {at: 0m, who: ana, track: product_viewed}
        expect:
          - {at: 1m, who: ana, in_segment: viewer}
        """,
    )
    result = segsim("check", str(key), str(name))
    out = result.stdout + result.stderr
    assert result.returncode == 2
    assert "key_typo.yaml:4:" in out and "latency" in out, out
    assert "name_typo.yaml:8:" in out and "viewers" in out, out


def test_nothing_is_half_done_for_an_invalid_file(tmp_path: Path) -> None:
    invalid = write(tmp_path, "invalid.yaml", INVALID)
    result = segsim("timeline", str(invalid))
    assert result.returncode == 2
    assert "arrived" not in result.stdout


def _bomb() -> str:
    lines = ["scenario: bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(9):
        prev, name = chr(97 + i), chr(98 + i)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


HOSTILE = {
    "bomb": _bomb,
    "deep": lambda: "scenario: deep\ndescription: " + "[" * 5000 + "]" * 5000 + "\n",
    "python_tag": lambda: "scenario: !!python/object/apply:os.system ['echo pwned']\n",
    "custom_tag": lambda: "scenario: tagged\nshoppers: !shoppers {ana: {}}\n",
    "huge": lambda: "scenario: huge\ndescription: " + "x" * (21 * 1024 * 1024) + "\n",
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_yaml_is_refused_in_bounded_time(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.yaml"
    path.write_text(HOSTILE[kind]())
    began = time.monotonic()
    result = segsim("check", str(path))
    elapsed = time.monotonic() - began
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[:2000]
    assert "Traceback" not in out
    assert "pwned" not in result.stdout
    assert elapsed < 60  # a guard against a hang, not a speed check
