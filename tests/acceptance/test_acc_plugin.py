"""SPEC section 12: the pytest plugin, its fixture and the Hypothesis strategies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import simulator.strategies as strategies

GOOD = """
scenario: checkout on the phone
shoppers: {ana: {id: cus_1}}
workspace:
  segments: {starters: {rule: {performed: checkout_started}}}
timeline:
  - {at: 0m, who: ana, track: checkout_started}
expect:
  - {at: 1m, who: ana, in_segment: starters}
"""

BAD = """
scenario: late order ghost
shoppers: {ana: {id: cus_1}}
workspace:
  segments: {starters: {rule: {performed: checkout_started}}}
timeline:
  - {at: 0m, who: ana, track: checkout_started}
expect:
  - {at: 1m, who: ana, not_in_segment: starters}
"""

FIXTURE_TEST = '''
def test_inline_story(segsim):
    result = segsim("""
scenario: inline
shoppers: {ana: {id: cus_1}}
workspace:
  segments: {starters: {rule: {performed: checkout_started}}}
timeline:
  - {at: 0m, who: ana, track: checkout_started}
expect:
  - {at: 1m, who: ana, in_segment: starters}
""")
    assert result.passed
'''


def _project(root: Path) -> None:
    (root / "scenarios").mkdir()
    (root / "scenarios" / "good.yaml").write_text(textwrap.dedent(GOOD).lstrip())
    (root / "scenarios" / "bad.yml").write_text(textwrap.dedent(BAD).lstrip())
    (root / "scenarios" / "not_a_scenario.yaml").write_text("segments: {}\n")
    (root / "test_fixture.py").write_text(FIXTURE_TEST)


# other installed plugins are slow to import and play no part here; segsim's own
# plugin is still loaded through its pytest11 entry point
_QUIET = ("faker", "schemathesis", "hypothesispytest", "anyio", "syrupy", "benchmark", "cacheprovider")


def _pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS"))}
    quiet = [arg for name in _QUIET for arg in ("-p", f"no:{name}")]
    return subprocess.run(
        [sys.executable, "-m", "pytest", *quiet, *args],
        capture_output=True,
        text=True,
        cwd=root,
        env=env,
        timeout=120,
    )


def test_scenario_files_are_test_items_named_after_their_scenario(tmp_path: Path) -> None:
    _project(tmp_path)
    result = _pytest(tmp_path, "scenarios", "test_fixture.py", f"--junitxml={tmp_path / 'out.xml'}")
    assert result.returncode == 1, result.stdout
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "out.xml").iter("testcase")}
    assert set(cases) == {"checkout on the phone", "late order ghost", "test_inline_story"}
    assert cases["late order ghost"].find("failure") is not None
    assert cases["checkout on the phone"].find("failure") is None
    assert cases["test_inline_story"].find("failure") is None
    # the failure shows the segsim explanation, not a Python traceback
    assert "not in starters" in result.stdout
    assert "Traceback" not in result.stdout


def test_k_x_and_xdist_work_as_for_any_test(tmp_path: Path) -> None:
    _project(tmp_path)
    only_good = _pytest(tmp_path, "scenarios", "-k", "phone", "-q")
    assert only_good.returncode == 0, only_good.stdout
    assert "1 passed" in only_good.stdout and "deselected" in only_good.stdout
    stop = _pytest(tmp_path, "scenarios", "-x", "-q")
    assert stop.returncode == 1
    assert "stopping after 1 failures" in stop.stdout, stop.stdout
    parallel = _pytest(tmp_path, "scenarios", "-n", "2", "-q")
    assert parallel.returncode == 1
    assert "1 failed, 1 passed" in parallel.stdout, parallel.stdout


def test_strategies_cover_shoppers_timelines_and_latency() -> None:
    catalog = strategies.catalog_of(Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml")
    assert isinstance(strategies.shopper_profiles(), st.SearchStrategy)
    assert isinstance(strategies.stories(catalog), st.SearchStrategy)
    assert isinstance(strategies.plans(catalog), st.SearchStrategy)
    assert isinstance(strategies.latencies(), st.SearchStrategy)


@settings(max_examples=10)
@given(st.data())
def test_latency_strategy_draws_usable_values(data: st.DataObject) -> None:
    value = data.draw(strategies.latencies())
    assert value is not None
