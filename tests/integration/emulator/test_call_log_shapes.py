"""A call log edited by hand: each operation of the wrong shape is refused at
its line and key path, before anything is replayed; never a Python error,
never a different story."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.emulator.calllog import LogError, read_log

WORKSPACE = Path(__file__).parents[3] / "fixtures/workspaces/dtc_store.yaml"
HEADER = {"kind": "session", "version": 1, "workspace": str(WORKSPACE), "start": 1767225600, "clock": "manual"}
TRACK = {"op": "call", "api": "track_v1", "call": "track", "ref": ["id", "cus_1"], "name": "product_viewed"}


def _log(tmp_path: Path, *ops: dict[str, object], bom: bool = False) -> Path:
    request = {"kind": "request", "n": 1, "at": 1767225601, "route": "POST /x", "status": 200, "ops": list(ops)}
    path = tmp_path / "calls.jsonl"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + f"{json.dumps(HEADER)}\n{json.dumps(request)}\n".encode())
    return path


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"timestamp": [1, 2]}, "ops[0].timestamp: expected an instant in epoch seconds (1970 to 9999), got [1, 2]"),
        ({"timestamp": True}, "ops[0].timestamp: expected an instant in epoch seconds (1970 to 9999), got true"),
        (
            {"timestamp": "garbage"},
            'ops[0].timestamp: expected an instant in epoch seconds (1970 to 9999), got "garbage"',
        ),
        (
            {"ref": ["id", ["cus_1"]]},
            'ops[0].ref: expected [kind, identifier] with a kind of id, email, cio_id, got ["id"',
        ),
        ({"ref": "cus_1"}, 'ops[0].ref: expected [kind, identifier] with a kind of id, email, cio_id, got "cus_1"'),
        ({"ref": ["phone", "x"]}, "ops[0].ref: expected [kind, identifier]"),
        ({"properties": 5}, "ops[0].properties: expected a JSON object, got 5"),
        ({"call": "bogus"}, 'ops[0].call: expected one of track, identify, merge, got "bogus"'),
        ({"op": "teleport"}, "ops[0].op: expected one of call, alias, drop, ignored, delete, suppress, unsuppress"),
        ({"name": 7}, "ops[0].name: expected text, got 7"),
        ({"update_only": "yes"}, 'ops[0].update_only: expected true or false, got "yes"'),
        ({"name": ""}, 'ops[0].name: a track needs its event name, got ""'),
        ({"ref": None}, "ops[0]: a track names its person: ref, user_id, email or anonymous_id"),
        (
            {"op": "device_add", "device": {"platform": "ios"}},
            "ops[0].device.id: a device needs its id (text), got null",
        ),
    ],
)
def test_an_operation_of_the_wrong_shape_is_refused_at_its_line_and_key(
    tmp_path: Path, change: dict[str, object], said: str
) -> None:
    log = _log(tmp_path, {**TRACK, **change})
    with pytest.raises(LogError) as refused:
        read_log(log)
    assert f"{log}:2: {said}" in str(refused.value)
    assert str(refused.value).endswith("(segsim serve --log never writes this: was the log edited?)")
    result = CliRunner().invoke(main, ["replay", str(log)])
    assert result.exit_code == 2 and said in result.output and "Traceback" not in result.output


def test_a_merge_without_its_secondary_and_a_suppress_without_its_person_are_refused(tmp_path: Path) -> None:
    merge = {"op": "call", "api": "track_v1", "call": "merge", "primary": ["id", "a"]}
    with pytest.raises(LogError, match=r"ops\[0\]\.secondary: a merge needs primary and secondary"):
        read_log(_log(tmp_path, merge))
    with pytest.raises(LogError, match=r"ops\[1\]\.ref: a suppress operation needs 'ref'"):
        read_log(_log(tmp_path, TRACK, {"op": "suppress", "api": "track_v1", "call": "suppress"}))


def test_a_call_log_behind_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    log = read_log(_log(tmp_path, TRACK, bom=True))
    assert log.start == 1767225600 and [r["kind"] for r in log.records] == ["request"]
    result = CliRunner().invoke(main, ["replay", str(tmp_path / "calls.jsonl")])
    assert result.exit_code == 0, result.output


def test_a_left_out_call_s_identifier_stays_inside_its_comment_line(tmp_path: Path) -> None:
    import yaml

    suppress = {"op": "suppress", "api": "pipelines", "call": "User Suppressed", "ref": ["id", "x\nuntil: 1s #"]}
    scenario = tmp_path / "skeleton.yaml"
    log = _log(tmp_path, TRACK, suppress)
    result = CliRunner().invoke(
        main, ["replay", str(log), "--workspace", str(WORKSPACE), "--to-scenario", str(scenario)]
    )
    assert result.exit_code == 0, result.output
    text = scenario.read_text()
    assert '#   at 1s: a suppress of "x\\nuntil: 1s #" (later calls carrying it are dropped)\n' in text
    assert "until" not in yaml.safe_load(text)
