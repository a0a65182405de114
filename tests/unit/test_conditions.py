"""SPEC 6: the rule language, evaluated over one profile at one instant."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from simulator.model.conditions import Cond, View, holds
from simulator.model.plan import Plan

T = 1_000_000


@dataclass
class Ev:
    name: str
    ts: int
    proc: int
    props: Mapping[str, Any] = field(default_factory=dict)


@pytest.fixture
def rule(load: Callable[[str], Plan]) -> Callable[..., Cond]:
    """A condition written as YAML (flow or JSON) -> its compiled form, via a segment or a journey filter."""

    def compile_rule(text: object, journey: bool = False) -> Cond:
        written = json.dumps(text) if not isinstance(text, str) else text
        if journey:
            ws = f"journeys: {{j: {{trigger: {{event: go}}, filter: {written}}}}}"
        else:
            ws = f"segments: {{s: {{rule: {written}}}, other: {{rule: {{performed: x}}}}}}"
        plan = load(f"scenario: r\nworkspace: {{{ws}}}\n")
        if journey:
            found = plan.workspace.journeys[0].filter
            assert found is not None
            return found
        return next(seg.rule for seg in plan.workspace.segments if seg.name == "s")

    return compile_rule


def view(
    events: list[Ev],
    now: int = T,
    attributes: Mapping[str, Any] | None = None,
    segments: tuple[str, ...] = (),
    coerce: bool = False,
    age_start: int = 0,
    needs_age: bool = True,
    trigger: Mapping[str, Any] | None = None,
) -> View:
    return View(
        now=now,
        events=events,
        attributes=attributes or {},
        age_start=age_start,
        in_segment=segments.__contains__,
        coerce=coerce,
        needs_age=needs_age,
        trigger=trigger,
    )


# ------------------------------------------------------------------ performed


def test_performed_is_exact_and_case_sensitive(rule: Callable[..., Cond]) -> None:
    cond = rule({"performed": "checkout_started"})
    assert holds(cond, view([Ev("checkout_started", T, 1)]))
    assert not holds(cond, view([Ev("Checkout Started", T, 1)]))
    assert not holds(cond, view([Ev("checkout-started", T, 1)]))


def test_events_stamped_after_t_do_not_count(rule: Callable[..., Cond]) -> None:
    cond = rule({"performed": "a"})
    assert not holds(cond, view([Ev("a", T + 1, 1)]))
    assert holds(cond, view([Ev("a", T, 1)]))


@pytest.mark.parametrize(("offset", "counts"), [(0, True), (-7199, True), (-7200, False), (-7201, False), (1, False)])
def test_within_covers_the_half_open_interval(rule: Callable[..., Cond], offset: int, counts: bool) -> None:
    cond = rule({"performed": "a", "within": "2h"})
    assert holds(cond, view([Ev("a", T + offset, 1)])) is counts


def test_after_counts_only_events_later_than_the_latest_after_event(rule: Callable[..., Cond]) -> None:
    cond = rule({"performed": "order", "after": "checkout"})
    assert holds(cond, view([Ev("order", T - 10, 1)]))  # no checkout: after does not restrict
    assert not holds(cond, view([Ev("order", T - 10, 1), Ev("checkout", T - 5, 2)]))
    assert holds(cond, view([Ev("checkout", T - 20, 1), Ev("order", T - 10, 2), Ev("checkout", T - 30, 3)]))
    # the latest checkout wins
    assert not holds(cond, view([Ev("checkout", T - 20, 1), Ev("order", T - 10, 2), Ev("checkout", T - 5, 3)]))


def test_after_ties_are_broken_by_processing_order(rule: Callable[..., Cond]) -> None:
    cond = rule({"performed": "order", "after": "checkout"})
    assert holds(cond, view([Ev("checkout", T - 10, 1), Ev("order", T - 10, 2)]))
    assert not holds(cond, view([Ev("order", T - 10, 1), Ev("checkout", T - 10, 2)]))


def test_after_ignores_after_events_stamped_in_the_future(rule: Callable[..., Cond]) -> None:
    cond = rule({"performed": "order", "after": "checkout"})
    assert holds(cond, view([Ev("order", T - 10, 1), Ev("checkout", T + 10, 2)]))


def test_not_performed_with_after(rule: Callable[..., Cond]) -> None:
    cond = rule({"not_performed": "order", "after": "checkout"})
    assert holds(cond, view([Ev("order", T - 20, 1), Ev("checkout", T - 10, 2)]))
    assert not holds(cond, view([Ev("checkout", T - 10, 1), Ev("order", T - 5, 2)]))


@pytest.mark.parametrize(
    ("count", "n", "expected"),
    [
        ({"eq": 2}, 2, True),
        ({"eq": 2}, 3, False),
        ({"gte": 2}, 2, True),
        ({"gte": 2}, 1, False),
        ({"lte": 1}, 1, True),
        ({"lte": 1}, 2, False),
        ({"gt": 1}, 2, True),
        ({"gt": 1}, 1, False),
        ({"lt": 2}, 1, True),
        ({"lt": 2}, 2, False),
        ({"eq": 0}, 0, True),
        ({"gte": 1, "lte": 2}, 3, False),
    ],
)
def test_count_operators(rule: Callable[..., Cond], count: dict[str, int], n: int, expected: bool) -> None:
    cond = rule({"performed": "a", "count": count})
    assert holds(cond, view([Ev("a", T - i, i) for i in range(n)])) is expected


def test_default_count_is_at_least_once(rule: Callable[..., Cond]) -> None:
    cond = rule({"performed": "a"})
    assert not holds(cond, view([]))
    assert holds(cond, view([Ev("a", T, 1), Ev("a", T, 2)]))


# ------------------------------------------------------------------ where

PROPS = {
    "value": 120,
    "price": "120",
    "currency": "USD",
    "vip": True,
    "address": {"city": "Lyon", "zip": "69001"},
    "tags": ["sale", "new"],
    "flags": [True, False],
    "items": [{"category": "coffee", "qty": 2, "gift": True}, {"category": "apparel", "qty": 1}],
    "note": "gift wrap please",
    "long_id": "12345678901234567891",
    "long_price": "12345678901234567890.5",
    "wide": "１０００",
    "coupon_code": None,
    "labels": ["gift", None],
}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"value": 120}, True),  # a bare value means eq
        ({"value": {"eq": 120}}, True),
        ({"value": {"eq": 121}}, False),
        ({"value": {"ne": 121}}, True),
        ({"value": {"ne": 120}}, False),
        ({"value": {"gt": 119}}, True),
        ({"value": {"gt": 120}}, False),
        ({"value": {"gte": 120}}, True),
        ({"value": {"lt": 121}}, True),
        ({"value": {"lt": 120}}, False),
        ({"value": {"lte": 120}}, True),
        ({"value": {"lte": 119}}, False),
        ({"currency": {"in": ["EUR", "USD"]}}, True),
        ({"currency": {"in": ["EUR"]}}, False),
        ({"note": {"contains": "gift"}}, True),
        ({"note": {"contains": "card"}}, False),
        ({"tags": {"contains": "sale"}}, True),
        ({"tags": {"contains": "old"}}, False),
        ({"currency": {"exists": True}}, True),
        ({"coupon": {"exists": True}}, False),
        ({"coupon": {"exists": False}}, True),
        ({"currency": {"exists": False}}, False),
        ({"address.city": "Lyon"}, True),
        ({"address.city": "Paris"}, False),
        ({"address.country": {"exists": False}}, True),
        ({"coupon_code": {"exists": True}}, False),  # a null is no value
        ({"coupon_code": {"exists": False}}, True),
        ({"items[].category": "coffee"}, True),
        ({"items[].category": "tea"}, False),
        ({"items[].qty": {"gte": 2}}, True),
        ({"items[].qty": {"gt": 2}}, False),
        ({"items[].qty": {"gte": 2, "lte": 1}}, False),  # one item must pass both: none is 2 and 1
        ({"items[].qty": {"gte": 1, "lte": 1}}, True),
        ({"items[].category": {"ne": "coffee", "eq": "apparel"}}, True),
        ({"items[].category": {"eq": "coffee", "exists": True}, "items[].gift": {"eq": True}}, True),
        ({"tags[]": {"ne": "sale", "eq": "sale"}}, False),
        ({"labels[]": {"exists": False}}, True),  # each element is a value: the null one does not exist
        ({"labels[]": {"exists": False, "ne": "gift"}}, False),  # (a null is not ne anything)
        ({"tags[]": {"exists": False}}, False),
        ({"nothing[]": {"exists": False}}, False),  # no element, none matches
        ({"items[].category": {"exists": False}}, False),  # every item has a category
        ({"items[].note": {"exists": False}}, True),  # some item (all here) has no note
        ({"items[].note": {"exists": True}}, False),
        ({"items[].gift": {"exists": False}}, True),  # the apparel item is no gift: any element matches
        ({"items[].gift": {"exists": True}}, True),
        ({"flags": [1, 0]}, False),  # [true, false] is not [1, 0]: booleans are not numbers
        ({"flags": [True, False]}, True),
        ({"flags": {"in": [[1, 0]]}}, False),
        ({"value": {"gt": 100}, "currency": "USD"}, True),
        ({"value": {"gt": 100}, "currency": "EUR"}, False),
        ({"vip": True}, True),
        ({"missing": {"ne": 1}}, False),
    ],
)
def test_where_operators_and_paths(rule: Callable[..., Cond], where: dict[str, Any], expected: bool) -> None:
    cond = rule({"performed": "a", "where": where})
    assert holds(cond, view([Ev("a", T, 1, PROPS)])) is expected


@pytest.mark.parametrize(
    ("where", "strict", "coerce"),
    [
        ({"price": {"eq": 120}}, False, True),  # "120" vs 120
        ({"price": 120}, False, True),
        ({"price": {"gt": 100}}, False, True),
        ({"price": {"lte": 120}}, False, True),
        ({"price": {"in": [120, 130]}}, False, True),
        ({"price": {"ne": 120}}, False, False),  # a mismatch is false, never true
        ({"vip": {"eq": 1}}, False, False),  # booleans are not numbers
        ({"vip": {"gt": 0}}, False, False),
        ({"value": {"eq": "120"}}, False, True),
        ({"address.zip": {"gte": 69000}}, False, True),
        ({"currency": {"gt": 1}}, False, False),  # not numeric at all
        ({"vip": {"ne": "yes"}}, False, False),  # a boolean and text: a mismatch, so ne is false
        ({"currency": {"ne": True}}, False, False),
        ({"vip": {"ne": False}}, True, True),
        ({"long_id": {"eq": 12345678901234567891}}, False, True),  # long ids read exactly
        ({"long_id": {"eq": 12345678901234567892}}, False, False),
        ({"long_id": {"ne": 12345678901234567892}}, False, True),
        ({"long_id": {"gt": 12345678901234567890}}, False, True),
        ({"long_price": {"gt": 12345678901234567890}}, False, True),  # decimals past a double: exactly
        ({"long_price": {"eq": "12345678901234567890.4"}}, False, False),
        ({"currency": {"ne": None}}, True, True),  # ne: null asks for a value
        ({"wide": {"eq": 1000}}, False, False),  # full-width digits are text, not a number
        ({"coupon": {"ne": None}}, False, False),  # (absent: false, as every ne on an absent path)
        ({"currency": {"ne": "5"}}, True, True),  # text with text, even when one is numeric
        ({"price": {"ne": "121"}}, True, True),
        ({"price": {"ne": "120.0"}}, True, False),  # under coerce both are 120
        ({"coupon_code": {"ne": 5}}, False, False),  # a null is no value
        ({"coupon_code": {"ne": "USD"}}, False, False),
    ],
)
def test_types_are_strict_by_default_and_coerce_reads_numeric_strings(
    rule: Callable[..., Cond], where: dict[str, Any], strict: bool, coerce: bool
) -> None:
    cond = rule({"performed": "a", "where": where})
    assert holds(cond, view([Ev("a", T, 1, PROPS)])) is strict
    assert holds(cond, view([Ev("a", T, 1, PROPS)], coerce=True)) is coerce


def test_workspace_types_setting_compiles_to_coerce(load: Callable[[str], Plan]) -> None:
    assert load("scenario: s\nworkspace: {rules: {types: coerce}}\n").workspace.coerce is True
    assert load("scenario: s\n").workspace.coerce is False


# ------------------------------------------------------------------ attributes, segments, logic


def test_attribute_tests(rule: Callable[..., Cond]) -> None:
    assert holds(rule({"attribute": "vip", "eq": True}), view([], attributes={"vip": True}))
    assert not holds(rule({"attribute": "vip", "eq": True}), view([], attributes={"vip": "true"}))
    assert holds(rule({"attribute": "plan", "in": ["gold", "silver"]}), view([], attributes={"plan": "gold"}))
    assert holds(rule({"attribute": "ltv", "gte": 100}), view([], attributes={"ltv": 150}))
    assert not holds(rule({"attribute": "ltv", "gte": 100}), view([], attributes={"ltv": "150"}))
    assert holds(rule({"attribute": "ltv", "gte": 100}), view([], attributes={"ltv": "150"}, coerce=True))
    assert holds(rule({"attribute": "email", "exists": False}), view([]))
    orders = {"orders": [{"total": 50}, {"total": 150}]}
    assert not holds(rule({"attribute": "orders[].total", "gt": 100, "lt": 120}), view([], attributes=orders))
    assert holds(rule({"attribute": "orders[].total", "gt": 100, "lt": 160}), view([], attributes=orders))


def test_in_segment_and_logic(rule: Callable[..., Cond]) -> None:
    assert holds(rule({"in_segment": "other"}), view([], segments=("other",)))
    assert not holds(rule({"in_segment": "other"}), view([]))
    both = rule({"all": [{"performed": "a"}, {"performed": "b"}]})
    either = rule({"any": [{"performed": "a"}, {"performed": "b"}]})
    neither = rule({"not": {"any": [{"performed": "a"}, {"performed": "b"}]}})
    only_a = view([Ev("a", T, 1)])
    assert (holds(both, only_a), holds(either, only_a), holds(neither, only_a)) == (False, True, False)
    empty = view([])
    assert (holds(both, empty), holds(either, empty), holds(neither, empty)) == (False, False, True)


# ------------------------------------------------------------------ negative windows and age

DAY = 86400


def test_not_performed_within_needs_a_profile_at_least_that_old(rule: Callable[..., Cond]) -> None:
    cond = rule({"not_performed": "order", "within": "30d"})
    assert not holds(cond, view([], age_start=T - 29 * DAY))
    assert holds(cond, view([], age_start=T - 30 * DAY))
    assert holds(cond, view([], age_start=T - 29 * DAY, needs_age=False))
    assert not holds(cond, view([Ev("order", T - DAY, 1)], age_start=T - 90 * DAY))
    assert holds(cond, view([Ev("order", T - 30 * DAY, 1)], age_start=T - 90 * DAY))


def test_not_performed_without_within_needs_no_age(rule: Callable[..., Cond]) -> None:
    assert holds(rule({"not_performed": "order"}), view([], age_start=T))


# ------------------------------------------------------------------ trigger references


def test_trigger_references_in_where_and_trigger_tests(rule: Callable[..., Cond]) -> None:
    same = rule({"performed": "order", "where": {"checkout_id": {"trigger": "checkout_id"}}}, journey=True)
    events = [Ev("order", T, 1, {"checkout_id": "ck_1"})]
    assert holds(same, view(events, trigger={"checkout_id": "ck_1"}))
    assert not holds(same, view(events, trigger={"checkout_id": "ck_2"}))
    assert not holds(same, view(events, trigger={}))
    big = rule({"trigger": {"value": {"gte": 100}}}, journey=True)
    assert holds(big, view([], trigger={"value": 100}))
    assert not holds(big, view([], trigger={"value": 99}))
    assert not holds(big, view([], trigger={"value": "150"}))
    assert holds(big, view([], trigger={"value": "150"}, coerce=True))
