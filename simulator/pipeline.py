"""One simulation: sends -> deliveries -> platform -> outcome.

`simulate` is the single driver every front end uses (the CLI, the pytest
plugin, the fuzzer, what-if sweeps). It takes a compiled `Plan` and may swap
the workspace or the sends, which is how the ideal run and the
counterfactuals of the checks are made.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.ingestion.delivery import deliver
from simulator.model.calls import Delivery, Send
from simulator.model.config import WorkspaceConfig
from simulator.model.plan import Plan
from simulator.platform.engine import Platform

__all__ = ["Outcome", "simulate"]


@dataclass
class Outcome:
    plan: Plan
    platform: Platform
    end: int
    deliveries: list[Delivery]
    dropped: list[Send]
    probes: dict[int, Any] = field(default_factory=dict)

    @property
    def workspace(self) -> WorkspaceConfig:
        return self.platform.ws


def simulate(
    plan: Plan,
    *,
    workspace: WorkspaceConfig | None = None,
    sends: list[Send] | None = None,
    deliveries: list[Delivery] | None = None,
    probes: list[tuple[int, int, Callable[[Platform, int], Any]]] | None = None,
    until: int | None = None,
    exhaustive: bool = False,
) -> Outcome:
    """Replay `plan`. `exhaustive` turns off the incremental evaluation (see
    `Platform`): the same outcome, slower; for testing the engine."""
    # The replay allocates millions of small objects and frees almost none: the
    # cyclic collector's passes find nothing and cost a fifth of the time, in
    # the delivery draw as in the replay.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _simulate(plan, workspace, sends, deliveries, probes, until, exhaustive)
    finally:
        if collecting:
            gc.enable()


def _simulate(
    plan: Plan,
    workspace: WorkspaceConfig | None,
    sends: list[Send] | None,
    deliveries: list[Delivery] | None,
    probes: list[tuple[int, int, Callable[[Platform, int], Any]]] | None,
    until: int | None,
    exhaustive: bool,
) -> Outcome:
    ws = workspace or plan.workspace
    the_sends = plan.sends if sends is None else sends
    dropped: list[Send] = []
    drawn = deliveries is None
    if deliveries is None:
        deliveries, dropped = deliver(the_sends, ws, plan.start, plan.seed)
    platform = Platform(ws, plan.start, plan.owners, exhaustive=exhaustive)
    platform.schedule(deliveries, dropped, in_arrival_order=drawn)
    results: dict[int, Any] = {}
    ats = [e.at for e in plan.expectations if e.at is not None]
    if ats and until is None and plan.until is None:
        # Without `until`, a simulation lasts until every `at` has passed (SPEC
        # 11), whether or not anything is probed there: `run` and `timeline`
        # replay the same story.
        platform.probe(max(ats), -1, lambda _i: None)
    for at, index, fn in probes or []:

        def record(i: int, fn: Callable[[Platform, int], Any] = fn) -> None:
            results[i] = fn(platform, i)

        platform.probe(at, index, record)
    end = platform.run(until if until is not None else plan.until)
    return Outcome(plan, platform, end, deliveries, dropped, results)
