"""The rule language, compiled, and its evaluation over one profile at one instant.

One grammar serves segment rules, journey filters, goals, branch tests and
wait conditions (SPEC section 6). Evaluation reads a `View`: the profile's
events and attributes, the instant, segment membership, and for journey
conditions the triggering event and the forward-looking floor.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

from simulator.model.values import ValueTest, fold_name, tests_pass

__all__ = [
    "All",
    "Any_",
    "AttributeTest",
    "excluding",
    "Compiled",
    "Cond",
    "EventLike",
    "InSegment",
    "Not",
    "Performed",
    "TriggerTest",
    "View",
    "compile_condition",
    "holds",
    "walk",
]


class EventLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def props(self) -> Mapping[str, Any]: ...
    @property
    def ts(self) -> int: ...
    @property
    def proc(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Count:
    op: str
    value: int

    def ok(self, n: int) -> bool:
        return _COUNT_OPS[self.op](n, self.value)


@dataclass(frozen=True, slots=True)
class Performed:
    event: str
    negative: bool = False
    within: int | None = None
    where: tuple[ValueTest, ...] = ()
    counts: tuple[Count, ...] = ()
    after: str | None = None


@dataclass(frozen=True, slots=True)
class AttributeTest:
    tests: tuple[ValueTest, ...]


@dataclass(frozen=True, slots=True)
class InSegment:
    segment: str


@dataclass(frozen=True, slots=True)
class TriggerTest:
    tests: tuple[ValueTest, ...]


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Any_:
    items: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Cond


Cond = Union[Performed, AttributeTest, InSegment, TriggerTest, All, Any_, Not]


@dataclass(slots=True)
class View:
    """What a condition sees. `floor` makes `performed` look forward only: events
    later than (timestamp, processing order) `floor`."""

    now: int
    events: Sequence[EventLike]
    attributes: Mapping[str, Any]
    age_start: int
    in_segment: Callable[[str], bool]
    coerce: bool = False
    needs_age: bool = True
    trigger: Mapping[str, Any] | None = None
    floor: tuple[int, int] | None = None
    generous_names: bool = False
    index: Mapping[str, Sequence[EventLike]] | None = None  # events by exact name, when the holder keeps one
    _names: dict[str, list[EventLike]] = field(default_factory=dict)

    def named(self, name: str) -> Sequence[EventLike]:
        if self.index is not None and not self.generous_names:
            return self.index.get(name, ())
        key = fold_name(name) if self.generous_names else name
        cached = self._names.get(key)
        if cached is None:
            if self.generous_names:
                cached = [e for e in self.events if fold_name(e.name) == key]
            else:
                cached = [e for e in self.events if e.name == name]
            self._names[key] = cached
        return cached


def _count(cond: Performed, view: View) -> int:
    now = view.now
    floor = view.floor
    lower: tuple[int, int] | None = None
    if cond.after is not None:
        latest: tuple[int, int] | None = None
        for e in view.named(cond.after):
            if e.ts <= now and (latest is None or (e.ts, e.proc) > latest):
                latest = (e.ts, e.proc)
        lower = latest
    if floor is not None and (lower is None or floor > lower):
        lower = floor
    start = now - cond.within if cond.within is not None else None
    n = 0
    for e in view.named(cond.event):
        if e.ts > now:
            continue
        if start is not None and e.ts <= start:
            continue
        if lower is not None and (e.ts, e.proc) <= lower:
            continue
        if cond.where and not tests_pass(cond.where, e.props, view.trigger, view.coerce):
            continue
        n += 1
    return n


def holds(cond: Cond, view: View) -> bool:
    if isinstance(cond, Performed):
        n = _count(cond, view)
        if cond.negative:
            if n:
                return False
            if cond.within is not None and view.needs_age:
                return view.now - view.age_start >= cond.within
            return True
        if not cond.counts:
            return n >= 1
        return all(c.ok(n) for c in cond.counts)
    if isinstance(cond, All):
        return all(holds(c, view) for c in cond.items)
    if isinstance(cond, Any_):
        return any(holds(c, view) for c in cond.items)
    if isinstance(cond, Not):
        return not holds(cond.item, view)
    if isinstance(cond, AttributeTest):
        return tests_pass(cond.tests, view.attributes, view.trigger, view.coerce)
    if isinstance(cond, InSegment):
        return view.in_segment(cond.segment)
    if isinstance(cond, TriggerTest):
        return tests_pass(cond.tests, view.trigger, view.trigger, view.coerce)
    raise TypeError(f"not a condition: {cond!r}")


def walk(cond: Cond | None) -> Iterator[Cond]:
    """Every node of a condition, depth first."""
    if cond is None:
        return
    yield cond
    if isinstance(cond, (All, Any_)):
        for item in cond.items:
            yield from walk(item)
    elif isinstance(cond, Not):
        yield from walk(cond.item)


def map_performed(cond: Cond, change: Callable[[Performed], Performed]) -> Cond:
    """`cond` with `change` applied to each of its `performed`/`not_performed` tests."""
    if isinstance(cond, Performed):
        return change(cond)
    if isinstance(cond, All):
        return All(tuple(map_performed(c, change) for c in cond.items))
    if isinstance(cond, Any_):
        return Any_(tuple(map_performed(c, change) for c in cond.items))
    if isinstance(cond, Not):
        return Not(map_performed(cond.item, change))
    return cond


def excluding(
    cond: Cond | None,
    negated: bool = False,
    segments: Mapping[str, Cond] | None = None,
    seen: frozenset[tuple[str, bool]] = frozenset(),
) -> Iterator[Performed]:
    """The event tests a matching event makes false: `not_performed` clauses,
    `performed` ones that hold with none and not with one (`count: {eq: 0}`), and
    under a `not` those that need an event to hold (`{not: {performed: order}}`
    excludes an order as `{not_performed: order}` does; `{not: {not_performed:
    order}}` requires one). Given `segments` (name -> rule), those of the rules of
    the segments it reads too (`in_segment: abandoners` excludes what the
    abandoners' rule excludes; under a `not`, what it requires). With `negated`
    the tests it yields are those that require their event."""
    if isinstance(cond, Performed):
        # Held with n matching events? One event turns a test false when it held with none
        # and not with one (`not_performed`, `count: {eq: 0}`, not `count: {lt: 2}`); a test
        # needs an event to hold when it does not hold with none.
        def holds(n: int) -> bool:
            if cond.negative:
                return n == 0
            return all(count.ok(n) for count in cond.counts) if cond.counts else n >= 1

        if (holds(0) and not holds(1)) if not negated else not holds(0):
            yield cond
    elif isinstance(cond, (All, Any_)):
        for item in cond.items:
            yield from excluding(item, negated, segments, seen)
    elif isinstance(cond, Not):
        yield from excluding(cond.item, not negated, segments, seen)
    elif isinstance(cond, InSegment) and segments is not None and (cond.segment, negated) not in seen:
        yield from excluding(segments.get(cond.segment), negated, segments, seen | {(cond.segment, negated)})


# ---------------------------------------------------------------- compiled


# A profile's `id` and `email` read as attributes too (`{attribute: email,
# exists: true}`), as in Customer.io; an attribute of that name set by an
# identify wins.
IDENTIFIER_ATTRIBUTES = ("id", "email")


def _root(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def with_identifiers(holder: Holder) -> Mapping[str, Any]:
    """The holder's attributes, with its `id` and `email` where it has them."""
    known = {k: v for k in IDENTIFIER_ATTRIBUTES if (v := getattr(holder, k, None)) is not None}
    return {**known, **holder.attributes} if known else holder.attributes


class Holder(Protocol):
    """What a compiled condition reads of a profile."""

    @property
    def by_name(self) -> Mapping[str, Sequence[EventLike]]: ...
    @property
    def attributes(self) -> Mapping[str, Any]: ...
    @property
    def segments(self) -> Container[str]: ...
    @property
    def age_start(self) -> int: ...


# (holder, now, trigger properties, forward floor) -> does the condition hold?
Compiled = Callable[[Holder, int, Mapping[str, Any] | None, tuple[int, int] | None], bool]

_COUNT_OPS: dict[str, Callable[[int, int], bool]] = {
    "eq": lambda n, v: n == v,
    "gte": lambda n, v: n >= v,
    "lte": lambda n, v: n <= v,
    "gt": lambda n, v: n > v,
    "lt": lambda n, v: n < v,
}


def compile_condition(cond: Cond, *, coerce: bool = False, needs_age: bool = True) -> Compiled:
    """`cond` as one function of (holder, now, trigger, floor): the same answers as
    `holds` over a `View` with those fields and exact event names, without the
    per-evaluation dispatch. The engine evaluates rules this way."""
    if isinstance(cond, Performed):
        return _compile_performed(cond, coerce, needs_age)
    if isinstance(cond, (All, Any_)):
        parts = tuple(compile_condition(c, coerce=coerce, needs_age=needs_age) for c in cond.items)
        if isinstance(cond, All):
            if len(parts) == 2:
                first, second = parts
                return lambda h, now, t, f: first(h, now, t, f) and second(h, now, t, f)

            def every(h: Holder, now: int, t: Mapping[str, Any] | None, f: tuple[int, int] | None) -> bool:
                for part in parts:
                    if not part(h, now, t, f):
                        return False
                return True

            return every

        def some(h: Holder, now: int, t: Mapping[str, Any] | None, f: tuple[int, int] | None) -> bool:
            for part in parts:
                if part(h, now, t, f):
                    return True
            return False

        return some
    if isinstance(cond, Not):
        inner = compile_condition(cond.item, coerce=coerce, needs_age=needs_age)
        return lambda h, now, t, f: not inner(h, now, t, f)
    if isinstance(cond, AttributeTest):
        tests = cond.tests
        if any(_root(x.path) in IDENTIFIER_ATTRIBUTES for x in tests):
            return lambda h, now, t, f: tests_pass(tests, with_identifiers(h), t, coerce)
        return lambda h, now, t, f: tests_pass(tests, h.attributes, t, coerce)
    if isinstance(cond, InSegment):
        segment = cond.segment
        return lambda h, now, t, f: segment in h.segments
    if isinstance(cond, TriggerTest):
        tests = cond.tests
        return lambda h, now, t, f: tests_pass(tests, t, t, coerce)
    raise TypeError(f"not a condition: {cond!r}")


def _compile_performed(cond: Performed, coerce: bool, needs_age: bool) -> Compiled:
    name, after, within, where = cond.event, cond.after, cond.within, cond.where

    def count(h: Holder, now: int, t: Mapping[str, Any] | None, floor: tuple[int, int] | None, enough: int) -> int:
        """Matching events, up to `enough` (0: all of them)."""
        events = h.by_name.get(name)
        if not events:
            return 0
        lower = floor
        if after is not None:
            latest: tuple[int, int] | None = None
            for e in h.by_name.get(after, ()):
                if e.ts <= now and (latest is None or (e.ts, e.proc) > latest):
                    latest = (e.ts, e.proc)
            if latest is not None and (lower is None or latest > lower):
                lower = latest
        start = now - within if within is not None else None
        n = 0
        for e in events:
            ts = e.ts
            if ts > now or (start is not None and ts <= start):
                continue
            if lower is not None and (ts, e.proc) <= lower:
                continue
            if where and not tests_pass(where, e.props, t, coerce):
                continue
            n += 1
            if n == enough:
                break
        return n

    if after is None and not where:
        # Only whether one such event is in the window (after the floor): the
        # most common test, and the one evaluated most often.
        def found(h: Holder, now: int, t: Mapping[str, Any] | None, floor: tuple[int, int] | None) -> bool:
            events = h.by_name.get(name)
            if not events:
                return False
            start = now - within if within is not None else None
            for e in events:
                ts = e.ts
                if ts > now or (start is not None and ts <= start):
                    continue
                if floor is not None and (ts, e.proc) <= floor:
                    continue
                return True
            return False

    else:

        def found(h: Holder, now: int, t: Mapping[str, Any] | None, floor: tuple[int, int] | None) -> bool:
            return count(h, now, t, floor, 1) == 1

    if cond.negative:
        if within is not None and needs_age:
            # The age first: a profile younger than the window has no scan to make.
            return lambda h, now, t, f: now - h.age_start >= within and not found(h, now, t, f)
        return lambda h, now, t, f: not found(h, now, t, f)
    if not cond.counts:
        return found
    tests = tuple((_COUNT_OPS[c.op], c.value) for c in cond.counts)
    return lambda h, now, t, f: _counts_ok(count(h, now, t, f, 0), tests)


def _counts_ok(n: int, tests: tuple[tuple[Callable[[int, int], bool], int], ...]) -> bool:
    for op, value in tests:
        if not op(n, value):
            return False
    return True
