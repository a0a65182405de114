"""A compiled scenario: the shoppers, their sends (ground truth), the workspace
and the expectations, ready for ingestion, the platform and the checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.model.calls import Send
from simulator.model.config import WorkspaceConfig

__all__ = ["Expect", "Plan", "ShopperIds"]


@dataclass(frozen=True, slots=True)
class ShopperIds:
    name: str
    id: str | None = None
    email: str | None = None
    anonymous_ids: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    @property
    def identifiers(self) -> tuple[str, ...]:
        known = tuple(x for x in (self.id, self.email) if x is not None)
        return known + self.anonymous_ids


@dataclass(frozen=True, slots=True)
class Expect:
    index: int
    kind: str  # segment | member | journey | profiles | invariant | violation
    fields: dict[str, Any]
    at: int | None
    within: tuple[int, int] | None
    file: str
    line: int
    source_text: str

    def get(self, key: str) -> Any:
        return self.fields.get(key)


@dataclass
class Plan:
    name: str
    file: str
    start: int
    seed: int
    until: int | None
    workspace: WorkspaceConfig
    shoppers: dict[str, ShopperIds]
    sends: list[Send]
    expectations: list[Expect] = field(default_factory=list)
    description: str | None = None

    @property
    def owners(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        for shopper in self.shoppers.values():
            for key in shopper.identifiers:
                owners.setdefault(key, shopper.name)
        return owners
