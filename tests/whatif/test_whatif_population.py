"""The synthetic population: deterministic, realistic enough, consistent identities."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from simulator.model.time import parse_instant
from simulator.scenario.loader import load_workspace
from simulator.whatif.population import load_model, partition_plan

WORKSPACE = Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml"
START = parse_instant("2026-01-01T00:00:00Z")


def _plan(seed: int = 0, population: int = 200):  # type: ignore[no-untyped-def]
    ws = load_workspace(WORKSPACE)[0]
    return partition_plan(
        ws, seed=seed, partition=0, population=population, start=START, horizon=3 * 86400, until=START + 4 * 86400
    )


def _signature(plan) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return [(s.seq, s.at, s.call, s.source, s.shopper, s.name, s.user_id, s.email, s.anonymous_id) for s in plan.sends]


def test_same_seed_same_sends_and_another_seed_differs() -> None:
    assert _signature(_plan(3)) == _signature(_plan(3))
    assert _signature(_plan(3)) != _signature(_plan(4))


def test_the_model_covers_the_whole_shopping_story() -> None:
    plan = _plan()
    m = load_model()
    names = Counter(s.name for s in plan.sends if s.call == "track")
    assert {m.events[k] for k in ("view", "cart", "checkout", "purchase")} <= set(names)
    assert names[m.events["view"]] > names[m.events["checkout"]] > names[m.events["purchase"]] > 0
    assert any(s.call == "identify" for s in plan.sends)
    switched = [w for w in plan.shoppers.values() if len(w.devices) == 2]
    assert switched, "some shoppers use both devices"
    assert sorted(s.seq for s in plan.sends) == list(range(1, len(plan.sends) + 1))
    assert all(START <= s.at < START + 3 * 86400 for s in plan.sends)
    buyers = Counter(s.shopper for s in plan.sends if s.name == m.events["purchase"])
    assert max(buyers.values()) >= 2, "some shoppers buy again"


def test_orders_come_from_the_server_with_an_identifier_the_device_used() -> None:
    plan = _plan()
    for send in plan.sends:
        if send.name == "order_completed":
            assert send.source == "backend"
            who = plan.shoppers[send.shopper or ""]
            assert (send.user_id or send.email) in (who.id, who.email)
    emails = [w.email for w in plan.shoppers.values() if w.email]
    assert len(emails) == len(set(emails))
