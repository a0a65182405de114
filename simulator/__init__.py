"""segsim: a debug-segment simulator and test harness for retention journeys.

The public API, grouped (imported on first use, so `import simulator` and
`segsim --help` stay light):

- files: `load_plan`, `load_plan_text`, `load_workspace`, `InputError`, `SegsimError`
- running: `simulate`, `check_plan`, `Outcome`, `ScenarioResult`
- findings: `Violation`, `find_violations`
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simulator._version import __version__

if TYPE_CHECKING:
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

_HOME = {
    "InputError": "simulator.scenario.errors",
    "SegsimError": "simulator.scenario.errors",
    "load_plan": "simulator.scenario.loader",
    "load_plan_text": "simulator.scenario.loader",
    "load_workspace": "simulator.scenario.loader",
    "Outcome": "simulator.pipeline",
    "simulate": "simulator.pipeline",
    "ScenarioResult": "simulator.checks.expectations",
    "check_plan": "simulator.checks.expectations",
    "Violation": "simulator.checks.violations",
    "find_violations": "simulator.checks.violations",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'simulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
