"""The ideal segment: the same rule evaluated on the ground truth.

Every send delivered once at its send instant and stamped with it, one
profile per shopper (anonymous until their first call carrying a known
identifier, then identified and holding all their events), names and types
read generously: the ideal run of SPEC section 9, which
`simulator.checks.ideal.ideal_outcome` builds for any plan. It depends on
the rule (the window) but not on any source's latency, so a sweep computes
it once per window and partition.
"""

from __future__ import annotations

from simulator.checks.ideal import ideal_outcome
from simulator.model.plan import Plan
from simulator.whatif.metrics import Intervals, memberships

__all__ = ["ideal_memberships"]


def ideal_memberships(plan: Plan, segment: str, end: int) -> dict[str, Intervals]:
    """Shopper -> intervals in the ideal `segment`. `plan.until` should be `end` so windows close in time."""
    outcome, _back = ideal_outcome(plan)
    return memberships(outcome.platform, segment, end)
