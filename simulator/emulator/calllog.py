"""The append-only call log: one JSON object a line.

The first line describes the session (workspace, start instant, clock);
then, in processing order, one line per thing that changed the platform:

    {"kind": "request", "n": 3, "at": 1767225605, "time": "...Z", "route": "POST /v1/batch",
     "status": 200, "ops": [{"op": "call", "call": "track", ...}, ...]}
    {"kind": "advance", "n": 4, "at": 1767232805, "time": "...Z"}   # the clock moved, timers fired
    {"kind": "reset", "n": 5, "at": 1767232805, "time": "...Z"}     # POST /_segsim/reset

A request line is written and flushed to the operating system before the
request is processed and answered, so a call answered 2xx is in the log even
if the emulator process dies right after. With `fsync=True` (`segsim serve
--fsync`) each line is also fsync'ed, which survives a machine crash at the
cost of a disk sync per call.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from simulator.model.time import format_instant
from simulator.scenario.errors import SegsimError

__all__ = ["LOG_VERSION", "CallLog", "LogError", "SessionLog", "read_log", "session_header"]

LOG_VERSION = 1


class LogError(SegsimError):
    """A call log that cannot be read: names the file and line."""


class CallLog:
    """Writes log lines; thread safety comes from the session's lock."""

    def __init__(self, path: Path | str, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")
        self.written = 0

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            raise ValueError(f"the call log {self.path} is closed")
        self._fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False, sort_keys=True) + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self.written += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def session_header(workspace: str, start: int, clock: str) -> dict[str, Any]:
    return {
        "kind": "session",
        "version": LOG_VERSION,
        "workspace": workspace,
        "start": start,
        "time": format_instant(start),
        "clock": clock,
    }


@dataclass
class SessionLog:
    """A call log read back: its header and its records in order."""

    path: Path
    workspace: str | None
    start: int
    clock: str
    records: list[dict[str, Any]]


_KINDS = {"request", "advance", "reset"}


def read_log(path: Path | str) -> SessionLog:
    file = Path(path)
    if not file.is_file():
        raise LogError(f"{file}: no such call log (segsim serve --log FILE writes one)")
    header: dict[str, Any] | None = None
    records: list[dict[str, Any]] = []
    with file.open("r", encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                # A last line cut short by a crash is not an error: it was never answered 2xx.
                if not line.endswith("\n"):
                    break
                raise LogError(f"{file}:{number}: not a JSON line ({exc.msg} at column {exc.colno})") from None
            if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
                raise LogError(f"{file}:{number}: expected a JSON object with a 'kind' key")
            kind = record["kind"]
            if header is None:
                if kind != "session":
                    raise LogError(
                        f"{file}:{number}: the first line of a call log is the session header "
                        f"(kind 'session'), got kind {kind!r}"
                    )
                if record.get("version") != LOG_VERSION:
                    found = record.get("version")
                    raise LogError(f"{file}:{number}: call log version {found!r}, expected {LOG_VERSION}")
                if not isinstance(record.get("start"), int):
                    raise LogError(f"{file}:{number}: session header needs an integer 'start'")
                header = record
                continue
            if kind not in _KINDS:
                raise LogError(f"{file}:{number}: unknown record kind {kind!r} (expected one of {sorted(_KINDS)})")
            if not isinstance(record.get("at"), int):
                raise LogError(f"{file}:{number}: record needs an integer 'at' (epoch seconds)")
            if kind == "request" and not isinstance(record.get("ops"), list):
                raise LogError(f"{file}:{number}: a request record needs an 'ops' list")
            record["_line"] = number
            records.append(record)
    if header is None:
        raise LogError(f"{file}: empty call log (no session header)")
    workspace = header.get("workspace")
    return SessionLog(
        file, workspace if isinstance(workspace, str) else None, header["start"], str(header.get("clock")), records
    )
