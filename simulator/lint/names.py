"""The naming conventions of SPEC section 17, judged over every event name a
lint run meets: the planned names and the names scenario steps and log lines
send, together. A name is lowercase snake case, has no near-duplicate that
differs from it only in case, spaces or separators (`Checkout Started` vs
`checkout_started`), and does not bake a property value into another name
(`added_to_cart_shoes` beside `added_to_cart`).

Names are only collected while the files are read (a log is streamed, so a
near-duplicate may come after the name it duplicates); `report` judges them
once at the end of the run, one finding per offending name, located at its
first occurrence (a planned name at its plan entry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from simulator.lint.findings import ERROR, LISTED_OTHERS, WARNING, FindingSink
from simulator.lint.trackplan import encoded_base, is_snake_case, suggested_name
from simulator.model.values import fold_name

__all__ = ["EventNames"]


@dataclass(slots=True)
class _Name:
    planned: bool
    file: str = ""
    line: int = 0
    path: str = ""
    sightings: int = 0  # times a scenario step or log line sent it
    at_plan: bool = False  # located at its plan entry rather than where it was sent
    others: list[tuple[str, int]] = field(default_factory=list)  # the first few other places it was sent

    @property
    def located(self) -> bool:
        return bool(self.file)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class EventNames:
    """Every event name of one lint run, in the order first met, with where it was first met."""

    def __init__(self) -> None:
        self._names: dict[str, _Name] = {}

    def planned(self, name: str, file: str, line: int, path: str) -> None:
        """A name the linted workspace's tracking plan defines, at its plan entry."""
        known = self._names.get(name)
        if known is None:
            self._names[name] = _Name(True, file, line, path, at_plan=True)
        elif not known.located:
            known.planned, known.file, known.line, known.path, known.at_plan = True, file, line, path, True

    def planned_elsewhere(self, names: Iterable[str]) -> None:
        """Names another plan defines (a scenario's own overrides): the canonical
        names a sent name is compared with, never reported themselves unless sent."""
        for name in names:
            known = self._names.get(name)
            if known is None:
                self._names[name] = _Name(True)
            else:
                known.planned = True

    def seen(self, name: str, file: str, line: int, path: str) -> None:
        """A name a scenario step or log line sends."""
        known = self._names.get(name)
        if known is None:
            known = self._names[name] = _Name(False, file, line, path)
        elif not known.located:
            known.file, known.line, known.path = file, line, path
        elif not known.at_plan and len(known.others) < LISTED_OTHERS and (file, line) != (known.file, known.line):
            if (file, line) not in known.others:
                known.others.append((file, line))
        known.sightings += 1

    def report(self, sink: FindingSink) -> None:
        keepers = self._keepers()
        planned = {n for n, info in self._names.items() if info.planned}
        everyone = set(self._names)
        for name, info in self._names.items():
            if not info.located:
                continue
            keeper = keepers.get(fold_name(name), name)
            if keeper != name:
                self._near_duplicate(sink, name, info, keeper)
                continue
            base = encoded_base(name, planned) or encoded_base(name, everyone)
            if base is not None:
                self._encodes(sink, name, info, base)
            elif not is_snake_case(name):
                self._case(sink, name, info)

    def _keepers(self) -> dict[str, str]:
        """For each group of names that fold together, the one the others should become:
        a planned snake-case name, else a planned one, else a snake-case one, else the first met."""
        groups: dict[str, list[str]] = {}
        for name in self._names:
            groups.setdefault(fold_name(name), []).append(name)
        keepers: dict[str, str] = {}
        for folded, members in groups.items():
            if len(members) > 1:
                ranked = sorted(
                    enumerate(members), key=lambda m: (not self._names[m[1]].planned, not is_snake_case(m[1]), m[0])
                )
                keepers[folded] = ranked[0][1]
        return keepers

    def _add(self, sink: FindingSink, rule: str, error: bool, info: _Name, message: str) -> None:
        count, others = (1, []) if info.at_plan else (info.sightings, info.others)
        sink.add(
            rule, ERROR if error else WARNING, info.file, info.line, message, info.path, count=count, others=others
        )

    def _near_duplicate(self, sink: FindingSink, name: str, info: _Name, keeper: str) -> None:
        other = self._names[keeper]
        if info.planned:
            message = (
                f"planned events {keeper!r} and {name!r} differ only in case, spaces or separators: "
                "keep one name and migrate the senders of the other"
            )
        elif other.planned:
            message = (
                f"event {name!r} differs from the planned {keeper!r} only in case, spaces or separators; "
                f"the platform matches names exactly, so rules on {keeper!r} never see it: send {keeper!r}"
            )
        else:
            target = repr(keeper) if is_snake_case(keeper) else suggested_name(keeper)
            message = (
                f"event {name!r} differs from {keeper!r} (sent at {other.where}) only in case, spaces or "
                "separators; the platform matches names exactly, so each name splits the other's segments and "
                f"journeys: send one name, {target}, and plan it under tracking_plan.events"
            )
        self._add(sink, "near-duplicate-name", True, info, message)

    def _encodes(self, sink: FindingSink, name: str, info: _Name, base: str) -> None:
        value = name[len(base) + 1 :]
        if info.planned:
            message = (
                f"{name!r} looks like {base!r} with a property value in its name: plan {base!r} with "
                "that value as a property and filter on it with where:"
            )
        elif self._names[base].planned:
            message = (
                f"event {name!r} bakes a property value into the planned name {base!r}: send {base!r} "
                f"and put {value!r} in a property, then filter on it with where:"
            )
        else:
            message = (
                f"event {name!r} looks like {base!r} (sent at {self._names[base].where}) with a property value "
                f"in its name: send {base!r} with {value!r} in a property, then filter on it with where:"
            )
        # An error when the plan names the event to send instead; otherwise a naming smell.
        self._add(sink, "name-encodes-property", not info.planned and self._names[base].planned, info, message)

    def _case(self, sink: FindingSink, name: str, info: _Name) -> None:
        if info.planned:
            message = (
                f"event name {name!r} is not lowercase snake case: rename it {suggested_name(name)} "
                "in the plan and in every sender"
            )
        else:
            message = f"event name {name!r} is not lowercase snake case: call it {suggested_name(name)}"
        self._add(sink, "event-name-case", False, info, message)
