"""SPEC 13's "a suggestion for near-miss keys and names": the nearest name by
edits, and every one of a tie rather than one picked by sort order."""

from __future__ import annotations

import pytest

from simulator.scenario.errors import closest, did_you_mean


@pytest.mark.parametrize(
    ("word", "choices", "hint"),
    [
        ("wiat", ["wait", "with"], "did you mean 'wait'?"),  # a swap counts once
        ("an", ["anb", "ana", "ben"], "did you mean 'ana' or 'anb'?"),
        ("abc", ["abc3", "abc1", "abc2"], "did you mean 'abc1', 'abc2' or 'abc3'?"),
        ("late", ["late_arrival", "too_old"], "did you mean 'late_arrival'?"),  # the start of one choice
        ("zzz", ["a", "b"], "expected one of: a, b"),
    ],
)
def test_the_nearest_names_are_suggested_ties_together(word: str, choices: list[str], hint: str) -> None:
    assert did_you_mean(word, choices) == hint


def test_closest_is_one_name_or_a_tie_in_order() -> None:
    assert closest("ws.yml", ["ws.yaml", "other.yaml"]) == ["ws.yaml"]
    assert closest("an", ["anb", "ana"]) == ["ana", "anb"]
    assert closest("q", ["ana"]) == []
