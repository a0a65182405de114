"""What the platform holds: events, profiles, journey runs, filter holds.

Plain slotted classes: these live in the hot loop.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from simulator.model.calls import Delivery
from simulator.model.config import JourneyDef, Step

__all__ = [
    "DELIVERY",
    "HELD",
    "HOLD_END",
    "NO_SEGMENTS",
    "PROBE",
    "SWEEP",
    "TIME",
    "TIMER",
    "Event",
    "Frame",
    "Hold",
    "Message",
    "Profile",
    "Run",
    "email_key",
]

NO_SEGMENTS: frozenset[str] = frozenset()


def email_key(email: str) -> str:
    """An email as the platform's index keys it: emails are case-insensitive
    (the Track API: `PERSON@example.com` and `person@example.com` are one person)."""
    return email.lower()


# The phases of one instant, in the order they run (SPEC section 4).
DELIVERY, HELD, TIME, TIMER, HOLD_END, SWEEP, PROBE = range(7)


@dataclass(slots=True, eq=False)
class Event:
    name: str
    props: dict[str, Any]
    ts: int
    proc: int
    delivery: Delivery  # the delivery it was accepted from: its send, copy and arrival
    via: str  # direct | grace | anonymous_merge | merge
    holder: int  # cio number of the profile holding it now
    landed: int | None = None  # cio number of the profile it was first added to
    moves: tuple[int, ...] = ()  # instant, cio number, instant, cio number, ...: its moves by merges
    lost: str | None = None  # why a merge left it behind
    lost_at: int | None = None

    @property
    def seq(self) -> int:
        return self.delivery.send.seq

    @property
    def copy(self) -> int:
        return self.delivery.copy

    @property
    def shopper(self) -> str | None:
        return self.delivery.send.shopper

    @property
    def arrival(self) -> int:
        return self.delivery.arrival

    @property
    def history(self) -> list[tuple[int, int]]:
        """(instant, cio number) of each profile that has held it, in order."""
        first = [] if self.landed is None else [(self.arrival, self.landed)]
        moves = self.moves
        return first + [(moves[i], moves[i + 1]) for i in range(0, len(moves), 2)]


NEVER = 1 << 62  # later than any instant


@dataclass(slots=True, eq=False)
class Profile:
    num: int
    created: int
    id: str | None = None
    email: str | None = None
    anonymous_ids: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    by_name: dict[str, list[Event]] = field(default_factory=dict)  # the same events, by name
    # Its segments: the shared empty NO_SEGMENTS until it joins one (most
    # profiles never do; an empty set costs 216 bytes).
    segments: AbstractSet[str] = NO_SEGMENTS
    orphan: bool = False
    deleted_at: int | None = None
    merged_into: int | None = None
    history: list[Run] = field(default_factory=list)  # runs entered here or inherited
    earliest_ts: int | None = None
    age_start: int = 0  # min(created, earliest_ts): what a negative window's age counts from
    evaluated: bool = False  # have its segments been evaluated once?
    # No instant before this one can time change anything for it (a window
    # closing on its events, an event's stamp reached, an age): a lower bound
    # kept by the platform, so most changes skip looking (`TimeChecks.due_now`).
    next_due: int = NEVER

    def __post_init__(self) -> None:
        self.age_start = self.created if self.earliest_ts is None else min(self.created, self.earliest_ts)

    @property
    def cio_id(self) -> str:
        return f"cio_{self.num}"

    @property
    def identified(self) -> bool:
        return self.id is not None or self.email is not None

    def summary(self) -> dict[str, Any]:
        return {
            "cio_id": self.cio_id,
            "id": self.id,
            "email": self.email,
            "anonymous_ids": list(self.anonymous_ids),
            "attributes": dict(sorted(self.attributes.items())),
            "events": len(self.events),
        }


@dataclass(slots=True, eq=False)
class Frame:
    steps: tuple[Step, ...]
    index: int = 0
    ends_run: bool = False


@dataclass(slots=True, eq=False)
class Message:
    journey: str
    message: str
    run: int
    profile: int
    at: int
    shopper: str | None
    after: int = 0  # the processing order of the last event processed before it went out


@dataclass(slots=True, eq=False)
class Run:
    num: int
    journey: JourneyDef
    profile: int
    shopper: str | None
    entered_at: int
    trigger: Event | None
    floor: tuple[int, int]
    stack: list[Frame] = field(default_factory=list)
    waiting: str | None = None  # wait | until
    wait_step: Any = None
    token: int = 0
    ended_at: int | None = None
    reason: str = "open"
    messages: list[Message] = field(default_factory=list)
    profiles: list[tuple[int, int]] = field(default_factory=list)  # (instant, cio number)

    @property
    def open(self) -> bool:
        return self.ended_at is None

    @property
    def trigger_props(self) -> dict[str, Any] | None:
        return self.trigger.props if self.trigger is not None else None


@dataclass(slots=True, eq=False)
class Hold:
    journey: JourneyDef
    profile: int
    event: Event
    started: int
    expires: int
    alive: bool = True
