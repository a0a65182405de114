"""Durations and instants on the virtual clock.

Every instant inside segsim is an integer number of seconds since the Unix
epoch (UTC); every duration is an integer number of seconds. Nothing here
reads the wall clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = [
    "DEFAULT_START",
    "LATEST_INSTANT",
    "LATEST_IN_FILES",
    "clock_reading_hint",
    "format_duration",
    "format_instant",
    "format_offset",
    "instant_millis",
    "is_duration",
    "on_our_clock",
    "parse_duration",
    "parse_instant",
]

_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# Units largest first, each at most once, ASCII digits: `1h30m`, not `30m1h`, `1h1h` or `٣m`.
DURATION_PATTERN = r"^(?=[0-9])(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$"
_DURATION = re.compile(DURATION_PATTERN)
_PART = re.compile(r"([0-9]+)([wdhms])")

DEFAULT_START = "2026-01-01T00:00:00Z"
MAX_YEARS = 1000
MAX_SECONDS = MAX_YEARS * 365 * 86400
LATEST_INSTANT = 253_402_300_799  # 9999-12-31T23:59:59Z: every instant must stay printable
LATEST_IN_FILES = LATEST_INSTANT - MAX_SECONDS - 86400


def is_duration(text: object) -> bool:
    return isinstance(text, str) and bool(_DURATION.match(text.strip()))


def clock_reading_hint(value: str) -> str:
    """`1:30` is a clock reading, not a duration: how to write the one it most likely means."""
    match = re.fullmatch(r"([0-9]+):([0-5][0-9])(?::([0-5][0-9]))?", value.strip())
    if match is None:
        return ""
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    written = "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if n) or "0s"
    return f" (hours and minutes are written {written})"


def parse_duration(text: object) -> int:
    """`1h30m` -> 5400. Raises ValueError with a readable reason."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(
            f"expected a duration such as 30s, 15m, 2h, 1h30m, 3d or 1w, got {text!r}"
            + (" (add a unit: 0 is written 0s)" if text == 0 else "")
        )
    value = text.strip()
    if value.startswith("-"):
        raise ValueError(f"durations cannot be negative, got {text!r}")
    if not _DURATION.match(value):
        hint = ""
        if re.fullmatch(r"(?:[0-9]+[wdhms])+", value):
            hint = " (units largest first, each once: write 1h30m, not 30m1h or 1h1h)"
        hint = hint or clock_reading_hint(value)
        raise ValueError(f"expected a duration such as 30s, 15m, 2h, 1h30m, 3d or 1w, got {text!r}{hint}")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    if seconds > MAX_SECONDS:
        raise ValueError(f"the duration {text!r} is longer than {MAX_YEARS} years")
    return seconds


def parse_instant(text: object, latest: int = LATEST_INSTANT, naive_utc: bool = False) -> int:
    """ISO-8601 with an offset -> epoch seconds (UTC), between 1970 and `latest`
    (scenario files use `LATEST_IN_FILES`, so that an instant plus any duration
    stays printable). `naive_utc`: one without an offset is UTC, as the Data
    Pipelines (Segment-style) APIs read their timestamps; files must say."""
    seconds = int(_moment(text, naive_utc).timestamp())
    if not 0 <= seconds <= latest:
        raise ValueError(
            f"the instant {text!s} is out of range: segsim handles instants from "
            f"1970-01-01T00:00:00Z to {format_instant(latest)}"
        )
    return seconds


def instant_millis(text: object, naive_utc: bool = False) -> int:
    """An ISO-8601 instant in epoch milliseconds: the sub-second part kept."""
    moment = _moment(text, naive_utc)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _moment(text: object, naive_utc: bool) -> datetime:
    if isinstance(text, datetime):
        moment = text
    elif isinstance(text, str):
        value = text.strip()
        if value.endswith("Z") or value.endswith("z"):
            value = value[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            # A date of the right shape that is no date (month 13, February 30) says which part is wrong.
            reason = str(exc)
            if reason.startswith("Invalid isoformat"):
                wrong = ""
            elif "timedelta" in reason:
                wrong = ": an offset from UTC must be under 24 hours"
            else:
                wrong = f": {reason}"
            shape = "an ISO-8601 instant such as" if naive_utc else "an ISO-8601 instant with an offset such as"
            raise ValueError(f"expected {shape} 2026-03-02T09:00:00Z, got {text!r}{wrong}") from None
    else:
        raise ValueError(f"expected an ISO-8601 instant, got {text!r}")
    if moment.tzinfo is None:
        if not naive_utc:
            raise ValueError(f"the instant {text!s} has no offset: add Z (UTC) or +HH:MM")
        moment = moment.replace(tzinfo=UTC)
    return moment


def format_instant(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# A sender whose clock is further than this from ours is not a skewed device
# but a process on another clock: a test driving `--clock manual`.
_ANOTHER_CLOCK = 86_400


def on_our_clock(timestamp: int, sent_at: int, arrival: int) -> int:
    """An event timestamp from a sender that also said when it sent (Pipelines' `sentAt`).

    A timestamp on the sender's clock keeps its distance to the sending and is
    moved onto ours (`arrival - (sentAt - timestamp)`), which corrects a
    skewed device clock and a test process whose clock is not the emulator's
    (`--clock manual`). When the sender's clock is more than a day from ours
    and the timestamp is nearer our arrival than its `sentAt`, the timestamp
    was written on our clock (a test stamping an event in virtual time) and
    is kept as it is. (The emulator also keeps, before it logs the call, a
    timestamp later than its `sentAt` while its clock is not the machine's:
    `pipelines_api.pipeline_ops`.)
    """
    if abs(sent_at - arrival) > _ANOTHER_CLOCK and abs(timestamp - arrival) < abs(sent_at - timestamp):
        return timestamp
    return arrival - (sent_at - timestamp)


def format_duration(seconds: int) -> str:
    """5400 -> `1h30m`; 0 -> `0s`; negative values get a leading minus."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    rest = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return sign + "".join(parts)


def format_offset(seconds: int) -> str:
    """An offset from the scenario start as people read it: `+0h30m`, `+2d1h05m`."""
    sign = "-" if seconds < 0 else "+"
    rest = abs(seconds)
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{days}d" if days else ""
    text += f"{hours}h{minutes:02d}m"
    if secs:
        text += f"{secs:02d}s"
    return sign + text
