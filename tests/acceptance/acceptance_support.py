"""Run scenario text the way an outside team would, from the SPEC alone.

`outcome_of` loads a scenario and checks its `expect:` list; `explain` turns
failed expectations into a readable assertion message.
"""

from __future__ import annotations

import textwrap
from typing import Any

from simulator.checks.expectations import ScenarioResult, check_plan
from simulator.model.plan import Plan
from simulator.scenario.loader import load_plan_text

__all__ = ["arrivals", "explain", "outcome_of", "passes", "plan_of", "trace_of"]


def plan_of(text: str) -> Plan:
    return load_plan_text(textwrap.dedent(text), "acceptance.yaml")


def outcome_of(text: str, strict: bool = False) -> ScenarioResult:
    return check_plan(plan_of(text), strict=strict)


def explain(result: ScenarioResult) -> str:
    lines = [f"expected {r.expected}; got {r.actual}" for r in result.failures]
    lines += [f"violation: {v.kind} {v.who} {v.journey} {v.message} ({v.cause})" for v in result.violations]
    return "\n".join(lines)


def passes(text: str, strict: bool = False) -> ScenarioResult:
    """Every expectation of the scenario holds (and the file loads)."""
    result = outcome_of(text, strict=strict)
    assert result.results, "the scenario has no expectation"
    assert result.passed, explain(result)
    return result


def trace_of(result: ScenarioResult, kind: str) -> list[dict[str, Any]]:
    return [r for r in result.outcome.platform.trace.records if r["kind"] == kind]


def arrivals(result: ScenarioResult) -> list[tuple[int, str | None, int]]:
    """(seconds after start, event name, copy) of every delivery processed."""
    start = result.plan.start
    return [(r["at"] - start, r.get("event"), r["copy"]) for r in trace_of(result, "arrived")]
