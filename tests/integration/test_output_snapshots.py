"""Whole CLI outputs pinned by snapshots: what a retention engineer reads must
not drift silently. Update on purpose with `pytest --snapshot-update`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from syrupy.assertion import SnapshotAssertion

from simulator.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def test_run_of_a_documented_failure(snapshot: SnapshotAssertion) -> None:
    assert invoke("run", "scenarios/05_late_batch_vs_first_reminder.yaml") == snapshot


def test_run_of_a_failing_story_explains_itself(snapshot: SnapshotAssertion) -> None:
    assert invoke("run", "docs/tutorial/my_story.yaml") == snapshot


def test_timeline_text(snapshot: SnapshotAssertion) -> None:
    assert invoke("timeline", "scenarios/01_cross_device_checkout.yaml") == snapshot


def test_check_of_a_broken_file(snapshot: SnapshotAssertion) -> None:
    assert invoke("check", "tests/bad_input/corpus/unknown_step_key.yaml") == snapshot
