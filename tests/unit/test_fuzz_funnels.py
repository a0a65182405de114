"""The funnels the fuzz search opens: a journey's trigger event, or for a
segment-triggered journey the events its segment's rule requires, followed by
the event its goal or filter waits for."""

from __future__ import annotations

from pathlib import Path

from simulator.scenario.loader import load_workspace
from simulator.search.catalog import catalog_of, entry_events

WORKSPACE = """
segments:
  abandoners:
    rule:
      all:
        - {performed: checkout_started, within: 2h}
        - {not_performed: order_completed, after: checkout_started}
  not_buyers: {rule: {not: {in_segment: buyers}}}
  buyers: {rule: {performed: order_completed}}
  both_ways: {rule: {all: [{in_segment: browsers}, {not: {in_segment: browsers}}]}}
  browsers: {rule: {performed: product_viewed}}
  never_viewed: {rule: {performed: product_viewed, count: {eq: 0}}}
  viewed_once_at_least: {rule: {not: {performed: product_viewed, count: {eq: 0}}}}
  nested: {rule: {any: [{in_segment: abandoners}, {attribute: vip, eq: true}]}}
journeys:
  by_event: {trigger: {event: checkout_started}, goal: {performed: order_completed}, steps: [{send: a}]}
  by_segment: {trigger: {segment: abandoners}, goal: {performed: order_completed}, steps: [{send: a}]}
  by_negation: {trigger: {segment: not_buyers}, steps: [{send: a}]}
  by_both: {trigger: {segment: both_ways}, steps: [{send: a}]}
  by_zero: {trigger: {segment: never_viewed}, steps: [{send: a}]}
  by_not_zero: {trigger: {segment: viewed_once_at_least}, steps: [{send: a}]}
  by_nested: {trigger: {segment: nested}, steps: [{send: a}]}
"""


def test_entry_events_of_event_and_segment_triggered_journeys(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WORKSPACE)
    config, _ = load_workspace(path)
    journeys = {j.name: j for j in config.journeys}
    assert entry_events(config, journeys["by_event"]) == ["checkout_started"]
    assert entry_events(config, journeys["by_segment"]) == ["checkout_started"]  # not the order it excludes
    assert entry_events(config, journeys["by_negation"]) == []  # only an order it excludes
    assert entry_events(config, journeys["by_both"]) == ["product_viewed"]  # required where read positively
    assert entry_events(config, journeys["by_zero"]) == []  # a count of zero holds with none
    assert entry_events(config, journeys["by_not_zero"]) == ["product_viewed"]  # not none: at least one
    assert entry_events(config, journeys["by_nested"]) == ["checkout_started"]
    assert ("checkout_started", "order_completed") in catalog_of(path).funnels
