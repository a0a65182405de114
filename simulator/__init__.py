"""segsim: a debug-segment simulator and test harness for retention journeys.

The public API, grouped:

- files: `load_plan`, `load_workspace`, `InputError`
- running: `simulate`, `check_plan`, `Outcome`, `ScenarioResult`
- findings: `Violation`, `find_violations`
"""

from __future__ import annotations

from simulator._version import __version__
from simulator.checks.expectations import ScenarioResult, check_plan
from simulator.checks.violations import Violation, find_violations
from simulator.pipeline import Outcome, simulate
from simulator.scenario.errors import InputError, SegsimError
from simulator.scenario.loader import load_plan, load_plan_text, load_workspace

__all__ = [
    # files
    "InputError",
    "SegsimError",
    "load_plan",
    "load_plan_text",
    "load_workspace",
    # running
    "Outcome",
    "ScenarioResult",
    "check_plan",
    "simulate",
    # findings
    "Violation",
    "find_violations",
    "__version__",
]
