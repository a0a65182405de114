"""The trace: every thing the platform did, as flat records with an instant and a
kind, in processing order.

The engine writes its frequent records as rows: the record's `Kind`, its
instant, then its field values in the kind's order, with profile references
as cio numbers, laid end to end in one flat list (no object per record).
They become dicts (`{"at", "kind", field: value}`, absent fields left out,
`cio_N` for profile references) when `records` is first read after them, so a
replay nobody reads the trace of keeps only the rows: a fraction of the
memory of dicts, and less work per record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from simulator.model.time import format_instant, format_offset

__all__ = [
    "ANONYMOUS_ID_RECORDED",
    "ARRIVED",
    "ATTRIBUTES_UPDATED",
    "ENTRY_FILTERED",
    "ENTRY_HELD",
    "ENTRY_REFUSED",
    "EVENT_ADDED",
    "EVENT_HELD",
    "EVENT_RELEASED",
    "JOURNEY_ENTERED",
    "JOURNEY_EXITED",
    "JOURNEY_OPEN",
    "MESSAGE_SENT",
    "PROFILE_CREATED",
    "PROFILE_MERGED",
    "SEGMENT_ENTERED",
    "SEGMENT_LEFT",
    "SEGMENT_LEFT_BECAUSE",
    "STEP",
    "Kind",
    "flat_record",
    "Trace",
]

# Fields that name a profile: a row holds its cio number, a record `cio_N`.
PROFILE_FIELDS = frozenset(("cio_id", "primary", "secondary", "other"))


class Kind:
    """A kind of record written as rows: its name and its fields, in order.
    With `expand`, a row is `(kind, at, *what)` with `stored` values, and
    `expand(row)` gives the field values: a row can hold a delivery or an
    event rather than copies of their fields."""

    __slots__ = ("expand", "fields", "name", "profile_fields", "width")

    def __init__(
        self,
        name: str,
        *fields: str,
        expand: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
        stored: int = 0,
    ) -> None:
        self.name = name
        self.fields = fields
        self.expand = expand
        self.width = 2 + (stored if expand is not None else len(fields))  # the row's length
        self.profile_fields = tuple(i for i, f in enumerate(fields) if f in PROFILE_FIELDS)


class Trace:
    __slots__ = ("_records", "_rows", "_unread", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self._records: list[dict[str, Any]] = []
        self._rows: list[Any] = []  # rows written after the last read of `records`, end to end
        self._unread = 0  # how many records they are

    def add(self, at: int, kind: str, **fields: Any) -> None:
        """A record of any kind, by keyword (absent fields: None)."""
        record: dict[str, Any] = {"at": at, "kind": kind}
        for key, value in fields.items():
            if value is not None:
                record[key] = value
        self._rows += (None, record)
        self._unread += 1

    def put(self, row: tuple[Any, ...]) -> None:
        """A record as a row: `(kind, at, *values)`, values in `kind.fields` order."""
        if len(row) != row[0].width:
            raise ValueError(f"a {row[0].name} row holds {row[0].width - 2} values, not {len(row) - 2}")
        self._rows += row
        self._unread += 1

    @property
    def records(self) -> list[dict[str, Any]]:
        rows = self._rows
        if rows:
            out = self._records
            i, end = 0, len(rows)
            while i < end:
                kind = rows[i]
                if kind is None:
                    out.append(rows[i + 1])
                    i += 2
                    continue
                row = tuple(rows[i : i + kind.width])
                i += kind.width
                record: dict[str, Any] = {"at": row[1], "kind": kind.name}
                values = list(row[2:] if kind.expand is None else kind.expand(row))
                for k in kind.profile_fields:
                    if type(values[k]) is int:
                        values[k] = f"cio_{values[k]}"
                for key, value in zip(kind.fields, values, strict=True):
                    if value is not None:
                        record[key] = value
                out.append(record)
            rows.clear()
            self._unread = 0
        return self._records

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self._records) + self._unread

    def as_json_records(self) -> list[dict[str, Any]]:
        """Instants as ISO-8601 plus the offset from start; other timestamps too."""
        out = []
        for record in self.records:
            item: dict[str, Any] = {
                "at": format_instant(record["at"]),
                "offset": format_offset(record["at"] - self.start),
                "kind": record["kind"],
            }
            for key, value in record.items():
                if key in ("at", "kind"):
                    continue
                if key in ("timestamp", "until") and isinstance(value, int):
                    value = format_instant(value)
                item[key] = value
            out.append(flat_record(item))
        return out


# The engine's frequent records, written as rows.


def _arrived(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(ARRIVED, at, delivery)"""
    at, d = row[1], row[2]
    send = d.send
    return (d.copy, at - send.at, send.seq, send.shopper, send.source, send.call, send.name, send.device)


def _event_added(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(EVENT_ADDED, at, event, cio number, via)"""
    e = row[2]
    return (row[3], e.name, e.seq, e.copy, e.shopper, row[4], e.ts)


ARRIVED = Kind(
    "arrived", "copy", "latency_s", "seq", "who", "source", "call", "event", "device", expand=_arrived, stored=1
)
EVENT_ADDED = Kind(
    "event_added", "cio_id", "event", "seq", "copy", "who", "via", "timestamp", expand=_event_added, stored=3
)
ENTRY_REFUSED = Kind("entry_refused", "journey", "cio_id", "who", "seq", "reason")
ENTRY_FILTERED = Kind("entry_filtered", "journey", "cio_id", "who", "seq")
ENTRY_HELD = Kind("entry_held", "journey", "cio_id", "who", "seq", "until")
JOURNEY_OPEN = Kind("journey_open", "journey", "run", "cio_id", "who")
ANONYMOUS_ID_RECORDED = Kind("anonymous_id_recorded", "cio_id", "anonymous_id", "who")
PROFILE_MERGED = Kind("profile_merged", "how", "primary", "secondary", "events_moved", "who")
SEGMENT_LEFT_BECAUSE = Kind("segment_left", "segment", "cio_id", "who", "reason")
EVENT_HELD = Kind("event_held", "cio_id", "event", "seq", "until")
EVENT_RELEASED = Kind("event_released", "cio_id", "event", "seq")
PROFILE_CREATED = Kind("profile_created", "cio_id", "id", "email", "anonymous_id", "orphan")
ATTRIBUTES_UPDATED = Kind("attributes_updated", "cio_id", "attributes", "who")
SEGMENT_ENTERED = Kind("segment_entered", "segment", "cio_id", "who")
SEGMENT_LEFT = Kind("segment_left", "segment", "cio_id", "who")


def _journey_entered(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(JOURNEY_ENTERED, at, run): what the run was entered with."""
    r = row[2]
    e = r.trigger
    return (r.journey.name, r.num, r.profiles[0][1], r.shopper, e and e.seq, e and e.name, r.journey.trigger_segment)


def _journey_exited(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(JOURNEY_EXITED, at, run): an ended run changes no more."""
    r = row[2]
    return (r.journey.name, r.num, r.profile, r.shopper, r.reason)


def _step(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(STEP, at, run, step, cio number)"""
    r = row[2]
    return (r.journey.name, r.num, r.shopper, row[3], row[4])


def _message_sent(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """(MESSAGE_SENT, at, message)"""
    m = row[2]
    return (m.journey, m.message, m.run, m.profile, m.shopper)


JOURNEY_ENTERED = Kind(
    "journey_entered", "journey", "run", "cio_id", "who", "seq", "event", "segment", expand=_journey_entered, stored=1
)
JOURNEY_EXITED = Kind("journey_exited", "journey", "run", "cio_id", "who", "reason", expand=_journey_exited, stored=1)
STEP = Kind("step", "journey", "run", "who", "step", "cio_id", expand=_step, stored=3)
MESSAGE_SENT = Kind("message_sent", "journey", "message", "run", "cio_id", "who", expand=_message_sent, stored=1)


_NEEDS_QUOTES = re.compile(r'[.\[\]"]')


def flat_record(record: dict[str, Any]) -> dict[str, Any]:
    """One level of keys (SPEC 11's flat records): a mapping's values take
    dotted keys, `properties.value`, `attributes.vip`, as a rule's paths do,
    and a list holding mappings numbered ones, `properties.items[0].category`.
    A key that holds a dot or a bracket itself is quoted, `properties["a.b"]`,
    so that it never overwrites the nested `a: {b: ...}`, as is an empty key. A list of plain
    values stays one value; an empty mapping is null."""
    out: dict[str, Any] = {}

    def put(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                key = str(key)
                quoted = not key or _NEEDS_QUOTES.search(key)  # an empty key too: `properties[""]`
                put(f"{prefix}[{json.dumps(key)}]" if quoted else f"{prefix}.{key}", inner)
            if not value:
                out[prefix] = None
        elif isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
            for i, item in enumerate(value):
                put(f"{prefix}[{i}]", item)
        else:
            out[prefix] = value

    for key, value in record.items():
        put(key, value)
    return out
