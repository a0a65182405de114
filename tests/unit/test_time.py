"""SPEC 3 (time) and the timeline's `at:` (SPEC 2): durations, instants, start, step order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator.model.plan import Plan
from simulator.model.time import DEFAULT_START, format_duration, parse_duration, parse_instant
from simulator.scenario.errors import InputError

START = parse_instant("2026-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("15m", 900),
        ("2h", 7200),
        ("1h30m", 5400),
        ("3d", 3 * 86400),
        ("1w", 7 * 86400),
        ("0s", 0),
        ("1d2h3m4s", 86400 + 7200 + 180 + 4),
    ],
)
def test_durations_are_integers_with_units_concatenated(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["-5m", "-0s", "5", "m5", "1.5h", "", "5 minutes", "1y", "30m1h", "1h1h", "\u0663m", "\uff15m"]
)
def test_bad_or_negative_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_units_out_of_order_or_repeated_are_told_how_to_write_them() -> None:
    with pytest.raises(ValueError, match="units largest first, each once: write 1h30m"):
        parse_duration("30m1h")


@pytest.mark.parametrize("value", [0, 5, True, None, 1.5])
def test_durations_must_be_strings_with_units(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_negative_duration_message_says_why() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_duration("-30m")


def test_format_duration_round_trips() -> None:
    for seconds in (0, 30, 5400, 86400 + 61):
        assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", START),
        ("2026-01-01T01:00:00+01:00", START),
        ("2025-12-31T19:00:00-05:00", START),
        ("2026-03-02T09:00:00Z", parse_instant("2026-03-02T09:00:00+00:00")),
    ],
)
def test_instants_with_offsets_are_stored_in_utc(text: str, expected: int) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize("text", ["2026-01-01T00:00:00", "yesterday", "2026-13-01T00:00:00Z"])
def test_instants_without_an_offset_or_malformed_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


def test_start_defaults_to_new_year_2026(load: Callable[[str], Plan]) -> None:
    plan = load("scenario: s\n")
    assert plan.start == parse_instant(DEFAULT_START) == START


def test_at_is_an_offset_from_start_or_an_absolute_instant(load: Callable[[str], Plan]) -> None:
    plan = load(
        """
        scenario: s
        start: 2026-03-02T09:00:00+02:00
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 1h30m, who: ana, track: a}
          - {at: "2026-03-02T12:00:00Z", who: ana, track: b}
        """
    )
    start = parse_instant("2026-03-02T07:00:00Z")
    assert plan.start == start
    by_name = {s.name: s.at for s in plan.sends}
    assert by_name == {"a": start + 5400, "b": start + 5 * 3600}


def test_steps_are_sorted_by_at_keeping_file_order_for_ties(load: Callable[[str], Plan]) -> None:
    plan = load(
        """
        scenario: s
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 2h, who: ana, track: late}
          - {at: 1h, who: ana, track: tie_first}
          - {at: 0s, who: ana, track: earliest}
          - {at: 1h, who: ana, track: tie_second}
          - {at: 60m, who: ana, track: tie_third}
        """
    )
    assert [s.name for s in sorted(plan.sends, key=lambda s: s.seq)] == [
        "earliest",
        "tie_first",
        "tie_second",
        "tie_third",
        "late",
    ]
    assert [s.seq for s in plan.sends] == sorted(s.seq for s in plan.sends)


def test_until_bounds_the_simulation(load: Callable[[str], Plan]) -> None:
    from simulator.pipeline import simulate

    plan = load(
        """
        scenario: s
        until: 1h
        shoppers: {ana: {id: cus_1}}
        timeline:
          - {at: 0s, who: ana, track: a}
          - {at: 2h, who: ana, track: b}
        """
    )
    outcome = simulate(plan)
    assert outcome.end == START + 3600
    names = [e.name for p in outcome.platform.live_profiles() for e in p.events]
    assert names == ["a"]


def test_negative_duration_in_a_scenario_is_an_input_error(load: Callable[[str], Plan]) -> None:
    with pytest.raises(InputError) as info:
        load(
            """
            scenario: s
            shoppers: {ana: {id: cus_1}}
            timeline:
              - {at: 0s, who: ana, track: a, latency: -5m}
            """
        )
    problem = info.value.problems[0]
    assert problem.path == "timeline[0].latency"
    assert problem.line == 5
