"""The grid: option parsing and the workspace each cell replays against."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.model.conditions import Performed, walk
from simulator.model.config import LatencyModel
from simulator.scenario.loader import load_workspace
from simulator.whatif.grid import GridError, cell_workspace, describe_latency, parse_latency, plan_grid

WORKSPACE = Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml"


@pytest.fixture(scope="module")
def ws():  # type: ignore[no-untyped-def]
    return load_workspace(WORKSPACE)[0]


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("0s", LatencyModel("fixed", 0)),
        ("5m", LatencyModel("fixed", 300)),
        ("batch:30m", LatencyModel("batch", 1800)),
        ("batch:30m+2m", LatencyModel("batch", 1800, 0, 120)),
        ("uniform:1s-2m", LatencyModel("uniform", 1, 120)),
        ("exponential:5m", LatencyModel("exponential", 300)),
    ],
)
def test_latency_values_parse_and_print_back(text: str, model: LatencyModel) -> None:
    assert parse_latency(text) == model
    assert describe_latency(model) == text


@pytest.mark.parametrize("text", ["fast", "batch:0s", "uniform:2m-1s", "poisson:5m", "-5m"])
def test_bad_latency_values_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(GridError, match="batch:30m"):
        parse_latency(text)


def test_cells_are_the_product_of_windows_and_latency_flags(ws) -> None:  # type: ignore[no-untyped-def]
    grid = plan_grid(ws, "cart_abandoners", "15m,1h", ("backend=0s,batch:30m", "app=0s,5m,1h"))
    assert len(grid.cells) == 2 * 2 * 3
    assert grid.sources == ("backend", "app")
    assert [c.window for c in grid.cells[:6]] == [900] * 6
    assert grid.cells[1].latencies == (("backend", LatencyModel("fixed", 0)), ("app", LatencyModel("fixed", 300)))


def test_window_replaces_every_within_or_only_the_named_event(ws) -> None:  # type: ignore[no-untyped-def]
    grid = plan_grid(ws, "viewed_not_bought", "1h", ("web=0s",))
    seg = next(s for s in cell_workspace(ws, grid, grid.cells[0]).segments if s.name == "viewed_not_bought")
    assert sorted(n.within for n in walk(seg.rule) if isinstance(n, Performed)) == [3600, 3600]
    grid = plan_grid(ws, "viewed_not_bought", "1h", ("web=0s",), window_of="order_completed")
    cell_ws = cell_workspace(ws, grid, grid.cells[0])
    seg = next(s for s in cell_ws.segments if s.name == "viewed_not_bought")
    within = {n.event: n.within for n in walk(seg.rule) if isinstance(n, Performed)}
    assert within == {"product_viewed": 7 * 86400, "order_completed": 3600}
    assert 3600 in cell_ws.windows and 3600 in cell_ws.ages


def test_cell_workspace_swaps_latency_and_keeps_only_what_the_sweep_reads(ws) -> None:  # type: ignore[no-untyped-def]
    grid = plan_grid(ws, "cart_abandoners", "2h", ("backend=batch:15m",), journey="cart_recovery")
    cell_ws = cell_workspace(ws, grid, grid.cells[0])
    assert cell_ws.sources["backend"].latency == LatencyModel("batch", 900)
    assert cell_ws.sources["backend"].identify_by == "id"
    assert [s.name for s in cell_ws.segments] == ["cart_abandoners"]
    assert [j.name for j in cell_ws.journeys] == ["cart_recovery"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"segment": "cart_abandoner"}, "did you mean 'cart_abandoners'"),
        ({"segment": "vip"}, "has no `within`"),
        ({"journey": "cart_recover"}, "did you mean 'cart_recovery'"),
        ({"window_of": "checkout_start"}, "did you mean 'checkout_started'"),
        ({"windows": "15m,soon"}, "--window 'soon'"),
        ({"windows": "0s"}, "longer than 0s"),
        ({"latencies": ("backnd=0s",)}, "did you mean 'backend'"),
        ({"latencies": ("backend",)}, "SOURCE=VALUE"),
        ({"latencies": ("backend=0s", "backend=5m")}, "given twice"),
    ],
)
def test_bad_options_say_what_is_wrong(ws, kwargs, message) -> None:  # type: ignore[no-untyped-def]
    args = {"segment": "cart_abandoners", "windows": "1h", "latencies": ("backend=0s",)} | kwargs
    with pytest.raises(GridError, match=message.replace("(", r"\(").replace("[", r"\[")):
        plan_grid(ws, args["segment"], args["windows"], args["latencies"], args.get("journey"), args.get("window_of"))
