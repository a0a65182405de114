"""Hostile event logs through `segsim lint WORKSPACE LOG` and `segsim replay LOG`.

`lint` reads logs from anywhere (warehouse exports): a line it cannot read
is an error finding with its line number (exit 1, SPEC 17), never a crash,
and memory stays bounded whatever the line length or the gzip ratio.
`replay` reads segsim's own call log: anything else is refused with exit 2
and the file and line. Both run as bounded child processes (conftest).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import WORKSPACE, Segsim, assert_refused

HEADER = json.dumps(
    {"kind": "session", "version": 1, "workspace": str(WORKSPACE), "start": 1767225600, "time": "x", "clock": "manual"}
)


def _request(at: int | str = 1767225601, ops: str = "[]") -> str:
    return f'{{"kind": "request", "n": 1, "at": {at}, "route": "POST /v1/track", "status": 200, "ops": {ops}}}'


def _gzip_of_one_endless_line(path: Path) -> None:
    chunk = b"x" * (1024 * 1024)
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(100):  # 100 MB inflated, under 1 MB on disk
            out.write(chunk)


@dataclass(frozen=True)
class HostileLog:
    name: str
    write: Callable[[Path], None]
    lint_line: int | None  # the line of the `malformed-line`/`timestamp-invalid` finding; None: lint finds nothing
    lint_words: tuple[str, ...]
    replay_words: tuple[str, ...]  # replay refuses with these (exit 2); empty: replay accepts (exit 0)


def _lines(*lines: str) -> Callable[[Path], None]:
    return lambda path: path.write_text("".join(line + "\n" for line in lines), "utf-8")


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


LOGS = [
    HostileLog(
        "garbage.jsonl",
        _lines(HEADER, "not json at all", _request(), "\x00\x01\x02"),
        2,
        ("[malformed-line]", "not valid JSON"),
        (":2: not a JSON line",),
    ),
    HostileLog(
        "deep.jsonl",
        _lines(HEADER, '{"a":' * 100_000 + "1" + "}" * 100_000),
        2,
        ("[malformed-line]", "nested too deeply"),
        (":2:", "nested too deeply"),
    ),
    HostileLog(
        "huge_line.jsonl",
        _lines(HEADER, _request(ops='[], "pad": "' + "x" * (40 * 1024 * 1024) + '"')),
        2,
        ("[malformed-line]", "over 16 MB"),
        (":2:", "over 16 MB"),
    ),
    HostileLog("endless_line.jsonl.gz", _gzip_of_one_endless_line, 1, ("over 16 MB",), ("a gzip file",)),
    HostileLog(
        "binary.jsonl", _bytes(b"\x89PNG\r\n" + bytes(range(256)) * 64), 1, ("[malformed-line]",), (":1:", "not UTF-8")
    ),
    HostileLog(
        "not_utf8.jsonl",
        _bytes(HEADER.encode() + b"\n" + _request().encode()[:-1] + b', "x": "\xff\xfe"}\n'),
        None,
        (),
        (":2:", "not UTF-8 text"),
    ),
    HostileLog(
        "huge_integer.jsonl",
        _lines(HEADER, _request(at="9" * 5000)),
        2,
        ("[malformed-line]", "5000 digits) is out of range"),
        (":2:", "not a JSON line"),
    ),
    HostileLog(
        "instant_out_of_range.jsonl",
        _lines(HEADER, _request(at=99_999_999_999_999)),
        None,
        (),
        (":2:", "integer 'at'", "1970 to 9999"),
    ),
    HostileLog(
        "wrong_shapes.jsonl",
        _lines(HEADER, _request(ops="[1, null, {}]")),
        None,
        (),
        (":2:", "ops[0]: expected an operation object, got 1", "was the log edited?"),
    ),
    HostileLog(
        "pipelines_timestamps.jsonl",
        _lines(
            *(
                json.dumps({"type": "track", "userId": "u", "event": "product_viewed", "timestamp": t})
                for t in ("9" * 5000, "+999999-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "nan", -1e20)
            ),
            '{"type": "track", "userId": "u", "event": "product_viewed", "timestamp": Infinity}',
        ),
        1,
        ("[timestamp-invalid]",),
        (":1:", "expected a JSON object with a 'kind' key"),
    ),
]


@pytest.fixture(scope="module")
def log_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile_logs")
    for case in LOGS:
        case.write(folder / case.name)
    return folder


def test_lint_reports_every_hostile_log_line_in_one_bounded_run(log_folder: Path, segsim: Segsim) -> None:
    result = segsim(["lint", WORKSPACE, "--format", "json", *(case.name for case in LOGS)], cwd=log_folder)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    findings = json.loads(result.stdout)
    for case in LOGS:
        mine = [f for f in findings if f["file"] == case.name and f["severity"] == "error"]
        if case.lint_line is None:
            assert not [f for f in mine if f["rule"] in ("malformed-line", "timestamp-invalid")], mine
            continue
        assert mine and mine[0]["line"] == case.lint_line, (case.name, mine)
        text = " ".join(f"[{f['rule']}] {f['message']}" for f in mine)
        for word in case.lint_words:
            assert word in text, (case.name, text)
    timestamps = [f for f in findings if f["file"] == "pipelines_timestamps.jsonl" and f["rule"] == "timestamp-invalid"]
    assert [f["line"] for f in timestamps] == [1]
    assert "(5 occurrences, first on this line)" in timestamps[0]["message"]  # every bad instant, none crashed
    # `Infinity` is not JSON (as the emulator answers 400 for it): a malformed line, not a timestamp
    malformed = [f for f in findings if f["file"] == "pipelines_timestamps.jsonl" and f["rule"] == "malformed-line"]
    assert [f["line"] for f in malformed] == [6]


@pytest.mark.parametrize("case", LOGS, ids=lambda case: case.name)
def test_replay_refuses_a_hostile_log_with_its_line(case: HostileLog, log_folder: Path, segsim: Segsim) -> None:
    result = segsim(["replay", case.name, "--workspace", WORKSPACE], cwd=log_folder)
    assert_refused(result, case.name, *case.replay_words)


def test_replay_skips_a_torn_last_line_and_lint_reports_it(tmp_path: Path, segsim: Segsim) -> None:
    log = tmp_path / "torn.jsonl"
    log.write_text(HEADER + "\n" + _request() + "\n" + _request()[:25], "utf-8")
    replayed = segsim(["replay", log.name, "--workspace", WORKSPACE], cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert "torn.jsonl: 1 records replayed" in replayed.stdout
    assert "note: torn.jsonl:3 was cut short by a crash while it was written" in replayed.stderr
    as_json = segsim(["replay", log.name, "--workspace", WORKSPACE, "--json"], cwd=tmp_path)
    assert isinstance(json.loads(as_json.stdout), list) and "torn.jsonl:3 was cut short" in as_json.stderr
    linted = segsim(["lint", WORKSPACE, log.name, "--format", "json"], cwd=tmp_path)
    assert [(f["rule"], f["line"]) for f in json.loads(linted.stdout)] == [("malformed-line", 3)]


def test_lint_refuses_a_log_it_cannot_open(tmp_path: Path, segsim: Segsim) -> None:
    result = segsim(["lint", WORKSPACE, "missing.jsonl", str(tmp_path / "nothing-here")], cwd=tmp_path)
    assert_refused(result, "missing.jsonl", "no such file or folder")
