"""Generated stories are valid scenarios, written witnesses round-trip, and
the fast compile path agrees with the one `segsim run` uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings

from simulator import simulate
from simulator.fileout import reference_from
from simulator.model.time import parse_duration
from simulator.scenario.loader import load_plan_text
from simulator.search.dump import Witness, dump_witness, load_witness
from simulator.strategies import catalog_of, latencies, plans, stories

ROOT = Path(__file__).parents[2]
WORKSPACE = ROOT / "fixtures" / "workspaces" / "dtc_store.yaml"
CATALOG = catalog_of(WORKSPACE)
SERVER_ONLY = {e.name for e in CATALOG.events if e.server_only}


def _as_file(story: dict[str, Any], folder: Path) -> str:
    scenario = {**story, "workspace": reference_from(folder, WORKSPACE)}
    return dump_witness(Witness(scenario, {"seed": "7", "reproduce": "@reproduce_failure('x', b'AA==')"}))


@settings(max_examples=40)
@given(stories(CATALOG, faults=True))
def test_dump_load_dump_gives_the_same_text(story: dict[str, Any]) -> None:
    text = _as_file(story, ROOT / "scenarios")
    again = dump_witness(load_witness(text))
    assert again == text
    assert load_witness(text).header["seed"] == "7"


@settings(max_examples=150)
@given(stories(CATALOG, faults=True))
def test_written_story_compiles_to_the_same_sends(story: dict[str, Any]) -> None:
    from simulator.search.plans import PlanBuilder

    text = _as_file(story, ROOT / "scenarios")
    loaded = load_plan_text(text, "witness.yaml", ROOT / "scenarios")
    builder = PlanBuilder(CATALOG)
    built = builder.build(story)
    assert loaded.sends == built.sends
    assert loaded.shoppers == built.shoppers
    assert (loaded.seed, loaded.start, loaded.until) == (built.seed, built.start, built.until)
    assert builder.compile_story(story) is not None  # drawn stories take the fast way
    validated = builder.build_validated(story)
    assert validated.sends == built.sends and validated.shoppers == built.shoppers


@settings(max_examples=40)
@given(stories(CATALOG))
def test_default_practice_follows_the_tracking_plan(story: dict[str, Any]) -> None:
    times = [parse_duration(step["at"]) for step in story["timeline"]]
    assert times == sorted(times)
    for step in story["timeline"]:
        assert step["who"] in story["shoppers"]
        if step.get("track") in SERVER_ONLY:
            assert "device" not in step  # server-only events come from server sources
        if "track" in step:
            assert step["track"] in {e.name for e in CATALOG.events}
        if "identify" in step:
            assert step["identify"] is True  # every identifier the shopper has
        assert not {"drop", "copies", "latency", "timestamp"} & set(step)


@settings(max_examples=20)
@given(plans(CATALOG))
def test_plans_simulate(plan: Any) -> None:
    outcome = simulate(plan)
    assert outcome.end >= plan.start


@given(latencies())
def test_latencies_are_valid_source_latencies(latency: Any) -> None:
    from simulator.scenario.schema import Source

    parsed = Source.model_validate({"latency": latency}).latency
    as_written = parsed if isinstance(parsed, str) else parsed.model_dump(exclude_defaults=True)
    assert as_written == latency
