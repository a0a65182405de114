"""`segsim fuzz` end to end: exit codes, witnesses that replay, bad input."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.search.dump import load_witness

WORKSPACES = Path(__file__).parent / "workspaces"


def test_fuzz_writes_a_replayable_witness_and_exits_1(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "found"
    args = ["fuzz", str(WORKSPACES / "late_batch.yaml"), "--seed", "1", "--invariant", "no_ghost_abandons"]
    result = runner.invoke(main, args + ["--out", str(out), "--max-examples", "100"])
    assert result.exit_code == 1, result.output
    assert "ghost_abandon in cart_recovery, cause late_arrival" in result.output
    assert "arrived at +2h00m" in result.output
    witness = out / "ghost_abandon-cart_recovery-late_arrival.yaml"
    text = witness.read_text()
    parsed = load_witness(text)
    assert parsed.header["seed"] == "1"
    assert parsed.header["reproduce"].startswith("@reproduce_failure(")
    assert parsed.scenario["expect"] == [
        {"violation": "ghost_abandon", "who": "ana", "journey": "cart_recovery", "cause": "late_arrival"}
    ]
    assert not Path(parsed.scenario["workspace"]).is_absolute()
    replay = runner.invoke(main, ["run", str(witness)])
    assert replay.exit_code == 0, replay.output


def test_a_witness_written_through_a_linked_folder_names_its_workspace_as_the_loader_opens_it(
    tmp_path: Path,
) -> None:
    """`--out found/link` with link -> real/deeper: `..` from the witness is taken after the link,
    so the path counted from `found/link` itself (`../../late_batch.yaml`) named a missing file."""
    workspace = tmp_path / "late_batch.yaml"
    workspace.write_text((WORKSPACES / "late_batch.yaml").read_text())
    (tmp_path / "found" / "real" / "deeper").mkdir(parents=True)
    out = tmp_path / "found" / "link"
    out.symlink_to(tmp_path / "found" / "real" / "deeper")
    runner = CliRunner()
    args = ["fuzz", str(workspace), "--seed", "1", "--invariant", "no_ghost_abandons", "--max-examples", "100"]
    assert runner.invoke(main, [*args, "--out", str(out)]).exit_code == 1
    witness = out / "ghost_abandon-cart_recovery-late_arrival.yaml"
    assert load_witness(witness.read_text()).scenario["workspace"] == "../../../late_batch.yaml"
    replay = runner.invoke(main, ["run", str(witness)])
    assert replay.exit_code == 0, replay.output


def test_seeded_runs_are_reproducible(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["fuzz", str(WORKSPACES / "exit_never.yaml"), "--seed", "5", "--max-examples", "60"]
    first = runner.invoke(main, args + ["--out", str(tmp_path / "a")])
    second = runner.invoke(main, args + ["--out", str(tmp_path / "b")])
    assert first.exit_code == second.exit_code == 1
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_text().replace("/a/", "/b/") == (tmp_path / "b" / name).read_text()


def test_clean_workspace_exits_0(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "fuzz",
            str(WORKSPACES / "clean.yaml"),
            "--seed",
            "2",
            "--invariant",
            "no_ghost_abandons",
            "--max-examples",
            "50",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "0 distinct failures" in result.output


SHIPPED = """
scenario: a late order
workspace: ../workspace.yaml
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, source: backend, track: checkout_started, properties: {checkout_id: c1, value: 5}}
  - {at: 10m, who: ana, source: backend, track: order_completed, properties: {order_id: o1, value: 5}, latency: 2h}
expect:
EXPECT"""


@pytest.mark.parametrize(
    ("expect", "code", "said"),
    [
        ("  - {violation: ghost_abandon, who: ana, journey: cart_recovery, cause: late_arrival}\n", 0, "1 documented"),
        ("  - {who: ana, journey: cart_recovery, entered: 1}\n", 1, "1 undocumented violation(s)"),
        # an invalid shipped scenario is an invalid input, as for `segsim run`
        ("  - {who: ana, journey: cart_recovery, entred: 1}\n", 2, "invalid"),
    ],
)
def test_shipped_scenarios_fail_the_search_only_with_undocumented_violations(
    tmp_path: Path, expect: str, code: int, said: str
) -> None:
    """The workspace's shipped scenarios are replayed first: a violation one
    of them documents with `{violation: ...}` is expected, not a failure."""
    (tmp_path / "workspace.yaml").write_text((WORKSPACES / "clean.yaml").read_text())
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "dropped.yaml").write_text(SHIPPED.replace("EXPECT", expect))
    args = ["fuzz", str(tmp_path / "workspace.yaml"), "--seed", "2", "--max-examples", "50"]
    result = CliRunner().invoke(main, args + ["--invariant", "no_ghost_abandons", "--out", str(tmp_path / "out")])
    assert result.exit_code == code, result.output
    assert said in result.output
    assert "0 distinct failures" in result.output


def test_shipped_scenarios_are_named_from_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the search prints does not depend on where the project lives."""
    from simulator.search.witness import pinned_scenarios

    (tmp_path / "workspace.yaml").write_text((WORKSPACES / "clean.yaml").read_text())
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "dropped.yaml").write_text(SHIPPED.replace("EXPECT", ""))
    monkeypatch.chdir(tmp_path)
    assert pinned_scenarios(Path("workspace.yaml")) == [Path("scenarios/dropped.yaml")]
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # the project is not under the working folder: where it is, in full
    assert pinned_scenarios(tmp_path / "workspace.yaml") == [(tmp_path / "scenarios" / "dropped.yaml").resolve()]


@pytest.mark.parametrize(
    ("broken", "code"),
    [
        (b"scenario: x\nworkspace: ../workspace.yaml\n\xff\n", 2),
        (b'scenario: "x\nworkspace: ../workspace.yaml\n', 2),
        (b"scenario: x\nworkspace: ../workspace.yaml\nshoppers: " + b"[" * 5000 + b"\n", 2),
        # one for another workspace (a shared folder, another project) is not this search's to judge
        (b"scenario: x\nworkspace: ../other.yaml\n\xff\n", 0),
    ],
)
def test_a_shipped_scenario_that_cannot_be_read_is_an_invalid_input(tmp_path: Path, broken: bytes, code: int) -> None:
    """Not UTF-8 (it raised a traceback), broken YAML (it was skipped without a
    word) or too deep: the search cannot tell what it documents, as `segsim run`."""
    (tmp_path / "workspace.yaml").write_text((WORKSPACES / "clean.yaml").read_text())
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "broken.yaml").write_bytes(broken)
    args = ["fuzz", str(tmp_path / "workspace.yaml"), "--seed", "2", "--max-examples", "5"]
    result = CliRunner().invoke(main, args + ["--invariant", "no_ghost_abandons", "--out", str(tmp_path / "out")])
    assert result.exit_code == code, result.output
    assert ("broken.yaml: invalid, not replayed" in result.stdout) == (code == 2)
    assert ("broken.yaml:" in result.stderr) == (code == 2)  # the error itself, where input errors go
    assert ("shipped scenario(s) invalid, not replayed (exit 2)" in result.stdout) == (code == 2)
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--invariant", "no_ghost_abandon"], "did you mean 'no_ghost_abandons'"),
        (["--journey", "cart_recovry"], "did you mean 'cart_recovery'"),
        (["--max-examples", "0"], "at least 1"),
        (["--out", "SETUP/afile/witnesses"], "afile is a file, not a folder"),
    ],
)
def test_bad_options_exit_2(args: list[str], needle: str, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    args = [a.replace("SETUP", str(tmp_path)) for a in args]
    result = CliRunner().invoke(main, ["fuzz", str(WORKSPACES / "late_batch.yaml"), "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert needle in result.output


def test_bad_workspace_exits_2_with_location(tmp_path: Path) -> None:
    bad = tmp_path / "ws.yaml"
    bad.write_text("sources:\n  web: {kind: clinet}\n")
    result = CliRunner().invoke(main, ["fuzz", str(bad), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "ws.yaml:2" in result.output
    assert "Traceback" not in result.output


def test_witnesses_pass_strict_and_a_blocked_output_changes_nothing(tmp_path: Path) -> None:
    args = ["fuzz", str(WORKSPACES / "late_batch.yaml"), "--seed", "1", "--max-examples", "100", "--faults"]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, args + ["--out", str(out)])
    assert result.exit_code == 1, result.output
    written = sorted(p.name for p in out.iterdir())
    # each witness documents every violation its story shows: `--strict` passes it too
    strict = CliRunner().invoke(main, ["run", "--strict", str(out)])
    assert strict.exit_code == 0, strict.output
    # a witness's path taken by a folder: exit 2 and not one file written or replaced
    again = tmp_path / "again"
    again.mkdir()
    (again / written[-1]).mkdir()
    (again / written[0]).write_text("OLD")
    blocked = CliRunner().invoke(main, args + ["--out", str(again)])
    assert blocked.exit_code == 2, blocked.output
    assert "no output was changed" in blocked.output
    assert sorted(p.name for p in again.iterdir()) == sorted({written[0], written[-1]})
    assert (again / written[0]).read_text() == "OLD"


def test_the_reproduce_lines_paste_into_a_shell_whatever_the_path(tmp_path: Path) -> None:
    folder = tmp_path / "sp ace é"
    folder.mkdir()
    workspace = folder / "late batch.yaml"
    workspace.write_text((WORKSPACES / "late_batch.yaml").read_text())
    out = tmp_path / "found"
    args = ["fuzz", str(workspace), "--seed", "1", "--invariant", "no_ghost_abandons", "--max-examples", "100"]
    result = CliRunner().invoke(main, args + ["--out", str(out)])
    assert result.exit_code == 1, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("reproduce this search: "))
    assert shlex.split(line.removeprefix("reproduce this search: "))[2] == str(workspace)
    header = load_witness((out / "ghost_abandon-cart_recovery-late_arrival.yaml").read_text()).header
    assert Path(shlex.split(header["found by"])[2]).resolve() == workspace.resolve()


def test_all_among_other_invariants_checks_them_all(tmp_path: Path) -> None:
    args = ["fuzz", str(WORKSPACES / "late_batch.yaml"), "--seed", "1", "--max-examples", "1"]
    args += ["--invariant", "no_duplicate_entries", "--invariant", "all", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, args)
    assert "no_duplicate_entries, faults off" not in result.output
    assert "all invariants" in result.output, result.output
    assert " --invariant " not in result.output.split("reproduce this search:", 1)[1].splitlines()[0]


def test_the_fixtures_own_batch_ghost_is_found(tmp_path: Path) -> None:
    # cart_recovery waits 1h; the backend batches every 30m: an order sent just before
    # the reminder lands after it. A funnel's second step can come just before the wait.
    fixture = Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml"
    args = ["fuzz", str(fixture), "--seed", "1", "--max-examples", "300", "--invariant", "no_ghost_abandons"]
    args += ["--out", str(tmp_path / "o")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "ghost_abandon in cart_recovery, cause late_arrival" in result.output


def test_a_later_round_gets_the_whole_budget_so_a_frequent_failure_does_not_hide_a_rarer_one(
    tmp_path: Path,
) -> None:
    # At seed 2 the first round finds only the identity splits (frequent); the batch
    # ghost needs the second round's full 200 examples (it was missed with half).
    fixture = Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml"
    result = CliRunner().invoke(main, ["fuzz", str(fixture), "--seed", "2", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert "missed_entry in cart_recovery, cause identity_split" in result.output
    assert "ghost_abandon in cart_recovery, cause late_arrival" in result.output


def test_a_witness_name_linked_to_the_workspace_is_refused_and_the_workspace_kept(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.yaml"
    workspace.write_text((WORKSPACES / "late_batch.yaml").read_text())
    out = tmp_path / "found"
    out.mkdir()
    (out / "ghost_abandon-cart_recovery-late_arrival.yaml").symlink_to(workspace)
    args = ["fuzz", str(workspace), "--seed", "1", "--invariant", "no_ghost_abandons", "--max-examples", "100"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "is also an input" in result.output
    assert workspace.read_text() == (WORKSPACES / "late_batch.yaml").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--journey", "cart_recovery", "--journey", "post_purchase"], "--journey': given 2 times"),
        (["--out", "-"], "not standard output"),
    ],
)
def test_repeated_journey_and_out_dash_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra, message
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["fuzz", str(WORKSPACES / "late_batch.yaml"), "--seed", "1", *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "-").exists()


def test_a_closed_stdout_still_gets_the_witnesses_written(tmp_path: Path) -> None:
    """`segsim fuzz ... | head -1` exited 1 with no witness on disk."""
    import subprocess
    import sys

    out = tmp_path / "found"
    command = [sys.executable, "-m", "simulator.cli", "fuzz", str(WORKSPACES / "late_batch.yaml"), "--seed", "1"]
    command += ["--invariant", "no_ghost_abandons", "--max-examples", "100", "--out", str(out)]
    shell = " ".join(shlex.quote(part) for part in command) + " | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=300)
    assert done.stdout.startswith("segsim fuzz"), done.stdout
    assert (out / "ghost_abandon-cart_recovery-late_arrival.yaml").is_file(), done.stderr
    assert done.returncode == 1, done.stderr  # it found something, whoever read the output


def test_a_search_leaves_nothing_in_the_working_folder_but_its_witnesses(tmp_path: Path) -> None:
    """Hypothesis cached what it read in the source under `.hypothesis/constants` in the working folder."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "simulator.cli", "fuzz", str(WORKSPACES / "late_batch.yaml"), "--seed", "1"]
    command += ["--invariant", "no_ghost_abandons", "--max-examples", "20", "--out", "found"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["found"]
