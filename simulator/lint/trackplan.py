"""The tracking plan as lint reads it: planned events, their properties and
types, and the naming conventions (lowercase snake case, no near-duplicates,
no property values baked into names)."""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulator.model.time import parse_instant
from simulator.model.values import fold_name, read_generously

__all__ = [
    "PlannedEvent",
    "PlannedProperty",
    "TrackingPlanView",
    "a_type",
    "closest_name",
    "is_snake_case",
    "show_value",
    "type_name",
    "value_has_type",
]

_SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")  # a leading digit too: `2fa_enabled`
_NUMBERED = re.compile(r"^(?P<base>[a-z][a-z0-9_]*?)_(?P<value>\d+)$")
# A suffix naming what happened (`purchase_refunded`, `order_paid`) makes another
# event, not a variant of its base carrying a value (`added_to_cart_shoes`).
_ACTION = re.compile(
    r"(?:^|_)(?:refunded|cancell?ed|completed|started|failed|shipped|delivered|returned|viewed|clicked|opened|"
    r"updated|created|deleted|removed|added|placed|confirmed|submitted|abandoned|expired|renewed|paused|resumed|"
    r"declined|approved|rejected|activated|deactivated|subscribed|unsubscribed|scheduled|processed|captured|"
    r"authorized|disputed|reviewed|rated|redeemed|applied|paid|sent|shown|seen|lost|won)$"
)


def is_snake_case(name: str) -> bool:
    return bool(_SNAKE.match(name))


def snake_case(name: str) -> str:
    """`Checkout Started` / `checkoutStarted` / `checkout-started` -> `checkout_started`."""
    # A capital after a small letter starts a word, and after a digit that ends one
    # (`orderV2Completed`), but not after a leading digit (`2FA_Enabled` is `2fa_enabled`).
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z][0-9])(?=[A-Z])", "_", name.strip())
    return re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_")


def suggested_name(name: str) -> str:
    """The snake-case spelling to suggest for `name`, in ASCII (`café_visited` ->
    `cafe_visited`), or a description when nothing of it is left (`日本`)."""
    spelled = "".join(_SPELLED_OUT.get(ch, ch) for ch in name)
    plain = unicodedata.normalize("NFKD", spelled).encode("ascii", "ignore").decode("ascii")
    snake = snake_case(plain)
    return repr(snake) if snake else "in lowercase ASCII letters, digits and underscores"


# Letters with no plain form in Unicode's decomposition (`ß` is not `s` plus a mark).
_SPELLED_OUT = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
    "ı": "i",
    "þ": "th",
    "Þ": "TH",
    "ð": "d",
    "Ð": "D",
}


def type_name(value: Any) -> str:
    """The plan type a JSON value has, as people read it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def a_type(name: str) -> str:
    """A type with its article, as a sentence needs it: `an integer`, `a string`, `null`."""
    if name == "null":
        return name
    return f"{'an' if name[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {name}"


_SHOWN_CHARS = 80


def show_value(value: Any) -> str:
    """A value as the user wrote it in JSON or YAML (`true`, `null`, `[1, 2]`; strings quoted
    like names), cut short when long: a log line's value can be megabytes."""
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (ValueError, RecursionError):  # NaN is fine; only cycles and absurd nesting land here
            text = type_name(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def value_has_type(value: Any, expected: str) -> bool:
    if expected == "string":
        return isinstance(value, str)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "integer":
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "list":
        return isinstance(value, list)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if isinstance(value, str):
            try:
                parse_instant(value)
            except ValueError:
                return False
            return True
        return False
    return True


def type_hint(value: Any, expected: str) -> str:
    """How to fix a wrong type, e.g. `send 120, not "120"`."""
    if expected in ("number", "integer") and isinstance(value, str):
        if isinstance(read_generously(value), str):  # "NaN", "abc": no number to send instead
            return f"send {a_type(expected)}, not the string {value!r}"
        return f"send the number itself ({value.strip()}), not the string {value!r}"
    if expected == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'send it as a string ("{value}")'
    if expected == "boolean" and isinstance(value, str):
        return "send true or false, not a string"
    if expected == "timestamp":
        return "send an ISO-8601 instant with an offset (2026-03-02T09:00:00Z) or unix seconds"
    return f"send {a_type(expected)}"


@dataclass(frozen=True, slots=True)
class PlannedProperty:
    name: str
    type: str | None
    required: bool


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    name: str
    source: str | None
    unique_by: str | None
    properties: dict[str, PlannedProperty] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        return [p.name for p in self.properties.values() if p.required]


class TrackingPlanView:
    """Lookups over the compiled `tracking_plan` mapping of a workspace."""

    def __init__(self, plan: Mapping[str, Any]) -> None:
        events: dict[str, PlannedEvent] = {}
        for name, raw in (plan.get("events") or {}).items():
            props = {
                p: PlannedProperty(p, spec.get("type"), bool(spec.get("required", False)))
                for p, spec in (raw.get("properties") or {}).items()
            }
            events[name] = PlannedEvent(name, raw.get("source"), raw.get("unique_by"), props)
        self.events = events
        self._folded = {fold_name(name): name for name in sorted(events)}
        self._names = sorted(events)
        self._known = frozenset(events)
        self._suggested: dict[str, str] = {}  # name -> its suggestion, worked out once

    @property
    def defined(self) -> bool:
        return bool(self.events)

    def get(self, name: str) -> PlannedEvent | None:
        return self.events.get(name)

    def near_duplicate_of(self, name: str) -> str | None:
        """The planned name that `name` differs from only in case, spaces or separators."""
        other = self._folded.get(fold_name(name))
        return other if other is not None and other != name else None

    def encoded_base(self, name: str) -> str | None:
        """The planned name `name` extends with a property value (`added_to_cart_shoes`)."""
        return encoded_base(name, self._known)

    def nearest(self, name: str) -> str | None:
        """The planned name `name` is likely a misspelling of, if any."""
        return nearest_name(name, self._names)

    def suggestion(self, name: str) -> str:
        """How a message names the nearest planned name: `did you mean 'x'?` when
        `name` is likely a misspelling of it, else `nearest planned name: 'x'`
        (empty when the plan defines no event)."""
        said = self._suggested.get(name)
        if said is None:  # once per name: a log repeats its names on every line
            close = self.nearest(name)
            if close is not None:
                said = f"did you mean {close!r}?"
            else:
                nearest = closest_name(name, self._names)
                said = f"nearest planned name: {nearest!r}" if nearest is not None else ""
            self._suggested[name] = said
        return said


def dedupe_key_problem(planned: PlannedEvent | None, key: str) -> tuple[str, str] | None:
    """What is wrong with `dedupe.idempotency_keys: {event: key}` against the
    plan, as (rule, message); None when nothing is (or the plan cannot tell)."""
    if planned is None or not planned.properties:
        return None
    name = planned.name
    if key.split(".")[0].removesuffix("[]") not in planned.properties:  # `order.id` reads into `order`
        import difflib

        close = difflib.get_close_matches(key, sorted(planned.properties), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else ""
        if not hint and planned.unique_by in planned.properties:
            hint = f"key it on {planned.unique_by!r}"
        return (
            "dedupe-key-unknown-property",
            f"dedupe.idempotency_keys keys {name} on {key!r}, which {name} does not list under properties: "
            "the guard finds no value and dedupes nothing" + (f"; {hint}" if hint else ""),
        )
    if planned.unique_by in planned.properties and key != planned.unique_by:  # (an unplanned one is its own finding)
        return (
            "dedupe-key-not-unique-by",
            f"dedupe.idempotency_keys keys {name} on {key!r}, but the plan says one {name} per "
            f"{planned.unique_by!r} (unique_by): two different {name} events with one {key} would be taken for "
            f"one; key it on {planned.unique_by!r}",
        )
    return None


def encoded_base(name: str, names: Iterable[str]) -> str | None:
    """The longest of `names` that `name` extends with `_` and a value
    (`added_to_cart_shoes` of `added_to_cart`), else the one it numbers
    (`step2` of `step`). Looks up `name`'s own prefixes, so a set of names
    costs the length of `name`, not the number of names."""
    known = names if isinstance(names, set | frozenset) else set(names)
    for i in range(len(name) - 1, 0, -1):
        if name[i] == "_" and name[:i] in known and not _ACTION.search(name[i + 1 :]):
            return name[:i]
    numbered = _NUMBERED.match(name)
    if numbered and numbered.group("base") in known:
        return numbered.group("base")
    return None


def nearest_name(name: str, names: Iterable[str]) -> str | None:
    options = sorted(set(names))
    folded = {fold_name(n): n for n in options}
    if fold_name(name) in folded:
        return folded[fold_name(name)]
    base = encoded_base(name, options)
    if base is not None:
        return base
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(snake_case(name), options, n=1, cutoff=0.6)
    return close[0] if close else None


def _words(name: str) -> set[str]:
    return {word for word in snake_case(name).split("_") if word}


def closest_name(name: str, names: Iterable[str]) -> str | None:
    """The name most like `name`, however far (None only when `names` is empty): the
    mean of the spelling's likeness (`difflib` ratio, on the name or its snake case)
    and the words they share (`wishlist_added` is nearer `added_to_cart` than
    `checkout_started`); ties go to the first in sorted order."""
    snake = snake_case(name)
    words = _words(name)

    def likeness(option: str) -> float:
        spelling = max(
            difflib.SequenceMatcher(None, name, option).ratio(), difflib.SequenceMatcher(None, snake, option).ratio()
        )
        theirs = _words(option)
        shared = 2 * len(words & theirs) / (len(words) + len(theirs)) if words and theirs else 0.0
        return (spelling + shared) / 2

    best: tuple[float, str] | None = None
    for option in sorted(set(names)):
        score = likeness(option)
        if best is None or score > best[0]:
            best = (score, option)
    return best[1] if best is not None else None
