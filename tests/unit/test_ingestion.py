"""SPEC 4: latency models, loss, duplicates, copies, per-source draws and timestamps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.ingestion.delivery import deliver
from simulator.model.calls import Send
from simulator.model.plan import Plan
from simulator.model.time import parse_instant
from simulator.pipeline import Outcome, simulate

START = parse_instant("2026-01-01T00:00:00Z")


def arrivals(outcome: Outcome) -> list[tuple[str | None, int, int]]:
    """(event name, arrival offset, copy) of every delivery, in processing order."""
    return [(d.send.name, d.arrival - START, d.copy) for d in outcome.deliveries]


def scenario(sources: str, steps: str, seed: int = 0, shoppers: str = "{ana: {id: cus_1}}") -> str:
    return f"""
scenario: ingestion
seed: {seed}
workspace:
  sources:
{sources}
shoppers: {shoppers}
timeline:
{steps}
"""


def test_fixed_latency_adds_to_the_send_instant(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    web: {kind: client, latency: 5s}",
            "  - {at: 10m, who: ana, device: phone, track: a}",
        )
    )
    assert arrivals(outcome) == [("a", 605, 1)]
    event = outcome.platform.live_profiles()[0].events[0]
    assert event.arrival == START + 605
    assert event.ts == START + 600  # the SDK stamps its send instant


def test_builtin_sources_have_zero_latency(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: builtin
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 1m, who: ana, device: phone, track: a}
          - {at: 2m, who: ana, device: tablet, source: app, track: b}
          - {at: 3m, who: ana, track: c}
        """
    )
    assert arrivals(outcome) == [("a", 60, 1), ("b", 120, 1), ("c", 180, 1)]
    assert [d.send.source for d in outcome.deliveries] == ["web", "app", "backend"]


def test_uniform_latency_stays_within_bounds_and_varies(play: Callable[..., Outcome]) -> None:
    steps = "\n".join(f"  - {{at: {i}m, who: ana, device: phone, track: e{i}}}" for i in range(60))
    outcome = play(scenario("    web: {kind: client, latency: {uniform: [1s, 2m]}}", steps))
    lags = [d.arrival - d.send.at for d in outcome.deliveries]
    assert all(1 <= lag <= 120 for lag in lags)
    assert len(set(lags)) > 10


def test_exponential_latency_has_roughly_its_mean(play: Callable[..., Outcome]) -> None:
    steps = "\n".join(f"  - {{at: {i}m, who: ana, device: phone, track: e{i}}}" for i in range(300))
    outcome = play(scenario("    web: {kind: client, latency: {exponential: 1m}}", steps))
    lags = [d.arrival - d.send.at for d in outcome.deliveries]
    assert all(lag >= 0 for lag in lags)
    assert 40 <= sum(lags) / len(lags) <= 80


@pytest.mark.parametrize(
    ("sent", "arrives"),
    [
        ("0s", "10m"),  # before the first boundary at +10m
        ("10m", "10m"),  # exactly on a boundary: that boundary
        ("10m1s", "40m"),
        ("39m59s", "40m"),
        ("40m", "40m"),
        ("1h5m", "1h10m"),
    ],
)
def test_batch_arrives_at_the_next_boundary_at_or_after_the_send(
    play: Callable[..., Outcome], sent: str, arrives: str
) -> None:
    from simulator.model.time import parse_duration

    outcome = play(
        scenario(
            "    backend: {kind: server, latency: {batch: {every: 30m, offset: 10m}}}",
            f"  - {{at: {sent}, who: ana, track: a}}",
        )
    )
    assert arrivals(outcome) == [("a", parse_duration(arrives), 1)]


def test_batch_delay_is_added_after_the_boundary(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server, latency: {batch: {every: 30m, delay: 2m}}}",
            "  - {at: 0s, who: ana, track: a}\n  - {at: 31m, who: ana, track: b}",
        )
    )
    assert arrivals(outcome) == [("a", 120, 1), ("b", 3600 + 120, 1)]


def test_batch_boundaries_extend_before_the_offset(play: Callable[..., Outcome]) -> None:
    # k may be negative: with offset 50m, every 30m, the boundary at +20m exists.
    outcome = play(
        scenario(
            "    backend: {kind: server, latency: {batch: {every: 30m, offset: 50m}}}",
            "  - {at: 5m, who: ana, track: a}",
        )
    )
    assert arrivals(outcome) == [("a", 20 * 60, 1)]


def test_step_latency_overrides_the_source_model(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server, latency: {batch: {every: 30m}}}",
            "  - {at: 1m, who: ana, track: a, latency: 35m}\n  - {at: 1m, who: ana, track: b, latency: 0s}",
        )
    )
    assert sorted(arrivals(outcome)) == [("a", 36 * 60, 1), ("b", 60, 1)]


def test_drop_rate_one_drops_everything_and_the_trace_says_so(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server, drop_rate: 1.0}",
            "  - {at: 0s, who: ana, track: a}\n  - {at: 1m, who: ana, track: b}",
        )
    )
    assert outcome.deliveries == []
    assert [s.name for s in outcome.dropped] == ["a", "b"]
    dropped = [r for r in outcome.platform.trace.records if r["kind"] == "dropped"]
    assert [r["event"] for r in dropped] == ["a", "b"]
    assert outcome.platform.profiles == {}


def test_drop_step_override(play: Callable[..., Outcome]) -> None:
    outcome = play(scenario("    web: {kind: client}", "  - {at: 0s, who: ana, device: phone, track: a, drop: true}"))
    assert outcome.deliveries == [] and [s.name for s in outcome.dropped] == ["a"]


def test_drop_false_on_a_step_delivers_whatever_the_drop_rate(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server, drop_rate: 1.0}",
            "  - {at: 0s, who: ana, track: a, drop: false}\n  - {at: 1m, who: ana, track: b}",
        )
    )
    assert arrivals(outcome) == [("a", 0, 1)]
    assert [s.name for s in outcome.dropped] == ["b"]


def test_a_step_with_copies_on_a_lossy_source_is_lost_whole(play: Callable[..., Outcome]) -> None:
    """`copies` are retries of the send; the source's drop_rate still applies to it
    (only `drop:` overrides it)."""
    outcome = play(
        scenario(
            "    backend: {kind: server, drop_rate: 1.0}",
            "  - {at: 0s, who: ana, track: a, copies: 2}\n  - {at: 1m, who: ana, track: b, copies: 2, drop: false}",
        )
    )
    assert arrivals(outcome) == [("b", 60, 1), ("b", 120, 2)]
    assert [s.name for s in outcome.dropped] == ["a"]


@pytest.mark.parametrize(
    ("name", "kind"), [("backend", "server"), ("web", "client"), ("app", "client"), ("crm", "client")]
)
def test_a_source_declared_without_a_kind_keeps_its_built_in_kind(
    load: Callable[[str], Plan], name: str, kind: str
) -> None:
    """Redeclaring `backend` to give it a latency keeps it a server source."""
    plan = load(scenario(f"    {name}: {{latency: 30m}}", "  - {at: 0s, who: ana, device: phone, track: a}"))
    assert plan.workspace.sources[name].kind == kind
    assert plan.workspace.sources[name].latency.a == 1800


def test_duplicate_rate_one_sends_a_copy_retry_after_later(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server, duplicate_rate: 1.0}",
            "  - {at: 0s, who: ana, track: a}",
        )
    )
    assert arrivals(outcome) == [("a", 0, 1), ("a", 60, 2)]  # retry_after defaults to 1m


def test_source_retry_after_spaces_the_copy(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server, duplicate_rate: 1.0, retry_after: 10m, latency: 5s}",
            "  - {at: 0s, who: ana, track: a}",
        )
    )
    assert arrivals(outcome) == [("a", 5, 1), ("a", 605, 2)]


def test_copies_gives_n_deliveries_retry_after_apart(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server}",
            "  - {at: 0s, who: ana, track: a, copies: 3, retry_after: 2m}\n  - {at: 0s, who: ana, track: b, copies: 2}",
        )
    )
    assert arrivals(outcome) == [("a", 0, 1), ("b", 0, 1), ("b", 60, 2), ("a", 120, 2), ("a", 240, 3)]


def test_a_steps_copies_replace_the_sources_duplicate_rate(play: Callable[..., Outcome]) -> None:
    """`copies: N` says how many deliveries there are: the source's duplicate
    draw adds none (README, Decisions); the source's `retry_after` spaces them."""
    outcome = play(
        scenario(
            "    backend: {kind: server, duplicate_rate: 1.0, retry_after: 5m}",
            "  - {at: 0s, who: ana, track: a, copies: 2}\n  - {at: 0s, who: ana, track: b, copies: 1}",
        )
    )
    assert arrivals(outcome) == [("a", 0, 1), ("b", 0, 1), ("a", 300, 2)]


def test_rates_are_seeded_same_seed_same_draws(load: Callable[[str], Plan]) -> None:
    steps = "\n".join(f"  - {{at: {i}m, who: ana, track: e{i}}}" for i in range(40))
    text = scenario("    backend: {kind: server, drop_rate: 0.5, duplicate_rate: 0.5}", steps, seed=7)
    first, second = simulate(load(text)), simulate(load(text))
    assert arrivals(first) == arrivals(second)
    assert 5 < len(first.dropped) < 35
    other = simulate(load(scenario("    backend: {kind: server, drop_rate: 0.5, duplicate_rate: 0.5}", steps, seed=8)))
    assert [s.name for s in other.dropped] != [s.name for s in first.dropped]


def test_each_source_has_its_own_generator(load: Callable[[str], Plan]) -> None:
    sources = (
        "    web: {kind: client, latency: {uniform: [0s, 10m]}, drop_rate: 0.3}\n"
        "    backend: {kind: server, latency: {uniform: [0s, 10m]}, drop_rate: 0.3}"
    )
    web = "\n".join(f"  - {{at: {i}m, who: ana, device: phone, track: w{i}}}" for i in range(0, 60, 2))
    backend = "\n".join(f"  - {{at: {i}m, who: ana, track: b{i}}}" for i in range(1, 60, 2))
    extra = "\n  - {at: 0s, who: ana, track: extra_backend_step}\n  - {at: 30s, who: ana, track: another}"
    base = simulate(load(scenario(sources, web + "\n" + backend)))
    more = simulate(load(scenario(sources, web + "\n" + backend + extra)))

    def web_fate(outcome: Outcome) -> tuple[list[tuple[str | None, int]], list[str | None]]:
        got = [(d.send.name, d.arrival - d.send.at) for d in outcome.deliveries if d.send.source == "web"]
        return sorted(got, key=lambda x: str(x[0])), [s.name for s in outcome.dropped if s.source == "web"]

    assert web_fate(base) == web_fate(more)
    assert web_fate(base)[1], "some web sends are dropped at this rate"
    assert len({lag for _, lag in web_fate(base)[0]}) > 5


def test_timestamps_sent_stamps_the_send_instant(play: Callable[..., Outcome]) -> None:
    outcome = play(scenario("    backend: {kind: server, latency: 20m}", "  - {at: 0s, who: ana, track: a}"))
    event = outcome.platform.live_profiles()[0].events[0]
    assert (event.ts, event.arrival) == (START, START + 1200)


def test_timestamps_none_stamps_the_arrival_instant(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario("    backend: {kind: server, latency: 20m, timestamps: none}", "  - {at: 0s, who: ana, track: a}")
    )
    event = outcome.platform.live_profiles()[0].events[0]
    assert event.ts == event.arrival == START + 1200


@pytest.mark.parametrize("timestamps", ["sent", "none"])
def test_a_steps_own_timestamp_wins(play: Callable[..., Outcome], timestamps: str) -> None:
    outcome = play(
        scenario(
            f"    backend: {{kind: server, latency: 20m, timestamps: {timestamps}}}",
            "  - {at: 1h, who: ana, track: a, timestamp: 10m}\n"
            "  - {at: 1h, who: ana, track: b, timestamp: '2026-01-01T00:05:00Z'}",
        )
    )
    stamps = {e.name: e.ts - START for e in outcome.platform.live_profiles()[0].events}
    assert stamps == {"a": 600, "b": 300}


def test_ties_in_arrival_are_processed_in_send_order_then_copy(play: Callable[..., Outcome]) -> None:
    outcome = play(
        scenario(
            "    backend: {kind: server}\n    slow: {kind: server, latency: 10m}",
            "  - {at: 0s, who: ana, source: slow, track: first_sent}\n"
            "  - {at: 10m, who: ana, track: second_sent, copies: 2, retry_after: 0s}",
        )
    )
    events = outcome.platform.live_profiles()[0].events
    assert [(e.name, e.copy) for e in events] == [("first_sent", 1), ("second_sent", 1), ("second_sent", 2)]
    assert len({e.arrival for e in events}) == 1


def test_uniform_latency_gives_every_whole_second_an_equal_share() -> None:
    import random
    from collections import Counter

    from simulator.ingestion.delivery import draw_latency
    from simulator.model.config import LatencyModel

    rng = random.Random(7)
    drawn = Counter(draw_latency(LatencyModel("uniform", 1, 3), 0, 0, rng) for _ in range(3000))
    assert sorted(drawn) == [1, 2, 3]
    assert all(900 <= n <= 1100 for n in drawn.values()), drawn  # rounding gave 25% / 50% / 25%


def test_deliveries_given_in_any_order_are_processed_in_arrival_order(load: Callable[[str], Plan]) -> None:
    plan = load(
        scenario(
            "    web: {kind: client, latency: {uniform: [0s, 30m]}}",
            "\n".join(f"  - {{at: {i}m, who: ana, device: phone, track: e{i}}}" for i in range(1, 9)),
        )
    )
    drawn = simulate(plan)
    shuffled = list(reversed(drawn.deliveries))
    again = simulate(plan, deliveries=shuffled)
    assert [r for r in again.platform.trace.records if r["kind"] == "arrived"] == [
        r for r in drawn.platform.trace.records if r["kind"] == "arrived"
    ]


def test_deliveries_of_sends_sharing_a_seq_are_ordered_by_arrival_seq_and_copy(load: Callable[[str], Plan]) -> None:
    plan = load(scenario("    web: {kind: client, latency: 0s}", "  - {at: 1m, who: ana, device: phone, track: a}"))
    first = Send(seq=1, at=START, call="track", source="web", name="a", latency=10, copies=2, retry_after=10)
    second = Send(seq=1, at=START, call="track", source="web", name="b", latency=20)
    deliveries, _dropped = deliver([first, second], plan.workspace, START, 0)
    assert [(d.send.name, d.arrival - START, d.copy) for d in deliveries] == [("a", 10, 1), ("b", 20, 1), ("a", 20, 2)]


def test_deliveries_compare_by_value() -> None:
    """A delivery is a plain slotted object (not frozen, for speed), still equal by
    its arrival, send and copy, as replays compared run to run need."""
    from simulator.model.calls import Delivery

    send = Send(seq=1, at=START, call="track", source="web", name="a")
    one, same, other = Delivery(START, send, 1), Delivery(START, send, 1), Delivery(START, send, 2)
    assert one == same and one != other
    assert not hasattr(one, "__dict__")  # slotted: no dict per delivery
