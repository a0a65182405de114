"""A seeded population of shoppers as one `Plan`, for the replay benchmark.

The shoppers come from the what-if behaviour model
(`simulator.whatif.population`): sessions on a phone or a laptop, product
views, carts, checkouts, email capture, logins, device switches and
purchases. That model generates fixed-size partitions; the benchmark wants
the whole population on one platform (one profile index, one clock, one
heap), so the partitions' sends are merged into a single plan, re-numbered in
(send instant, shopper, step) order. Same seed, same sends.
"""

from __future__ import annotations

from simulator.model.calls import Send
from simulator.model.config import WorkspaceConfig
from simulator.model.plan import Plan, ShopperIds
from simulator.whatif.population import PARTITION_SIZE, partition_plan

__all__ = ["population_plan"]


def population_plan(
    ws: WorkspaceConfig,
    shoppers: int,
    *,
    start: int,
    horizon: int,
    until: int | None,
    seed: int = 0,
) -> Plan:
    """`shoppers` synthetic shoppers living over `horizon` from `start`, replayed up to `until`."""
    everyone: dict[str, ShopperIds] = {}
    written: list[tuple[int, int, int, Send]] = []
    partitions = (shoppers + PARTITION_SIZE - 1) // PARTITION_SIZE
    for partition in range(partitions):
        part = partition_plan(
            ws,
            seed=seed,
            partition=partition,
            population=shoppers,
            start=start,
            horizon=horizon,
            until=until if until is not None else start + horizon,
        )
        everyone.update(part.shoppers)
        # Within a partition the sends are already in (instant, shopper, step)
        # order; the partition number keeps ties stable across partitions.
        written.extend((send.at, partition, send.seq, send) for send in part.sends)
    written.sort(key=lambda w: (w[0], w[1], w[2]))
    sends: list[Send] = []
    for seq, (_at, _partition, _old, send) in enumerate(written, start=1):
        send.seq = seq
        send.step = seq - 1
        sends.append(send)
    return Plan(
        name=f"population of {shoppers}",
        file="<population>",
        start=start,
        seed=seed,
        until=until,
        workspace=ws,
        shoppers=everyone,
        sends=sends,
    )
