"""The append-only call log: one JSON object a line.

The first line describes the session (workspace, start instant, clock);
then, in processing order, one line per thing that changed the platform:

    {"kind": "request", "n": 3, "at": 1767225605, "time": "...Z", "route": "POST /v1/batch",
     "status": 200, "ops": [{"op": "call", "call": "track", ...}, ...]}
    {"kind": "advance", "n": 4, "at": 1767232805, "time": "...Z"}   # the clock moved, timers fired
    {"kind": "reset", "n": 5, "at": 1767232805, "time": "...Z"}     # POST /_segsim/reset
    {"kind": "resume", "n": 6, "at": 1767232900, "time": "...Z"}    # serve restarted on this log

A request line is written and flushed to the operating system before the
request is processed and answered, so a call answered 2xx is in the log even
if the emulator process dies right after. With `fsync=True` (`segsim serve
--fsync`) each line is also fsync'ed, which survives a machine crash at the
cost of a disk sync per call.

`segsim serve --log FILE` on an existing log resumes it: the log is replayed
into the platform, a `resume` record is appended, and new calls follow. A
last line cut short by a crash is left in place, ended with a newline and
named by the `resume` record (`"torn_line": N`), so the file is never
truncated and every reader knows to skip that line.

A log has one writer: `CallLog` holds an exclusive advisory lock
(`flock`) on the file until it is closed, so a second `segsim serve` on the
same log is refused (`LogBusyError`) instead of interleaving its records.
Readers (`segsim replay`, `segsim lint`) take no lock. Where `fcntl` does
not exist (Windows), or the file system has no `flock`, there is no lock.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from simulator.model.time import LATEST_INSTANT, format_instant
from simulator.scenario.errors import SegsimError

from .logops import op_problem
from .protocol import load_json

__all__ = [
    "LOG_VERSION",
    "MAX_LINE_BYTES",
    "CallLog",
    "LogBusyError",
    "LogError",
    "SessionLog",
    "read_header",
    "written_on_another_clock",
    "read_log",
    "session_header",
    "writer_pid",
]

LOG_VERSION = 1


class LogError(SegsimError):
    """A call log that cannot be read: names the file and line."""


class LogBusyError(LogError):
    """Another process holds the log's write lock: another `segsim serve` appends to it."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        who = f" (pid {pid})" if pid is not None else ""
        super().__init__(f"{path}: another segsim serve is writing this call log{who}")


def writer_pid(path: Path | str) -> int | None:
    """The process holding an exclusive `flock` on the file, when the system says
    (Linux's /proc/locks); None when nobody does or it cannot be known."""
    try:
        status = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            table = fh.read()
    except OSError:
        return None
    for row in table.splitlines():
        fields = row.split()  # "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2151605 0 EOF"; waiters have "->"
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[3] != "WRITE":
            continue
        try:
            major, minor, inode = fields[5].split(":")
            same = (int(major, 16), int(minor, 16), int(inode)) == (
                os.major(status.st_dev),
                os.minor(status.st_dev),
                status.st_ino,
            )
            pid = int(fields[4])
        except ValueError:
            continue
        if same and pid > 0:
            return pid
    return None


def _lock_exclusively(fh: IO[str], path: Path) -> None:
    """Hold the log's write lock for as long as `fh` is open (closing it lets go)."""
    if sys.platform == "win32":
        return  # no fcntl: one writer is then the user's to ensure
    import fcntl

    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise LogBusyError(path, writer_pid(path)) from None
    except OSError:
        return  # a file system without flock (some network mounts): no lock, as without fcntl


class CallLog:
    """Writes log lines; thread safety comes from the session's lock."""

    def __init__(self, path: Path | str, *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._fh: IO[str] | None = self.path.open("a", encoding="utf-8")
        try:  # before anything is written: a second writer is refused with the file as it was
            _lock_exclusively(self._fh, self.path)
        except BaseException:
            self._fh.close()
            raise
        self.written = 0
        if self._ends_mid_line():
            # A line cut short by a crash: end it, so the next record starts a line of its own.
            self._fh.write("\n")
            self._fh.flush()

    def _ends_mid_line(self) -> bool:
        with self.path.open("rb") as fh:
            if fh.seek(0, os.SEEK_END) == 0:
                return False
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) != b"\n"

    def write(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            raise ValueError(f"the call log {self.path} is closed")
        self._fh.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n")
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
    """A call log read back: its header and its records in order.

    `torn_line` is the number of a last line cut short by a crash (never
    answered 2xx, so skipped); `size` is the length in bytes of the complete
    lines, where a resumed session starts appending."""

    path: Path
    workspace: str | None
    start: int
    clock: str
    records: list[dict[str, Any]]
    torn_line: int | None = None
    size: int = 0

    @property
    def last_n(self) -> int:
        """The highest record number, so a resumed session numbers on from it."""
        return max((r["n"] for r in self.records if isinstance(r.get("n"), int)), default=0)


_KINDS = {"request", "advance", "reset", "resume"}
# A request body is at most 500 KB; its operations re-encoded stay well under this.
MAX_LINE_BYTES = 16 * 1024 * 1024


def _lines(fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """(number, line) with lines over MAX_LINE_BYTES refused before they fill memory."""
    number = 0
    while True:
        line = fh.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise LogError(
                f"{fh.name}:{number}: the line is over {MAX_LINE_BYTES // 1048576} MB: not a segsim call log line"
            )
        yield number, line


def _parse(file: Path, number: int, line: bytes) -> Any:
    if number == 1 and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]  # a byte order mark, as Windows tools write: skipped, as lint and YAML files do
    try:
        return load_json(line.decode("utf-8"))  # no NaN or Infinity: the emulator never writes them
    except UnicodeDecodeError as exc:
        if number == 1 and line.startswith(b"\x1f\x8b"):
            raise LogError(f"{file}: a gzip file, not a call log: gunzip it first") from None
        where = f"byte 0x{line[exc.start]:02x} at column {exc.start + 1}"
        raise LogError(f"{file}:{number}: not UTF-8 text ({where})") from None
    except json.JSONDecodeError as exc:
        raise LogError(f"{file}:{number}: not a JSON line ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise LogError(f"{file}:{number}: not a call log line (JSON nested too deeply)") from None
    except ValueError as exc:
        raise LogError(f"{file}:{number}: not a JSON line ({exc})") from None


def _check_header(file: Path, number: int, record: dict[str, Any]) -> None:
    kind = record["kind"]
    if kind != "session":
        raise LogError(
            f"{file}:{number}: the first line of a call log is the session header (kind 'session'), got kind {kind!r}"
        )
    if record.get("version") != LOG_VERSION:
        raise LogError(f"{file}:{number}: call log version {record.get('version')!r}, expected {LOG_VERSION}")
    start = record.get("start")
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= LATEST_INSTANT:
        raise LogError(f"{file}:{number}: session header needs an integer 'start' (epoch seconds)")


def _check_record(file: Path, number: int, record: dict[str, Any]) -> None:
    kind = record["kind"]
    if kind not in _KINDS:
        raise LogError(f"{file}:{number}: unknown record kind {kind!r} (expected one of {sorted(_KINDS)})")
    at = record.get("at")
    if not isinstance(at, int) or isinstance(at, bool) or not 0 <= at <= LATEST_INSTANT:
        raise LogError(f"{file}:{number}: record needs an integer 'at' (epoch seconds, 1970 to 9999)")
    if kind == "request" and not isinstance(record.get("ops"), list):
        raise LogError(f"{file}:{number}: a request record needs an 'ops' list")
    for i, op in enumerate(record.get("ops") or () if kind == "request" else ()):
        problem = op_problem(op)
        if problem is not None:
            key, what = problem
            raise LogError(
                f"{file}:{number}: ops[{i}]{'.' + key if key else ''}: {what} "
                "(segsim serve --log never writes this: was the log edited?)"
            )


def written_on_another_clock(path: Path | str, clock: str) -> str | None:
    """The clock (`wall`, `manual`) a log was written on, when it is not `clock`:
    resumed on the other one, a manual session's pending timers would all fire
    at the wall clock's now."""
    header = read_header(path)
    written_with = header.get("clock") if header is not None else None
    return written_with if written_with in ("wall", "manual") and written_with != clock else None


def read_header(path: Path | str) -> dict[str, Any] | None:
    """The session header on a log's first non-blank line, or None when there is
    none to read (no file, an empty one, or not a call log: `read_log` says why)."""
    file = Path(path)
    if not file.is_file():
        return None
    try:
        with file.open("rb") as fh:
            for number, line in _lines(fh):
                if not line.strip():
                    continue
                record = _parse(file, number, line)
                if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
                    return None
                _check_header(file, number, record)
                return record
    except (LogError, OSError):
        return None
    return None


def read_log(path: Path | str) -> SessionLog:
    """The log's header and records; raises LogError naming the file and line.

    A last line cut short by a crash is skipped (it was never answered 2xx),
    and so is such a line when a `resume` record right after it names it."""
    file = Path(path)
    if file.is_dir():
        raise LogError(f"{file}: a folder, not a call log (name the .jsonl file segsim serve --log wrote)")
    if not file.is_file():
        raise LogError(f"{file}: no such call log (segsim serve --log FILE writes one)")
    header: dict[str, Any] | None = None
    records: list[dict[str, Any]] = []
    torn: int | None = None
    forgiven: tuple[int, LogError] | None = None  # a torn line a later resume record may name
    size = 0
    with file.open("rb") as fh:
        for number, line in _lines(fh):
            if not line.endswith(b"\n"):
                try:
                    _parse(file, number, line)
                except LogError:
                    torn = number
                    break
            size += len(line)
            if not line.strip():
                continue
            try:
                record = _parse(file, number, line)
            except LogError as exc:
                if forgiven is not None:
                    raise forgiven[1] from None
                forgiven = (number, exc)
                continue
            if not isinstance(record, dict) or not isinstance(record.get("kind"), str):
                raise LogError(f"{file}:{number}: expected a JSON object with a 'kind' key")
            if forgiven is not None:
                if record.get("kind") != "resume" or record.get("torn_line") != forgiven[0]:
                    raise forgiven[1] from None
                forgiven = None
            if header is None:
                _check_header(file, number, record)
                header = record
                continue
            _check_record(file, number, record)
            record["_line"] = number
            records.append(record)
    if forgiven is not None:
        raise forgiven[1]
    if header is None:
        raise LogError(f"{file}: empty call log (no session header)")
    workspace = header.get("workspace")
    return SessionLog(
        file,
        workspace if isinstance(workspace, str) else None,
        header["start"],
        str(header.get("clock")),
        records,
        torn,
        size,
    )
