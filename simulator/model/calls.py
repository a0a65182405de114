"""Sends (what a shopper's sender really transmitted) and deliveries (what
reached the platform, and when)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delivery", "Send", "in_batch_context"]


@dataclass(slots=True)
class Send:
    seq: int
    at: int
    call: str  # track | identify | merge
    source: str
    shopper: str | None = None
    device: str | None = None
    name: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    user_id: str | None = None
    email: str | None = None
    anonymous_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    timestamp: int | None = None
    event_id: str | None = None
    latency: int | None = None
    drop: bool | None = None  # the step's say: True dropped, False delivered, None the source's drop_rate
    copies: int | None = None
    retry_after: int | None = None
    primary: tuple[str, str] | None = None
    secondary: tuple[str, str] | None = None
    step: int = -1  # index of the timeline step in the file
    # `reset`: the device logged out after it and its next anonymous id; told in the
    # timeline, not part of what was sent (two sends differing only here are equal).
    logs_out: tuple[str, str] | None = field(default=None, compare=False)


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a
# replay makes one of these per delivery (3 % of it). Nothing changes one once made.
@dataclass(slots=True)
class Delivery:
    arrival: int
    send: Send
    copy: int  # 1 for the first delivery of a send

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.arrival, self.send.seq, self.copy)


def in_batch_context(call: dict[str, Any], batch: Mapping[str, Any]) -> dict[str, Any]:
    """A call of a Data Pipelines batch with the batch's own `context` applied,
    as Customer.io reads a batch ("the context and integrations objects apply
    to all calls in the request"); the call's own context keys win."""
    shared = batch.get("context")
    if not isinstance(shared, dict) or not shared:
        return call
    own = call.get("context")
    if own is not None and not isinstance(own, dict):
        return call  # the call's own context is wrong: said as it is
    return {**call, "context": {**shared, **(own or {})}}
