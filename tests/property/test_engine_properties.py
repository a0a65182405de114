"""Engine properties that hold for every story: perfect conditions give no
violation, file order of distinct steps does not matter, client copies are
absorbed, and the machine trace does not depend on PYTHONHASHSEED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.checks.expectations import check_plan
from simulator.checks.violations import find_violations
from simulator.model.plan import Plan
from simulator.pipeline import Outcome, simulate
from simulator.report.story import story_records
from simulator.scenario.loader import load_plan_text

ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = ROOT / "fixtures" / "workspaces" / "dtc_store.yaml"
NAMES = ("ana", "ben", "cat")
INSTANT = {"web": {"latency": "0s"}, "app": {"latency": "0s"}, "backend": {"latency": "0s"}}
EVENTS = ("product_viewed", "added_to_cart", "checkout_started", "order_completed")


@st.composite
def stories(draw: st.DrawFn, distinct: bool = False, from_server: bool = True) -> dict[str, Any]:
    """A scenario (as a mapping) of identified shoppers, one device each, browsing and buying."""
    count = draw(st.integers(1, len(NAMES)))
    shoppers = {name: {"id": f"cus_{i}", "email": f"{name}@example.com"} for i, name in enumerate(NAMES[:count])}
    devices = {name: draw(st.sampled_from(["phone", "laptop"])) for name in shoppers}
    sources = {name: draw(st.sampled_from(["web", "app"])) for name in shoppers}
    minutes = st.integers(1, 3 * 24 * 60)
    n = draw(st.integers(1, 12))
    ats = draw(st.lists(minutes, min_size=n, max_size=n, unique=distinct))
    timeline: list[dict[str, Any]] = [
        {"at": f"{i}s", "who": name, "device": devices[name], "source": sources[name], "identify": True}
        for i, name in enumerate(shoppers)
    ]
    for k, at in enumerate(ats):
        who = draw(st.sampled_from(sorted(shoppers)))
        event = draw(st.sampled_from(EVENTS))
        value = draw(st.integers(0, 300))
        props: dict[str, Any] = {"value": value, "checkout_id": f"ck_{k % 3}"}
        if event == "order_completed":
            props["order_id"] = f"o_{k}"
            props["items"] = [{"category": draw(st.sampled_from(["coffee", "apparel"]))}]
        if event in ("product_viewed", "added_to_cart"):
            props = {"product_id": f"p_{k}", "category": "coffee", "price": value}
        step: dict[str, Any] = {"at": f"{at}m", "who": who, "track": event, "properties": props}
        if from_server and event == "order_completed" and draw(st.booleans()):
            step["source"] = "backend"
        else:
            step["device"] = devices[who]
            step["source"] = sources[who]
        timeline.append(step)
    return {
        "scenario": "generated story",
        "workspace": str(WORKSPACE),
        "overrides": {"sources": INSTANT},
        "shoppers": shoppers,
        "timeline": timeline,
    }


def plan_of(story: dict[str, Any]) -> Plan:
    return load_plan_text(json.dumps(story, indent=1), "<generated>", ROOT)


def state(outcome: Outcome) -> dict[str, Any]:
    """What the platform ended up believing, without the delivery details."""
    platform = outcome.platform
    return {
        "profiles": [
            (p.cio_id, p.id, p.email, sorted(p.anonymous_ids), sorted(p.segments), [(e.name, e.ts) for e in p.events])
            for p in platform.live_profiles()
        ],
        "runs": [(r.journey.name, r.shopper, r.entered_at, r.ended_at, r.reason) for r in platform.runs],
        "messages": [(m.journey, m.message, m.shopper, m.at) for m in platform.messages],
        "segment_changes": [
            (r["at"], r["kind"], r["segment"], r["cio_id"])
            for r in platform.trace.records
            if r["kind"] in ("segment_entered", "segment_left")
        ],
        "violations": [(v.kind, v.who, v.journey, v.message, v.cause) for v in find_violations(outcome)],
    }


@given(stories())
def test_perfect_ingestion_and_identity_never_violate(story: dict[str, Any]) -> None:
    result = check_plan(plan_of(story))
    assert result.violations == [], [v.explanation for v in result.violations]


@given(stories(distinct=True), st.randoms(use_true_random=False))
def test_file_order_of_steps_with_distinct_instants_does_not_matter(story: dict[str, Any], rnd: Any) -> None:
    shuffled = dict(story)
    steps = list(story["timeline"])
    rnd.shuffle(steps)
    shuffled["timeline"] = steps
    first, second = simulate(plan_of(story)), simulate(plan_of(shuffled))
    assert state(first) == state(second)
    assert first.platform.trace.records == second.platform.trace.records


@given(stories(from_server=False), st.data())
def test_copies_of_client_sends_never_change_the_outcome(story: dict[str, Any], data: st.DataObject) -> None:
    story = dict(story, until="10d")
    doubled = json.loads(json.dumps(story))
    for step in doubled["timeline"]:
        if "track" in step and data.draw(st.booleans()):
            step["copies"] = data.draw(st.integers(2, 4))
    assert state(simulate(plan_of(story))) == state(simulate(plan_of(doubled)))


def timeline_json(path: Path, hash_seed: str) -> bytes:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    result = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "timeline", "--json", str(path)],
        capture_output=True,
        env=env,
        check=True,
        cwd=ROOT,
    )
    return result.stdout


@settings(max_examples=2)
@given(stories())
def test_timeline_json_is_byte_identical_whatever_the_hash_seed(tmp_path_factory: Any, story: dict[str, Any]) -> None:
    path = tmp_path_factory.mktemp("story") / "story.yaml"
    path.write_text(json.dumps(story, indent=1))
    outputs = {timeline_json(path, seed) for seed in ("1", "4242")}
    assert len(outputs) == 1
    records = json.loads(outputs.pop())
    assert records and all("at" in r and "kind" in r for r in records)


def test_story_records_of_the_example_are_stable_across_runs() -> None:
    plan = plan_of(
        {
            "scenario": "fixed",
            "workspace": str(WORKSPACE),
            "shoppers": {"ana": {"id": "cus_1"}},
            "timeline": [
                {"at": "0s", "who": "ana", "device": "phone", "track": "checkout_started", "properties": {"value": 5}},
                {"at": "1m", "who": "ana", "device": "phone", "identify": True},
            ],
        }
    )
    first, second = simulate(plan), simulate(plan)
    assert story_records(first, find_violations(first)) == story_records(second, find_violations(second))
