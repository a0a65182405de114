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
from simulator.model.time import format_duration
from simulator.platform.engine import EndlessStory, Platform
from simulator.platform.rules import longest_waits
from simulator.scenario.errors import InputError, Problem

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
    # A `within` span's end is waited for like an `at`: `sent: [...], within: [1h, 2h]`
    # looks at what the story does until 2h.
    ats = [e.at for e in plan.expectations if e.at is not None]
    ats += [e.within[1] for e in plan.expectations if e.within is not None]
    if ats and until is None and plan.until is None:
        # Without `until`, a simulation lasts until every `at` has passed (SPEC
        # 11), whether or not anything is probed there: `run` and `timeline`
        # replay the same story.
        platform.probe(max(ats), -1, lambda _i: None)
    for at, index, fn in probes or []:

        def record(i: int, fn: Callable[[Platform, int], Any] = fn) -> None:
            results[i] = fn(platform, i)

        platform.probe(at, index, record)
    if until is None and plan.until is None:
        _guard_endless(platform, plan, ws, deliveries, ats)
    try:
        end = platform.run(until if until is not None else plan.until)
    except EndlessStory as endless:
        raise _never_ends(plan, endless) from None
    return Outcome(plan, platform, end, deliveries, dropped, results)


def _never_ends(plan: Plan, endless: EndlessStory) -> InputError:
    running = f"journeys {', '.join(endless.running)} still running" if endless.running else "timers still due"
    message = (
        f"the story does not end: {format_duration(endless.at - endless.since)} after its last call, {running} "
        f"({endless.entered} runs entered since): journeys that trigger each other never stop"
    )
    hint = "give the scenario an `until:`, or make the journeys' frequency once or once_per"
    # `until` is absent: the error points at the top of the file, where the key would go.
    return InputError([Problem(plan.file, 1, 1, "until", message, hint)])


def _guard_endless(
    platform: Platform, plan: Plan, ws: WorkspaceConfig, deliveries: list[Delivery], ats: list[int]
) -> None:
    """Without `until` a story ends when nothing it awaits is left (SPEC 11);
    journeys that trigger each other (a segment-triggered `every_time` journey
    whose update moves another's segment, and back) never leave it. Past the
    last call, as long as every journey run in a row after every window closing
    could take (and a day more), such a story is refused, not run for ever."""
    last = max([plan.start, *(d.arrival for d in deliveries), *(d.send.timestamp or 0 for d in deliveries), *ats])
    windows, runs = longest_waits(ws)
    platform.last_call = last
    platform.endless_after = last + windows + ws.filter_retry + (len(ws.journeys) + 1) * (runs + windows) + 86400
