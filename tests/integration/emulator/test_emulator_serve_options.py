"""`segsim serve` and `segsim replay` say what is wrong with an option they refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.emulator.testing import running_emulator

WORKSPACE = Path(__file__).parents[3] / "fixtures/workspaces/dtc_store.yaml"


def _serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", "--workspace", str(WORKSPACE), "--port", "0", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("host", ["999.1.1.1", "127.0.0.1.5", "no host", "-dash.example"])
def test_a_host_that_is_no_address_is_called_invalid(host: str) -> None:
    for extra in ([], ["--allow-remote"]):
        code, output = _serve("--host", host, *extra)
        assert code == 2
        assert f"--host {host!r} is not a valid address" in output
        assert "would expose" not in output


def test_a_host_name_is_never_looked_up_and_needs_allow_remote() -> None:
    """Only `localhost` counts as loopback; looking a name up could leave this machine (DNS)."""
    code, output = _serve("--host", "nosuchhost.invalid")
    assert code == 2
    assert "--host nosuchhost.invalid is a host name" in output and "add --allow-remote" in output


def test_an_empty_host_says_so() -> None:
    code, output = _serve("--host", "")
    assert code == 2
    assert "--host is empty (an unset variable?)" in output
    assert "  " not in output.replace("\n", " ").strip()


@pytest.mark.parametrize(("host", "what"), [("10.0.0.1", "is not a loopback address"), ("::", "is not a loopback")])
def test_a_non_loopback_address_still_needs_allow_remote(host: str, what: str) -> None:
    code, output = _serve("--host", host)
    assert code == 2
    assert f"--host {host} {what}" in output and "add --allow-remote" in output


@pytest.mark.parametrize("command", [["serve", "-w", str(WORKSPACE), "--log", ""], ["replay", ""]])
def test_an_empty_log_path_is_called_an_unset_variable(command: list[str]) -> None:
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 2
    assert "an empty path (an unset variable?)" in result.output
    assert "`.`" not in result.output and ".: a folder" not in result.output


def test_a_log_that_cannot_be_opened_is_named_with_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An immutable folder (chattr +i) refuses even root: EPERM when the log is opened.
    log = tmp_path / "calls.jsonl"

    def refuse(path: Path | str, **_: object) -> None:
        raise PermissionError(1, "Operation not permitted", str(path))

    monkeypatch.setattr("simulator.emulator.session.CallLog", refuse)
    code, output = _serve("--log", str(log))
    assert code == 2
    assert f"--log {log}: cannot open it (Operation not permitted)" in output
    assert "Errno" not in output


def test_replay_with_a_workspace_folder_says_a_file_is_expected(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        emu.track_client().identify("cus_1")
    result = CliRunner().invoke(main, ["replay", str(log), "-w", str(tmp_path)])
    assert result.exit_code == 2
    assert f"--workspace {tmp_path}: a folder: name the workspace file" in result.output
    assert "not found" not in result.output


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no named pipes here")
def test_a_log_that_is_a_pipe_or_dash_is_refused_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`open("a")` on a pipe blocked forever with the port bound; `--log -` wrote a file named `-`."""
    import os

    monkeypatch.chdir(tmp_path)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    code, output = _serve("--log", str(pipe))
    assert code == 2 and "not a regular file (a named pipe)" in output, output
    code, output = _serve("--log", "-")
    assert code == 2 and "not standard output" in output, output
    assert not Path("-").exists()


def test_running_emulator_refuses_a_start_a_scenario_cannot_hold() -> None:
    with pytest.raises(ValueError, match="out of range"):
        with running_emulator(WORKSPACE, clock="manual", start="9500-01-01T00:00:00Z"):
            pass


def test_advance_and_reset_refusals_carry_the_emulators_words() -> None:
    from simulator.emulator.testing import InspectionError

    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        with pytest.raises(InspectionError, match=r"POST /_segsim/advance: 400 by: expected a duration"):
            emu.advance("2 hours")
        assert emu.advance("2h") == "2026-03-02T11:00:00Z"


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no named pipes here")
def test_a_workspace_that_is_a_pipe_is_refused_not_waited_on(tmp_path: Path) -> None:
    import os

    pipe = tmp_path / "ws.yaml"
    os.mkfifo(pipe)
    result = CliRunner().invoke(main, ["serve", "--workspace", str(pipe), "--port", "0"])
    assert result.exit_code == 2 and "not a regular file" in result.output, result.output


@pytest.mark.parametrize(
    ("auto_merge", "profiles", "traced"), [(True, 1, "profile_merged"), (False, 2, "identity_conflict")]
)
def test_an_identify_naming_two_people_is_spec_5s_identify(
    tmp_path: Path, auto_merge: bool, profiles: int, traced: str
) -> None:
    """By id, a body email that belongs to another person: merged under
    `identity.auto_merge`, a conflict without it (docs/emulator.md)."""
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(f"identity: {{auto_merge: {str(auto_merge).lower()}}}\n", encoding="utf-8")
    with running_emulator(workspace, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        track = emu.track_client()
        track.identify("x_1", email="x1@example.com")
        track.identify("x_2", email="x2@example.com")
        track.identify("x_2", email="x1@example.com")
        assert len(emu.get("/profiles")["profiles"]) == profiles
        kinds = [record["kind"] for record in emu.get("/trace")["trace"]]
        assert traced in kinds and "call_dropped" not in kinds
