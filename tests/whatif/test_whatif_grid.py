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


@pytest.mark.parametrize(
    "text", ["fast", "batch:0s", "uniform:2m-1s", "poisson:5m", "-5m", "batch:30m+", "uniform:1s-", "exponential:"]
)
def test_bad_latency_values_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(GridError, match="batch:30m"):
        parse_latency(text)


def test_a_clock_reading_as_a_latency_says_how_a_duration_is_written() -> None:
    with pytest.raises(GridError, match=r"latency '1:30': not a duration \(hours and minutes are written 1h30m\)"):
        parse_latency("1:30")


@pytest.mark.parametrize(
    ("windows", "latency", "message"),
    [
        ("1h,,2h", "backend=0s", "--window '1h,,2h': item 2 is empty"),
        ("1h,2h,", "backend=0s", "--window '1h,2h,': item 3 is empty"),
        ("1h", "backend=0s,,5m", "--latency 'backend=0s,,5m': item 2 is empty"),
        ("1h", "backend=,", "--latency 'backend=,': give at least one value"),  # a traceback from the heatmap once
    ],
)
def test_an_empty_item_in_a_list_is_a_lost_value_and_refused(ws, windows: str, latency: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GridError) as caught:
        plan_grid(ws, "cart_abandoners", windows, (latency,))
    assert message in str(caught.value)


def test_cells_are_the_product_of_windows_and_latency_flags(ws) -> None:  # type: ignore[no-untyped-def]
    grid = plan_grid(ws, "cart_abandoners", "15m,1h", ("backend=0s,batch:30m", "app=0s,5m,1h"))
    assert len(grid.cells) == 2 * 2 * 3
    assert grid.sources == ("backend", "app")
    assert [c.window for c in grid.cells[:6]] == [900] * 6
    assert grid.cells[1].latencies == (("backend", LatencyModel("fixed", 0)), ("app", LatencyModel("fixed", 300)))


def test_the_latency_flags_are_recorded_as_the_rows_write_them(ws) -> None:  # type: ignore[no-untyped-def]
    """whatif.json's parameters name the values as its rows do: a user matching
    a row's `1h1m` to the flags finds it there, not a `61m`."""
    grid = plan_grid(ws, "cart_abandoners", "1h", ("backend=61m,72h,61m", "app=batch:30m+0s,0s"))
    assert grid.latency_flags() == ["backend=1h1m,3d", "app=batch:30m,0s"]
    rows = {(describe_latency(c.latencies[0][1]), describe_latency(c.latencies[1][1])) for c in grid.cells}
    assert rows == {(b, a) for b in ("1h1m", "3d") for a in ("batch:30m", "0s")}


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


EXTRA_JOURNEYS = """
  wait_for_buy:
    trigger: {event: checkout_started}
    goal: {performed: order_completed}
    exit: never
    steps:
      - wait_until: {condition: {in_segment: recent_purchasers}, max: 1h, then: []}
      - send: nudge5
  tagger:
    trigger: {event: product_viewed}
    frequency: once
    exit: never
    steps:
      - update: {tagged: true}
  tagged_nudge:
    trigger: {event: checkout_started}
    filter: {attribute: tagged, eq: true}
    goal: {performed: order_completed}
    exit: goal_or_stop_matching
    steps: [{wait: 20m}, {send: nudge3}]
"""


@pytest.mark.parametrize("journey", ["wait_for_buy", "tagged_nudge"])
def test_a_cell_keeps_everything_its_journey_depends_on(tmp_path: Path, journey: str) -> None:
    """`wait_for_buy` waits on a segment the sweep does not sweep;
    `tagged_nudge` filters on an attribute another journey's `update` writes.
    Replayed at the workspace's own window, the cell's workspace gives the
    journey exactly the runs (and violations) the whole workspace gives."""
    from dataclasses import replace

    from simulator.checks.violations import find_violations
    from simulator.pipeline import simulate
    from simulator.whatif.population import partition_plan

    path = tmp_path / "ws.yaml"
    path.write_text(WORKSPACE.read_text().rstrip("\n") + "\n" + EXTRA_JOURNEYS)
    full = load_workspace(path)[0]
    grid = plan_grid(full, "cart_abandoners", "2h", ("backend=batch:2h",), journey=journey)
    trimmed = cell_workspace(full, grid, grid.cells[0])
    base = full.but(sources={**full.sources, "backend": trimmed.sources["backend"]})
    plan = partition_plan(base, seed=3, partition=0, population=150, start=0, horizon=3 * 86400, until=6 * 86400)

    def journey_story(ws):  # type: ignore[no-untyped-def]
        outcome = simulate(replace(plan, workspace=ws))
        runs = [
            (r.profile, r.entered_at, r.ended_at, r.reason, [m.message for m in r.messages])
            for r in outcome.platform.runs
            if r.journey.name == journey
        ]
        found = sorted((v.kind, v.who, v.cause, v.at) for v in find_violations(outcome) if v.journey == journey)
        return runs, found

    runs, violations = journey_story(trimmed)
    assert (runs, violations) == journey_story(base)
    assert runs and violations, "the story should reach the journey and break it"
