"""The emulator's virtual clock.

Arrival instants are whole seconds since the epoch (UTC), like every instant
in segsim. Three kinds:

- `wall` (default): the wall clock, read at each request with
  `datetime.now(UTC)`, so a test that freezes time with freezegun
  in the same process freezes the emulator too;
- `manual`: starts at `--start` (or the wall clock's now) and moves only
  when `POST /_segsim/advance?by=2h` asks.

Every kind adds the offset that `advance` accumulates, so a test on the wall
clock can still jump two hours ahead to fire journey timers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

__all__ = ["ClockKind", "VirtualClock"]

ClockKind = Literal["wall", "manual"]


def _wall_seconds() -> int:
    # Read through the datetime module at call time: freezegun patches it.
    return int(datetime.now(UTC).timestamp())


class VirtualClock:
    """`now()` in epoch seconds: the wall clock (or a fixed start) plus what `advance` added."""

    def __init__(self, kind: ClockKind = "wall", start: int | None = None) -> None:
        self.kind: ClockKind = kind
        self.offset = 0
        self.start = start if start is not None else _wall_seconds()
        self.start_given = start is not None  # a manual clock without one resumes a log where it stopped

    def now(self) -> int:
        base = self.start if self.kind == "manual" else _wall_seconds()
        return base + self.offset

    def machine(self) -> tuple[int, int] | None:
        """While this clock is not the machine's: the machine's now in
        milliseconds and this clock's in seconds (what a sender's own stamp is
        measured against)."""
        if self.apart_from_the_machine() == 0:
            return None
        return int(datetime.now(UTC).timestamp() * 1000), self.now()

    def apart_from_the_machine(self) -> int:
        """How far this clock is from the one a sender on this machine reads (the
        wall clock, or the one freezegun froze): 0 on the wall clock until `advance`."""
        if self.kind == "wall":
            return self.offset  # read once: two reads of the wall clock may straddle a second
        return self.now() - _wall_seconds()

    def advance(self, seconds: int) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        return self.now()
