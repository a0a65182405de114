"""The engine evaluates rules compiled to functions (`compile_condition`); the
checks and the tests evaluate them with `holds` over a `View`. Both must give
the same answer for every condition, profile, instant, trigger and floor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.model.conditions import (
    All,
    Any_,
    AttributeTest,
    Cond,
    Count,
    InSegment,
    Not,
    Performed,
    TriggerTest,
    View,
    compile_condition,
    holds,
)
from simulator.model.values import TriggerRef, ValueTest

NAMES = ("checkout", "order")
# Instants and windows on a coarse grid, so that boundaries (an event exactly
# `within` before now, two events at one instant) come up often.
instants = st.integers(0, 4).map(lambda k: k * 500)


@dataclass(frozen=True)
class Ev:
    name: str
    ts: int
    proc: int
    props: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Holder:
    by_name: dict[str, list[Ev]]
    attributes: dict[str, Any]
    segments: set[str]
    age_start: int


values = st.one_of(st.integers(-3, 300), st.sampled_from(["5", "coffee", "x", "150"]), st.booleans(), st.none())
operands = st.one_of(values, st.just(TriggerRef("value")), st.lists(values, max_size=3))
value_tests = st.builds(
    ValueTest,
    path=st.sampled_from(["value", "category", "items[].category", "missing"]),
    op=st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists"]),
    operand=operands,
)
counts = st.builds(Count, op=st.sampled_from(["eq", "gte", "lte", "gt", "lt"]), value=st.integers(0, 3))
performed = st.builds(
    Performed,
    event=st.sampled_from(NAMES),
    negative=st.booleans(),
    within=st.one_of(st.none(), st.integers(1, 2).map(lambda k: k * 500)),
    where=st.lists(value_tests, max_size=1).map(tuple),
    counts=st.lists(counts, max_size=1).map(tuple),
    after=st.one_of(st.none(), st.sampled_from(NAMES)),
)
leaves = st.one_of(
    performed,
    st.builds(AttributeTest, tests=st.lists(value_tests, min_size=1, max_size=2).map(tuple)),
    st.builds(InSegment, segment=st.sampled_from(["a", "b"])),
    st.builds(TriggerTest, tests=st.lists(value_tests, min_size=1, max_size=2).map(tuple)),
)
conditions: st.SearchStrategy[Cond] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(All, items=st.lists(inner, min_size=1, max_size=3).map(tuple)),
        st.builds(Any_, items=st.lists(inner, min_size=1, max_size=3).map(tuple)),
        st.builds(Not, item=inner),
    ),
    max_leaves=6,
)
props = st.fixed_dictionaries(
    {},
    optional={
        "value": values,
        "category": values,
        "items": st.lists(st.fixed_dictionaries({"category": st.sampled_from(["coffee", "tea"])}), max_size=2),
    },
)
events = st.lists(
    st.builds(Ev, name=st.sampled_from(NAMES), ts=instants, proc=st.integers(0, 3), props=props),
    max_size=8,
)


def agree(
    cond: Cond,
    evs: list[Ev],
    now: int,
    trigger: dict[str, Any] | None,
    floor: tuple[int, int] | None,
    segments: set[str],
    age_start: int,
    coerce: bool,
    needs_age: bool,
    attributes: dict[str, Any],
) -> None:
    by_name: dict[str, list[Ev]] = {}
    for e in evs:
        by_name.setdefault(e.name, []).append(e)
    view = View(
        now=now,
        events=evs,
        attributes=attributes,
        age_start=age_start,
        in_segment=segments.__contains__,
        coerce=coerce,
        needs_age=needs_age,
        trigger=trigger,
        floor=floor,
    )
    compiled = compile_condition(cond, coerce=coerce, needs_age=needs_age)
    holder = Holder(by_name, attributes, segments, age_start)
    assert compiled(holder, now, trigger, floor) == holds(cond, view)


the_rest = st.tuples(
    events,
    instants,
    st.one_of(st.none(), props),
    st.one_of(st.none(), st.tuples(instants, st.integers(0, 3))),
    st.sets(st.sampled_from(["a", "b"])),
    instants,
    st.booleans(),
    st.booleans(),
    st.fixed_dictionaries({}, optional={"value": values, "category": values}),
)


@settings(max_examples=600)
@given(performed, the_rest)
def test_compiled_performed_agrees_with_holds(cond: Cond, rest: tuple[Any, ...]) -> None:
    """One `performed` node: windows, `after`, counts, `where`, the floor and age."""
    agree(cond, *rest)


@settings(max_examples=400)
@given(conditions, the_rest)
def test_compiled_conditions_agree_with_holds(cond: Cond, rest: tuple[Any, ...]) -> None:
    """Any condition: the combinators, attribute, segment and trigger tests."""
    agree(cond, *rest)
