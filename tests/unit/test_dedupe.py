"""SPEC 4, deduplication: event ids, idempotency keys, remembered workspace-wide."""

from __future__ import annotations

from collections.abc import Callable

from simulator.pipeline import Outcome


def events_of(outcome: Outcome) -> list[tuple[str, str, int]]:
    return sorted((p.cio_id, e.name, e.copy) for p in outcome.platform.live_profiles() for e in p.events)


def ignored(outcome: Outcome) -> list[tuple[str, str]]:
    return [(r["event"], r["reason"]) for r in outcome.platform.trace.records if r["kind"] == "duplicate_ignored"]


def test_client_copies_repeat_their_event_id_and_are_absorbed(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, device: phone, track: viewed, copies: 3}
        """
    )
    assert len(outcome.deliveries) == 3
    assert events_of(outcome) == [("cio_1", "viewed", 1)]
    assert ignored(outcome) == [("viewed", "event_id"), ("viewed", "event_id")]
    assert outcome.platform.ignored == {1: 2}


def test_two_client_sends_get_distinct_ids(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, device: phone, track: viewed}
          - {at: 0s, who: ana, device: phone, track: viewed}
        """
    )
    assert len(events_of(outcome)) == 2


def test_server_copies_without_ids_are_processed_twice(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, track: order_completed, copies: 2}
        """
    )
    assert events_of(outcome) == [("cio_1", "order_completed", 1), ("cio_1", "order_completed", 2)]
    assert ignored(outcome) == []


def test_server_source_with_event_ids_is_absorbed(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        workspace: {sources: {backend: {kind: server, event_ids: true}}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, track: order_completed, copies: 2}
        """
    )
    assert events_of(outcome) == [("cio_1", "order_completed", 1)]


def test_a_steps_event_id_is_the_dedupe_id(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, track: order_completed, event_id: ev_1}
          - {at: 1h, who: ana, track: order_completed, event_id: ev_1}
          - {at: 2h, who: ana, track: order_completed, event_id: ev_2}
        """
    )
    assert len(events_of(outcome)) == 2
    assert ignored(outcome) == [("order_completed", "event_id")]


def test_by_event_id_false_lets_client_copies_through(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        workspace: {dedupe: {by_event_id: false}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, device: phone, track: viewed, copies: 2}
        """
    )
    assert len(events_of(outcome)) == 2


def test_idempotency_key_ignores_a_second_event_with_the_same_value(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        workspace: {dedupe: {idempotency_keys: {order_completed: order_id}}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, track: order_completed, properties: {order_id: o_1}}
          - {at: 1m, who: ana, track: order_completed, properties: {order_id: o_1, value: 5}}
          - {at: 2m, who: ana, track: order_completed, properties: {order_id: o_2}}
          - {at: 3m, who: ana, track: refund_issued, properties: {order_id: o_1}}
        """
    )
    kept = [(e.name, e.props.get("order_id")) for e in outcome.platform.live_profiles()[0].events]
    assert kept == [("order_completed", "o_1"), ("order_completed", "o_2"), ("refund_issued", "o_1")]
    assert ignored(outcome) == [("order_completed", "idempotency_key")]


def test_event_ids_are_remembered_workspace_wide(play: Callable[..., Outcome]) -> None:
    # The same id arriving for another profile is still a duplicate.
    outcome = play(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}, ben: {id: cus_2}}
        timeline:
          - {at: 0s, who: ana, track: order_completed, event_id: shared}
          - {at: 1m, who: ben, track: order_completed, event_id: shared}
        """
    )
    assert events_of(outcome) == [("cio_1", "order_completed", 1)]


def test_idempotency_values_are_remembered_workspace_wide(play: Callable[..., Outcome]) -> None:
    # The anonymous phone's order lands on cio_1; the same order from the backend is ignored on cio_2.
    outcome = play(
        """
        scenario: s
        workspace: {dedupe: {idempotency_keys: {order_completed: order_id}}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, device: phone, track: order_completed, properties: {order_id: o_1}}
          - {at: 1m, who: ana, track: order_completed, properties: {order_id: o_1}}
        """
    )
    assert events_of(outcome) == [("cio_1", "order_completed", 1)]
    assert ignored(outcome) == [("order_completed", "idempotency_key")]


def test_idempotency_values_are_compared_exactly(play: Callable[..., Outcome]) -> None:
    """Order ids past 2**53 stay distinct; 1 and 1.0 are still one value."""
    outcome = play(
        """
        scenario: s
        workspace: {dedupe: {idempotency_keys: {order_completed: order_id}}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0m, who: ana, source: backend, track: order_completed, properties: {order_id: 9007199254740993}}
          - {at: 5m, who: ana, source: backend, track: order_completed, properties: {order_id: 9007199254740992}}
          - {at: 6m, who: ana, source: backend, track: order_completed, properties: {order_id: 9007199254740992.0}}
        """
    )
    assert events_of(outcome) == [("cio_1", "order_completed", 1)] * 2
    assert ignored(outcome) == [("order_completed", "idempotency_key")]


def test_a_null_idempotency_value_is_no_value(play: Callable[..., Outcome]) -> None:
    outcome = play(
        """
        scenario: s
        workspace: {dedupe: {idempotency_keys: {order_completed: order_id}}}
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0m, who: ana, source: backend, track: order_completed, properties: {order_id: null}}
          - {at: 5m, who: ana, source: backend, track: order_completed, properties: {order_id: null}}
        """
    )
    assert len(events_of(outcome)) == 2 and ignored(outcome) == []
