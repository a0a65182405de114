"""The virtual clock (frozen, manual), reset, the call log and its replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from simulator.cli import main
from simulator.emulator.calllog import LogError, read_log
from simulator.emulator.replay import replay_log
from simulator.emulator.testing import running_emulator
from simulator.model.time import format_instant
from simulator.scenario.loader import load_workspace

WORKSPACE = Path(__file__).parents[3] / "fixtures/workspaces/dtc_store.yaml"


def test_freezegun_freezes_arrivals_and_advance_fires_timers() -> None:
    with freeze_time("2026-05-04T10:00:00Z"), running_emulator(WORKSPACE) as emu:
        track = emu.track_client()
        track.identify("cus_1")
        track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 150})
        assert emu.get("/now")["now"] == "2026-05-04T10:00:00Z"
        assert emu.get("/runs")["runs"][0]["entered_at"] == "2026-05-04T10:00:00Z"
        assert emu.get("/messages")["messages"] == []
        assert emu.advance("1h") == "2026-05-04T11:00:00Z"
        assert [m["message"] for m in emu.get("/messages")["messages"]] == ["recovery_email_1"]
        assert emu.advance("23h") == "2026-05-05T10:00:00Z"
        assert [m["message"] for m in emu.get("/messages")["messages"]] == ["recovery_email_1", "recovery_vip_offer"]


def test_freezing_time_before_the_emulator_started_moves_arrivals_there(tmp_path: Path) -> None:
    """The fixture starts on the wall clock; the test then freezes a past date.
    Nothing has arrived yet, so the platform starts over at the frozen
    instant, and a replay of the log does the same."""
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, log=log) as emu:
        with freeze_time("2026-05-04T10:00:00Z"):
            assert emu.get("/now")["now"] == "2026-05-04T10:00:00Z"
            track = emu.track_client()
            track.identify("cus_1")
            track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 150})
            assert emu.get("/runs")["runs"][0]["entered_at"] == "2026-05-04T10:00:00Z"
        with freeze_time("2026-05-01T10:00:00Z"):  # earlier again, but calls have arrived: time stays
            track.track("cus_1", "product_viewed", {"product_id": "p", "category": "tea"})
            assert emu.get("/now")["now"] == "2026-05-04T10:00:00Z"
        live = list(emu.session.platform.trace.records)
    assert replay_log(read_log(log), load_workspace(WORKSPACE)[0]).platform.trace.records == live
    scenario = tmp_path / "from_log.yaml"
    runner = CliRunner()
    written = runner.invoke(main, ["replay", str(log), "--workspace", str(WORKSPACE), "--to-scenario", str(scenario)])
    assert written.exit_code == 0, written.output
    assert "2026-05-04T10:00:00Z" in scenario.read_text().split("start:", 1)[1].splitlines()[0]
    check = runner.invoke(main, ["check", str(scenario)])
    assert check.exit_code == 0, check.output


def test_segment_membership_at_a_past_instant() -> None:
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        track = emu.track_client()
        track.identify("cus_1")
        track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 150})
        emu.advance("3h")
        assert emu.members("cart_abandoners") == []  # the 2h window closed
        past = emu.get("/segments/cart_abandoners", at="2026-03-02T10:00:00Z")
        assert past["at"] == "2026-03-02T10:00:00Z"
        assert [m["id"] for m in past["members"]] == ["cus_1"]
        assert "events" not in past["members"][0]
        assert emu.get("/segments/cart_abandoners?at=2026-03-02T10:00:00Z") == past  # the query in the path
        # Written unencoded, as a reader types it: the query's `+` decodes as a space.
        past = emu.inspect.get("/segments/cart_abandoners?at=2026-03-02T11:00:00+01:00")
        assert past.status_code == 200, past.text
        assert past.json()["at"] == "2026-03-02T10:00:00Z"
        assert [m["id"] for m in past.json()["members"]] == ["cus_1"]
        spaced = emu.inspect.get("/segments/cart_abandoners", params={"at": "2026-03-02 11:00:00 01:00"})
        assert spaced.json()["at"] == "2026-03-02T10:00:00Z"
        assert (
            emu.inspect.get("/segments/cart_abandoners", params={"at": "2026-03-02T11:00:00  01:00"}).status_code == 400
        )


def test_reset_empties_the_platform() -> None:
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        emu.track_client().identify("cus_1")
        emu.advance("5m")
        emu.reset()
        assert emu.get("/profiles")["profiles"] == []
        assert emu.get("/trace")["trace"] == []
        assert emu.get("/now")["now"] == "2026-03-02T09:05:00Z"
        emu.track_client().identify("cus_2")
        assert [p["cio_id"] for p in emu.get("/profiles")["profiles"]] == ["cio_1"]


def _session_story(emu: Any) -> None:
    track = emu.track_client()
    cdp = emu.analytics_client()
    cdp.page(anonymous_id="a-1", name="/p/1")
    cdp.track(anonymous_id="a-1", event="checkout_started", properties={"checkout_id": "ck_1", "value": 99})
    track.identify("cus_1", email="ana@example.com", anonymous_id="a-1")
    track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 99}, id="01HZY00000000000000000000A")
    track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 99}, id="01HZY00000000000000000000A")
    emu.advance("1h")
    track.add_device("cus_1", "tok", "ios")
    cdp.track("cus_1", "", {})  # dropped, in the trace
    track.identify("cio_42")  # unknown: dropped
    emu.get("/messages")
    track.merge_customers("id", "cus_1", "email", "nobody@example.com")
    track.suppress("cus_1")
    emu.advance("2d")


def test_log_replay_gives_the_same_trace(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        _session_story(emu)
        live = list(emu.session.platform.trace.records)
        answered = emu.session.records
    session_log = read_log(log)
    assert len(session_log.records) == answered
    replayed = replay_log(session_log, load_workspace(WORKSPACE)[0])
    assert replayed.platform.trace.records == live
    kinds = {r["kind"] for r in live}
    assert {"call_dropped", "profile_deleted", "device_added", "message_sent", "profile_merged"} <= kinds


def test_a_replayed_trace_keeps_the_order_the_client_wrote_its_keys_in(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        emu.track_client().identify("cus_1", zz=1, aa=2, nested={"b": 1, "a": 2})
        live = json.dumps(list(emu.session.platform.trace.records), ensure_ascii=False)
    replayed = replay_log(read_log(log), load_workspace(WORKSPACE)[0])
    assert json.dumps(replayed.platform.trace.records, ensure_ascii=False) == live  # as text, not only as data
    assert '"zz": 1, "aa": 2, "nested": {"b": 1, "a": 2}' in live


def test_identifier_changes_suppressions_and_update_only_replay_the_same(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        track = emu.track_client()
        track.identify("ana@example.com", plan="gold")
        track.identify("cio_1", email="ana@example.org")
        track.identify("cio_1", email="ana@example.com")
        track.identify("cus_2", email="ben@example.com")
        track.identify("cio_1", email="ben@example.com")  # another person's: dropped
        track.identify("cus_3", _update=True)  # nobody: dropped
        track.suppress("cus_2")
        track.unsuppress("ben@example.com")
        track.identify("cus_2", vip=True)
        live = list(emu.session.platform.trace.records)
    replayed = replay_log(read_log(log), load_workspace(WORKSPACE)[0])
    assert replayed.platform.trace.records == live
    assert replayed.suppressed == set()
    assert sorted(replayed.platform.by_email) == ["ana@example.com"]
    kinds = [r["kind"] for r in live]
    assert kinds.count("identifiers_updated") == 2 and kinds.count("identifier_unsuppressed") == 2


def test_a_call_log_holding_nan_or_infinity_is_refused(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        emu.track_client().track("cus_1", "order_completed", {"order_id": "o_1", "value": 80})
    lines = log.read_text().splitlines()
    lines[1] = lines[1].replace('"value":80', '"value":Infinity')
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(LogError, match=r"calls.jsonl:2: not a JSON line \(Infinity is not JSON .* at column \d+\)"):
        read_log(log)


def test_replay_cli_and_scenario_skeleton_that_check_accepts(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        _session_story(emu)
        live_kinds = [r["kind"] for r in emu.get("/trace")["trace"]]
    runner = CliRunner()
    result = runner.invoke(main, ["replay", str(log), "--json"])
    assert result.exit_code == 0, result.output
    assert '"kind": "message_sent"' in result.output
    scenario = tmp_path / "scenarios" / "from_log.yaml"
    result = runner.invoke(main, ["replay", str(log), "--workspace", str(WORKSPACE), "--to-scenario", str(scenario)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    check = runner.invoke(main, ["check", str(scenario)])
    assert check.exit_code == 0, check.output
    text = scenario.read_text()
    assert "shopper_1: {id: cus_1, email: ana@example.com}" in text
    assert "device: device_1" in text and "latency: 0s" in text
    assert '#   device_1: "a-1"\n' in text  # the anonymous id the calls carried, which the scenario cannot hold
    assert "message_sent" in live_kinds
    both = tmp_path / "both.yaml"
    result = runner.invoke(main, ["replay", str(log), "--to-scenario", str(both), "--json"])
    assert result.exit_code == 0, result.output
    assert "shopper_1: {id: cus_1, email: ana@example.com}" in both.read_text()
    assert [r["kind"] for r in json.loads(result.stdout)] == live_kinds  # stdout is the JSON alone
    assert "wrote" in result.stderr


def test_a_skeleton_lists_the_calls_no_step_can_say_and_the_command_says_so(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        track = emu.track_client()
        track.identify("cus_1", email="ana@example.com")
        track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 120})
        emu.advance("10m")
        track.add_device("cus_1", "tok_1", "ios")
        track.suppress("cus_1")
        emu.advance("2h")
        assert emu.get("/messages")["messages"] == []
    scenario = tmp_path / "skeleton.yaml"
    result = CliRunner().invoke(
        main, ["replay", str(log), "--workspace", str(WORKSPACE), "--to-scenario", str(scenario)]
    )
    assert result.exit_code == 0, result.output
    assert "note: left out 2 calls that no scenario step can say; the file's header lists them" in result.stderr
    header = [line for line in scenario.read_text().splitlines() if line.startswith("#")]
    assert header[-3:] == [
        "# Calls no scenario step can say, left out (the story below runs without them):",
        '#   at 10m: a device added to "cus_1"',
        '#   at 10m: a suppress of "cus_1" (later calls carrying it are dropped)',
    ]


def test_replay_never_writes_its_skeleton_over_the_log_or_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--to-scenario calls.jsonl` replaced the recorded session with YAML (exit 0)."""
    monkeypatch.chdir(tmp_path)  # where a file named `-` would land
    log = tmp_path / "calls.jsonl"
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(WORKSPACE.read_text())
    with running_emulator(workspace, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        _session_story(emu)
    recorded = log.read_bytes()
    runner = CliRunner()
    for target, extra in ((log, []), (workspace, []), (workspace, ["--workspace", str(workspace)]), ("-", [])):
        result = runner.invoke(main, ["replay", str(log), *extra, "--to-scenario", str(target)])
        assert result.exit_code == 2, result.output
        assert "is also an input" in result.output or "not to standard output" in result.output
        assert log.read_bytes() == recorded and workspace.read_text() == WORKSPACE.read_text()
    assert not (tmp_path / "-").exists()


def test_a_skeleton_written_through_a_link_checks_by_that_name(tmp_path: Path) -> None:
    """The workspace path was relative to the link's target, so `segsim check LINK` (as printed) failed."""
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        _session_story(emu)
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "ws").mkdir()
    workspace = tmp_path / "ws" / "w.yaml"
    workspace.write_text(WORKSPACE.read_text())
    link = tmp_path / "skel.yaml"
    link.symlink_to(tmp_path / "deep" / "er" / "new.yaml")
    runner = CliRunner()
    result = runner.invoke(main, ["replay", str(log), "--workspace", str(workspace), "--to-scenario", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (tmp_path / "deep" / "er" / "new.yaml").is_file()
    check = runner.invoke(main, ["check", str(link)])
    assert check.exit_code == 0, check.output


def test_a_skeleton_written_into_a_linked_folder_checks(tmp_path: Path) -> None:
    """`..` from the skeleton is taken after the folder's link, so the path is counted from where it leads."""
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        _session_story(emu)
    (tmp_path / "real" / "deeper").mkdir(parents=True)
    (tmp_path / "out").symlink_to(tmp_path / "real" / "deeper")
    workspace = tmp_path / "w.yaml"
    workspace.write_text(WORKSPACE.read_text())
    skeleton = tmp_path / "out" / "skel.yaml"
    runner = CliRunner()
    result = runner.invoke(main, ["replay", str(log), "--workspace", str(workspace), "--to-scenario", str(skeleton)])
    assert result.exit_code == 0, result.output
    assert "workspace: ../../w.yaml" in skeleton.read_text()
    check = runner.invoke(main, ["check", str(skeleton)])
    assert check.exit_code == 0, check.output


def test_replay_refuses_a_bad_log_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "request", "at": 1}\n')
    result = CliRunner().invoke(main, ["replay", str(bad)])
    assert result.exit_code == 2
    assert "bad.jsonl:1: the first line of a call log is the session header" in result.output
    missing = CliRunner().invoke(main, ["replay", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2 and "no such call log" in missing.output


def test_a_file_that_is_not_a_call_log_is_refused_and_left_untouched(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    log.write_text("something\n")
    with pytest.raises(LogError, match="calls.jsonl:1: not a JSON line"), running_emulator(WORKSPACE, log=log):
        pass  # pragma: no cover
    assert log.read_text() == "something\n"


def test_a_workspace_with_segment_refresh_sweeps_in_a_live_session(tmp_path: Path) -> None:
    workspace = tmp_path / "refresh.yaml"
    workspace.write_text(
        "rules: {segment_refresh: 1h}\n"
        "segments: {vip: {rule: {performed: order_completed, where: {value: {gt: 200}}}}}\n"
    )
    with running_emulator(workspace, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        track = emu.track_client()
        track.identify("cus_1")
        track.track("cus_1", "order_completed", {"order_id": "o_1", "value": 300})
        # The start's sweep (k = 0) comes after that instant's calls, as in a scenario (SPEC 4).
        assert [m["id"] for m in emu.members("vip")] == ["cus_1"]
        emu.advance("10m")
        track.identify("cus_2")
        track.track("cus_2", "order_completed", {"order_id": "o_2", "value": 300})
        assert [m["id"] for m in emu.members("vip")] == ["cus_1"]  # held until the next sweep
        emu.advance("50m")
        assert [m["id"] for m in emu.members("vip")] == ["cus_1", "cus_2"]


def test_calls_at_the_instant_advance_moved_to_all_come_before_its_timers(tmp_path: Path) -> None:
    # A scenario orders one instant deliveries first (SPEC 4): two orders at 10:00
    # both arrive while the 09:00 run still waits, so once_at_a_time refuses the second.
    workspace = tmp_path / "thank.yaml"
    workspace.write_text(
        "journeys:\n"
        "  thank:\n"
        "    trigger: {event: order_completed}\n"
        "    frequency: once_at_a_time\n"
        "    steps: [{send: ty}, {wait: 1h}, {send: upsell}]\n"
    )
    with running_emulator(workspace, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        track = emu.track_client()
        track.track("cus_1", "order_completed", {"order_id": "o_1"})
        emu.advance("1h")
        track.track("cus_1", "product_viewed", {"product_id": "p_1"})
        track.track("cus_1", "order_completed", {"order_id": "o_2"})
        runs = emu.get("/runs")["runs"]
        assert [(r["entered_at"], r["reason"], r["sent"]) for r in runs] == [
            ("2026-03-02T09:00:00Z", "completed", ["ty", "upsell"])
        ]


def test_a_manual_clock_restarted_without_start_resumes_where_the_log_stopped(tmp_path: Path) -> None:
    # Not at the wall clock: that would fire months of timers on its own.
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        emu.track_client().identify("cus_1", email="ana@example.com")
        emu.advance("2h")
    with running_emulator(WORKSPACE, clock="manual", log=log) as emu:
        assert emu.get("/now") == {"now": "2026-03-02T11:00:00Z"}
        assert emu.get("/messages")["messages"] == []


def test_a_skeleton_keeps_one_shopper_for_an_email_in_any_case(tmp_path: Path) -> None:
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        track = emu.track_client()
        track.identify("cus_1", email="Ana@Example.com")
        track.track("ana@example.com", "product_viewed", {"product_id": "p", "category": "tea"})
        assert len(emu.get("/profiles")["profiles"]) == 1
    scenario = tmp_path / "s.yaml"
    result = CliRunner().invoke(
        main, ["replay", str(log), "--workspace", str(WORKSPACE), "--to-scenario", str(scenario)]
    )
    assert result.exit_code == 0, result.output
    assert "1 shopper," in result.output


def test_a_call_at_the_instant_the_clock_was_advanced_to_comes_before_the_timers_due_then(tmp_path: Path) -> None:
    # The reminder falls due at 10:00; the order arrives at 10:00 too. Deliveries
    # come first at an instant (SPEC 4): the goal ends the run, nothing is sent.
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        track = emu.track_client()
        track.identify("cus_1")
        track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 150})
        assert emu.advance("1h") == "2026-03-02T10:00:00Z"
        track.track("cus_1", "order_completed", {"order_id": "o_1", "checkout_id": "ck_1", "value": 150})
        assert [m["message"] for m in emu.get("/messages")["messages"]] == ["thank_you"]  # post_purchase's
        (run,) = [r for r in emu.get("/runs")["runs"] if r["journey"] == "cart_recovery"]
        assert (run["reason"], run["ended_at"]) == ("goal", "2026-03-02T10:00:00Z")
        live = list(emu.session.platform.trace.records)
    assert replay_log(read_log(log), load_workspace(WORKSPACE)[0]).platform.trace.records == live


def test_a_read_after_advance_sees_the_timers_due_at_the_new_instant() -> None:
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z") as emu:
        track = emu.track_client()
        track.identify("cus_1")
        track.track("cus_1", "checkout_started", {"checkout_id": "ck_1", "value": 150})
        emu.advance("1h")
        assert [m["message"] for m in emu.get("/messages")["messages"]] == ["recovery_email_1"]
        # Read once, the instant is settled: a call arriving now comes after its timers.
        track.track("cus_1", "order_completed", {"order_id": "o_1", "checkout_id": "ck_1", "value": 150})
        assert [m["message"] for m in emu.get("/messages")["messages"]] == ["recovery_email_1", "thank_you"]


@pytest.mark.parametrize(("written", "resumed"), [("manual", "wall"), ("wall", "manual")])
def test_the_helper_refuses_a_log_written_on_the_other_clock_as_serve_does(
    tmp_path: Path, written: str, resumed: str
) -> None:
    """A manual session's pending reminders would all fire at the wall clock's
    now, and that jump would stay in the log: refused, the log untouched."""
    log = tmp_path / "calls.jsonl"
    start = {"start": "2026-03-02T09:00:00Z"} if written == "manual" else {}
    with running_emulator(WORKSPACE, log=log, clock=written, **start) as emu:  # type: ignore[arg-type]
        emu.track_client().identify("cus_1", email="ana@example.com")
    before = log.read_bytes()
    with pytest.raises(LogError, match=f"written with clock='{written}'; resume it with clock='{written}'"):
        with running_emulator(WORKSPACE, log=log, clock=resumed):  # type: ignore[arg-type]
            pass
    assert log.read_bytes() == before


def test_a_pipelines_timestamp_stamped_in_virtual_time_ahead_of_the_machine_is_kept(tmp_path: Path) -> None:
    # A manual clock started at the machine's now and advanced 1h25m: the client's
    # sentAt is the machine's clock, 1h25m behind. An order stamped 50 minutes after
    # the start on the virtual clock is later than its sentAt, so no sender's clock
    # stamped it: it is kept, not moved 1h25m into the future (where it was held).
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", log=log) as emu:
        cdp = emu.analytics_client()
        started = datetime.fromisoformat(emu.get("/now")["now"].replace("Z", "+00:00"))
        cdp.identify("cus_2", {"email": "ben@example.com"})
        emu.advance("5m")
        cdp.track("cus_2", "checkout_started", {"checkout_id": "ck_2", "value": 80})
        emu.advance("1h20m")
        order = {"order_id": "o_1", "checkout_id": "ck_2", "value": 80}
        cdp.track("cus_2", "order_completed", order, timestamp=started + timedelta(minutes=50))
        cio = emu.get("/profiles")["profiles"][0]["cio_id"]
        stamps = {e["name"]: e["timestamp"] for e in emu.get(f"/profiles/{cio}")["events"]}
        assert stamps["order_completed"] == format_instant(int((started + timedelta(minutes=50)).timestamp()))
        assert [r["reason"] for r in emu.get("/runs")["runs"] if r["journey"] == "cart_recovery"] == ["goal"]
        live = list(emu.session.platform.trace.records)
    # the call was logged as it was read: a replay keeps the stamp, whatever its machine's clock
    assert replay_log(read_log(log), load_workspace(WORKSPACE)[0]).platform.trace.records == live


def test_a_call_without_sent_at_stamped_by_a_client_on_this_machine_lands_at_its_arrival(tmp_path: Path) -> None:
    """The official Node Pipelines client stamps `timestamp` with the machine's clock
    and sends no `sentAt`: on a manual clock months from the machine's, that stamp
    was made when the call was sent, and lands at the virtual arrival (less the
    time the client held it), not months ahead where it would be held. A stamp
    from earlier than five minutes ago, or one in virtual time, is kept as sent."""
    log = tmp_path / "calls.jsonl"
    with running_emulator(WORKSPACE, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        machine = datetime.now(UTC)
        held = (machine - timedelta(seconds=3)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        old = (machine - timedelta(minutes=6)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        batch = [
            {
                "type": "track",
                "userId": "cus_n",
                "event": "checkout_started",
                "timestamp": held,
                "properties": {"checkout_id": "ck_n", "value": 150},
            },
            {
                "type": "track",
                "userId": "cus_n",
                "event": "product_viewed",
                "timestamp": old,
                "properties": {"product_id": "p", "category": "c"},
            },
            {
                "type": "track",
                "userId": "cus_n",
                "event": "product_viewed",
                "timestamp": "2026-03-02T08:59:00Z",
                "properties": {"product_id": "q", "category": "c"},
            },
        ]
        answer = httpx.post(f"{emu.pipelines_url}/batch", json={"batch": batch}, auth=(emu.write_key, ""), timeout=10)
        assert answer.status_code == 200
        cio = emu.get("/profiles")["profiles"][0]["cio_id"]
        stamps = [(e["name"], e["timestamp"]) for e in emu.get(f"/profiles/{cio}")["events"]]
        assert stamps[:2] == [("product_viewed", "2026-03-02T08:59:00Z"), ("checkout_started", "2026-03-02T08:59:57Z")]
        assert stamps[2] == ("product_viewed", format_instant(int((machine - timedelta(minutes=6)).timestamp())))
        runs = {r["journey"]: r["entered_at"] for r in emu.get("/runs")["runs"]}
        assert runs["cart_recovery"] == "2026-03-02T09:00:00Z"
        live = list(emu.session.platform.trace.records)
    assert replay_log(read_log(log), load_workspace(WORKSPACE)[0]).platform.trace.records == live


def test_on_the_machines_clock_a_timestamp_ahead_of_its_sent_at_is_a_skewed_senders() -> None:
    # The wall clock (frozen at 09:00): a device running 2h fast schedules an event an hour after
    # it sends. Its clock is not ours, so the Segment-style correction applies: 10:00.
    with freeze_time("2026-03-02T09:00:00Z"), running_emulator(WORKSPACE) as emu:
        call = {"userId": "cus_9", "event": "product_viewed", "properties": {"product_id": "p", "category": "c"}}
        body = {**call, "timestamp": "2026-03-02T12:00:00Z", "sentAt": "2026-03-02T11:00:00Z"}
        answer = httpx.post(f"{emu.pipelines_url}/track", json=body, auth=(emu.write_key, ""), timeout=10)
        assert answer.status_code == 200
        cio = emu.get("/profiles")["profiles"][0]["cio_id"]
        assert [e["timestamp"] for e in emu.get(f"/profiles/{cio}")["events"]] == ["2026-03-02T10:00:00Z"]


def test_a_skeleton_keys_a_replayed_track_as_the_live_call_did(tmp_path: Path) -> None:
    """An email-keyed Track API event of a shopper who also has an id landed on the email's
    profile, which a later identify merged; through `backend` (keyed by id) the skeleton put it
    on the id's profile and nothing was merged. Its own source keys it by email."""
    workspace = tmp_path / "w.yaml"
    workspace.write_text(
        WORKSPACE.read_text().replace("    identify_by: id\n", "    identify_by: id\n    drop_rate: 0.5\n")
    )
    log = tmp_path / "calls.jsonl"
    with running_emulator(workspace, clock="manual", start="2026-03-02T09:00:00Z", log=log) as emu:
        track = emu.track_client()
        track.identify("cus_9")
        track.track("ivy@example.com", "product_viewed", {"product_id": "p", "category": "c"})
        track.identify("cus_9", email="ivy@example.com")
        live = [(r["kind"], r.get("events_moved")) for r in emu.get("/trace")["trace"] if r["kind"] == "profile_merged"]
    assert live == [("profile_merged", 1)]
    scenario = tmp_path / "skeleton.yaml"
    runner = CliRunner()
    result = runner.invoke(main, ["replay", str(log), "--workspace", str(workspace), "--to-scenario", str(scenario)])
    assert result.exit_code == 0, result.output
    text = scenario.read_text()
    assert "backend_by_email: {kind: server, identify_by: email, latency: 0s}" in text
    assert "drop: false" in text  # the workspace's backend drops half its calls; these arrived
    timeline = runner.invoke(main, ["timeline", str(scenario), "--json"])
    assert timeline.exit_code == 0, timeline.output
    replayed = [
        (r["kind"], r.get("events_moved")) for r in json.loads(timeline.stdout) if r["kind"] == "profile_merged"
    ]
    assert replayed == live
