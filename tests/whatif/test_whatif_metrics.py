"""Membership intervals and the figures: recall, false hold, entry lag."""

from __future__ import annotations

from simulator.whatif.metrics import Tally, compare, figures


def test_recall_counts_ideal_members_ever_in_the_real_segment() -> None:
    ideal = {"ana": [(0, 100)], "ben": [(0, 100)], "cat": [(50, 60)], "dan": [(0, 10)]}
    real = {"ana": [(5, 100)], "ben": [(30, 40)], "cat": [(55, 55)]}
    fig = figures(compare(ideal, real, 10), None)
    assert fig["recall"] == 0.75
    assert fig["false_hold"] == 0.0
    assert fig["median_entry_lag_s"] == 5
    assert fig["shoppers"] == 10


def test_false_hold_is_any_instant_held_outside_the_ideal() -> None:
    ideal = {"ana": [(0, 100)], "ben": [(0, 50), (60, 100)], "cat": [(0, 10)]}
    real = {"ana": [(0, 101)], "ben": [(0, 100)], "cat": [(0, 10)], "eve": [(7, 7)]}
    tally = compare(ideal, real, 4)
    assert tally.false_holds == 3  # ana one second late, ben held through the gap, eve never ideal
    assert figures(tally, None)["false_hold"] == 0.75


def test_a_zero_length_stay_inside_the_ideal_is_not_a_false_hold() -> None:
    assert compare({"ana": [(0, 10)]}, {"ana": [(5, 5)]}, 1).false_holds == 0
    assert compare({"ana": [(0, 10)]}, {"ana": [(10, 10)]}, 1).false_holds == 1


def test_tallies_add_up_across_partitions_and_empty_shares_are_none() -> None:
    total = Tally()
    total.add(Tally(shoppers=3, ideal_members=2, real_members=2, both=2, lags=[1, 3]))
    total.add(
        Tally(
            shoppers=4,
            ideal_members=2,
            real_members=1,
            both=1,
            lags=[10],
            trigger_events=4,
            ghost_abandons=1,
            causes={"late_arrival": 1},
        )
    )
    fig = figures(total, "cart_recovery")
    assert fig["recall"] == 0.75
    assert fig["median_entry_lag_s"] == 3
    assert fig["ghost_abandon_rate"] == 0.25
    assert fig["cause_late_arrival"] == 1 and fig["cause_dropped"] == 0
    assert figures(Tally(), "cart_recovery")["recall"] is None
    assert figures(Tally(), "cart_recovery")["ghost_abandon_rate"] is None
