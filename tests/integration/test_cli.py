"""SPEC 11: the `segsim` command: run (exit codes, --strict), timeline, check,
schema, --version."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path
from shlex import quote as shlex_quote
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from simulator import cli
from simulator._version import __version__
from simulator.cli import main
from simulator.model.time import parse_duration, parse_instant

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / "fixtures" / "workspaces" / "dtc_store.yaml"
EXAMPLE = ROOT / "scenarios" / "01_cross_device_checkout.yaml"

PASSING = """
scenario: a passing story
workspace: {journeys: {hello: {trigger: {event: go}, steps: [{send: hi}]}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, track: go}
expect:
  - {who: ana, journey: hello, sent: [hi]}
"""

FAILING = PASSING.replace("scenario: a passing story", "scenario: a failing story").replace(
    "sent: [hi]", "sent: [hi, hi]"
)

# A ghost abandon that no expectation mentions: passes, except under --strict.
GHOST = """
scenario: an undocumented ghost
workspace:
  journeys:
    recovery:
      trigger: {event: checkout_started}
      goal: {performed: order_completed}
      exit: goal
      steps: [{wait: 1h}, {send: reminder}]
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, track: checkout_started}
  - {at: 10m, who: ana, track: order_completed, latency: 2h}
expect:
  - {who: ana, journey: recovery, entered: 1}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_run_exit_0_when_everything_passes(tmp_path: Path) -> None:
    code, out = invoke("run", str(write(tmp_path, "a.yaml", PASSING)))
    assert code == 0
    assert "PASS" in out and "1 scenario: 1 passed, 0 failed" in out


def test_run_exit_1_when_an_expectation_fails_with_its_explanation(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", PASSING)
    write(tmp_path, "b.yaml", FAILING)
    code, out = invoke("run", str(tmp_path))
    assert code == 1
    assert "2 scenarios: 1 passed, 1 failed" in out
    assert "FAIL a failing story" in out
    assert "['hi', 'hi']" in out and "['hi']" in out


def test_run_exit_2_when_an_input_is_invalid_and_the_rest_still_runs(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", PASSING)
    write(tmp_path, "b.yaml", FAILING)
    write(tmp_path, "c.yaml", PASSING.replace("who: ana, journey", "who: anna, journey"))
    code, out = invoke("run", str(tmp_path))
    assert code == 2
    assert "1 passed, 1 failed, 1 invalid" in out
    assert "c.yaml:8:" in out and "did you mean 'ana'" in out


def test_run_exit_2_for_a_folder_without_scenarios(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "nothing")
    code, out = invoke("run", str(tmp_path))
    assert code == 2 and "no scenario files" in out


def test_violations_are_listed_and_fail_only_under_strict(tmp_path: Path) -> None:
    path = write(tmp_path, "g.yaml", GHOST)
    code, out = invoke("run", str(path))
    assert code == 0
    assert "ghost_abandon" in out and "late_arrival" in out
    code, out = invoke("run", "--strict", str(path))
    assert code == 1
    assert "--strict" in out


def test_strict_passes_when_the_violation_is_documented(tmp_path: Path) -> None:
    documented = GHOST + "  - {violation: ghost_abandon, who: ana, cause: late_arrival}\n"
    code, _ = invoke("run", "--strict", str(write(tmp_path, "g.yaml", documented)))
    assert code == 0


def test_strict_lists_only_the_undocumented_violations(tmp_path: Path) -> None:
    text = """
scenario: one documented, one not
workspace:
  journeys:
    j: {trigger: {event: ev}, steps: [{send: m}]}
shoppers: {a: {id: c1}, b: {id: c2}}
timeline:
  - {at: 0m, who: a, source: backend, track: ev, drop: true}
  - {at: 0m, who: b, source: backend, track: ev, drop: true}
expect:
  - {violation: missed_entry, who: a, journey: j, cause: dropped}
"""
    code, out = invoke("run", "--strict", str(write(tmp_path, "s.yaml", text)))
    assert code == 1
    listed = out.split("(--strict):", 1)[1].strip().splitlines()
    assert [line.split(":")[0].strip() for line in listed] == ["violation missed_entry b j cause dropped"]


def test_a_failure_shows_only_its_shoppers_story_up_to_its_instant(tmp_path: Path) -> None:
    """Ben's profile (created with his email, no `who` on the record), his
    merge (no `who` either) and anything after the expectation's 1m are not
    part of why ana's expectation failed."""
    text = """
scenario: slices
workspace:
  sources: {mail: {kind: server, identify_by: email}}
  segments: {s: {rule: {performed: ev, within: 2h}}}
shoppers: {ana: {id: a1}, ben: {id: b1, email: ben@example.com}}
timeline:
  - {at: 0m, who: ana, source: backend, track: ev}
  - {at: 0m, who: ben, source: mail, track: ev}
  - {at: 30s, merge: {primary: {id: b1}, secondary: {email: ben@example.com}}}
  - {at: 5m, who: ana, source: backend, track: ev}
expect:
  - {at: 1m, who: ana, not_in_segment: s}
  - {at: 1m, who: ben, profiles: 2}
"""
    code, out = invoke("run", str(write(tmp_path, "s.yaml", text)))
    assert code == 1
    ana, ben = (part.split("\n  /", 1)[0] for part in out.split("the story that decided it:")[1:])
    assert [line.split(None, 1)[1] for line in ana.strip().splitlines()] == [
        "ana sent ev from backend",
        "ev from ana arrived, 0s after it was sent",
        "profile cio_1 created (id=a1)",
        "cio_1 (ana) entered segment s",
    ]
    # Ben's: the merge call names no shopper, its arrival not even an identifier: both are his.
    ben_lines = [line.split(None, 1)[1] for line in ben.strip().splitlines()]
    assert "merge call arrived, 0s after it was sent" in ben_lines
    assert any(line.startswith("merge sent: primary id=b1") for line in ben_lines)
    assert not any("ana" in line for line in ben_lines)


def test_a_failure_shows_the_identifier_and_attribute_changes_that_decided_it(tmp_path: Path) -> None:
    """Ana's identify takes the id off the profile ben's merge joined her to: her
    call, not his, is why ben has no profile; a journey's update is why ben is
    not (or is) in an attribute segment."""
    text = """
scenario: identifiers replaced
workspace:
  segments: {vips: {rule: {attribute: vip, eq: true}}}
  journeys: {tag: {trigger: {event: go}, steps: [{update: {vip: false}}]}}
shoppers: {ana: {id: cus_1, email: ana@example.com}, ben: {id: cus_2}}
timeline:
  - {at: 0m, who: ben, source: backend, identify: {attributes: {vip: true}}}
  - {at: 0m, who: ben, source: backend, track: go}
  - {at: 1m, who: ana, source: backend, identify: {with: [email]}}
  - {at: 2m, merge: {primary: {id: cus_2}, secondary: {email: ana@example.com}}}
  - {at: 3m, who: ana, source: backend, identify: true}
expect:
  - {at: 1m, who: ben, in_segment: vips}
  - {at: 3m, who: ben, profiles: 1}
"""
    code, out = invoke("run", str(write(tmp_path, "s.yaml", text)))
    assert code == 1
    vips, profiles = (part.split("\n  /", 1)[0] for part in out.split("the story that decided it:")[1:])
    assert "cio_1 (ben) attributes set: {vip: false}" in vips
    assert "cio_1's id cus_2 replaced by cus_1: cus_2 no longer finds it" in profiles


def test_a_journey_failure_shows_the_steps_of_that_journey_that_decided_it(tmp_path: Path) -> None:
    """Why the offer went out: the wait_until ran out and the branch took `then`.
    The steps of another journey the shopper is in are not part of it, nor are
    steps under a segment expectation."""
    text = """scenario: steps
workspace:
  segments: {buyers: {rule: {performed: order}}}
  journeys:
    nudge:
      trigger: {event: cart}
      steps:
        - {wait_until: {condition: {performed: order}, max: 1h}}
        - {branch: {if: {performed: order}, then: [{send: thanks}], else: [{send: offer}]}}
    other: {trigger: {event: cart}, steps: [{wait: 10m}, {send: hello}]}
shoppers: {ana: {id: a1}}
timeline:
  - {at: 0m, who: ana, source: backend, track: cart}
expect:
  - {who: ana, journey: nudge, sent: [thanks]}
  - {who: ana, in_segment: buyers}
"""
    code, out = invoke("run", str(write(tmp_path, "s.yaml", text)))
    assert code == 1
    journey, segment = (part.split("\n  /", 1)[0] for part in out.split("the story that decided it:")[1:])
    assert "nudge run 1: wait_until max reached" in journey
    assert "nudge run 1: branch else" in journey
    assert "other run" not in journey
    assert ": wait" not in segment.replace("sent", "")


def test_a_failure_shows_the_segment_entry_of_a_profile_the_shopper_was_merged_into(tmp_path: Path) -> None:
    """Ben is in the segment through ana's profile, which entered it before ben's was merged into it."""
    text = """
scenario: member through a merge
workspace: {segments: {pingers: {rule: {performed: ping}}}}
shoppers: {ana: {id: cus_1}, ben: {email: ben@example.com}}
timeline:
  - {at: 0m, who: ben, source: backend, identify: true}
  - {at: 5m, who: ana, source: backend, track: ping}
  - {at: 20m, merge: {primary: {id: cus_1}, secondary: {email: ben@example.com}}}
expect:
  - {at: 30m, who: ben, not_in_segment: pingers}
"""
    code, out = invoke("run", str(write(tmp_path, "m.yaml", text)))
    assert code == 1
    story = [line.split(None, 1)[1] for line in out.split("the story that decided it:")[1].strip().splitlines()]
    assert "cio_2 (ana) entered segment pingers" in story
    assert "ana sent ping from backend" not in story  # ana's own calls are still hers
    assert story[-1] == "cio_1 merged into cio_2 by merge_people (0 events moved)"


def test_an_expectation_before_anything_happened_says_so(tmp_path: Path) -> None:
    text = """
scenario: too early
workspace: {segments: {pingers: {rule: {performed: ping}}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 1h, who: ana, source: backend, track: ping}
expect:
  - {at: 5m, who: ana, in_segment: pingers}
"""
    code, out = invoke("run", str(write(tmp_path, "early.yaml", text)))
    assert code == 1
    assert "the story that decided it: none yet (nothing it reads had happened by then)" in out


def test_counts_at_an_instant_say_by_when_and_a_dropped_merge_names_no_shopper(tmp_path: Path) -> None:
    text = """
scenario: by when
workspace:
  journeys: {j: {trigger: {event: go}, steps: [{wait: 10m}, {send: m}]}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, source: backend, track: go}
  - {at: 1m, merge: {primary: {id: cus_1}, secondary: {email: x@example.com}}, drop: true}
expect:
  - {at: 5m, who: ana, journey: j, sent: [m], within: [0m, 1h]}
  - {at: 5m, who: ana, journey: j, entered: 2}
"""
    path = str(write(tmp_path, "by.yaml", text))
    code, out = invoke("run", path)
    assert code == 1
    assert "expected: j sent ana ['m'] within [+0h00m, +1h00m] by +0h05m" in out  # m went out at 10m, after `at`
    assert "expected: ana entered j 2 time(s) by +0h05m" in out
    assert "merge call was dropped: it never arrives" in invoke("timeline", path)[1]


def test_a_story_that_never_ends_is_an_invalid_scenario_for_every_command_that_runs_it(tmp_path: Path) -> None:
    story = str(ROOT / "tests" / "unit" / "stories" / "never_ends.yaml")
    workspace = str(ROOT / "fixtures" / "workspaces" / "dtc_store.yaml")
    for command in (
        ["run", story],
        ["timeline", story],
        ["report", story, "--out", str(tmp_path / "r.html")],
        ["gate", workspace, story],
    ):
        code, out = invoke(*command)
        assert code == 2, (command, out)
        assert "never_ends.yaml:1:1: until: the story does not end" in out and "Traceback" not in out, command
    assert not (tmp_path / "r.html").exists()
    assert invoke("check", story)[0] == 0  # validate only: nothing is run (README)


def test_check_of_a_scenario_without_its_name_says_so(tmp_path: Path) -> None:
    text = "shoppers: {ana: {id: cus_1}}\ntimeline:\n  - {at: 0s, who: ana, track: viewed}\n"
    code, out = invoke("check", str(write(tmp_path, "story.yaml", text)))
    assert code == 2
    assert "no 'scenario' key, so it was read as a workspace" in out
    assert "not allowed here" not in out


@pytest.mark.parametrize(
    "command",
    [
        ["fuzz"],
        ["lint"],
        ["serve", "--port", "0", "-w"],
        ["whatif", "--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s"],
    ],
)
def test_a_scenario_given_for_a_workspace_says_so_and_names_its_workspace(command: list[str]) -> None:
    scenario = ROOT / "scenarios" / "01_cross_device_checkout.yaml"
    code, out = invoke(*command, str(scenario))
    assert code == 2, out
    assert "this is a scenario file, where a workspace file is expected" in out
    assert f"pass the workspace it uses: {ROOT / 'fixtures' / 'workspaces' / 'dtc_store.yaml'}" in out
    assert "not allowed here" not in out


def test_invariant_expectations_fail_the_run(tmp_path: Path) -> None:
    code, out = invoke("run", str(write(tmp_path, "g.yaml", GHOST + "  - {invariant: no_ghost_abandons}\n")))
    assert code == 1 and "no_ghost_abandons" in out


def test_the_example_scenario_passes() -> None:
    code, out = invoke("run", str(EXAMPLE))
    assert code == 0 and "PASS" in out


def test_timeline_json_is_a_list_of_flat_records_in_time_order() -> None:
    code, out = invoke("timeline", "--json", str(EXAMPLE))
    assert code == 0
    records = json.loads(out)
    assert isinstance(records, list) and records
    for record in records:
        assert isinstance(record, dict)
        assert isinstance(record["at"], str) and record["at"].endswith("Z")
        assert isinstance(record["kind"], str)
        for key, value in record.items():
            assert not isinstance(value, dict), (key, value)
            assert not isinstance(value, list) or key == "anonymous_ids", (key, value)
    viewed = next(r for r in records if r["kind"] == "sent" and r.get("event") == "product_viewed")
    assert viewed["properties.category"] == "apparel"  # a send's properties, by dotted key
    instants = [r["at"] for r in records]
    assert instants == sorted(instants)
    kinds = {r["kind"] for r in records}
    assert {"sent", "arrived", "profile_created", "profile_merged", "segment_entered", "journey_entered"} <= kinds


def test_timeline_json_lists_violations(tmp_path: Path) -> None:
    code, out = invoke("timeline", "--json", str(write(tmp_path, "g.yaml", GHOST)))
    assert code == 0
    violations = [r for r in json.loads(out) if r["kind"] == "violation"]
    assert [(v["violation"], v["who"], v["cause"]) for v in violations] == [("ghost_abandon", "ana", "late_arrival")]


def test_timeline_text_tells_the_story(tmp_path: Path) -> None:
    code, out = invoke("timeline", str(write(tmp_path, "g.yaml", GHOST)))
    assert code == 0
    assert "an undocumented ghost" in out
    for word in ("sent", "arrived", "journey_entered", "violation"):
        assert word in out


def test_timeline_text_says_what_a_segment_refresh_sweep_is(tmp_path: Path) -> None:
    story = LAPSING.replace("workspace:\n", "workspace:\n  rules: {segment_refresh: 1h}\n", 1)
    code, out = invoke("timeline", str(write(tmp_path, "refresh.yaml", story)))
    assert code == 0
    lines = [line for line in out.splitlines() if "segment_refresh" in line]
    assert lines and all(line.endswith("segments re-evaluated (a rules.segment_refresh sweep)") for line in lines)


LAPSING = """
scenario: lapses by time alone
workspace:
  segments:
    lapsed: {rule: {all: [{performed: ev}, {not_performed: ev, within: 1h}]}}
  journeys:
    winback: {trigger: {segment: lapsed}, steps: [{send: we_miss_you}]}
shoppers: {a: {id: c1}}
timeline:
  - {at: 0m, who: a, source: backend, track: ev}
expect:
  - {at: 2h, who: a, in_segment: lapsed}
"""


def test_timeline_lasts_until_every_at_has_passed_as_run_does(tmp_path: Path) -> None:
    """No `until`: the last delivery is at 0s, the expectation at 2h. The
    segment entry at 1h is in the story `run` checked, so timeline shows it."""
    path = write(tmp_path, "lapse.yaml", LAPSING)
    assert invoke("run", str(path))[0] == 0
    code, out = invoke("timeline", "--json", str(path))
    assert code == 0
    kinds = [(r["kind"], r["offset"]) for r in json.loads(out)]
    assert ("segment_entered", "+1h00m") in kinds
    assert ("message_sent", "+1h00m") in kinds


def test_timeline_ends_at_until(tmp_path: Path) -> None:
    """What the story would send after `until` never happens: not even as `sent` or `dropped`."""
    story = """
scenario: s
until: 1h
workspace: {sources: {lossy: {kind: server, drop_rate: 1.0}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, track: first}
  - {at: 1h, who: ana, track: at_until}
  - {at: 2h, who: ana, track: after}
  - {at: 3h, who: ana, source: lossy, track: lost_after}
"""
    code, out = invoke("timeline", "--json", str(write(tmp_path, "u.yaml", story)))
    assert code == 0
    records = json.loads(out)
    assert records[-1]["offset"] == "+1h00m"
    assert [r["event"] for r in records if r["kind"] == "sent"] == ["first", "at_until"]


def test_timeline_of_a_bad_file_exits_2(tmp_path: Path) -> None:
    code, out = invoke("timeline", str(write(tmp_path, "bad.yaml", "scenario: s\ntimline: []\n")))
    assert code == 2 and "did you mean 'timeline'" in out


def test_check_validates_scenarios_and_workspaces_without_running(tmp_path: Path) -> None:
    code, out = invoke("check", str(write(tmp_path, "b.yaml", FAILING)), str(WORKSPACE))
    assert code == 0
    assert out.count("ok") == 2


@pytest.mark.parametrize("text", ["", "# the new cart scenario\n\n"])
def test_check_of_an_empty_file_is_an_error_not_ok(tmp_path: Path, text: str) -> None:
    """A file never saved (or only comments) is neither a scenario nor a workspace: `ok` would be a silent pass."""
    empty = write(tmp_path, "new.yaml", text)
    code, out = invoke("check", str(empty), str(WORKSPACE))
    assert code == 2
    assert f"ERROR  {empty}" in out and "the workspace file is empty" in out
    assert f"ok     {WORKSPACE}" in out
    assert invoke("check", str(write(tmp_path, "braces.yaml", "{}\n")))[0] == 0  # an explicit empty workspace


def test_an_empty_workspace_file_is_refused_by_every_command_not_certified(tmp_path: Path) -> None:
    """A fuzz search of an unsaved workspace reported 0 failures (exit 0); a scenario naming one ran."""
    empty = write(tmp_path, "ws.yaml", "# TODO\n")
    story = write(tmp_path, "s.yaml", "scenario: s\nworkspace: ws.yaml\nshoppers: {a: {id: c}}\ntimeline: []\n")
    for args in (
        ["run", str(story)],
        ["fuzz", str(empty), "--seed", "1", "--out", str(tmp_path / "o")],
        ["lint", str(empty)],
    ):
        code, out = invoke(*args)
        assert code == 2, (args, out)
        assert "the workspace file is empty" in out
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["run", "check", "lint", "gate"])
def test_one_unreadable_path_is_reported_and_the_others_still_run(tmp_path: Path, command: str) -> None:
    """A name too long for the file system aborted the whole command; a link loop read as "no such file"."""
    if not hasattr(os, "symlink"):
        pytest.skip("no links here")
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    good = write(tmp_path, "good.yaml", FAILING)
    paths = [str(tmp_path / ("x" * 300)), str(tmp_path / "loop_a"), str(good)]
    args = [command, *paths] if command in ("run", "check") else [command, str(WORKSPACE), *paths]
    code, out = invoke(*args)
    assert code == 2, out
    assert "cannot be read (File name too long)" in out
    assert "a link that leads nowhere" in out
    if command == "run":
        assert "1 failed" in out  # the good file still ran (it fails on purpose)
    if command == "check":
        assert f"ok     {good}" in out


def test_check_reads_a_scenario_by_its_content_whatever_its_name_as_run_does(tmp_path: Path) -> None:
    """`replay --to-scenario skel.txt` says "check it with: segsim check skel.txt"; it was read as a workspace."""
    skeleton = write(tmp_path, "skel.txt", FAILING)
    assert invoke("run", str(skeleton))[0] == 1
    code, out = invoke("check", str(skeleton))
    assert code == 0, out
    assert f"ok     {skeleton}" in out


@pytest.mark.parametrize("command", ["run", "lint"])
def test_an_unreadable_subfolder_is_named_and_the_rest_of_its_folder_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A `chmod 000` subfolder made `run suite/` refuse all of suite/; `lint` skipped it without a word."""
    suite = tmp_path / "suite"
    (suite / "locked").mkdir(parents=True)
    write(suite, "good.yaml", FAILING)
    write(suite / "locked", "hidden.yaml", FAILING)
    listing = Path.iterdir

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self.name == "locked":
            raise PermissionError(13, "Permission denied", str(self))
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    args = [command, str(suite)] if command == "run" else [command, str(WORKSPACE), str(suite)]
    code, out = invoke(*args)
    assert code == 2, out
    assert f"{suite / 'locked'}: cannot be read (Permission denied)" in out
    if command == "run":
        assert "1 failed" in out  # good.yaml still ran


def test_lint_reads_a_scenario_whatever_its_name_as_run_does(tmp_path: Path) -> None:
    skeleton = write(tmp_path, "skel.txt", PASSING)
    code, out = invoke("lint", str(WORKSPACE), str(skeleton))
    assert "malformed-line" not in out and "not a scenario file" not in out, out


def test_a_broken_link_or_pipe_named_like_a_scenario_inside_a_folder_is_reported(tmp_path: Path) -> None:
    """`run DIR` skipped them without a word (given by name they were reported)."""
    suite = tmp_path / "suite"
    suite.mkdir()
    write(suite, "good.yaml", FAILING)
    (suite / "moved.yaml").symlink_to(tmp_path / "nowhere.yaml")
    if hasattr(os, "mkfifo"):
        os.mkfifo(suite / "pipe.yaml")
    code, out = invoke("run", str(suite))
    assert code == 2, out
    assert f"{suite / 'moved.yaml'}: a link that leads nowhere" in out
    assert "1 failed" in out


def test_lint_reads_a_log_named_twice_once(tmp_path: Path) -> None:
    """The same log through its folder and by name made every unique_by value a false repeat."""
    logs = tmp_path / "logs"
    logs.mkdir()
    line = (
        '{"type": "track", "userId": "u1", "event": "order_completed", "timestamp": '
        '"2026-03-02T09:00:00Z", "receivedAt": "2026-03-02T09:00:01Z", '
        '"properties": {"order_id": "o_1", "value": 5, "items": []}, '
        '"context": {"library": {"name": "analytics-node"}}}'
    )
    write(logs, "orders.jsonl", line + "\n")
    code, out = invoke("lint", str(WORKSPACE), str(logs), str(logs / "orders.jsonl"))
    assert "already sent" not in out and "(1 log line" in out, out


def test_report_writes_a_page_for_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    """A `caf\\xe9.yaml` name (Latin-1 bytes) ended in a UnicodeEncodeError traceback."""
    if sys.platform == "darwin":
        pytest.skip("the file system refuses names that are not UTF-8")
    folder = tmp_path / "suite"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.yaml")
    write(folder, name, PASSING)
    page = tmp_path / "r.html"
    code, out = invoke("report", str(folder), "--out", str(page))
    assert code == 0, out
    page.read_bytes().decode("utf-8")  # valid UTF-8 throughout


def test_running_a_workspace_file_says_it_is_one(tmp_path: Path) -> None:
    """It said "missing required key 'scenario'", as if a scenario had lost its name."""
    code, out = invoke("run", str(WORKSPACE))
    assert code == 2
    assert "this is a workspace file (" in out and "where a scenario file is expected" in out
    assert "missing required key" not in out


KINDS = ("scenario", "workspace")


@pytest.mark.parametrize(
    ("kind", "keys"),
    [("scenario", {"scenario", "timeline", "expect"}), ("workspace", {"sources", "journeys", "segments"})],
)
def test_schema_is_valid_json_schema(kind: str, keys: set[str]) -> None:
    code, out = invoke("schema", kind)
    assert code == 0
    schema = json.loads(out)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert keys <= set(schema["properties"])


def test_the_schemas_accept_every_shipped_file_and_describe_overrides() -> None:
    import jsonschema

    from simulator.scenario.yamlfile import load_yaml_file

    validator = {kind: jsonschema.Draft202012Validator(json.loads(invoke("schema", kind)[1])) for kind in KINDS}
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        assert not list(validator["scenario"].iter_errors(load_yaml_file(path).data)), path
    for path in sorted((ROOT / "fixtures" / "workspaces").glob("*.yaml")):
        assert not list(validator["workspace"].iter_errors(load_yaml_file(path).data)), path
    # overrides are a partial workspace: a journey's one key is enough, a misspelt key is not
    assert validator["scenario"].is_valid({"scenario": "s", "overrides": {"journeys": {"j": {"exit": "goal"}}}})
    assert not validator["scenario"].is_valid({"scenario": "s", "overrides": {"sorces": {}}})
    assert not validator["scenario"].is_valid({"scenario": "s", "overrides": {"journeys": {"j": {"exits": "goal"}}}})
    # "exactly one of" as the loader checks it: a trigger, a journey step, a timeline step
    journey = {"trigger": {"event": "go"}, "steps": [{"send": "hi"}]}
    assert validator["workspace"].is_valid({"journeys": {"j": journey}})
    for wrong in (
        {"trigger": {"event": "go", "segment": "s"}},
        {"trigger": {}},
        {"steps": [{"send": "a", "wait": "1h"}]},
    ):
        assert not validator["workspace"].is_valid({"journeys": {"j": {**journey, **wrong}}}), wrong
    step = {"at": "0s", "who": "ana", "track": "go", "identify": True}
    assert not validator["scenario"].is_valid({"scenario": "s", "timeline": [step]})
    # an `at` is a duration or an instant, as check reads it
    for at, valid in (("40m", True), ("2026-03-02T09:00:00Z", True), ("-5m", False), ("tuesday", False)):
        story = {"scenario": "s", "timeline": [{"at": at, "who": "ana", "track": "go"}]}
        assert validator["scenario"].is_valid(story) is valid, at


_INSTANT_FORMS = (
    lambda t: t.isoformat(),
    lambda t: t.isoformat().replace("+00:00", "Z"),
    lambda t: t.isoformat(sep=" ", timespec="minutes"),
    lambda t: t.strftime("%Y%m%dT%H%M%S") + t.strftime("%z"),
    lambda t: t.isoformat(timespec="milliseconds"),
    lambda t: f" {t.isoformat(sep='_')} ",
    lambda t: t.isoformat(timespec="hours"),
)


@given(
    moment=st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2999, 12, 31),
        timezones=st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes))),
    ),
    form=st.sampled_from(range(len(_INSTANT_FORMS))),
)
def test_the_schema_takes_an_instant_exactly_when_it_has_an_offset(moment: datetime, form: int) -> None:
    """An editor driven by the schema says what `check` says: an instant with an
    offset, in any form Python reads, is valid; the same without one is not
    (`2026-01-01T00:05:00` is refused by the loader)."""
    import jsonschema

    validator = _schema_validator("scenario")
    text = _INSTANT_FORMS[form](moment)
    naive = _INSTANT_FORMS[form](moment.replace(tzinfo=None))
    assert abs(parse_instant(text) - moment.timestamp()) < 3600  # what the loader reads (some forms drop minutes)
    with pytest.raises(ValueError, match="no offset"):
        parse_instant(naive)
    for key in ("start", "until"):
        assert validator.is_valid({"scenario": "s", key: text}), text
        assert not validator.is_valid({"scenario": "s", key: naive}), naive
    with pytest.raises(ValueError):
        parse_instant(text + "x")
    assert not validator.is_valid({"scenario": "s", "start": text + "x"})
    step = {"who": "ana", "track": "go", "at": text, "timestamp": text}
    assert validator.is_valid({"scenario": "s", "timeline": [step]}), text
    for key in ("at", "timestamp"):
        assert not validator.is_valid({"scenario": "s", "timeline": [{**step, key: naive}]}), naive
    assert isinstance(validator, jsonschema.Draft202012Validator)


@pytest.mark.parametrize("written", ["5m", " 5m", "5m ", "\t1h30m ", "0s", "\x1c5m\u3000", "5m\x85"])
def test_the_schema_takes_a_duration_with_spaces_around_as_the_loader_does(written: str) -> None:
    """`latency: ' 5m'` and `at: ' 5m'` load (the loader strips them): an editor says so too."""
    validator = _schema_validator("scenario")
    assert parse_duration(written) >= 0
    step = {"who": "ana", "track": "go", "at": written, "latency": written}
    assert validator.is_valid({"scenario": "s", "timeline": [step]}), written
    for wrong in (written.strip() + " x", "5 m", "m5"):
        assert not validator.is_valid({"scenario": "s", "timeline": [{**step, "latency": wrong}]}), wrong
        assert not validator.is_valid({"scenario": "s", "timeline": [{**step, "at": wrong}]}), wrong
    # a byte order mark is no space to Python's strip (an editor's \s takes it): refused by both
    with pytest.raises(ValueError):
        parse_duration("\ufeff" + written)
    assert not validator.is_valid({"scenario": "s", "timeline": [{**step, "at": "\ufeff" + written}]})


@pytest.mark.parametrize(
    "name",
    ["cart recovery", "café 😀", "fam\u200dily", "", "   ", "two\nlines", "tab\there", "x\u200by", "a\u202eb"]
    + ["line\n", "\u0600x", "x\ufff9"],  # a final newline (Python's `$` matches before it), rarer format characters
)
def test_the_schema_takes_a_scenario_name_exactly_when_check_does(tmp_path: Path, name: str) -> None:
    """One line of printable text, not blank: an editor flags what `check` refuses."""
    path = tmp_path / "named.yaml"
    path.write_text(json.dumps({"scenario": name}, ensure_ascii=False), encoding="utf-8")
    loads = invoke("check", str(path))[0] == 0
    assert _schema_validator("scenario").is_valid({"scenario": name}) is loads
    assert loads is (name in ("cart recovery", "café 😀", "fam\u200dily"))


@pytest.mark.parametrize(
    ("item", "valid"),
    [
        ({"expect": [{"at": "5m", "who": "ana"}]}, False),  # no kind: `check` says an expectation is one of ...
        ({"expect": [{"who": "ana", "in_segment": None}]}, False),
        ({"expect": [{"who": "ana", "in_segment": "s"}]}, True),
        ({"expect": [{"invariant": "all"}]}, True),
        ({"expect": [{"members": ["ana"]}]}, False),  # members without its segment
        ({"expect": [{"segment": "s", "members": ["ana"]}]}, True),
        ({"timeline": [{"at": "0m", "who": "ana", "identify": False}]}, False),  # a step of no kind
        ({"timeline": [{"at": "0m", "who": "ana", "identify": False, "track": "x"}]}, True),
    ],
)
def test_the_schema_tells_an_expectation_or_step_of_no_kind(tmp_path: Path, item: dict[str, Any], valid: bool) -> None:
    story = {"scenario": "x", "workspace": {"segments": {"s": {"rule": {"performed": "x"}}}}, **item}
    story["shoppers"] = {"ana": {"id": "cus_1"}}
    assert _schema_validator("scenario").is_valid(story) is valid
    assert (invoke("check", str(write(tmp_path, "s.yaml", json.dumps(story))))[0] == 0) is valid


@pytest.mark.parametrize("kind", ["scenario", "workspace"])
def test_the_schemas_patterns_spell_their_spaces_out(kind: str) -> None:
    """`\\s` is one set in Python and another in an editor's (ECMA-262) regular
    expressions (a byte order mark, U+0085): the patterns name the spaces the loader strips."""
    text = invoke("schema", kind)[1]
    patterns = re.findall(r'"pattern": ("(?:[^"\\\\]|\\\\.)*")', text)
    assert patterns
    assert not [p for p in map(json.loads, patterns) if "\\s" in p or "\\S" in p]


@pytest.mark.parametrize(
    ("written", "valid"), [(2, True), (2.0, True), (1e20, False), (2.5, False), (True, False), ("2", False), (0, False)]
)
def test_a_whole_number_written_with_a_fraction_is_a_count_for_check_and_schema(
    tmp_path: Path, written: Any, valid: bool
) -> None:
    """JSON (and so the JSON Schema an editor reads) has one number type: `2.0` is the
    count 2 for both; `2.5`, `true` and `"2"` are refused by both."""
    story = {
        "scenario": "counts",
        "seed": written,
        "workspace": {"segments": {"twice": {"rule": {"performed": "go", "count": {"gte": written}}}}},
        "shoppers": {"ana": {"id": "cus_1"}, "ben": {"id": written}},  # an id may be a whole number too
        "timeline": [{"at": "0m", "who": "ana", "track": "go", "copies": written, "event_id": written}],
        "expect": [{"who": "ana", "profiles": written}],
    }
    assert (invoke("check", str(write(tmp_path, "c.yaml", json.dumps(story))))[0] == 0) is valid
    assert _schema_validator("scenario").is_valid(story) is valid
    # the bounds are the schema's too (`copies: 0`, 1e20 copies, a count of -1)
    assert not _schema_validator("scenario").is_valid(
        {**story, "seed": 1, "timeline": [{"at": "0m", "who": "ana", "track": "go", "copies": 0}]}
    )


@functools.cache
def _schema_validator(kind: str) -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(invoke("schema", kind)[1]))


def test_schema_refuses_an_unknown_kind() -> None:
    code, _ = invoke("schema", "journey")
    assert code == 2


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "--version"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"segsim, version {__version__}"


def test_the_installed_command_runs_and_exits_like_the_library(tmp_path: Path) -> None:
    path = write(tmp_path, "b.yaml", FAILING)
    result = subprocess.run(["segsim", "run", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "FAIL a failing story" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="needs a device file")
def test_a_path_that_is_neither_file_nor_folder_is_named_as_such() -> None:
    code, out = invoke("check", "/dev/null")
    assert code == 2
    assert "not a regular file or folder" in out


@pytest.mark.parametrize(
    "args",
    [
        ["run", ""],
        ["check", " "],
        ["lint", ""],
        ["lint", str(WORKSPACE), ""],
        ["gate", "", "scenarios"],
        ["fuzz", str(WORKSPACE), "--out", "", "--max-examples", "1"],
        ["whatif", str(WORKSPACE), "--segment", "s", "--window", "1h", "--latency", "web=0s", "--out", ""],
        ["report", "scenarios", "--out", ""],
        ["serve", "-w", ""],
        ["replay", "calls.jsonl", "-w", ""],
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_current_folder(args: list[str]) -> None:
    # `segsim run "$DIR"` with DIR unset must not run whatever is in the working directory.
    code, out = invoke(*args)
    assert code == 2, out
    assert "an empty path" in out


def test_a_scenario_named_twice_or_through_a_linked_folder_runs_once(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    scenario = write(tmp_path / "s", "one.yaml", "scenario: once\nshoppers: {ana: {id: a}}\n")
    (tmp_path / "s" / "loop").symlink_to(tmp_path / "s")
    code, out = invoke("run", str(scenario), str(scenario), str(tmp_path / "s"))
    assert code == 0, out
    assert "1 scenario: 1 passed" in out


def test_replay_of_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    code, out = invoke("replay", str(tmp_path))
    assert code == 2 and "a folder, not a call log" in out


@pytest.mark.parametrize("command", [["run"], ["check"], ["lint"], ["fuzz"], ["replay"], ["report"], ["timeline"]])
def test_a_path_too_long_is_exit_2_with_one_line_not_a_traceback(command: list[str]) -> None:
    too_long = "a" * 300 + ".yaml"
    code, out = invoke(*command, too_long)
    assert code == 2, out
    if command[0] in ("run", "check", "report"):  # listed with the other paths (see the test above)
        assert f"{too_long}: cannot be read (File name too long)" in out, out
        return
    assert too_long in out and out.strip().endswith("File name too long") and out.count("\n") == 1, out


def test_ctrl_c_is_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("simulator.scenario.loader.load_plan", interrupted)
    code, out = invoke("run", str(write(tmp_path, "a.yaml", PASSING)))
    assert code == 130 and "interrupted" in out and "Aborted" not in out


@pytest.mark.parametrize("args", [["run", str(ROOT / "scenarios")], ["--help"], ["--version"]])
def test_a_full_disk_on_stdout_is_exit_2_not_a_traceback(args: list[str]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "simulator.cli", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: No space left on device"


def test_a_near_miss_workspace_path_gets_a_suggestion(tmp_path: Path) -> None:
    write(tmp_path, "ws.yaml", "segments: {}\n")
    for written in ("WS.yaml", "ws.yml", "wss.yaml"):
        code, out = invoke("check", str(write(tmp_path, "s.yaml", f"scenario: x\nworkspace: {written}\n")))
        assert code == 2 and "did you mean 'ws.yaml'?" in out, out
    code, out = invoke("check", str(write(tmp_path, "s.yaml", "scenario: x\nworkspace: other.yaml\n")))
    assert code == 2 and "did you mean" not in out  # never the scenario itself


def test_timeline_shows_a_logout(tmp_path: Path) -> None:
    """A reset is part of the story: the split it causes is explained by it."""
    story = """
scenario: s
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, device: phone, identify: true}
  - {at: 1m, who: ana, device: phone, track: ping, reset: true}
  - {at: 2m, who: ana, device: phone, track: viewed}
"""
    path = write(tmp_path, "r.yaml", story)
    code, out = invoke("timeline", str(path))
    assert code == 0 and "ana sent ping from web (phone), then phone logged out (next anon-ana-phone-2)" in out
    records = json.loads(invoke("timeline", "--json", str(path))[1])
    ping = next(r for r in records if r["kind"] == "sent" and r.get("event") == "ping")
    assert (ping["logged_out"], ping["next_anonymous_id"]) == ("phone", "anon-ana-phone-2")


def test_a_duplicate_entry_is_told_after_the_copy_that_caused_it(tmp_path: Path) -> None:
    story = """
scenario: s
workspace: {journeys: {hello: {trigger: {event: go}, steps: [{send: hi}]}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 1m, who: ana, source: backend, track: go, copies: 2}
"""
    records = json.loads(invoke("timeline", "--json", str(write(tmp_path, "d.yaml", story)))[1])
    kinds = [(r["kind"], r["offset"]) for r in records if r["kind"] in ("journey_entered", "violation")]
    assert kinds == [("journey_entered", "+0h01m"), ("journey_entered", "+0h02m"), ("violation", "+0h02m")]


def test_timeline_json_numbers_the_mappings_in_a_list(tmp_path: Path) -> None:
    story = """
scenario: s
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0m, who: ana, source: backend, track: order_completed,
     properties: {items: [{category: coffee}], tags: [a, b], meta: {}}}
"""
    records = json.loads(invoke("timeline", "--json", str(write(tmp_path, "l.yaml", story)))[1])
    sent = next(r for r in records if r["kind"] == "sent")
    assert sent["properties.items[0].category"] == "coffee"
    assert sent["properties.tags"] == ["a", "b"] and sent["properties.meta"] is None
    assert not [v for r in records for v in r.values() if isinstance(v, dict)]


@pytest.mark.parametrize("command", ["run", "check"])
def test_an_invalid_file_is_told_on_stderr_too_and_once_in_a_merged_stream(tmp_path: Path, command: str) -> None:
    bad = write(tmp_path, "bad.yaml", PASSING.replace("at: 0s", "at: 5q"))
    error = "bad.yaml:6:"
    split = subprocess.run(
        [sys.executable, "-m", "simulator.cli", command, str(bad)], capture_output=True, text=True, check=False
    )
    assert split.returncode == 2
    assert error in split.stdout and error in split.stderr  # the report, and the error where errors go
    assert "timeline[0].at: expected" in split.stderr
    merged = subprocess.run(
        [sys.executable, "-m", "simulator.cli", command, str(bad)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert merged.stdout.count(error) == 1


def test_streams_without_a_file_identity_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows gives pipes and consoles no inode: two of them are not one stream."""

    class Stream:
        def __init__(self, fd: int) -> None:
            self.fd = fd

        def fileno(self) -> int:
            return self.fd

    monkeypatch.setattr(sys, "stdout", Stream(1))
    monkeypatch.setattr(sys, "stderr", Stream(2))
    assert cli._same_stream(lambda fd: types.SimpleNamespace(st_dev=0, st_ino=0)) is False
    assert cli._same_stream(lambda fd: types.SimpleNamespace(st_dev=5, st_ino=77)) is True
    assert cli._same_stream(lambda fd: types.SimpleNamespace(st_dev=5, st_ino=77 + fd)) is False


@pytest.mark.parametrize(
    "command",
    [
        ["fuzz", "{workspace}", "--out", "{tmp}/out", "--max-examples", "1"],
        ["serve", "-w", "{workspace}", "--log", "{tmp}/calls.jsonl"],
        ["replay", "{tmp}/calls.jsonl", "-w", "{workspace}", "--to-scenario", "{tmp}/out"],
    ],
)
def test_a_workspace_name_that_is_not_utf8_is_refused_where_it_is_written_into_a_file(
    tmp_path: Path, command: list[str]
) -> None:
    # A witness's `workspace:` and a call log's header are UTF-8: such a name made
    # `fuzz` crash after its search and `serve` crash leaving an empty log.
    workspace = tmp_path / os.fsdecode(b"store\xff.yaml")
    workspace.write_text(WORKSPACE.read_text(encoding="utf-8"), encoding="utf-8")
    log = _call_log(tmp_path / "calls.jsonl")
    recorded = log.read_text(encoding="utf-8")
    args = [part.format(workspace=workspace, tmp=tmp_path) for part in command]
    code, out = invoke(*args)
    assert code == 2, out
    assert "not UTF-8 text" in out and "Traceback" not in out
    assert not (tmp_path / "out").exists()
    assert log.read_text(encoding="utf-8") == recorded


def test_a_workspace_name_that_is_not_utf8_is_fine_where_nothing_writes_it(tmp_path: Path) -> None:
    # `replay LOG -w NAME` without --to-scenario writes no file: the name needs no UTF-8.
    workspace = tmp_path / os.fsdecode(b"store\xff.yaml")
    workspace.write_text(WORKSPACE.read_text(encoding="utf-8"), encoding="utf-8")
    code, out = invoke("replay", str(_call_log(tmp_path / "calls.jsonl")), "-w", str(workspace), "--json")
    assert code == 0, out
    assert json.loads(out) == []


def _call_log(path: Path) -> Path:
    """A call log with its session header and no call."""
    from simulator.emulator.calllog import session_header

    path.write_text(json.dumps(session_header(str(WORKSPACE), 1772442000, "manual")) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("story", "verdict"), [(PASSING, 0), (FAILING, 1)], ids=["passing", "failing"])
def test_a_closed_stdout_keeps_the_verdict_as_exit_code(tmp_path: Path, story: str, verdict: int) -> None:
    # `segsim run ... >&-`: Python starts with no sys.stdout at all.
    command = [sys.executable, "-m", "simulator.cli", "run", str(write(tmp_path, "s.yaml", story))]
    done = subprocess.run(
        command,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == verdict, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("story", "verdict"), [(PASSING, 0), (FAILING, 1)], ids=["passing", "failing"])
def test_output_cut_short_by_its_reader_keeps_the_verdict_as_exit_code(
    tmp_path: Path, story: str, verdict: int
) -> None:
    # `segsim run ... | head -1` under `set -o pipefail` exited 1 (a failure's code) once
    # `head` had gone, whatever the scenarios said.
    files = [write(tmp_path, f"{n:03}.yaml", story.replace("scenario: a", f"scenario: {n} a")) for n in range(1500)]
    command = [sys.executable, "-m", "simulator.cli", "run", *map(str, files)]
    shell = " ".join(map(shlex_quote, command)) + " | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=300)
    assert done.stdout.count("\n") == 1, done.stdout
    assert done.returncode == verdict, done.stderr
    assert done.stderr == ""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize(
    "command",
    [
        ["lint", "{pipe}"],
        ["gate", "{pipe}", str(EXAMPLE)],
        ["fuzz", "{pipe}", "--out", "{tmp}/out", "--max-examples", "1"],
        ["whatif", "{pipe}", "--segment", "s", "--window", "1h", "--latency", "web=0s", "--out", "{tmp}/out"],
        ["serve", "-w", "{pipe}"],
    ],
    ids=["lint", "gate", "fuzz", "whatif", "serve"],
)
def test_a_pipe_given_as_the_workspace_is_named_as_such_and_not_read(tmp_path: Path, command: list[str]) -> None:
    # It was called "no such workspace file" (it exists); reading it would wait forever.
    pipe = tmp_path / "workspace.yaml"
    os.mkfifo(pipe)
    code, out = invoke(*[part.format(pipe=pipe, tmp=tmp_path) for part in command])
    assert code == 2, out
    assert "not a regular file (a named pipe)" in out
    assert "no such" not in out
    assert not (tmp_path / "out").exists()


def test_timeline_json_quotes_a_key_that_holds_a_dot_rather_than_overwrite_the_nested_one(tmp_path: Path) -> None:
    story = PASSING.replace("track: go}", 'track: go, properties: {"a.b": 1, a: {b: 2}, "x[0]": 3, "": 4}}')
    code, out = invoke("timeline", "--json", str(write(tmp_path, "dots.yaml", story)))
    assert code == 0, out
    sent = next(r for r in json.loads(out) if r["kind"] == "sent")
    assert (sent['properties["a.b"]'], sent["properties.a.b"], sent['properties["x[0]"]']) == (1, 2, 3)
    assert sent['properties[""]'] == 4 and "properties." not in sent  # an empty key is quoted too


@pytest.mark.parametrize("command", [["run"], ["check"], ["gate", str(WORKSPACE)]])
def test_an_event_log_given_as_a_scenario_is_named_as_one(tmp_path: Path, command: list[str]) -> None:
    log = tmp_path / "calls.jsonl"
    lines = ['{"type": "track", "userId": "a", "event": "x"}', '{"type": "track", "userId": "b", "event": "y"}']
    log.write_text("\n\n# an export\n" + "\n".join(lines) + "\n")  # blank and comment lines first
    result = CliRunner().invoke(main, [*command, str(log)])
    assert result.exit_code == 2, result.output
    assert "one JSON object a line: an event log, not YAML; segsim lint WORKSPACE FILE reads logs" in result.output
    assert "Traceback" not in result.output


def test_a_merge_after_the_expectations_instant_brings_no_other_shoppers_records(tmp_path: Path) -> None:
    text = """
scenario: a later merge
workspace: {segments: {pingers: {rule: {performed: ping}}}}
shoppers: {ana: {id: cus_1}, ben: {id: cus_2}}
timeline:
  - {at: 0m, who: ana, source: backend, identify: true}
  - {at: 5m, who: ben, source: backend, track: ping}
  - {at: 3h, merge: {primary: {id: cus_1}, secondary: {id: cus_2}}}
expect:
  - {at: 30m, who: ana, in_segment: pingers}
"""
    code, out = invoke("run", str(write(tmp_path, "later.yaml", text)))
    assert code == 1
    story = out.split("the story that decided it:")[1]
    assert "entered segment pingers" not in story  # ben's profile, merged with ana's only at 3h
    assert "ana identified" in story


def test_timeline_entry_records_name_the_event_they_are_for() -> None:
    story = ROOT / "tests" / "corpus" / "journeys" / "e10_filter_retry_edge_out.yaml"
    code, out = invoke("timeline", "--json", str(story))
    assert code == 0
    entries = [(r["kind"], r["seq"], r["event"]) for r in json.loads(out) if r["kind"].startswith("entry_")]
    assert entries == [("entry_held", 2, "cs"), ("entry_expired", 2, "cs")]
    code, out = invoke("timeline", str(story))
    assert "ana's cs waits until 2026-01-01T00:30:00Z to enter j (cio_1): the filter does not match yet" in out


def test_the_schema_takes_null_where_the_loader_reads_it_as_the_default(tmp_path: Path) -> None:
    story = """
scenario: nulls
seed: null
workspace:
  triggers: {max_age: null}
  sources: {web: {kind: client, latency: null, drop_rate: null}}
  journeys: {hello: {trigger: {event: viewed}, steps: [{send: hi}], exit: goal}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, device: phone, track: viewed, properties: null, reset: null}
"""
    path = write(tmp_path, "nulls.yaml", story)
    assert invoke("check", str(path))[0] == 0
    import yaml

    data = yaml.safe_load(story)
    assert list(_schema_validator("scenario").iter_errors(data)) == []
    hello = {"trigger": {"event": "viewed"}, "steps": [], "exit": None}
    refused = dict(data, workspace={"journeys": {"hello": hello}})

    def paths(errors: Any) -> set[str]:
        return {p for e in errors for p in (e.json_path, *paths(e.context or []))}

    assert "$.workspace.journeys.hello.exit" in paths(_schema_validator("scenario").iter_errors(refused))


def test_a_key_written_null_beside_its_one_of_siblings_is_left_out_for_check_and_schema(tmp_path: Path) -> None:
    story = """
scenario: null siblings
workspace:
  segments: {viewers: {rule: {performed: viewed}}}
  journeys: {hello: {trigger: {event: viewed, segment: null}, steps: [{wait: 1h, send: null}, {send: hi}]}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, source: backend, track: viewed, identify: null}
expect:
  - {at: 1m, segment: viewers, members: [ana], who: null}
  - {who: ana, journey: hello, sent: [hi]}
"""
    import yaml

    assert invoke("run", str(write(tmp_path, "nulls.yaml", story)))[0] == 0
    assert list(_schema_validator("scenario").iter_errors(yaml.safe_load(story))) == []


def test_a_scenario_section_left_empty_is_empty(tmp_path: Path) -> None:
    story = "scenario: empty\nshoppers:\ntimeline:\nexpect:\n  # - {who: ana, journey: hello, entered: 1}\n"
    code, out = invoke("check", str(write(tmp_path, "empty.yaml", story)))
    assert code == 0, out
