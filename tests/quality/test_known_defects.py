"""Hard bugs must be found and shrunk: workspaces seeded with a known defect
yield their violation within the default budget, shrunk to a short story, and
a clean workspace yields no ghost abandon."""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from simulator.checks.expectations import check_plan
from simulator.scenario.loader import load_plan
from simulator.search.driver import FuzzOptions, search
from simulator.search.witness import write_outputs

WORKSPACES = Path(__file__).parent / "workspaces"


@pytest.mark.parametrize(
    ("workspace", "faults", "invariant", "key"),
    [
        ("late_batch.yaml", False, "no_ghost_abandons", ("ghost_abandon", "cart_recovery", "late_arrival")),
        # a segment-triggered journey: the segment's events open the funnel, timed against its wait
        ("segment_late_batch.yaml", False, "no_ghost_abandons", ("ghost_abandon", "cart_recovery", "late_arrival")),
        (
            "replayed_webhook.yaml",
            True,
            "no_duplicate_entries",
            ("duplicate_entry", "post_purchase", "duplicate_delivery"),
        ),
        ("email_keyed_backend.yaml", True, "no_ghost_abandons", ("ghost_abandon", "cart_recovery", "identity_split")),
        ("exit_never.yaml", False, "no_ghost_abandons", ("ghost_abandon", "cart_recovery", "exit_setting")),
    ],
)
def test_seeded_defect_is_found_and_shrunk(
    workspace: str, faults: bool, invariant: str, key: tuple[str, str, str], tmp_path: Path
) -> None:
    options = FuzzOptions(WORKSPACES / workspace, (invariant,), faults=faults, seed=1)
    report = search(options)
    found = {f.key: f for f in report.findings}
    assert key in found, f"not found in {report.examples} examples; found {sorted(found)}"
    finding = found[key]
    assert len(finding.story["timeline"]) <= 5
    witnesses, _ = write_outputs(report, options, tmp_path)
    written = witnesses[report.findings.index(finding)]
    assert written.replays, written.problem
    assert check_plan(load_plan(written.path), strict=True).passed  # every violation it shows is documented


def test_clean_workspace_has_no_ghost_abandon() -> None:
    report = search(FuzzOptions(WORKSPACES / "clean.yaml", ("no_ghost_abandons",), seed=1))
    assert report.examples >= 200
    assert report.findings == []
    assert report.crashes == []


@contextmanager
def ctrl_c_inside_a_gc_callback() -> Iterator[list[str]]:
    """Press Ctrl-C once, inside the first garbage collection (Python drops an exception raised
    there); the list it yields says whether it was pressed."""
    pressed: list[str] = []

    def press(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and not pressed:
            pressed.append(phase)
            signal.raise_signal(signal.SIGINT)

    gc.callbacks.append(press)
    try:
        yield pressed
    finally:
        gc.callbacks.remove(press)
    assert pressed, "no garbage collection ran during the search"


def test_ctrl_c_that_lands_in_a_garbage_collector_callback_still_stops_the_search() -> None:
    # A Ctrl-C that arrived while Hypothesis's gc callback ran was lost, and `segsim fuzz` ran to its end;
    # Python's "Exception ignored in ... gc callback" traceback for it is not printed either.
    printed: list[BaseException | None] = []
    previous = sys.unraisablehook

    def record(unraisable: Any) -> None:
        printed.append(unraisable.exc_value)

    sys.unraisablehook = record
    try:
        with ctrl_c_inside_a_gc_callback(), pytest.raises(KeyboardInterrupt):
            search(FuzzOptions(WORKSPACES / "clean.yaml", ("no_ghost_abandons",), seed=1, max_examples=300))
    finally:
        hook, sys.unraisablehook = sys.unraisablehook, previous
    assert printed == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert hook is record  # the search gave the caller's hook back


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # when it is not ignored
def test_an_ignored_ctrl_c_stays_ignored_and_the_search_runs_to_its_end() -> None:
    # A shell's background job ignores SIGINT; the search took it back and stopped on it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ctrl_c_inside_a_gc_callback():
            options = FuzzOptions(WORKSPACES / "late_batch.yaml", ("no_ghost_abandons",), seed=1, max_examples=100)
            try:
                report = search(options)
            except KeyboardInterrupt:
                pytest.fail("the search stopped on a Ctrl-C its caller ignores")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
    assert report.findings


def test_a_search_gives_back_the_hypothesis_home_its_caller_set(tmp_path: Path) -> None:
    import hypothesis.configuration

    hypothesis.configuration.set_hypothesis_home_dir(tmp_path)
    try:
        search(FuzzOptions(WORKSPACES / "clean.yaml", ("no_ghost_abandons",), seed=1, max_examples=5))
        stored = hypothesis.configuration.storage_directory("x")  # a Path, or (newer) an object holding one
        assert Path(getattr(stored, "path", stored)) == tmp_path / "x"
    finally:
        hypothesis.configuration.set_hypothesis_home_dir(None)


def test_ctrl_c_in_a_later_round_keeps_what_the_rounds_before_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI job's timeout or a Ctrl-C while round 2 runs: round 1's witnesses are written,
    and the command still exits 130 (interrupted)."""
    from click.testing import CliRunner

    import simulator.search.driver as driver
    from simulator.cli import main

    real = driver._round
    calls: list[int] = []

    def second_interrupted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(driver, "_round", second_interrupted)
    out = tmp_path / "found"
    args = ["fuzz", str(WORKSPACES / "late_batch.yaml"), "--seed", "1", "--invariant", "no_ghost_abandons"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert len(calls) == 2
    assert [p.name for p in out.glob("*.yaml")] == ["ghost_abandon-cart_recovery-late_arrival.yaml"]
    assert "ran " in result.output and "1 distinct failure" in result.output
    assert "interrupted in round 2" in result.stderr
