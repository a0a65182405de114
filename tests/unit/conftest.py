"""Fixtures for the engine tests: small inline scenarios, loaded, simulated and judged."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simulator.checks.expectations import ScenarioResult, check_plan
from simulator.model.plan import Plan
from simulator.pipeline import Outcome, simulate
from simulator.scenario.loader import load_plan_text

# Stories the tests read, refused when run (a story that never ends): not test items.
collect_ignore_glob = ["stories/*"]


@pytest.fixture
def load(tmp_path: Path) -> Callable[[str], Plan]:
    """YAML text (indented as you like) -> a compiled `Plan`."""

    def run(text: str) -> Plan:
        return load_plan_text(textwrap.dedent(text), "<test>", tmp_path)

    return run


@pytest.fixture
def play(load: Callable[[str], Plan]) -> Callable[..., Outcome]:
    """YAML text -> the simulation's `Outcome`."""

    def run(text: str, **kwargs: Any) -> Outcome:
        return simulate(load(text), **kwargs)

    return run


@pytest.fixture
def judge(load: Callable[[str], Plan]) -> Callable[..., ScenarioResult]:
    """YAML text -> the checked `ScenarioResult` (expectations and violations)."""

    def run(text: str, strict: bool = False) -> ScenarioResult:
        return check_plan(load(text), strict=strict)

    return run
