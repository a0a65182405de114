"""Plain-text reports: the `segsim run` summary and each failure's explanation."""

from __future__ import annotations

from typing import Any

from simulator.checks.expectations import Result, ScenarioResult
from simulator.model.time import parse_instant
from simulator.report.story import describe, story_records

__all__ = [
    "explain_failure",
    "failure_lines",
    "failure_text",
    "record_shoppers",
    "render_violations",
    "scenario_line",
    "story_lines",
]

_SLICE_KINDS = {
    "sent",
    "arrived",
    "dropped",
    "duplicate_ignored",
    "profile_created",
    "profile_merged",
    "profile_deleted",
    "identifier_replaced",
    "attributes_updated",
    "run_moved",
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


def render_violations(res: ScenarioResult, only_unexpected: bool = False) -> list[str]:
    lines = []
    for v in res.unexpected if only_unexpected else res.violations:
        where = f" {v.journey}" if v.journey else ""
        where += f"/{v.message}" if v.message else ""
        documented = "" if v in res.unexpected else " (expected)"
        lines.append(f"    violation {v.kind} {v.who}{where} cause {v.cause}{documented}: {v.explanation}")
    return lines


def story_lines(
    records: list[dict[str, Any]],
    shoppers: tuple[str, ...] | None = None,
    limit: int = 40,
    owners: dict[str, str] | None = None,
    until: int | None = None,
    journey: str | None = None,
) -> list[str]:
    """The slice of the story a person reads under a failure: only the records
    of `shoppers` (when given), only up to `until` (when given), and the steps
    (waits, branches) of `journey`'s runs when the failure is about a journey."""
    mine = set(shoppers or ())
    if until is not None:  # what happened later, a merge included, is not why it failed
        records = [r for r in records if parse_instant(r["at"]) <= until]
    whose = record_shoppers(records, owners or {}) if mine else []
    chosen = [
        r
        for n, r in enumerate(records)
        if (r["kind"] in _SLICE_KINDS or (r["kind"] == "step" and journey is not None and r.get("journey") == journey))
        and (not mine or not whose[n].isdisjoint(mine))
    ]
    lines = [f"{r['offset']:>10}  {describe(r)}" for r in chosen]
    if len(lines) > limit:
        lines = lines[:limit] + [f"{'':>10}  ... {len(chosen) - limit} more (segsim timeline FILE)"]
    return lines


def record_shoppers(records: list[dict[str, Any]], owners: dict[str, str]) -> list[set[str]]:
    """Whose story each record is part of: its `who`; the owners of the
    identifiers it names (`owners`: id or email -> shopper; anonymous ids are
    learnt from the sends); for a record about a send (`seq`), that send's
    shoppers (a merge call names two); and, for a record about a profile, the
    shoppers that profile has been part of so far (a merge joins them), and
    for its segment entries and exits, every shopper it ever holds."""
    by_key = dict(owners)
    for r in records:
        if r["kind"] == "sent" and r.get("who") and r.get("anonymous_id"):
            by_key.setdefault(r["anonymous_id"], r["who"])

    def named(r: dict[str, Any]) -> set[str]:
        found = {by_key[r[key]] for key in ("id", "email", "anonymous_id") if r.get(key) in by_key}
        for key in ("primary", "secondary"):
            value = r.get(key)
            if isinstance(value, str) and "=" in value and value.split("=", 1)[1] in by_key:
                found.add(by_key[value.split("=", 1)[1]])
        return found

    by_send: dict[Any, set[str]] = {}
    for r in records:
        if r["kind"] == "sent":
            by_send[r.get("seq")] = ({r["who"]} if r.get("who") else set()) | named(r)
    by_profile: dict[str, set[str]] = {}
    out: list[set[str]] = []
    for r in records:
        found = ({r["who"]} if r.get("who") else set()) | named(r)
        if r.get("seq") in by_send:
            found |= by_send[r["seq"]]
        profiles = [r[key] for key in ("cio_id", "primary", "secondary") if str(r.get(key, "")).startswith("cio_")]
        for cio in profiles:
            found |= by_profile.get(cio, set())
        for cio in profiles:
            by_profile.setdefault(cio, set()).update(found)
        out.append(found)
    # A profile's segment entries and exits are the story of every shopper it
    # comes to hold: one merged into it later is a member through them.
    for r, found in zip(records, out, strict=True):
        if r["kind"] in ("segment_entered", "segment_left") and r.get("cio_id") in by_profile:
            found |= by_profile[r["cio_id"]]
    return out


def explain_failure(res: ScenarioResult, result: Result) -> list[str]:
    e = result.expect
    lines = [
        f"  {e.file}:{e.line}  {e.source_text}",
        f"    expected: {result.expected}",
        f"    actual:   {result.actual}",
    ]
    records = story_lines(
        story_records(res.outcome, res.violations),
        result.shoppers or None,
        owners=res.plan.owners,
        until=e.at,
        journey=e.get("journey"),
    )
    if records:
        lines.append("    the story that decided it:")
        lines += ["      " + line for line in records]
    elif e.at is not None:
        lines.append("    the story that decided it: none yet (nothing it reads had happened by then)")
    return lines


def failure_lines(res: ScenarioResult, violations: bool = True) -> list[str]:
    """A failed scenario as `segsim run` and the pytest item both tell it: each
    failed expectation with the story that decided it, then the violations
    (`segsim run` lists those on the scenario's line already: `violations=False`),
    or under --strict the undocumented ones."""
    lines = [f"FAIL {res.plan.name} ({res.plan.file})"]
    for result in res.failures:
        lines += explain_failure(res, result)
    if res.strict and res.unexpected:
        lines.append("  violations not documented by a {violation: ...} expectation (--strict):")
        lines += render_violations(res, only_unexpected=True)
    elif violations and res.violations:
        lines.append("  violations:")
        lines += render_violations(res)
    return lines


def failure_text(res: ScenarioResult) -> str:
    """`failure_lines` with the violations, as one text (the pytest item's failure)."""
    return "\n".join(failure_lines(res))
