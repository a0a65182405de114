"""Tracking-plan lint and the ship-it gate (SPEC section 17).

`segsim lint` checks a workspace against its own tracking plan, scenario
timelines against the plan, and event logs (segsim's call log, Data
Pipelines exports, Track API v2 operations) streamed line by line.
`segsim gate` turns the same checks and a run of the scenarios into a
pass/fail checklist before a journey goes live.
"""

from __future__ import annotations

from simulator.lint.findings import Finding, FindingSink
from simulator.lint.gate import GateItem, run_gate
from simulator.lint.lint_run import lint_paths

__all__ = ["Finding", "FindingSink", "GateItem", "lint_paths", "run_gate"]
