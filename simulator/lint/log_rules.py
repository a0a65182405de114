"""Lint of an event log, streamed line by line in constant memory (per-name
hourly counters and the digests of `unique_by` values are all it keeps).

A malformed line is a finding with its line number, never a crash; repeats
of one problem fold into one finding at its first line, with a count and the
next few line numbers (distinct repeated `unique_by` values are distinct
problems, each its own finding, up to `LISTED_VALUES` a file). Lines
over 16 MB are reported and skipped without being held in memory, and the
torn last line a crash left in a call log (named by the `resume` record
`segsim serve` appends when it restarts on the log) is not reported.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from simulator.emulator.protocol import load_json
from simulator.lint.events import UniqueValues, check_event
from simulator.lint.findings import ERROR, WARNING, FindingSink, Severity
from simulator.lint.logs import LoggedCall, calls_of, is_bookkeeping, is_reset
from simulator.lint.names import EventNames
from simulator.lint.trackplan import TrackingPlanView, a_type, show_value, type_name
from simulator.lint.volume import DROP_RATIO, VolumeCounter
from simulator.model.config import WorkspaceConfig
from simulator.model.time import format_duration, format_instant

TOO_OLD = 72 * 3600  # SPEC 17: a timestamp more than 72 hours before its arrival

__all__ = ["LISTED_VALUES", "MAX_LINE_CHARS", "LogLint", "bounded_lines", "lint_log", "open_log"]

_LISTED_MALFORMED = 10
_V2_KEYS = {"event": "name", "properties": "attributes"}  # a Track API v2 operation's own keys


def _key(call: LoggedCall, key: str) -> str:
    """A finding's path key as the line writes it (`attributes` on a v2 operation)."""
    return _V2_KEYS.get(key, key) if call.shape == "track-v2" else key


LISTED_VALUES = 100  # distinct repeated unique_by values listed per event and file; later ones fold
MAX_LINE_CHARS = 16 * 1024 * 1024


def open_log(path: Path) -> IO[str]:
    """A text stream over a log file, gzip or plain (raises OSError when unreadable).
    A leading UTF-8 byte order mark (Windows tools write one) is skipped, as on YAML."""
    with path.open("rb") as probe:
        head = probe.read(2)
    if head == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return path.open("r", encoding="utf-8-sig", errors="replace")


class LogLint:
    def __init__(
        self,
        file: str,
        config: WorkspaceConfig,
        plan: TrackingPlanView,
        sink: FindingSink,
        now: int,
        names: EventNames,
        unique: UniqueValues | None = None,
    ) -> None:
        """`unique`: the `unique_by` values of the run's other logs, when more than one is linted."""
        self.file = file
        self.config = config
        self.plan = plan
        self.sink = sink
        self.now = now
        self.names = names
        self.source_kinds = {name: src.kind for name, src in config.sources.items()}
        self.source_kinds.setdefault("web", "client")
        self.source_kinds.setdefault("app", "client")
        self.source_kinds.setdefault("backend", "server")
        self.unique = unique if unique is not None else UniqueValues()
        self.repeated: dict[str, set[int]] = {}  # per event, the repeated values given a finding of their own
        self.volume = VolumeCounter()
        self.guarded = dict(config.idempotency_keys)
        self.malformed = 0
        self.resets = 0  # a call log's resets so far
        self.lines = 0
        self.pending: tuple[int, str] | None = None

    def add(
        self,
        rule: str,
        severity: Severity,
        line: int,
        message: str,
        path: str = "",
        key: tuple[object, ...] | None = None,
    ) -> None:
        self.sink.add(rule, severity, self.file, line, message, path, key)

    def run(self, stream: Iterator[str]) -> None:
        for number, text in enumerate(stream, start=1):
            self.lines = number
            self.line(number, text)
        self.flush_unparsed()
        self.finish()

    def line(self, number: int, text: str) -> None:
        if len(text) > MAX_LINE_CHARS:
            self.flush_unparsed()
            self.bad_line(number, f"the line is over {MAX_LINE_CHARS // 1048576} MB (only its start was read)")
            return
        text = text.strip()
        if not text:
            return
        try:
            # as the emulator reads a call (NaN, Infinity, 1e999 are not JSON), half an emoji kept
            record = load_json(text, whole_characters=False)
        except RecursionError:
            self.unparsed(number, "not valid JSON (nested too deeply)")
            return
        except ValueError as exc:
            self.unparsed(number, f"not valid JSON ({exc})")
            return
        if isinstance(record, dict) and record.get("kind") == "resume" and self.pending is not None:
            if record.get("torn_line") == self.pending[0]:
                self.pending = None  # cut short by a crash, named by the restart: not the sender's doing
        self.flush_unparsed()
        if not isinstance(record, dict):
            self.bad_line(number, f"expected one JSON object a line, got {a_type(type_name(record))}")
            return
        if is_reset(record):
            # The platform was emptied: an order sent again after it is processed anew, and a
            # repeat after it is a finding of its own, not one folded into a repeat before it.
            self.unique.forget()
            self.repeated.clear()
            self.resets += 1
        seen = False
        for call in calls_of(record, self.source_kinds):
            seen = True
            self.call(number, call)
        if not seen and not is_bookkeeping(record):
            self.add(
                "unknown-record",
                WARNING,
                number,
                "a line that is none of the three log shapes (segsim call log, Data Pipelines message, "
                "Track API v2 operation): it was skipped",
                key=("shape",),
            )

    def unparsed(self, number: int, why: str) -> None:
        """A line that is not JSON is reported once the next line shows it was not a torn line of a call log."""
        self.flush_unparsed()
        self.pending = (number, why)

    def flush_unparsed(self) -> None:
        if self.pending is not None:
            number, why = self.pending
            self.pending = None
            self.bad_line(number, why)

    def bad_line(self, number: int, why: str) -> None:
        self.malformed += 1
        if self.malformed <= _LISTED_MALFORMED:
            self.add("malformed-line", ERROR, number, f"{why}: fix or drop this line")
        else:
            self.add("malformed-line", ERROR, number, "further malformed lines", key=("more",))

    def call(self, number: int, call: LoggedCall) -> None:
        if call.shape == "unknown":
            self.add(
                "unknown-record",
                WARNING,
                number,
                f"{call.call} is none of the three log shapes (segsim call log, Data Pipelines message, "
                "Track API v2 operation): it was skipped",
                key=("shape",),
            )
            return
        if call.dropped is not None:
            self.add(
                "call-dropped",
                ERROR,
                number,
                f"the emulator dropped {'a call' if call.call == '?' else f'this {call.call} call'} "
                f"({call.dropped}): nothing it carried reached the platform; fix the sender",
                key=(call.call, call.dropped),
            )
            return
        label = call.name if call.is_event and call.name else call.call
        if call.bad_time is not None:
            self.add(
                "timestamp-invalid",
                ERROR,
                number,
                f"{label}: {call.bad_time}; send ISO-8601 with an offset or unix seconds",
                call.bad_time.split(":", 1)[0],  # the key of the first unreadable instant (`receivedAt: ...`)
                key=(label, call.bad_time.split(":", 1)[0]),
            )
        future = self.timestamps(number, call, label)
        if call.call in ("track", "event") and not (isinstance(call.name, str) and call.name.strip()):
            self.add(
                "missing-event-name",
                ERROR,
                number,
                "a track without an event name (a text, not blank): the platform refuses it, "
                "and nothing it carries counts",
                "event" if call.shape == "pipelines" else "name",
                key=(call.shape,),
            )
            return
        if not call.is_event or call.name is None:
            return
        name = call.name

        def report(
            rule: str, severity: Severity, message: str, detail: tuple[str, ...], key: tuple[object, ...]
        ) -> None:
            path = (_key(call, detail[0]), *detail[1:]) if detail else detail
            self.add(rule, severity, number, message, ".".join(path), key)

        self.names.seen(name, self.file, number, _key(call, "event"))
        if self.plan.defined:
            check_event(self.plan, name, call.properties, call.is_client, report)
            self.unique_value(number, call)
        # A timestamp refused as in the future is no word on when the event
        # happened: counted at its arrival, or not at all (it would move the log's
        # end to that instant, and every event would seem to stop before it).
        when = call.arrival if future or call.timestamp is None else call.timestamp
        if when is not None:
            self.volume.add(name, when, number, call.arrival)

    def timestamps(self, number: int, call: LoggedCall, label: str) -> bool:
        """Check the line's timestamp against its arrival (or the time lint runs);
        True when it is in the future."""
        ts = call.timestamp
        if ts is None:
            return False
        if call.arrival is not None:
            if ts > call.arrival:
                self.add(
                    "timestamp-in-future",
                    ERROR,
                    number,
                    f"{label} is stamped {format_instant(ts)}, {format_duration(ts - call.arrival)} after it arrived "
                    f"({format_instant(call.arrival)}): the sender's clock runs ahead; the platform holds such events "
                    "until their timestamp, so stamp with the real time (or drop the timestamp)",
                    "timestamp",
                    key=(label,),
                )
                return True
            if call.arrival - ts > TOO_OLD:
                self.add(
                    "timestamp-too-old",
                    WARNING,
                    number,
                    f"{label} is stamped {format_instant(ts)}, {format_duration(call.arrival - ts)} before it arrived: "
                    "more than 72h, Customer.io's limit for an event to start a journey; "
                    "send events as they happen (or mark the backfill as such)",
                    "timestamp",
                    key=(label,),
                )
        elif ts > self.now:
            self.add(
                "timestamp-in-future",
                ERROR,
                number,
                f"{label} is stamped {format_instant(ts)}, later than the time lint ran: the sender's "
                "clock runs ahead or the unit is wrong (milliseconds sent as seconds?)",
                "timestamp",
                key=(label,),
            )
            return True
        return False

    def unique_value(self, number: int, call: LoggedCall) -> None:
        assert call.name is not None
        planned = self.plan.get(call.name)
        if planned is None or planned.unique_by is None or not isinstance(call.properties, dict):
            return
        value = call.properties.get(planned.unique_by)
        if value is None:
            return
        # A copy under a dedupe id already seen is a retry the platform drops (unless it dedupes by no id).
        dedupe_id = call.dedupe_id if self.config.by_event_id else None
        first = self.unique.first_seen(call.name, value, number, dedupe_id, self.file)
        if first is None:
            return
        first_file, first_line = first
        where = f"on line {first_line}" if first_file == self.file else f"at {first_file}:{first_line}"
        unique_by = planned.unique_by
        guarded = self.guarded.get(call.name) == unique_by
        why = (
            "dedupe.idempotency_keys absorbs it, but the sender retries or double-fires"
            if guarded
            else f"the platform processes both; add dedupe.idempotency_keys: {{{call.name}: {unique_by}}} "
            "or send one event per " + unique_by
        )
        # Each repeated value is its own problem (its own order); repeats of one value fold.
        listed = self.repeated.setdefault(call.name, set())
        digest = UniqueValues.digest(value)
        if digest in listed or len(listed) < LISTED_VALUES:
            listed.add(digest)
            message = f"{call.name} with {unique_by} {show_value(value)} was already sent {where}: {why}"
            key: tuple[object, ...] = (call.name, digest, self.resets)
        else:
            message = (
                f"further {call.name} events repeat {unique_by} values already sent (this one first {where}): {why}"
            )
            key = (call.name, "more", self.resets)
        self.add(
            "duplicate-unique-value",
            WARNING if guarded else ERROR,
            number,
            message,
            f"{_key(call, 'properties')}.{unique_by}",
            key=key,
        )

    def finish(self) -> None:
        for drop in self.volume.drops():
            span = f"in the {drop.hours} hours" if drop.hours > 1 else "in the hour"
            self.add(
                "volume-drop",
                WARNING,
                drop.line,
                f"{drop.event} fell to {drop.count} {span} from {format_instant(drop.hour)}, below "
                f"{int(DROP_RATIO * 100)}% of its trailing median of {drop.baseline:g} an hour: a tracking regression "
                "(a release that stopped sending it) looks like a conversion miracle in segments; check the senders",
                key=(drop.event, drop.hour),
            )


def lint_log(
    path: Path,
    config: WorkspaceConfig,
    plan: TrackingPlanView,
    sink: FindingSink,
    now: int,
    names: EventNames,
    unique: UniqueValues | None = None,
) -> int:
    """Lint one log file; the number of lines read. Raises OSError when unreadable.
    The event names it sends are added to `names`, judged at the end of the run;
    `unique` holds the `unique_by` values of the run's logs read before it."""
    lint = LogLint(str(path), config, plan, sink, now, names, unique)
    with open_log(path) as stream:
        lint.run(bounded_lines(stream))
    return lint.lines


def bounded_lines(stream: IO[str]) -> Iterator[str]:
    """The stream's lines, each cut at MAX_LINE_CHARS + 1 characters (the rest of a longer line is skipped),
    so one endless line (a gzip bomb of a single line) never fills memory."""
    while True:
        text = stream.readline(MAX_LINE_CHARS + 1)
        if not text:
            return
        if len(text) > MAX_LINE_CHARS and not text.endswith("\n"):
            while True:
                rest = stream.readline(MAX_LINE_CHARS)
                if not rest or rest.endswith("\n"):
                    break
        yield text
