"""The checks one tracked event gets against the tracking plan, shared by
scenario timelines and event logs: its name, its properties and their types,
the source it came from, and repeated `unique_by` values."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

from simulator.lint.findings import ERROR, WARNING, Severity
from simulator.lint.trackplan import TrackingPlanView, a_type, show_value, type_hint, type_name, value_has_type
from simulator.model.values import canonical_key

__all__ = ["EventReport", "UniqueValues", "check_event"]


class EventReport(Protocol):
    """Where one event's findings go: `detail` is the key path below the event
    (`("properties", "value")`), `key` what repeats fold on."""

    def __call__(
        self, rule: str, severity: Severity, message: str, detail: tuple[str, ...], key: tuple[object, ...]
    ) -> None: ...


def check_name(plan: TrackingPlanView, name: str, report: EventReport) -> bool:
    """True when the name is planned (its properties can be checked). An unplanned
    name is an `unplanned-event`, unless it is a near-duplicate of a planned name or
    that name with a property value baked in: the run's `EventNames` reports those,
    with the planned name to send instead. (Naming conventions are judged once per
    name over the whole run, not here on each event.)"""
    if plan.get(name) is not None:
        return True
    if plan.near_duplicate_of(name) is not None or plan.encoded_base(name) is not None:
        return False
    hint = plan.suggestion(name)
    if hint.startswith("did you mean"):
        message = f"event {name!r} is not in the tracking plan: {hint} rename it, or add it under tracking_plan.events"
    else:
        aside = f" ({hint})" if hint else ""
        message = f"event {name!r} is not in the tracking plan{aside}: rename it, or add it under tracking_plan.events"
    report(
        "unplanned-event",
        ERROR,
        message,
        ("event",),
        (name,),
    )
    return False


def check_event(
    plan: TrackingPlanView,
    name: str,
    properties: Mapping[str, Any] | None,
    is_client: bool | None,
    report: EventReport,
) -> None:
    """Every plan check for one tracked event (`is_client` None: the origin is unknown)."""
    if not check_name(plan, name, report):
        return
    planned = plan.events[name]
    props = properties if isinstance(properties, dict) else {}
    for prop in planned.required:
        if props.get(prop) is None:
            report(
                "required-missing",
                ERROR,
                f"{name} is sent without its required property {prop!r}: add it to every {name} call",
                ("properties", prop),
                (name, prop),
            )
    for prop, value in props.items():
        spec = planned.properties.get(prop)
        if spec is None:
            if planned.properties:
                nearest = _nearest_property(prop, planned.properties)
                report(
                    "additional-property",
                    WARNING,
                    f"{name} carries {prop!r}, which the plan does not list"
                    + (f" (did you mean {nearest!r}?)" if nearest else "")
                    + ": add it to the plan or stop sending it",
                    ("properties", prop),
                    (name, prop),
                )
            continue
        if spec.type is not None and value is not None and not value_has_type(value, spec.type):
            report(
                "datatype-mismatch",
                ERROR,
                f"{name}.{prop} should be {a_type(spec.type)} but is {a_type(type_name(value))} "
                f"({show_value(value)}); strict rules never match it: {type_hint(value, spec.type)}",
                ("properties", prop),
                (name, prop, type_name(value)),
            )
    if planned.source == "server" and is_client is True:
        report(
            "server-event-from-client",
            ERROR,
            f"{name} is planned as server-only but was sent from a client: send it from the order system "
            "(a server source), or the browser's copy will double or forge it",
            ("event",),
            (name,),
        )
    elif planned.source == "client" and is_client is False:
        report(
            "client-event-from-server",
            WARNING,
            f"{name} is planned as a client event but was sent from a server: check the plan's source",
            ("event",),
            (name,),
        )


def _nearest_property(prop: str, planned: Mapping[str, Any]) -> str | None:
    import difflib

    close = difflib.get_close_matches(prop, sorted(planned), n=1, cutoff=0.6)
    return close[0] if close else None


class UniqueValues:
    """Remembers the `unique_by` values seen per event: a 64-bit digest of each
    value with where it was first seen (file, line) and its dedupe id digest, and
    for a value delivered again the digests of the repeats' dedupe ids, so memory
    grows with the number of distinct values (and repeats) of unique events only,
    never with the log. One instance serves every log of a run, so a value
    repeated in another file (an export split by day) is found too."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], tuple[int, int | None, int]] = {}
        self._repeats: dict[tuple[str, int], set[int]] = {}
        self._files: dict[str, int] = {}
        self._file_names: list[str] = []

    def forget(self) -> None:
        """The platform was emptied (a call log's reset): every value seen before is
        new again. The logs of a run are read as one stream, in the order named."""
        self._seen.clear()
        self._repeats.clear()

    @staticmethod
    def digest(value: Any) -> int:
        text = repr(value).encode("utf-8", "surrogatepass")
        return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")

    def first_seen(self, event: str, value: Any, line: int, dedupe_id: Any, file: str = "") -> tuple[str, int] | None:
        """Where this value was first seen (file, line), when this is another delivery
        of it; None when the value is new, or when this copy carries the dedupe id of
        a delivery already seen (a retry the platform absorbs, counted once)."""
        key = (event, self.digest(canonical_key(value)))  # `5` and `5.0` are one order, as the platform reads them
        mark = self.digest(dedupe_id) if dedupe_id is not None else None
        earlier = self._seen.get(key)
        if earlier is None:
            number = self._files.setdefault(file, len(self._file_names))
            if number == len(self._file_names):
                self._file_names.append(file)
            self._seen[key] = (line, mark, number)
            return None
        if mark is not None:
            repeats = self._repeats.setdefault(key, set())
            if mark == earlier[1] or mark in repeats:
                return None
            repeats.add(mark)
        return self._file_names[earlier[2]], earlier[0]
