"""`segsim whatif` end to end: the sanity a correct engine must show, the outputs, the errors."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from simulator.cli import main

WORKSPACE = str(Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml")


def _whatif(out: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["whatif", WORKSPACE, *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads((out / "whatif.json").read_text())
    return document


@pytest.fixture(scope="module")
def purchasers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("purchasers")
    args = ["--segment", "recent_purchasers", "--window", "15m,1h", "--latency", "backend=0s,batch:30m+0s"]
    return out, _whatif(out, *args, "--population", "400", "--seed", "1")


def _row(document: dict[str, Any], window: str, backend: str) -> dict[str, Any]:
    return next(r for r in document["rows"] if r["window"] == window and r["latency_backend"] == backend)


def test_a_window_wider_than_the_batch_keeps_recall(purchasers: tuple[Path, dict[str, Any]]) -> None:
    row = _row(purchasers[1], "1h", "batch:30m")
    assert row["recall"] >= 0.98
    assert row["median_entry_lag_s"] > 0


def test_a_window_narrower_than_the_batch_loses_a_large_share(purchasers: tuple[Path, dict[str, Any]]) -> None:
    assert _row(purchasers[1], "15m", "batch:30m")["recall"] < 0.75
    assert _row(purchasers[1], "15m", "0s")["recall"] == 1.0


def test_json_and_csv_hold_one_row_per_cell(purchasers: tuple[Path, dict[str, Any]]) -> None:
    out, document = purchasers
    rows = document["rows"]
    assert [(r["window"], r["latency_backend"]) for r in rows] == [
        ("15m", "0s"),
        ("15m", "batch:30m"),
        ("1h", "0s"),
        ("1h", "batch:30m"),
    ]
    assert set(rows[0]) >= {
        "segment",
        "window",
        "latency_backend",
        "shoppers",
        "recall",
        "false_hold",
        "median_entry_lag_s",
    }
    assert all(r["shoppers"] == 400 and r["segment"] == "recent_purchasers" for r in rows)
    assert document["parameters"]["seed"] == 1
    assert document["parameters"]["latency"] == ["backend=0s,batch:30m"]  # as the rows write it
    with (out / "whatif.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 4
    assert list(table[0]) == list(rows[0])
    assert float(table[1]["recall"]) == rows[1]["recall"]
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_zero_latency_and_consistent_identifiers_hold_nobody_falsely(tmp_path: Path) -> None:
    document = _whatif(
        tmp_path,
        "--segment", "cart_abandoners", "--window", "30m,2h",
        "--latency", "web=0s", "--latency", "app=0s", "--latency", "backend=0s",
        "--population", "300",
    )  # fmt: skip
    for row in document["rows"]:
        assert row["false_hold"] == 0.0
        assert row["recall"] == 1.0
        assert row["median_entry_lag_s"] == 0
        assert row["real_members"] > 50


def test_the_journey_figures_count_ghost_abandons_by_cause(tmp_path: Path) -> None:
    document = _whatif(
        tmp_path,
        "--segment", "cart_abandoners", "--journey", "cart_recovery", "--window", "2h",
        "--latency", "backend=0s,batch:3h", "--population", "150",
    )  # fmt: skip
    instant, late = document["rows"]
    assert instant["trigger_events"] == late["trigger_events"] > 0
    assert instant["ghost_abandon_rate"] == 0.0
    assert late["ghost_abandon_rate"] > 0.0
    assert late["cause_late_arrival"] > 0


def test_a_segment_triggered_journey_says_why_its_rates_are_empty(tmp_path: Path) -> None:
    # Empty rates beside non-zero cause counts, with no word about it, read as a broken sweep.
    journey = "reactivation"
    args = ["--segment", "lapsed_buyers", "--journey", journey, "--window", "30d", "--latency", "backend=0s"]
    result = CliRunner().invoke(main, ["whatif", WORKSPACE, *args, "--population", "30", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"note: --journey {journey} is segment-triggered" in result.stderr
    row = json.loads((tmp_path / "whatif.json").read_text())["rows"][0]
    assert row["trigger_events"] == 0 and row["ghost_abandon_rate"] is None


def test_workers_give_the_same_figures(tmp_path: Path) -> None:
    args = ["--segment", "recent_purchasers", "--window", "20m", "--latency", "backend=batch:30m,uniform:1s-1h"]
    args += ["--population", "1100", "--seed", "7"]
    one = _whatif(tmp_path / "one", *args, "--workers", "1")
    two = _whatif(tmp_path / "two", *args, "--workers", "2")
    assert one == two
    assert (tmp_path / "one" / "whatif.csv").read_text() == (tmp_path / "two" / "whatif.csv").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--segment", "cart_abandoner", "--window", "1h", "--latency", "backend=0s"],
            "did you mean 'cart_abandoners'",
        ),
        (["--segment", "cart_abandoners", "--window", "1x", "--latency", "backend=0s"], "--window '1x'"),
        (["--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=later"], "batch:30m"),
        (["--segment", "cart_abandoners", "--window", "1h"], "Missing option '--latency'"),
        (
            ["--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s", "--horizon", "3 days"],
            "--horizon",
        ),
        (
            ["--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s", "--population", "0"],
            "--population",
        ),
        (  # a population that would only end in a MemoryError
            ["--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s", "--population", "10" * 15],
            "is not in the range 1<=x<=1000000",
        ),
        (  # a second --journey silently replaced the first
            ["--segment", "cart_abandoners", "--journey", "cart_recovery", "--journey", "post_purchase"]
            + ["--window", "1h", "--latency", "backend=0s"],
            "--journey': given 2 times (cart_recovery, post_purchase)",
        ),
        (  # a repeated --window left empty was skipped
            ["--segment", "cart_abandoners", "--window", "1h", "--window", "", "--latency", "backend=0s"],
            "one of the repeated values is empty",
        ),
        (  # each --window judged as typed, not as the joined list
            ["--segment", "cart_abandoners", "--window", "1h", "--window", ",2h", "--latency", "backend=0s"],
            "',2h': item 1 is empty",
        ),
        (  # a second --segment silently replaced the first
            [
                "--segment",
                "cart_abandoners",
                "--segment",
                "recent_purchasers",
                "--window",
                "1h",
                "--latency",
                "backend=0s",
            ],
            "--segment': given 2 times (cart_abandoners, recent_purchasers)",
        ),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["whatif", WORKSPACE, *args, "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "whatif.json").exists()


def test_a_broken_workspace_is_located(tmp_path: Path) -> None:
    bad = tmp_path / "ws.yaml"
    bad.write_text("segments:\n  s:\n    rule: {performed: x, within: soon}\n")
    result = CliRunner().invoke(main, ["whatif", str(bad), "--segment", "s", "--window", "1h", "--latency", "web=0s"])
    assert result.exit_code == 2
    assert "ws.yaml:3" in result.output


def test_missing_extras_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    result = CliRunner().invoke(
        main, ["whatif", WORKSPACE, "--segment", "cart_abandoners", "--window", "1h", "--latency", "web=0s"]
    )
    assert result.exit_code == 2
    assert "pip install 'segsim[whatif]'" in result.output


def test_an_unwritable_out_fails_before_the_sweep_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    args = ["whatif", WORKSPACE, "--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s"]
    result = CliRunner().invoke(main, [*args, "--population", "20", "--out", str(tmp_path / "afile" / "sub")])
    assert result.exit_code == 2
    assert "is a file, not a folder" in result.output and "Traceback" not in result.output


def test_a_failed_write_leaves_the_previous_outputs_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The heatmap fails after the csv and json are written: nothing of the
    new run replaces the previous outputs, and no temporary file stays."""
    args = ["--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s", "--population", "20"]
    _whatif(tmp_path, *args)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full_disk(rows, path, title):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("simulator.whatif.heatmap.draw_heatmap", full_disk)
    result = CliRunner().invoke(main, ["whatif", WORKSPACE, *args, "--seed", "3", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "whatif.png: cannot write it (No space left on device); no output was changed" in result.output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_workers_run_the_cells_in_parallel_even_for_one_partition(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 shoppers are one partition: with two windows the jobs are (partition,
    window), two of them, given to the pool; the figures are those of one worker."""
    from concurrent.futures import ProcessPoolExecutor

    submitted: list[object] = []

    class Counting(ProcessPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            submitted.append(args)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr("simulator.whatif.sweep.ProcessPoolExecutor", Counting)
    args = ["--segment", "cart_abandoners", "--window", "30m,2h", "--latency", "backend=0s,batch:30m"]
    args += ["--population", "300", "--seed", "4"]
    one = _whatif(tmp_path / "one", *args, "--workers", "1")
    assert submitted == []
    two = _whatif(tmp_path / "two", *args, "--workers", "2")
    assert len(submitted) == 2  # one job per window
    assert one == two
    submitted.clear()
    one_window = ["--window", "30m", *args[4:]]
    single = _whatif(tmp_path / "single", *args[:2], *one_window, "--workers", "1")
    split = _whatif(tmp_path / "split", *args[:2], *one_window, "--workers", "2")
    assert len(submitted) == 2  # one window, two workers: one job per cell
    assert single == split


def test_a_source_the_population_never_uses_is_warned_about(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(Path(WORKSPACE).read_text().replace("sources:\n", "sources:\n  erp: {kind: server}\n", 1))
    args = ["whatif", str(workspace), "--segment", "cart_abandoners", "--window", "1h", "--latency", "erp=0s,5m"]
    result = CliRunner().invoke(main, [*args, "--population", "20", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "warning: --latency erp: the synthetic shoppers send nothing through 'erp'" in result.output


def test_a_declared_client_source_carries_the_sessions_and_unsent_events_are_warned_about(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(
        "sources: {mobile: {kind: client, latency: 1m}}\n"
        "segments:\n  buyers: {rule: {performed: purchase, within: 1h}}\n"
        "  carts: {rule: {performed: checkout_started, within: 1h}}\n"
    )
    args = ["whatif", str(workspace), "--window", "1h", "--latency", "mobile=0s,5m", "--population", "20"]
    result = CliRunner().invoke(main, [*args, "--segment", "buyers", "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "the sweep reads 'purchase', which they never send" in result.output
    assert "--latency mobile" not in result.output  # the sessions go through the declared client
    result = CliRunner().invoke(main, [*args, "--segment", "carts", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_a_drifted_name_is_warned_about_as_drift_not_as_unsent(tmp_path: Path) -> None:
    """`Checkout Started` is what the shoppers send as `checkout_started`: the ideal counts it."""
    workspace = tmp_path / "ws.yaml"
    workspace.write_text("segments:\n  carts: {rule: {performed: Checkout Started, within: 1h}}\n")
    args = ["whatif", str(workspace), "--segment", "carts", "--window", "1h", "--latency", "web=0s"]
    result = CliRunner().invoke(main, [*args, "--population", "20", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "reads 'Checkout Started', which the synthetic shoppers send as 'checkout_started'" in result.output
    assert "never send" not in result.output


# A checkout within the swept window, or a view and no other view for 20h (its profile that old).
MIXED = (
    "segments:\n"
    "  mixed:\n"
    "    rule:\n"
    "      any:\n"
    "        - {performed: checkout_started, within: 1h}\n"
    "        - all: [{performed: product_viewed}, {not_performed: product_viewed, within: 20h}]\n"
)


def test_a_negative_window_longer_than_the_other_windows_can_wait_is_warned_about(tmp_path: Path) -> None:
    # viewed_not_bought: `performed: product_viewed, within: 7d` and `not_performed: order_completed,
    # within: 7d`, the profile's age counting. Views stop with the 3d horizon: swept to 1d, the view
    # window closes (4d and the 30m batch) before any profile is 7d old.
    base = ["whatif", WORKSPACE, "--segment", "viewed_not_bought", "--latency", "backend=0s", "--population", "20"]
    kept = [*base, "--window-of", "product_viewed", "--window", "1d"]
    result = CliRunner().invoke(main, [*kept, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert "`not_performed: order_completed` (within: 7d) needs profiles at least that old" in result.output
    assert "the windows required beside it close at most 1d30m after that (latency included)" in result.output
    # swept, the window is the sweep's
    swept = [*base, "--window-of", "order_completed", "--window", "1d,30d"]
    result = CliRunner().invoke(main, [*swept, "--out", str(tmp_path / "b")])
    assert result.exit_code == 0 and "needs profiles" not in result.output
    # under a `not` it is asked to be false: always so, nothing to warn about
    negated = tmp_path / "negated.yaml"
    negated.write_text(
        Path(WORKSPACE)
        .read_text()
        .replace(
            "        - not_performed: order_completed\n          within: 7d",
            "        - not: {not_performed: order_completed, within: 7d}",
        )
    )
    assert "not: {not_performed: order_completed, within: 7d}" in negated.read_text()
    result = CliRunner().invoke(main, [*kept[:1], str(negated), *kept[2:], "--out", str(tmp_path / "d")])
    assert result.exit_code == 0 and "needs profiles" not in result.output, result.output
    # a longer view window reaches the age: some profiles can join
    longer = [*kept[:-1], "5d"]
    result = CliRunner().invoke(main, [*longer, "--out", str(tmp_path / "c")])
    assert result.exit_code == 0 and "needs profiles" not in result.output, result.output
    # in its own branch, beside a `performed` with no window, nothing closes before the profile is old enough
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(MIXED)
    args = ["whatif", str(mixed), "--segment", "mixed", "--window-of", "checkout_started", "--window", "15m"]
    args += ["--latency", "web=0s", "--population", "20", "--horizon", "3h", "--out", str(tmp_path / "e")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "needs profiles" not in result.output, result.output


def test_a_window_left_as_written_closes_before_the_replay_stops_in_every_cell(tmp_path: Path) -> None:
    """The replay runs past every window the segment reads, swept or not, so a
    cell's row is the same whatever the other cells' windows: here shoppers join
    through a 20h negative window that only the swept 1d window used to leave
    room for (recall was 0.67 without it, 1.0 beside it)."""
    workspace = tmp_path / "ws.yaml"
    workspace.write_text("sources: {web: {kind: client, latency: 0s}, app: {kind: client, latency: 0s}}\n" + MIXED)
    base = ["whatif", str(workspace), "--segment", "mixed", "--window-of", "checkout_started", "--latency", "app=20m"]
    base += ["--population", "60", "--horizon", "1d", "--seed", "4"]
    rows = {}
    for windows in ("15m", "15m,1d"):
        out = tmp_path / windows
        result = CliRunner().invoke(main, [*base, "--window", windows, "--out", str(out)])
        assert result.exit_code == 0, result.output
        rows[windows] = next(r for r in json.loads((out / "whatif.json").read_text())["rows"] if r["window"] == "15m")
    assert rows["15m"] == rows["15m,1d"]
    assert rows["15m"]["ideal_members"] == rows["15m"]["real_members"] == 60  # every shopper viewed a product
    assert rows["15m"]["recall"] == 1.0


def test_a_segment_name_with_dollar_signs_is_drawn_as_text(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.yaml"
    workspace.write_text("segments:\n  'cart$\\foo$': {rule: {performed: checkout_started, within: 2h}}\n")
    args = ["whatif", str(workspace), "--segment", "cart$\\foo$", "--window", "1h", "--latency", "backend=0s"]
    result = CliRunner().invoke(main, [*args, "--population", "20", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "whatif.png").read_bytes().startswith(b"\x89PNG")


def test_a_journey_spelling_an_event_otherwise_leaves_the_segments_ideal_alone(tmp_path: Path) -> None:
    # The journey triggers on `Checkout Started`, the segment reads `checkout_started`:
    # the ideal reads both generously, so the segment's figures do not move with --journey.
    text = (
        Path(WORKSPACE)
        .read_text()
        .replace("trigger: {event: checkout_started, where:", "trigger: {event: Checkout Started, where:", 1)
    )
    assert "Checkout Started" in text
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(text)
    figures = []
    for extra in ([], ["--journey", "cart_recovery"]):
        args = ["whatif", str(workspace), "--segment", "cart_abandoners", "--window", "2h", "--latency", "backend=0s"]
        out = tmp_path / f"out{len(extra)}"
        result = CliRunner().invoke(main, [*args, *extra, "--population", "30", "--seed", "1", "--out", str(out)])
        assert result.exit_code == 0, result.output
        (row,) = json.loads((out / "whatif.json").read_text())["rows"]
        figures.append((row["ideal_members"], row["recall"], row["false_hold"]))
    assert figures[0] == figures[1]
    assert figures[0][0] > 0


def test_window_is_repeatable_as_latency_is(tmp_path: Path) -> None:
    """`--window 15m --window 1h` sweeps both (the second replaced the first)."""
    args = ["--segment", "recent_purchasers", "--window", "15m", "--window", "1h,2h", "--latency", "backend=0s"]
    document = _whatif(tmp_path, *args, "--population", "30", "--seed", "1")
    assert sorted({row["window"] for row in document["rows"]}) == ["15m", "1h", "2h"]


def test_out_dash_is_refused_not_made_a_folder_named_dash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["whatif", WORKSPACE, "--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s"]
    result = CliRunner().invoke(main, [*args, "--population", "5", "--out", "-"])
    assert result.exit_code == 2 and "not to standard output" in result.output, result.output
    assert not (tmp_path / "-").exists()


def test_an_output_linked_to_the_workspace_is_refused_and_the_workspace_kept(tmp_path: Path) -> None:
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(Path(WORKSPACE).read_text())
    out = tmp_path / "wo"
    out.mkdir()
    (out / "whatif.csv").symlink_to(workspace)
    args = ["whatif", str(workspace), "--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s"]
    result = CliRunner().invoke(main, [*args, "--population", "5", "--out", str(out)])
    assert result.exit_code == 2 and "is also an input" in result.output, result.output
    assert workspace.read_text() == Path(WORKSPACE).read_text()


def test_a_cells_journey_figures_do_not_depend_on_the_other_cells(tmp_path: Path) -> None:
    # The reminder waits 3h: a checkout late in the horizon is reminded after
    # the horizon plus the 15m window; the sweep runs until it is sent, whether
    # or not a 6h window is in the grid too.
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(
        "segments:\n"
        "  cart_abandoners:\n"
        "    rule: {all: [{performed: checkout_started, within: 1h},"
        " {not_performed: order_completed, after: checkout_started}]}\n"
        "journeys:\n"
        "  nag:\n"
        "    trigger: {event: checkout_started}\n"
        "    goal: {performed: order_completed}\n"
        "    exit: never\n"
        "    steps: [{wait: 3h}, {send: reminder}]\n"
    )
    rates = []
    for windows in ("15m", "15m,6h"):
        out = tmp_path / windows.replace(",", "_")
        args = ["whatif", str(workspace), "--segment", "cart_abandoners", "--journey", "nag", "--window", windows]
        args += ["--latency", "backend=0s", "--population", "60", "--horizon", "1d", "--seed", "1", "--out", str(out)]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        rows = json.loads((out / "whatif.json").read_text())["rows"]
        (row,) = [r for r in rows if r["window"] == "15m"]
        rates.append((row["ghost_abandon_rate"], row["cause_exit_setting"]))
    assert rates[0] == rates[1]
    assert rates[0][1] == 10  # a message after the horizon's last window is counted too
