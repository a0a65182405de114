"""Every witness is shrunk for its own (violation, journey, cause), not only
the few Hypothesis had budget left for: a search of the D2C fixture under
`--faults` finds a dozen and more distinct failures in one round, and each one
is written as a story no step, shopper or seed of which can go."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulator.checks.violations import Violation, find_violations
from simulator.pipeline import simulate
from simulator.search.catalog import catalog_of
from simulator.search.driver import FuzzOptions, FuzzReport, search
from simulator.search.plans import PlanBuilder
from simulator.search.shrink import shrink_story

ROOT = Path(__file__).parents[2]
D2C = ROOT / "fixtures" / "workspaces" / "dtc_store.yaml"
BUILDER = PlanBuilder(catalog_of(D2C))

# What the search of `segsim fuzz dtc_store.yaml --max-examples 50 --seed 4
# --faults` wrote before each finding was shrunk on its own: three shoppers and
# eight steps for one dropped checkout.
UNSHRUNK_DROPPED_CHECKOUT: dict[str, Any] = {
    "scenario": "generated story",
    "seed": 83,
    "shoppers": {
        "ana": {"id": "cus_1", "email": "ana@example.com"},
        "ben": {"id": "cus_2", "email": "ben@example.com"},
        "cat": {"id": "cus_3"},
    },
    "timeline": [
        {"at": "0s", "who": "ana", "device": "tablet", "track": "checkout_started",
         "properties": {"checkout_id": "checkout_2", "value": 1}},
        {"at": "1m", "who": "ben", "device": "laptop", "source": "app", "track": "checkout_started",
         "properties": {"checkout_id": "checkout_2", "value": 0}},
        {"at": "11m", "who": "ben", "track": "order_completed",
         "properties": {"order_id": "order_2", "checkout_id": "checkout_2", "value": 0, "items": []},
         "timestamp": "0s"},
        {"at": "30m", "who": "ana", "track": "order_completed",
         "properties": {"order_id": "order_1", "checkout_id": "checkout_2", "value": 1, "items": []}},
        {"at": "1h1m", "who": "cat", "device": "phone", "track": "checkout_started",
         "properties": {"checkout_id": "checkout_2", "value": 0}},
        {"at": "1h2m", "who": "ana", "identify": True},
        {"at": "1h11m", "who": "cat", "track": "order_completed",
         "properties": {"order_id": "order_3", "checkout_id": "checkout_2", "value": 0, "items": []}},
        {"at": "3h2m", "who": "ben", "device": "tablet", "track": "checkout_started",
         "properties": {"checkout_id": "checkout_1", "value": 120}, "drop": True},
    ],
}  # fmt: skip
DROPPED_CHECKOUT = ("missed_entry", "cart_recovery", "dropped")


def _violations(story: dict[str, Any]) -> list[Violation]:
    return find_violations(simulate(BUILDER.build(story)))


def _shows(story: dict[str, Any], key: tuple[str, str, str]) -> bool:
    return any((v.kind, v.journey or "", v.cause) == key for v in _violations(story))


def _without_step(story: dict[str, Any], i: int) -> dict[str, Any]:
    timeline = story["timeline"][:i] + story["timeline"][i + 1 :]
    named = {step["who"] for step in timeline}
    shoppers = {name: ids for name, ids in story["shoppers"].items() if name in named}
    return {**story, "shoppers": shoppers, "timeline": timeline}


@pytest.fixture(scope="module")
def report() -> FuzzReport:
    # Seed 2 finds 15 distinct failures in the first round, more than
    # Hypothesis's 500 shrinks a run can shrink: a few came back as found.
    return search(FuzzOptions(D2C, seed=2, max_examples=50, faults=True))


def test_every_witness_is_shrunk_for_its_own_key(report: FuzzReport) -> None:
    """No step can go, no other shopper is listed, and the scenario seed is 0
    unless the failure needs it: for every finding, not the first few."""
    assert len(report.findings) >= 10, [f.key for f in report.findings]
    unshrunk: list[str] = []
    for finding in report.findings:
        story = finding.story
        name = "-".join(finding.key)
        assert _shows(story, finding.key), name
        assert (finding.violation.kind, finding.violation.journey or "", finding.violation.cause) == finding.key
        if len(story["shoppers"]) > 1:
            unshrunk.append(f"{name}: {len(story['shoppers'])} shoppers")
        if story["seed"] != 0 and _shows({**story, "seed": 0}, finding.key):
            unshrunk.append(f"{name}: seed {story['seed']}")
        for i in range(len(story["timeline"])):
            if len(story["timeline"]) > 1 and _shows(_without_step(story, i), finding.key):
                unshrunk.append(f"{name}: step {i + 1} of {len(story['timeline'])} is not needed")
    assert not unshrunk, unshrunk


def test_shrink_story_takes_one_failure_down_to_what_it_needs() -> None:
    assert _shows(UNSHRUNK_DROPPED_CHECKOUT, DROPPED_CHECKOUT)
    story, violation = shrink_story(UNSHRUNK_DROPPED_CHECKOUT, DROPPED_CHECKOUT, _violations)
    assert violation is not None and violation.who == "ana"
    assert list(story["shoppers"]) == ["ana"] and story["shoppers"]["ana"] == {
        "id": "cus_1",
        "email": "ana@example.com",
    }
    assert story["seed"] == 0
    assert len(story["timeline"]) == 2, story["timeline"]
    assert story["timeline"][0]["at"] == "0s"
    assert [step.get("drop") for step in story["timeline"]].count(True) == 1
    # Deterministic: the same story and key give the same witness.
    assert shrink_story(UNSHRUNK_DROPPED_CHECKOUT, DROPPED_CHECKOUT, _violations) == (story, violation)


def test_shrink_story_leaves_a_story_that_does_not_show_the_key() -> None:
    story, violation = shrink_story(UNSHRUNK_DROPPED_CHECKOUT, ("ghost_abandon", "nowhere", "dropped"), _violations)
    assert violation is None and story is UNSHRUNK_DROPPED_CHECKOUT


def test_shrunk_witnesses_are_the_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    out = tmp_path / "out"  # one folder for both runs: the witnesses name it
    trees = []
    for hashseed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        args = [sys.executable, "-m", "simulator.cli", "fuzz", str(D2C), "--faults", "--seed", "4"]
        args += ["--max-examples", "30", "--out", str(out)]
        result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert result.returncode == 1, result.stdout + result.stderr
        trees.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
        for path in out.iterdir():
            path.unlink()
    assert len(trees[0]) >= 10
    assert trees[1] == trees[0]
