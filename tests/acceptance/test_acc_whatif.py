"""SPEC section 15: `segsim whatif`, every option as written, its output files and columns,
and the same figures whatever `--workers`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from simulator.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = str(ROOT / "fixtures/workspaces/dtc_store.yaml")
FIGURES = ["recall", "false_hold", "median_entry_lag_s"]
JOURNEY_FIGURES = ["ghost_abandon_rate", "missed_entry_rate", "duplicate_entry_rate"]
CAUSES = [
    "dropped",
    "identity_split",
    "merge_lost",
    "too_old",
    "late_arrival",
    "clock_skew",
    "refresh_lag",
    "name_mismatch",
    "type_mismatch",
    "duplicate_delivery",
    "exit_setting",
    "other",
]


def whatif(*args: str) -> Result:
    result = CliRunner().invoke(main, ["whatif", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def rows_of(out: Path) -> list[dict[str, Any]]:
    document = json.loads((out / "whatif.json").read_text())
    rows = document["rows"] if isinstance(document, dict) else document
    assert isinstance(rows, list)
    return rows


def cell(rows: list[dict[str, Any]], **key: str) -> dict[str, Any]:
    (found,) = [r for r in rows if all(str(r[k]) == v for k, v in key.items())]
    return found


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Result, Path]]:
    out = tmp_path_factory.mktemp("grid")
    result = whatif(
        WORKSPACE,
        "--segment", "cart_abandoners",
        "--journey", "cart_recovery",
        "--window", "30m,2h",
        "--latency", "backend=0s,5m,batch:30m",
        "--latency", "web=0s,5m",
        "--latency", "app=0s",
        "--population", "80",
        "--horizon", "2d",
        "--seed", "11",
        "--workers", "1",
        "--out", str(out),
    )  # fmt: skip
    yield result, out


def test_writes_csv_json_and_png_into_out(grid: tuple[Result, Path]) -> None:
    result, out = grid
    assert result.exit_code == 0, result.output
    assert (out / "whatif.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "whatif.csv").stat().st_size > 0
    for word in ("recall", "2h", "batch:30m"):
        assert word in result.stdout  # the table is printed


def test_one_row_per_cell_with_the_spec_columns(grid: tuple[Result, Path]) -> None:
    _, out = grid
    rows = rows_of(out)
    assert len(rows) == 2 * 3 * 2  # several --latency flags make a product
    cells = {(r["window"], r["latency_backend"], r["latency_web"], r["latency_app"]) for r in rows}
    assert cells == {(w, b, a, "0s") for w in ("30m", "2h") for b in ("0s", "5m", "batch:30m") for a in ("0s", "5m")}
    for row in rows:
        assert row["segment"] == "cart_abandoners"
        assert row["shoppers"] == 80
        for figure in FIGURES + JOURNEY_FIGURES:
            assert figure in row
        for cause in CAUSES:
            assert any(cause in key and isinstance(value, int) for key, value in row.items()), (cause, row)

    with (out / "whatif.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(rows)
    header = list(table[0])
    for column in [
        "segment",
        "window",
        "latency_backend",
        "latency_web",
        "latency_app",
        "shoppers",
        *FIGURES,
        *JOURNEY_FIGURES,
    ]:
        assert column in header
    assert header.index("segment") < header.index("window") < header.index("shoppers") < header.index("recall")
    for line, row in zip(table, rows, strict=True):
        assert line["window"] == row["window"] and line["latency_backend"] == row["latency_backend"]
        assert line["recall"] == ("" if row["recall"] is None else str(row["recall"]))


def test_figures_are_shares_and_a_late_batch_holds_buyers(grid: tuple[Result, Path]) -> None:
    _, out = grid
    rows = rows_of(out)
    for row in rows:
        for share in ("recall", "false_hold", *JOURNEY_FIGURES):
            assert row[share] is None or 0.0 <= row[share] <= 1.0, row
    instant = cell(rows, window="2h", latency_backend="0s", latency_web="0s")
    batched = cell(rows, window="2h", latency_backend="batch:30m", latency_web="0s")
    assert instant["false_hold"] == 0.0  # nothing late: the real segment never holds a buyer
    assert instant["recall"] == 1.0 and instant["median_entry_lag_s"] == 0
    assert batched["false_hold"] > 0.0  # orders land up to 30m late: buyers held after they paid
    assert (
        instant["median_entry_lag_s"]
        <= cell(rows, window="2h", latency_backend="0s", latency_web="5m")["median_entry_lag_s"]
    )


@pytest.mark.parametrize("workers", ["1", "2"])
def test_same_seed_same_figures_whatever_workers(tmp_path: Path, workers: str) -> None:
    """510 shoppers make two partitions, so two workers really split the work."""
    common = ["--segment", "cart_abandoners", "--window", "2h", "--latency", "backend=0s,batch:30m"]
    common += ["--population", "510", "--horizon", "1d", "--seed", "5"]
    serial = whatif(WORKSPACE, *common, "--out", str(tmp_path / "serial"))
    parallel = whatif(WORKSPACE, *common, "--workers", workers, "--out", str(tmp_path / "parallel"))
    assert (serial.exit_code, parallel.exit_code) == (0, 0), serial.output + parallel.output
    assert rows_of(tmp_path / "parallel") == rows_of(tmp_path / "serial")
    assert (tmp_path / "parallel" / "whatif.csv").read_text() == (tmp_path / "serial" / "whatif.csv").read_text()
    assert rows_of(tmp_path / "serial")[0]["shoppers"] == 510


def test_default_out_is_whatif_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = whatif(
        WORKSPACE,
        "--segment",
        "recent_purchasers",
        "--window",
        "15m,1d",
        "--latency",
        "backend=0s,batch:30m",
        "--population",
        "40",
    )
    assert result.exit_code == 0, result.output
    rows = rows_of(tmp_path / "whatif-out")
    assert {(r["window"], r["latency_backend"]) for r in rows} == {
        ("15m", "0s"),
        ("15m", "batch:30m"),
        ("1d", "0s"),
        ("1d", "batch:30m"),
    }
    assert "journey" not in rows[0] or rows[0]["journey"] in (None, "")
    # a window narrower than the batch misses buyers the ideal segment holds
    assert cell(rows, window="15m", latency_backend="0s")["recall"] == 1.0
    assert cell(rows, window="15m", latency_backend="batch:30m")["recall"] < 1.0
    assert cell(rows, window="1d", latency_backend="batch:30m")["recall"] == 1.0


def test_window_of_replaces_only_the_named_events_window(tmp_path: Path) -> None:
    common = ["--segment", "viewed_not_bought", "--window", "1m", "--latency", "backend=0s", "--population", "60"]
    every = whatif(WORKSPACE, *common, "--out", str(tmp_path / "every"))
    named = whatif(WORKSPACE, *common, "--window-of", "order_completed", "--out", str(tmp_path / "named"))
    assert (every.exit_code, named.exit_code) == (0, 0), every.output + named.output
    # product_viewed within 1m (every window) holds far fewer shoppers than within 7d (only the order window narrowed)
    assert rows_of(tmp_path / "every")[0]["ideal_members"] < rows_of(tmp_path / "named")[0]["ideal_members"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--segment", "cart_abandoner", "--window", "1h", "--latency", "backend=0s"], ["cart_abandoners"]),
        (["--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=later"], ["later"]),
        (["--segment", "cart_abandoners", "--window", "1h", "--latency", "backnd=0s"], ["backend"]),
        (["--segment", "cart_abandoners", "--window", "soon", "--latency", "backend=0s"], ["soon"]),
        (
            ["--segment", "cart_abandoners", "--window", "1h", "--latency", "backend=0s", "--journey", "cart_recovry"],
            ["cart_recovery"],
        ),
        (
            [
                "--segment",
                "cart_abandoners",
                "--window",
                "1h",
                "--latency",
                "backend=0s",
                "--window-of",
                "order_complete",
            ],
            ["order_complete"],
        ),
    ],
)
def test_bad_options_exit_2_with_a_suggestion(tmp_path: Path, args: list[str], words: list[str]) -> None:
    result = whatif(WORKSPACE, *args, "--population", "5", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output
    assert not (tmp_path / "out" / "whatif.csv").exists()


RETRIED_WEBHOOK = """\
sources:
  web: {kind: client, latency: 0s}
  backend: {kind: server, latency: 0s, duplicate_rate: 1.0}
dedupe: {by_event_id: false}
segments:
  recent_buyers: {rule: {performed: order_completed, within: 1h}}
journeys:
  thanks:
    trigger: {event: order_completed}
    steps: [{send: thank_you}]
"""


def test_duplicate_entries_and_their_cause_are_counted(tmp_path: Path) -> None:
    """A backend that delivers every order twice, with nothing to dedupe it: each
    order enters `thanks` twice, a duplicate entry caused by duplicate_delivery
    (SPEC 9), which only duplicate entries have."""
    workspace = tmp_path / "ws.yaml"
    workspace.write_text(RETRIED_WEBHOOK, encoding="utf-8")
    out = tmp_path / "out"
    args = ["--segment", "recent_buyers", "--journey", "thanks", "--window", "1h", "--latency", "backend=0s"]
    result = whatif(str(workspace), *args, "--population", "150", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    (row,) = rows_of(out)
    assert row["trigger_events"] > 0
    assert row["duplicate_entry_rate"] == 1.0  # every order entered twice
    assert row["cause_duplicate_delivery"] == row["trigger_events"]
    assert row["ghost_abandon_rate"] == row["missed_entry_rate"] == 0.0
