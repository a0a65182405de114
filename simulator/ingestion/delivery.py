"""Turning sends into deliveries: latency models, drops, duplicates, copies.

Random draws come from one generator per source, seeded from the scenario
seed and the source name, consumed in send order: adding a step to one
source never changes another's draws.
"""

from __future__ import annotations

import math
import operator
import random
from collections.abc import Iterable

from simulator.model.calls import Delivery, Send
from simulator.model.config import LatencyModel, SourceConfig, WorkspaceConfig
from simulator.model.time import LATEST_INSTANT

__all__ = ["LATEST_ARRIVAL", "batch_arrival", "deliver", "draw_latency"]

LATEST_ARRIVAL = LATEST_INSTANT  # the clock must stay printable

_SEND_ORDER = operator.attrgetter("seq")
_ARRIVAL_ORDER = operator.attrgetter("arrival", "send.seq", "copy")  # `Delivery.key`
_ARRIVAL = operator.attrgetter("arrival")


def batch_arrival(sent: int, start: int, every: int, offset: int, delay: int) -> int:
    """The first boundary `start + offset + k*every` at or after `sent`, plus delay."""
    base = start + offset
    k = math.ceil((sent - base) / every)
    return base + k * every + delay


def draw_latency(model: LatencyModel, sent: int, start: int, rng: random.Random) -> int:
    if model.kind == "fixed":
        return model.a
    if model.kind == "uniform":
        # every whole second of [a, b] equally likely (rounding would give the ends half a share)
        return min(model.b, int(rng.uniform(model.a, model.b + 1)))
    if model.kind == "exponential":
        return int(round(rng.expovariate(1.0 / model.a))) if model.a > 0 else 0
    return batch_arrival(sent, start, model.a, model.b, model.c) - sent


def deliver(
    sends: Iterable[Send],
    workspace: WorkspaceConfig,
    start: int,
    seed: int,
) -> tuple[list[Delivery], list[Send]]:
    """All deliveries sorted by (arrival, send order, copy), and the dropped sends."""
    generators: dict[str, random.Random] = {}
    sources: dict[str, tuple[SourceConfig, random.Random]] = {}  # a send's source name -> it, its generator
    deliveries: list[Delivery] = []
    dropped: list[Send] = []
    last_seq: int | None = None
    distinct = True  # no two sends share a seq: the deliveries are made in (seq, copy) order
    for send in sorted(sends, key=_SEND_ORDER):
        if send.seq == last_seq:
            distinct = False
        last_seq = send.seq
        found = sources.get(send.source)
        if found is None:
            source = workspace.source(send.source)
            rng = generators.get(source.name)
            if rng is None:
                rng = generators[source.name] = random.Random(f"segsim:{seed}:{source.name}")
            found = sources[send.source] = (source, rng)
        source, rng = found
        # Every send consumes the same draws, whatever its overrides, so that a
        # step's override never shifts the draws of the steps after it.
        drop_draw = rng.random()
        dup_draw = rng.random()
        latency = draw_latency(source.latency, send.at, start, rng)
        if send.latency is not None:
            latency = send.latency
        # A lost send is lost whole: a step's `copies` are retries of what never left.
        if send.drop or (send.drop is None and drop_draw < source.drop_rate):
            dropped.append(send)
            continue
        copies = send.copies
        if copies is None:
            copies = 2 if dup_draw < source.duplicate_rate else 1
        retry = send.retry_after if send.retry_after is not None else source.retry_after
        first = send.at + latency
        if first > LATEST_ARRIVAL:
            dropped.append(send)  # it would arrive after the year 9999: never
            continue
        for copy in range(1, copies + 1):
            arrival = first + (copy - 1) * retry
            if arrival <= LATEST_ARRIVAL:
                deliveries.append(Delivery(arrival, send, copy))
    # Made in (seq, copy) order, they need only a stable sort by arrival.
    deliveries.sort(key=_ARRIVAL if distinct else _ARRIVAL_ORDER)
    return deliveries, dropped
