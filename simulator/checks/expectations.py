"""Expectations (SPEC section 10): each is checked and, when it fails, says
what was expected, what happened, and the slice of the story that decided it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.checks.violations import INVARIANTS, Violation, find_violations, violations_by
from simulator.model.plan import Expect, Plan, ShopperIds
from simulator.model.time import format_offset
from simulator.pipeline import Outcome, simulate
from simulator.platform.engine import Platform
from simulator.platform.state import Profile, Run, email_key

__all__ = ["Result", "ScenarioResult", "check_plan", "holding_profiles", "shopper_in"]


@dataclass
class Result:
    expect: Expect
    passed: bool
    expected: str = ""
    actual: str = ""
    shoppers: tuple[str, ...] = ()


@dataclass
class ScenarioResult:
    plan: Plan
    outcome: Outcome
    results: list[Result]
    violations: list[Violation]
    unexpected: list[Violation] = field(default_factory=list)
    strict: bool = False
    # What `segsim run` says of a failure, written by the front end that
    # renders it (the `segsim` fixture: `report.text.failure_text`).
    explanation: str = ""

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.passed]

    @property
    def passed(self) -> bool:
        return not self.failures and not (self.strict and self.unexpected)

    def __repr__(self) -> str:
        # `assert result.passed` in a test shows this: the explanation, not the fields
        head = f"<ScenarioResult {self.plan.name!r} {'passed' if self.passed else 'FAILED'}"
        return f"{head}\n{self.explanation}\n>" if self.explanation else head + ">"


def holding_profiles(platform: Platform, shopper: ShopperIds) -> list[Profile]:
    ids = shopper.identifiers
    out = []
    for p in platform.live_profiles():
        if (
            (p.id is not None and p.id == shopper.id)
            or (p.email is not None and shopper.email is not None and email_key(p.email) == email_key(shopper.email))
            or any(a in ids for a in p.anonymous_ids)
        ):
            out.append(p)
    return sorted(out, key=lambda p: p.num)


def shopper_in(platform: Platform, shopper: ShopperIds, segment: str) -> list[Profile]:
    return [p for p in holding_profiles(platform, shopper) if segment in p.segments]


def _snapshot(plan: Plan, e: Expect) -> Any:
    def probe(platform: Platform, _i: int) -> Any:
        if e.kind == "segment":
            seg = e.get("segment")
            return sorted(name for name, sh in plan.shoppers.items() if shopper_in(platform, sh, seg))
        if e.kind == "member":
            seg = e.get("in_segment") or e.get("not_in_segment")
            return [p.cio_id for p in shopper_in(platform, plan.shoppers[e.get("who")], seg)]
        if e.kind == "profiles":
            return [p.cio_id for p in holding_profiles(platform, plan.shoppers[e.get("who")])]
        return None

    return probe


def _runs_of(outcome: Outcome, who: str, journey: str, at: int | None) -> list[Run]:
    return [
        r
        for r in outcome.platform.runs
        if r.shopper == who and r.journey.name == journey and (at is None or r.entered_at <= at)
    ]


def _check(
    e: Expect, outcome: Outcome, snap: Any, violations: list[Violation], undecided: list[Violation] | None = None
) -> Result:
    """One expectation judged. `undecided`: for a violation expectation with
    `at`, the violations of its kind decided only after `at` (said, so that a
    trace record dated earlier does not contradict the verdict)."""
    t = lambda at: format_offset(at - outcome.plan.start)  # noqa: E731
    when = f" at {t(e.at)}" if e.at is not None else " at the end"
    who = e.get("who")
    if e.kind == "segment":
        want = sorted(set(e.get("members")))  # a set: naming a shopper twice asks nothing more
        diff = tuple(sorted(set(want) ^ set(snap)))
        return Result(e, snap == want, f"{e.get('segment')} members{when}: {want}", f"{snap}", diff)
    if e.kind == "member":
        inside = bool(snap)
        if e.get("in_segment") is not None:
            seg = e.get("in_segment")
            ok = inside
            expected = f"{who} in {seg}{when}"
        else:
            seg = e.get("not_in_segment")
            ok = not inside
            expected = f"{who} not in {seg}{when}"
        actual = f"{who} in {seg} (via {', '.join(snap)})" if inside else f"{who} not in {seg}"
        return Result(e, ok, expected, actual, (who,))
    if e.kind == "profiles":
        want = e.get("profiles")
        return Result(
            e,
            len(snap) == want,
            f"{want} profile(s) holding {who}{when}",
            f"{len(snap)}: {', '.join(snap) or 'none'}",
            (who,),
        )
    if e.kind == "journey":
        journey = e.get("journey")
        runs = _runs_of(outcome, who, journey, e.at)
        lo, hi = e.within if e.within else (-(2**62), 2**62)
        span = f" within [{t(lo)}, {t(hi)}]" if e.within else ""
        if e.at is not None and e.get("exited") is None:
            span += f" by {t(e.at)}"  # runs and messages counted up to `at`
        if e.get("entered") is not None:
            chosen = [r for r in runs if lo <= r.entered_at <= hi]
            want = e.get("entered")
            entries = ", ".join(f"{t(r.entered_at)}" for r in chosen)
            return Result(
                e,
                len(chosen) == want,
                f"{who} entered {journey} {want} time(s){span}",
                f"{len(chosen)}" + (f" (at {entries})" if entries else ""),
                (who,),
            )
        if e.get("sent") is not None:
            msgs = sorted(
                (
                    (m.at, m.run, i, m.message)
                    for i, r in enumerate(runs)
                    for m in r.messages
                    if (e.at is None or m.at <= e.at) and lo <= m.at <= hi
                ),
                key=lambda x: (x[0], x[1]),
            )
            got = [m[3] for m in msgs]
            timed = ", ".join(f"{m[3]} at {t(m[0])}" for m in msgs)
            return Result(
                e,
                got == e.get("sent"),
                f"{journey} sent {who} {e.get('sent')}{span}",
                f"{got}" + (f" ({timed})" if timed else ""),
                (who,),
            )
        last = max(runs, key=lambda r: (r.entered_at, r.num)) if runs else None
        if last is None:
            actual = "no run"
        elif e.at is not None and (last.ended_at is None or last.ended_at > e.at):
            actual = "open"
        else:
            actual = last.reason
        return Result(
            e,
            actual == e.get("exited"),
            f"{who}'s last run of {journey} exited {e.get('exited')}{when}",
            actual + (f" (run entered at {t(last.entered_at)})" if last else ""),
            (who,),
        )
    if e.kind == "invariant":
        name = e.get("invariant")
        kinds = set(INVARIANTS.values()) if name == "all" else {INVARIANTS[name]}
        bad = [v for v in violations if v.kind in kinds]
        shoppers = tuple(sorted({v.who for v in bad}))
        actual = "; ".join(f"{v.kind} {v.who}{' ' + v.journey if v.journey else ''} ({v.cause})" for v in bad) or "none"
        return Result(e, not bad, f"{name}: no violation", actual, shoppers)
    # a documented violation
    keys = {k: e.get(k) for k in ("who", "journey", "message", "cause") if e.get(k) is not None}
    kind = e.get("violation")
    match = [v for v in violations if v.kind == kind and all(getattr(v, k) == val for k, val in keys.items())]
    same_kind = [v for v in violations if v.kind == kind]

    def said(v: Violation) -> str:
        return " ".join(x for x in (v.who, v.journey, v.message, "cause", v.cause) if x)

    by = f" by {t(e.at)}" if e.at is not None else ""
    actual = "; ".join(said(v) for v in same_kind) or (f"no {kind} decided{by}" if by else f"no {kind} at all")
    # (a split is judged at the instant itself: one at the end is not this one decided later)
    later = [v for v in undecided or [] if v.kind == kind and kind != "split_identity"]
    if later:
        actual += "; decided later: " + "; ".join(
            f"{said(v)} (dated {t(v.at)}, decided at {t(max(v.at, v.decided or v.at))})" for v in later
        )
    journey = next((j for j in outcome.plan.workspace.journeys if j.name == e.get("journey")), None)
    if not match and journey is not None:  # SPEC 9 gives such a journey none of this kind
        if kind == "missed_entry" and journey.trigger_segment is not None:
            actual += f" ({journey.name} is triggered by a segment: only event-triggered journeys miss entries)"
        elif kind == "ghost_abandon" and journey.goal is None and journey.filter is None:
            actual += f" ({journey.name} has neither goal nor filter: its messages are never ghosts)"
    wanted = ", ".join(f"{k} {v}" for k, v in keys.items())
    expected = (f"a {kind} with {wanted}" if wanted else f"a {kind}") + by
    return Result(e, bool(match), expected, actual, (who,) if who else ())


def matches(v: Violation, e: Expect) -> bool:
    if e.kind != "violation" or e.get("violation") != v.kind:
        return False
    return all(getattr(v, k) == e.get(k) for k in ("who", "journey", "message", "cause") if e.get(k) is not None)


def check_plan(plan: Plan, strict: bool = False) -> ScenarioResult:
    probes = [
        (e.at, e.index, _snapshot(plan, e))
        for e in plan.expectations
        if e.at is not None and e.kind in ("segment", "member", "profiles")
    ]
    outcome = simulate(plan, probes=probes)
    violations = find_violations(outcome)
    finals = {e.index: _snapshot(plan, e)(outcome.platform, e.index) for e in plan.expectations if e.at is None}
    results = []
    by: dict[int, list[Violation]] = {}
    seen_by: dict[int, set[tuple[object, ...]]] = {}  # the identities of those, per instant
    for e in plan.expectations:
        snap = outcome.probes.get(e.index) if e.at is not None else finals.get(e.index)
        judged = violations
        undecided: list[Violation] = []
        if e.at is not None and e.kind in ("invariant", "violation"):
            if e.at not in by:
                by[e.at] = violations_by(outcome, violations, e.at)
                seen_by[e.at] = {_identity(v) for v in by[e.at]}
            judged = by[e.at]
            undecided = [v for v in violations if _identity(v) not in seen_by[e.at]]
        results.append(_check(e, outcome, snap, judged, undecided))
    # Under --strict a violation is expected when a `violation` expectation matches it and,
    # with `at`, it was decided by then: a later ghost is news to an expectation of 2h.
    unexpected = [
        v
        for v in violations
        if not any(matches(v, e) and (e.at is None or _identity(v) in seen_by[e.at]) for e in plan.expectations)
    ]
    return ScenarioResult(plan, outcome, results, violations, unexpected, strict)


def _identity(v: Violation) -> tuple[object, ...]:
    """One violation, whenever it is judged (a split at `at` is the shopper's split)."""
    return (v.kind, v.who, v.journey, v.message, v.seq)
