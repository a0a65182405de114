"""The trace: every thing the platform did, as flat records with an instant and a
kind, in processing order.

The engine writes its frequent records as rows, one tuple each: the record's
`Kind`, its instant, then its field values in the kind's order, with profile
references as cio numbers. They become dicts (`{"at", "kind", field: value}`,
absent fields left out, `cio_N` for profile references) when `records` is
first read after them, so a replay nobody reads the trace of keeps only the
tuples: a third of the memory, and less work per record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from simulator.model.time import format_instant, format_offset

__all__ = [
    "ARRIVED",
    "ATTRIBUTES_UPDATED",
    "EVENT_ADDED",
    "EVENT_HELD",
    "EVENT_RELEASED",
    "JOURNEY_ENTERED",
    "JOURNEY_EXITED",
    "MESSAGE_SENT",
    "PROFILE_CREATED",
    "SEGMENT_ENTERED",
    "SEGMENT_LEFT",
    "STEP",
    "Kind",
    "Trace",
]

# Fields that name a profile: a row holds its cio number, a record `cio_N`.
PROFILE_FIELDS = frozenset(("cio_id", "primary", "secondary", "other"))


class Kind:
    """A kind of record written as rows: its name and its fields, in order."""

    __slots__ = ("fields", "name", "profile_fields")

    def __init__(self, name: str, *fields: str) -> None:
        self.name = name
        self.fields = fields
        self.profile_fields = tuple(i for i, f in enumerate(fields) if f in PROFILE_FIELDS)


class Trace:
    __slots__ = ("_records", "_rows", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self._records: list[dict[str, Any]] = []
        self._rows: list[tuple[Any, ...]] = []  # written after the last read of `records`

    def add(self, at: int, kind: str, **fields: Any) -> None:
        """A record of any kind, by keyword (absent fields: None)."""
        record: dict[str, Any] = {"at": at, "kind": kind}
        for key, value in fields.items():
            if value is not None:
                record[key] = value
        self._rows.append((None, record))

    def put(self, row: tuple[Any, ...]) -> None:
        """A record as a row: `(kind, at, *values)`, values in `kind.fields` order."""
        self._rows.append(row)

    @property
    def records(self) -> list[dict[str, Any]]:
        rows = self._rows
        if rows:
            out = self._records
            for row in rows:
                kind = row[0]
                if kind is None:
                    out.append(row[1])
                    continue
                record: dict[str, Any] = {"at": row[1], "kind": kind.name}
                values = list(row[2:])
                for i in kind.profile_fields:
                    if type(values[i]) is int:
                        values[i] = f"cio_{values[i]}"
                for key, value in zip(kind.fields, values, strict=True):
                    if value is not None:
                        record[key] = value
                out.append(record)
            rows.clear()
        return self._records

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self._records) + len(self._rows)

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
            out.append(item)
        return out


# The engine's frequent records, written as rows.
ARRIVED = Kind("arrived", "copy", "latency_s", "seq", "who", "source", "call", "event", "device")
EVENT_ADDED = Kind("event_added", "cio_id", "event", "seq", "copy", "who", "via", "timestamp")
EVENT_HELD = Kind("event_held", "cio_id", "event", "seq", "until")
EVENT_RELEASED = Kind("event_released", "cio_id", "event", "seq")
PROFILE_CREATED = Kind("profile_created", "cio_id", "id", "email", "anonymous_id", "orphan")
ATTRIBUTES_UPDATED = Kind("attributes_updated", "cio_id", "attributes", "who")
SEGMENT_ENTERED = Kind("segment_entered", "segment", "cio_id", "who")
SEGMENT_LEFT = Kind("segment_left", "segment", "cio_id", "who")
JOURNEY_ENTERED = Kind("journey_entered", "journey", "run", "cio_id", "who", "seq", "event", "segment")
JOURNEY_EXITED = Kind("journey_exited", "journey", "run", "cio_id", "who", "reason")
STEP = Kind("step", "journey", "run", "who", "step", "cio_id")
MESSAGE_SENT = Kind("message_sent", "journey", "message", "run", "cio_id", "who")
