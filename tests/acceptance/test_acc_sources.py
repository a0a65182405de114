"""SPEC section 4: sources, latency models, loss, duplicates, dedupe, processing order."""

from __future__ import annotations

import pytest
from acceptance_support import arrivals, outcome_of, passes, plan_of, trace_of

SOURCES = """
sources:
  web:     {kind: client, latency: 5s}
  app:     {kind: client, latency: {uniform: [1s, 2m]}}
  backend: {kind: server, latency: {batch: {every: 30m}}, identify_by: email}
"""


def _scenario(sources: str, timeline: str, extra: str = "", seed: int = 0) -> str:
    return f"""
scenario: sources
seed: {seed}
shoppers:
  ana: {{id: cus_1, email: ana@example.com}}
  ben: {{email: ben@example.com}}
workspace:
{sources}
{extra}
timeline:
{timeline}
"""


def test_section_4_sources_verbatim() -> None:
    sources = "  " + SOURCES.strip().replace("\n", "\n  ")
    result = outcome_of(
        _scenario(
            sources,
            """
  - {at: 0m, who: ana, device: laptop, track: a}
  - {at: 0m, who: ana, device: phone, source: app, track: b}
  - {at: 10m, who: ana, track: c}
  - {at: 30m, who: ben, track: d}
""",
        )
    )
    got = {name: at for at, name, _ in arrivals(result)}
    assert got["a"] == 5
    assert 1 <= got["b"] <= 120
    assert got["c"] == 30 * 60  # the next batch boundary
    assert got["d"] == 30 * 60  # exactly on a boundary: that boundary
    # identify_by: email keys backend tracks by email
    emails = {p.email for p in result.outcome.platform.live_profiles() if p.email}
    assert emails == {"ana@example.com", "ben@example.com"}
    assert all(p.id is None for p in result.outcome.platform.live_profiles())


@pytest.mark.parametrize(
    ("latency", "send_at", "arrival"),
    [
        ("{batch: {every: 30m, offset: 10m, delay: 1m}}", "0m", 11 * 60),  # boundaries ..., -20m, 10m, 40m
        ("{batch: {every: 30m, offset: 10m}}", "10m", 10 * 60),
        ("{batch: {every: 30m, offset: 10m}}", "10m1s", 40 * 60),
        ("{batch: {every: 1h, delay: 5m}}", "1h", 65 * 60),
        ("{batch: {every: 1h, offset: 2h}}", "30m", 60 * 60),  # k may be negative
        ("0s", "7m", 7 * 60),
        ("1h30m", "0m", 90 * 60),
    ],
)
def test_latency_models(latency: str, send_at: str, arrival: int) -> None:
    result = outcome_of(
        _scenario(
            f"  sources:\n    backend: {{kind: server, latency: {latency}}}",
            f"  - {{at: {send_at}, who: ana, track: x}}",
        )
    )
    assert [at for at, _, _ in arrivals(result)] == [arrival]


def test_exponential_latency_is_non_negative_and_seeded() -> None:
    timeline = "\n".join(f"  - {{at: {i}m, who: ana, track: x{i}}}" for i in range(20))
    sources = "  sources:\n    backend: {kind: server, latency: {exponential: 10m}}"
    one = arrivals(outcome_of(_scenario(sources, timeline, seed=3)))
    two = arrivals(outcome_of(_scenario(sources, timeline, seed=3)))
    assert one == two
    sends = {f"x{i}": i * 60 for i in range(20)}
    assert all(at >= sends[name] for at, name, _ in one if name)
    assert len({at - sends[name] for at, name, _ in one if name}) > 1


def test_seed_changes_random_latency_but_not_fixed_latency() -> None:
    timeline = "\n".join(
        f"  - {{at: {i}m, who: ana, device: phone, source: app, track: r{i}}}\n"
        f"  - {{at: {i}m, who: ana, device: laptop, track: f{i}}}"
        for i in range(8)
    )
    sources = "  sources:\n    app: {kind: client, latency: {uniform: [1s, 2h]}}\n    web: {kind: client, latency: 7m}"
    a = arrivals(outcome_of(_scenario(sources, timeline, seed=1)))
    b = arrivals(outcome_of(_scenario(sources, timeline, seed=2)))
    fixed_a = sorted((at, n) for at, n, _ in a if n and n.startswith("f"))
    fixed_b = sorted((at, n) for at, n, _ in b if n and n.startswith("f"))
    assert fixed_a == fixed_b == sorted((i * 60 + 420, f"f{i}") for i in range(8))
    random_a = sorted((n, at) for at, n, _ in a if n and n.startswith("r"))
    random_b = sorted((n, at) for at, n, _ in b if n and n.startswith("r"))
    assert random_a != random_b


def test_seed_defaults_to_zero() -> None:
    timeline = "\n".join(f"  - {{at: {i}m, who: ana, device: phone, source: app, track: r{i}}}" for i in range(5))
    sources = "  sources:\n    app: {kind: client, latency: {uniform: [1s, 2h]}}"
    implicit = _scenario(sources, timeline).replace("seed: 0\n", "")
    assert arrivals(outcome_of(implicit)) == arrivals(outcome_of(_scenario(sources, timeline, seed=0)))


def test_one_generator_per_source_adding_a_step_elsewhere_changes_nothing() -> None:
    sources = (
        "  sources:\n"
        "    app: {kind: client, latency: {uniform: [1s, 2h]}, drop_rate: 0.3}\n"
        "    web: {kind: client, latency: {uniform: [1s, 2h]}, duplicate_rate: 0.5}"
    )
    app_steps = "\n".join(f"  - {{at: {i}m, who: ana, device: phone, source: app, track: r{i}}}" for i in range(10))
    web_steps = "\n".join(f"  - {{at: {i}m30s, who: ana, device: laptop, track: w{i}}}" for i in range(6))
    alone = arrivals(outcome_of(_scenario(sources, app_steps, seed=5)))
    mixed = arrivals(outcome_of(_scenario(sources, web_steps + "\n" + app_steps, seed=5)))
    assert sorted(x for x in alone if x[1] and x[1].startswith("r")) == sorted(
        x for x in mixed if x[1] and x[1].startswith("r")
    )


def test_drop_rate_one_never_arrives_and_duplicate_rate_one_arrives_twice() -> None:
    result = passes(
        _scenario(
            "  sources:\n"
            "    lossy: {kind: server, latency: 0s, drop_rate: 1}\n"
            "    doubly: {kind: server, latency: 0s, duplicate_rate: 1, retry_after: 10m}\n"
            "    twice: {kind: server, latency: 0s, duplicate_rate: 1}",
            """
  - {at: 0m, who: ana, source: lossy, track: lost}
  - {at: 0m, who: ana, source: doubly, track: doubled}
  - {at: 0m, who: ana, source: twice, track: again}
""",
            extra="""
  segments:
    got_lost: {rule: {performed: lost}}
    two_doubled: {rule: {performed: doubled, count: {eq: 2}}}
    two_again: {rule: {performed: again, count: {eq: 2}}}
expect:
  - {at: 5h, segment: got_lost, members: []}
  - {at: 9m, segment: two_doubled, members: []}
  - {at: 10m, segment: two_doubled, members: [ana]}
  - {at: 59s, segment: two_again, members: []}
  - {at: 1m, segment: two_again, members: [ana]}
""",
        )
    )
    assert len(trace_of(result, "dropped")) == 1


def test_step_delivery_overrides() -> None:
    passes(
        _scenario(
            "  sources:\n    backend: {kind: server, latency: 1h}",
            """
  - {at: 0m, who: ana, track: slow}
  - {at: 0m, who: ana, track: fast, latency: 0s}
  - {at: 0m, who: ana, track: gone, drop: true}
  - {at: 0m, who: ana, track: thrice, latency: 0s, copies: 3}
  - {at: 0m, who: ana, track: skewed, latency: 0s, timestamp: -2h}
  - {at: 0m, who: ana, track: backfilled, latency: 0s, timestamp: "2025-12-31T20:00:00Z"}
""".replace("timestamp: -2h", "timestamp: 2025-12-31T22:00:00Z"),
            extra="""
  segments:
    slow: {rule: {performed: slow}}
    fast: {rule: {performed: fast}}
    gone: {rule: {performed: gone}}
    thrice: {rule: {performed: thrice, count: {eq: 3}}}
    skewed_recent: {rule: {performed: skewed, within: 1h}}
    backfilled_recent: {rule: {performed: backfilled, within: 3h}}
expect:
  - {at: 1m, who: ana, in_segment: fast}
  - {at: 59m, who: ana, not_in_segment: slow}
  - {at: 1h, who: ana, in_segment: slow}
  - {at: 10h, who: ana, not_in_segment: gone}
  - {at: 2m, who: ana, in_segment: thrice}   # server sends carry no event id: all processed
  - {at: 1m, who: ana, not_in_segment: skewed_recent}
  - {at: 1m, who: ana, not_in_segment: backfilled_recent}
""",
        )
    )


def test_timestamp_as_an_offset_is_after_start() -> None:
    passes(
        _scenario(
            "  sources: {}",
            "  - {at: 0m, who: ana, track: x, timestamp: 10m}\n  - {at: 0m, who: ana, track: y, timestamp: 0s}",
            extra="""
  segments:
    x_at_10m: {rule: {performed: x, within: 1m}}
expect:
  - {at: 9m, who: ana, not_in_segment: x_at_10m}
  - {at: 10m, who: ana, in_segment: x_at_10m}
  - {at: 11m, who: ana, not_in_segment: x_at_10m}
""",
        )
    )


def test_timestamps_none_stamps_the_arrival_instant() -> None:
    text = _scenario(
        "  sources:\n    backend: {kind: server, latency: 1h, timestamps: TS}",
        "  - {at: 0m, who: ana, track: job_done}",
        extra="""
  segments:
    recent: {rule: {performed: job_done, within: 30m}}
expect:
  - {at: 1h10m, who: ana, VERDICT: recent}
""",
    )
    passes(text.replace("TS", "none").replace("VERDICT", "in_segment"))
    passes(text.replace("TS", "sent").replace("VERDICT", "not_in_segment"))


def test_a_steps_own_timestamp_wins_over_timestamps_sent() -> None:
    passes(
        _scenario(
            "  sources:\n    backend: {kind: server, latency: 1h, timestamps: sent}",
            "  - {at: 0m, who: ana, track: job_done, timestamp: 55m}",
            extra="""
  segments:
    recent: {rule: {performed: job_done, within: 30m}}
expect:
  - {at: 1h10m, who: ana, in_segment: recent}
""",
        )
    )


DEDUPE = """
  segments:
    once: {rule: {performed: x, count: {eq: 1}}}
    twice: {rule: {performed: x, count: {eq: 2}}}
"""


def test_copies_on_a_client_step_are_absorbed_by_default_dedupe() -> None:
    result = passes(
        _scenario(
            "  sources: {}",
            "  - {at: 0m, who: ana, device: phone, identify: true}\n"
            "  - {at: 1m, who: ana, device: phone, track: x, copies: 3}",
            extra=DEDUPE + "expect:\n  - {at: 1h, who: ana, in_segment: once}\n",
        )
    )
    assert len(trace_of(result, "duplicate_ignored")) == 2


def test_client_copies_are_processed_when_dedupe_by_event_id_is_off() -> None:
    passes(
        _scenario(
            "  sources: {}\n  dedupe: {by_event_id: false}",
            "  - {at: 0m, who: ana, device: phone, identify: true}\n"
            "  - {at: 1m, who: ana, device: phone, track: x, copies: 2}",
            extra=DEDUPE + "expect:\n  - {at: 1h, who: ana, in_segment: twice}\n",
        )
    )


def test_server_copies_are_processed_unless_the_source_sends_event_ids() -> None:
    plain = _scenario(
        "  sources:\n    backend: {kind: server, latency: 0s}",
        "  - {at: 1m, who: ana, track: x, copies: 2}",
        extra=DEDUPE + "expect:\n  - {at: 1h, who: ana, in_segment: twice}\n",
    )
    passes(plain)
    passes(
        plain.replace("latency: 0s}", "latency: 0s, event_ids: true}").replace("in_segment: twice", "in_segment: once")
    )


def test_step_event_id_dedupes_across_steps_and_across_profiles() -> None:
    passes(
        _scenario(
            "  sources: {}",
            """
  - {at: 0m, who: ana, track: x, event_id: evt_1}
  - {at: 1m, who: ana, track: x, event_id: evt_1}
  - {at: 2m, who: ben, track: x, event_id: evt_1}
  - {at: 3m, who: ben, track: x, event_id: evt_2}
""",
            extra=DEDUPE + "expect:\n  - {at: 1h, segment: once, members: [ana, ben]}\n",
        )
    )


def test_idempotency_keys_ignore_a_second_event_with_the_same_value_workspace_wide() -> None:
    result = passes(
        _scenario(
            "  sources: {}\n  dedupe: {idempotency_keys: {order_completed: order_id}}",
            """
  - {at: 0m, who: ana, track: order_completed, properties: {order_id: o_1}}
  - {at: 1m, who: ana, track: order_completed, properties: {order_id: o_1}}
  - {at: 2m, who: ben, track: order_completed, properties: {order_id: o_1}}
  - {at: 3m, who: ana, track: order_completed, properties: {order_id: o_2}}
  - {at: 4m, who: ana, track: refund, properties: {order_id: o_1}}
""",
            extra="""
  segments:
    two_orders: {rule: {performed: order_completed, count: {eq: 2}}}
    any_order: {rule: {performed: order_completed}}
    refunded: {rule: {performed: refund}}
expect:
  - {at: 1h, segment: two_orders, members: [ana]}
  - {at: 1h, segment: any_order, members: [ana]}
  - {at: 1h, segment: refunded, members: [ana]}
""",
        )
    )
    assert len(trace_of(result, "duplicate_ignored")) == 2


# ---------------------------------------------------------------- processing order


def test_ties_at_one_arrival_go_by_send_order_then_copy() -> None:
    result = outcome_of(
        _scenario(
            "  sources:\n    backend: {kind: server, latency: 0s}",
            """
  - {at: 0m, who: ana, track: late_send, latency: 30m, copies: 2, retry_after: 10m}
  - {at: 20m, who: ana, track: second, latency: 20m}
  - {at: 30m, who: ana, track: third}
""",
        )
    )
    assert arrivals(result) == [(1800, "late_send", 1), (1800, "third", 1), (2400, "late_send", 2), (2400, "second", 1)]


def test_a_delivery_at_an_instant_comes_before_a_journey_timer_due_then() -> None:
    passes(
        _scenario(
            "  sources: {}",
            """
  - {at: 0m, who: ana, track: checkout_started}
  - {at: 1h, who: ana, track: order_completed}
""",
            extra="""
  journeys:
    cart_recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
expect:
  - {who: ana, journey: cart_recovery, sent: []}
  - {who: ana, journey: cart_recovery, exited: goal}
""",
        )
    )


def test_a_held_future_event_reaching_its_timestamp_comes_before_a_timer() -> None:
    passes(
        _scenario(
            "  sources: {}",
            """
  - {at: 0m, who: ana, track: checkout_started}
  - {at: 0m, who: ana, track: order_completed, timestamp: 1h}
""",
            extra="""
  journeys:
    cart_recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
expect:
  - {who: ana, journey: cart_recovery, sent: []}
  - {who: ana, journey: cart_recovery, exited: goal}
""",
        )
    )


def test_a_window_closing_comes_before_a_timer_due_then() -> None:
    passes(
        _scenario(
            "  sources: {}",
            """
  - {at: 0m, who: ana, track: browsed}
  - {at: 0m, who: ana, track: go}
""",
            extra="""
  segments:
    browsing: {rule: {performed: browsed, within: 1h}}
  journeys:
    nudge:
      trigger: {event: go}
      filter: {in_segment: browsing}
      exit: stop_matching
      steps: [{wait: 1h}, {send: nudge}]
expect:
  - {who: ana, journey: nudge, sent: []}
  - {who: ana, journey: nudge, exited: stopped_matching}
  - {at: 1h, who: ana, not_in_segment: browsing}
""",
        )
    )


def test_expectations_at_an_instant_see_everything_done_at_it() -> None:
    passes(
        _scenario(
            "  sources: {}",
            "  - {at: 0m, who: ana, track: go}\n  - {at: 30m, who: ana, track: x}",
            extra="""
  segments:
    x_seen: {rule: {performed: x}}
    updated: {rule: {attribute: stage, eq: two}}
  journeys:
    j:
      trigger: {event: go}
      steps: [{wait: 1h}, {update: {stage: two}}, {send: m}]
expect:
  - {at: 30m, who: ana, in_segment: x_seen}
  - {at: 1h, who: ana, in_segment: updated}
  - {at: 59m59s, who: ana, not_in_segment: updated}
""",
        )
    )


def test_timers_due_at_one_instant_fire_by_due_instant_then_entry_order() -> None:
    result = passes(
        _scenario(
            "  sources: {}",
            """
  - {at: 0m, who: ana, track: go}
  - {at: 0m, who: ana, track: go}
  - {at: 0m, who: ana, track: go}
""",
            extra="""
  journeys:
    j:
      trigger: {event: go}
      steps: [{wait: 1h}, {update: {last: run}}]
expect:
  - {who: ana, journey: j, entered: 3}
""",
        )
    )
    runs = result.outcome.platform.runs
    ends = sorted((r.ended_at, r.num) for r in runs)
    assert [n for _, n in ends] == sorted(r.num for r in runs)


def test_plan_has_one_send_per_step() -> None:
    plan = plan_of(_scenario("  sources: {}", "  - {at: 0m, who: ana, track: x, copies: 2}"))
    assert len(plan.sends) == 1
