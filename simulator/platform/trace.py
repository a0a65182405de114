"""The trace: every thing the platform did, as flat records with an instant and a
kind, in processing order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from simulator.model.time import format_instant, format_offset

__all__ = ["Trace"]


class Trace:
    def __init__(self, start: int) -> None:
        self.start = start
        self.records: list[dict[str, Any]] = []

    def add(self, at: int, kind: str, **fields: Any) -> None:
        record: dict[str, Any] = {"at": at, "kind": kind}
        for key, value in fields.items():
            if value is not None:
                record[key] = value
        self.records.append(record)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

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
