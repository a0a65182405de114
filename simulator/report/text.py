"""Plain-text reports: the `segsim run` summary and each failure's explanation."""

from __future__ import annotations

from typing import Any

from simulator.checks.expectations import Result, ScenarioResult
from simulator.report.story import describe, story_records

__all__ = ["explain_failure", "render_violations", "scenario_line", "story_lines"]

_SLICE_KINDS = {
    "sent",
    "arrived",
    "dropped",
    "duplicate_ignored",
    "profile_created",
    "profile_merged",
    "segment_entered",
    "segment_left",
    "journey_entered",
    "journey_exited",
    "message_sent",
    "entry_held",
    "entry_refused",
    "entry_expired",
    "identity_conflict",
    "merge_ignored",
    "journey_open",
    "violation",
}


def scenario_line(res: ScenarioResult) -> str:
    total = len(res.results)
    failed = len(res.failures)
    status = "PASS" if res.passed else "FAIL"
    detail = f"{total} expectation{'s' if total != 1 else ''}"
    if failed:
        detail = f"{failed} of {total} expectations failed"
    elif res.strict and res.unexpected:
        detail += f", {len(res.unexpected)} unexpected violation(s) under --strict"
    if res.violations:
        detail += f", {len(res.violations)} violation{'s' if len(res.violations) != 1 else ''}"
    return f"{status}  {res.plan.name}  ({res.plan.file})  {detail}"


def render_violations(res: ScenarioResult) -> list[str]:
    lines = []
    for v in res.violations:
        where = f" {v.journey}" if v.journey else ""
        where += f"/{v.message}" if v.message else ""
        documented = "" if v in res.unexpected else " (expected)"
        lines.append(f"    violation {v.kind} {v.who}{where} cause {v.cause}{documented}: {v.explanation}")
    return lines


def story_lines(records: list[dict[str, Any]], shoppers: tuple[str, ...] | None = None, limit: int = 40) -> list[str]:
    chosen = [
        r
        for r in records
        if r["kind"] in _SLICE_KINDS and (not shoppers or r.get("who") in shoppers or r.get("who") is None)
    ]
    lines = [f"{r['offset']:>10}  {describe(r)}" for r in chosen]
    if len(lines) > limit:
        lines = lines[:limit] + [f"{'':>10}  ... {len(chosen) - limit} more (segsim timeline FILE)"]
    return lines


def explain_failure(res: ScenarioResult, result: Result) -> list[str]:
    e = result.expect
    lines = [
        f"  {e.file}:{e.line}  {e.source_text}",
        f"    expected: {result.expected}",
        f"    actual:   {result.actual}",
    ]
    records = story_lines(story_records(res.outcome, res.violations), result.shoppers or None)
    if records:
        lines.append("    the story that decided it:")
        lines += ["      " + line for line in records]
    return lines
