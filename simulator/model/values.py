"""Property paths and value tests (`where`, attribute tests, `trigger:` tests).

Types are strict by default: numbers compare with numbers only, never with
numeric strings or booleans. A type mismatch never raises: the test is just
false, as in production. `coerce=True` reads numeric strings as numbers.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["TriggerRef", "ValueTest", "canonical_key", "fold_name", "lookup", "read_generously", "test_value"]


@dataclass(frozen=True, slots=True)
class TriggerRef:
    """`{trigger: checkout_id}`: that property of the run's triggering event."""

    path: str


@dataclass(frozen=True, slots=True)
class ValueTest:
    path: str
    op: str
    operand: Any  # a literal, a list for `in`, or a TriggerRef


_NUMERIC = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$", re.ASCII)  # ASCII digits: "１０００" is text
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$", re.ASCII)
# int() refuses digit strings longer than the interpreter allows (4300 by default).
_MAX_INT_DIGITS = min(4000, sys.get_int_max_str_digits() or 4000)
_SEPARATORS = re.compile(r"[\s_\-.]+")
_MISSING = object()


def fold_name(name: str) -> str:
    """`Checkout Started`, `checkout-started`, `checkoutStarted`? The first two fold
    to `checkoutstarted`; case, spaces and separators are what differ."""
    return _SEPARATORS.sub("", name).lower()


def lookup(data: Mapping[str, Any] | None, path: str) -> list[Any]:
    """Every value at `path`: `a.b` walks mappings, `items[].category` walks each
    element of a list. An absent path gives an empty list."""
    current: list[Any] = [data]
    for part in path.split("."):
        spread = part.endswith("[]")
        key = part[:-2] if spread else part
        found: list[Any] = []
        for item in current:
            if isinstance(item, Mapping) and key in item:
                value = item[key]
                if spread:
                    if isinstance(value, list):
                        found.extend(value)
                else:
                    found.append(value)
        current = found
        if not current:
            return []
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value: Any, coerce: bool) -> float | int | Decimal | None:
    if _is_number(value):
        return value  # type: ignore[no-any-return]
    if coerce and isinstance(value, str) and _NUMERIC.match(value):
        if _INTEGER.match(value) and len(value) <= _MAX_INT_DIGITS:  # exactly: 20-digit order ids stay distinct
            return int(value)
        if len(value.strip()) > 15:  # more digits than a double holds: read exactly
            exact = Decimal(value.strip())  # compares exactly with ints and floats
            if abs(exact.adjusted()) <= 400:
                return int(exact) if exact == exact.to_integral_value() else exact
        number = float(value)
        return int(number) if math.isfinite(number) and number.is_integer() else number
    return None


def _same_kind(left: Any, right: Any, coerce: bool) -> bool:
    """Can the two be compared at all? Numbers (numeric strings too, under
    coerce) with numbers, booleans with booleans, text with text, else the same type."""
    if left is None:  # a null is no value: `ne: 5` on it is false, as on an absent path
        return False
    if right is None:  # `ne: null` asks for a value: anything present is comparable with null
        return True
    if isinstance(left, str) and isinstance(right, str):  # text with text, numeric or not (coerce too)
        return True
    a, b = _as_number(left, coerce), _as_number(right, coerce)
    if a is not None or b is not None:
        return a is not None and b is not None
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    return type(left) is type(right) or (isinstance(left, str) and isinstance(right, str))


def _equal(left: Any, right: Any, coerce: bool) -> bool:
    a, b = _as_number(left, coerce), _as_number(right, coerce)
    if a is not None and b is not None:
        return a == b
    if _is_number(left) or _is_number(right):
        return False
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if type(left) is not type(right) and not (isinstance(left, str) and isinstance(right, str)):
        return False
    if isinstance(left, list):  # element by element: [true] is not [1]
        return len(left) == len(right) and all(_equal(a, b, coerce) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_equal(left[k], right[k], coerce) for k in left)
    return bool(left == right)


def _compare(op: str, left: Any, right: Any, coerce: bool) -> bool:
    a, b = _as_number(left, coerce), _as_number(right, coerce)
    if a is None or b is None:  # a type mismatch: false, never an error
        return False
    if op == "gt":
        return a > b
    if op == "gte":
        return a >= b
    if op == "lt":
        return a < b
    return a <= b


def _one(op: str, value: Any, operand: Any, coerce: bool) -> bool:
    if op == "eq":
        return _equal(value, operand, coerce)
    if op == "ne":  # a type mismatch is false, never true
        return _same_kind(value, operand, coerce) and not _equal(value, operand, coerce)
    if op in ("gt", "gte", "lt", "lte"):
        return _compare(op, value, operand, coerce)
    if op == "in":
        return isinstance(operand, list) and any(_equal(value, o, coerce) for o in operand)
    if op == "contains":
        if isinstance(value, str) and isinstance(operand, str):
            return operand in value
        if isinstance(value, list):
            return any(_equal(v, operand, coerce) for v in value)
        return False
    raise ValueError(f"unknown operator {op}")


def test_value(
    test: ValueTest,
    data: Mapping[str, Any] | None,
    trigger: Mapping[str, Any] | None,
    coerce: bool,
) -> bool:
    if test.op == "exists":
        return _exists(data, test.path, bool(test.operand))
    values = lookup(data, test.path)
    operand = test.operand
    if isinstance(operand, TriggerRef):
        resolved = lookup(trigger, operand.path)
        if not resolved:
            return False
        operand = resolved[0]
    elif isinstance(operand, list) and test.op == "in":
        items: list[Any] = []
        for item in operand:
            if isinstance(item, TriggerRef):
                items.extend(lookup(trigger, item.path)[:1])
            else:
                items.append(item)
        operand = items
    return any(_one(test.op, v, operand, coerce) for v in values)


def _exists(data: Any, path: str, wanted: bool) -> bool:
    """`exists` on a path: with `items[]` in it, true when any element matches
    (`items[].category: {exists: false}` holds when an item has no category).
    A null is no value (`coupon: null` does not exist), as for `ne: null`."""
    head, spread, rest = path.partition("[].")
    if not spread:
        if path.endswith("[]"):  # each element is a value: `tags[]: {exists: false}` holds on a null tag
            return any((value is not None) == wanted for value in lookup(data, path))
        return any(value is not None for value in lookup(data, path)) == wanted
    return any(_exists(element, rest, wanted) for element in lookup(data, head + "[]"))


def canonical_key(value: Any) -> str:
    """One text per value, for remembering idempotency values: `1` and `1.0` are
    the same order id, `"1"` is not."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"n:{value}"  # exactly: 9007199254740993 is not 9007199254740992
    if isinstance(value, float):
        return f"n:{int(value)}" if value.is_integer() else f"n:{value!r}"
    return f"{type(value).__name__}:{value!r}"


def read_generously(value: Any) -> Any:
    """Numeric strings read as numbers, all the way down (the ground truth's view)."""
    if isinstance(value, str):
        number = _as_number(value, True)
        return value if number is None else number
    if isinstance(value, list):
        return [read_generously(v) for v in value]
    if isinstance(value, dict):
        return {k: read_generously(v) for k, v in value.items()}
    return value


def tests_pass(
    tests: Sequence[ValueTest], data: Mapping[str, Any] | None, trigger: Mapping[str, Any] | None, coerce: bool
) -> bool:
    """Every test holds. Several operators on one `items[]` path are one test:
    one element must pass them all (`items[].price: {gte: 5, lte: 10}` is an
    item priced 5 to 10, not one over 5 and another under 10)."""
    if not tests:
        return True
    if len(tests) < 2 or not any("[]" in t.path for t in tests):
        return all(test_value(t, data, trigger, coerce) for t in tests)
    by_path: dict[str, list[ValueTest]] = {}
    for t in tests:
        by_path.setdefault(t.path, []).append(t)
    return all(_on_one_element(group, path, data, trigger, coerce) for path, group in by_path.items())


def _on_one_element(
    tests: list[ValueTest], path: str, data: Any, trigger: Mapping[str, Any] | None, coerce: bool
) -> bool:
    """All of `tests` (on `path`) hold on one element of each list the path walks."""
    if len(tests) == 1 or "[]" not in path:
        return all(test_value(ValueTest(path, t.op, t.operand), data, trigger, coerce) for t in tests)
    head, spread, rest = path.partition("[]")
    elements = lookup(data, head + "[]")
    if rest.startswith("."):
        return any(_on_one_element(tests, rest[1:], element, trigger, coerce) for element in elements)
    return any(_on_one_element(tests, "v", {"v": element}, trigger, coerce) for element in elements)
