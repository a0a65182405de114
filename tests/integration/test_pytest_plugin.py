"""SPEC 12: the pytest plugin collects scenario files as test items."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

# Imported here so that pytester's in-process runs, which drop the modules they
# import when they end, never re-import PyYAML beside its already loaded C parser.
import simulator.scenario.loader  # noqa: F401

pytest_plugins = ["pytester"]

PASSING = """
scenario: a passing story
workspace: {journeys: {hello: {trigger: {event: go}, steps: [{send: hi}]}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: ana, track: go}
expect:
  - {who: ana, journey: hello, sent: [hi]}
"""

FAILING = PASSING.replace("a passing story", "a failing story").replace("sent: [hi]", "sent: [hi, hi]")


@pytest.fixture(autouse=True)
def _no_foreign_plugins(pytester: pytest.Pytester) -> None:
    # Inner runs do not read this repo's pyproject: keep a benchmark plugin, if the
    # machine has one, from breaking them under xdist.
    pytester.makeini("[pytest]\naddopts = -p no:benchmark\n")


@pytest.fixture
def stories(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", passing=PASSING, failing=FAILING)
    pytester.makefile(".yml", notes="just: some yaml\nwithout: a scenario key\n")
    return pytester


def test_each_scenario_file_is_one_item_named_after_the_scenario(stories: pytest.Pytester) -> None:
    result = stories.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["failing.yaml::a failing story", "passing.yaml::a passing story", "*2 tests collected*"]
    )
    assert "notes.yml" not in result.stdout.str()


def test_a_scenario_named_with_double_colons_runs_again_by_the_id_it_was_given(pytester: pytest.Pytester) -> None:
    """pytest splits node ids at `::`: the item of `cart::recovery:::b` is
    `cart: :recovery: : :b`, and that id selects it, valid or not."""
    pytester.makefile(".yaml", story=PASSING.replace("a passing story", '"cart::recovery:::b"'))
    pytester.makefile(".yaml", broken='scenario: "x::y"\nshopers: {}\n')
    listed = pytester.runpytest("--collect-only", "-q")
    listed.stdout.fnmatch_lines(["broken.yaml::x: :y", "story.yaml::cart: :recovery: : :b", "*2 tests collected*"])
    pytester.runpytest("story.yaml::cart: :recovery: : :b").assert_outcomes(passed=1)
    pytester.runpytest("broken.yaml::x: :y").assert_outcomes(failed=1)


def test_k_selects_scenarios_by_name(stories: pytest.Pytester) -> None:
    result = stories.runpytest("-k", "passing")
    result.assert_outcomes(passed=1, deselected=1)


def test_a_failing_scenario_shows_the_explanation_not_a_traceback(stories: pytest.Pytester) -> None:
    result = stories.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "FAIL a failing story (failing.yaml)" in out
    assert "['hi', 'hi']" in out
    assert "Traceback" not in out
    assert "def runtest" not in out and "raise ScenarioFailed" not in out


def test_junitxml_reports_each_scenario(stories: pytest.Pytester) -> None:
    report = stories.path / "report.xml"
    stories.runpytest(f"--junitxml={report}")
    cases = {c.get("name"): c for c in ET.parse(report).getroot().iter("testcase")}
    assert set(cases) == {"a passing story", "a failing story"}
    assert cases["a failing story"].find("failure") is not None
    assert cases["a passing story"].find("failure") is None


def test_x_stops_at_the_first_failure(stories: pytest.Pytester) -> None:
    stories.makefile(".yaml", zzz_another_failure=FAILING.replace("a failing story", "another failure"))
    result = stories.runpytest("-x")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1


def test_an_invalid_scenario_file_fails_with_its_location(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml", broken="scenario: broken\nshoppers: {ana: {id: cus_1}}\nexpect:\n  - {who: anna, profiles: 1}\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "broken.yaml:4:" in out and "did you mean 'ana'" in out
    assert "Traceback" not in out


def test_collection_reads_the_yaml_not_its_layout(pytester: pytest.Pytester) -> None:
    """A scenario in JSON style or with an indented root is collected; a `scenario:`
    that is not a top-level key (inside a string, a mapping, a later document) is not."""
    pytester.makefile(".yaml", json_style='{\n  "scenario": "json style",\n  "shoppers": {}\n}\n')
    pytester.makefile(".yaml", indented="  scenario: indented root\n  shoppers: {}\n")
    pytester.makefile(".yaml", quoted='note: "a long text\nscenario: inside the string"\n')
    pytester.makefile(".yaml", nested="config: {a: 1,\nscenario: nested}\n")
    pytester.makefile(".yaml", manifests="kind: ConfigMap\n---\nscenario: a second document\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["indented.yaml::indented root", "json_style.yaml::json style", "*2 tests collected*"])


def test_yaml_that_shares_one_key_with_scenarios_is_not_collected(pytester: pytest.Pytester) -> None:
    """pytest walks the whole repo: an HTTP test's `expect:`, a roadmap's
    `timeline:` or a calendar's `start`/`until` is not a scenario. A story that
    lost its `scenario:` still has two of shoppers, timeline and expect."""
    pytester.makefile(".yaml", http="expect: [{status: 200}]\n")
    pytester.makefile(".yaml", roadmap="title: roadmap\ntimeline: [{q1: launch}]\n")
    pytester.makefile(".yaml", calendar="start: 2026-01-01\nuntil: 2026-02-01\n")
    pytester.makefile(".yaml", store="shoppers: 3\nstore: main\nworkspace: prod\n")
    pytester.makefile(".yaml", nameless=FAILING.replace("scenario: a failing story", "title: a failing story"))
    pytester.makefile(".yaml", checks="workspace: ws.yaml\nexpect: [{who: ana, journey: j, entered: 1}]\n")
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["checks.yaml::checks", "nameless.yaml::nameless", "*2 tests collected*"])


def test_a_misspelt_scenario_key_fails_instead_of_passing_unnoticed(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", story=FAILING.replace("scenario:", "scenrio:"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "did you mean 'scenario'" in result.stdout.str()


def test_a_story_without_its_scenario_key_fails_as_segsim_run_refuses_it(pytester: pytest.Pytester) -> None:
    """`segsim run DIR` refuses it (exit 2); pytest skipped it, so CI turned green without a word."""
    pytester.makefile(".yaml", story=FAILING.replace("scenario: a failing story", "name: a failing story"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "missing required key 'scenario'" in result.stdout.str()


def test_a_failure_reads_as_segsim_run_tells_it(stories: pytest.Pytester) -> None:
    """The same block, the file named as `segsim run` names it from the same folder (so JUnit XML is stable)."""
    import os

    from click.testing import CliRunner

    from simulator.cli import main

    report = stories.path / "report.xml"
    result = stories.runpytest(f"--junitxml={report}")
    here = os.getcwd()
    try:
        os.chdir(stories.path)
        run = CliRunner().invoke(main, ["run", "failing.yaml"])
    finally:
        os.chdir(here)
    block = run.output[run.output.index("FAIL a failing story (failing.yaml)") :].strip()
    assert len(block.splitlines()) > 3
    assert block in result.stdout.str()
    failure = next(c for c in ET.parse(report).getroot().iter("testcase") if c.get("name") == "a failing story")
    assert block in (failure.find("failure").text or "")  # type: ignore[union-attr]
    assert str(stories.path) not in (failure.find("failure").text or "")  # type: ignore[union-attr]


def test_an_invalid_scenario_is_named_after_its_scenario(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", broken="scenario: broken story\nshoppers: {ana: {id: cus_1}}\nexpect: [{who: bo}]\n")
    pytester.runpytest("-k", "story").assert_outcomes(failed=1)


def test_the_segsim_fixture_reads_an_existing_path_as_a_path_whatever_its_name(pytester: pytest.Pytester) -> None:
    """`segsim("scenarios")` was read as inline YAML: "a scenario file is a mapping"."""
    pytester.mkdir("scenarios")
    pytester.makefile(".txt", story=PASSING)
    pytester.makepyfile(
        test_paths="def test_folder(segsim):\n    segsim('scenarios')\n"
        "def test_any_name(segsim):\n    assert segsim('story.txt').passed\n"
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    assert "is a folder" in result.stdout.str() or "a folder" in result.stdout.str()
    assert "a scenario file is a mapping" not in result.stdout.str()


def test_the_segsim_fixture_runs_in_given_tests(pytester: pytest.Pytester) -> None:
    code = (
        f"STORY = {PASSING!r}\n"
        "from hypothesis import given, settings, strategies as st\n\n\n"
        "@settings(max_examples=3)\n"
        "@given(st.integers(0, 5))\n"
        "def test_story(segsim, n):\n"
        "    assert segsim(STORY.replace('0s', f'{n}s')).passed\n"
    )
    pytester.makepyfile(test_given=code)
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_segsim_fixture_runs_inline_scenarios(pytester: pytest.Pytester) -> None:
    code = (
        f"STORY = {PASSING!r}\n\n\n"
        "def test_story(segsim):\n"
        "    result = segsim(STORY)\n"
        "    assert result.passed\n"
        "    assert [m.message for m in result.outcome.platform.messages] == ['hi']\n"
    )
    pytester.makepyfile(test_inline=code)
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_segsim_fixture_explains_a_failure_and_locates_an_invalid_scenario(pytester: pytest.Pytester) -> None:
    code = (
        f"FAILING = {FAILING!r}\n\n\n"
        "def test_failing(segsim):\n"
        "    result = segsim(FAILING)\n"
        "    assert result.passed, result.explanation\n\n\n"
        "def test_invalid(segsim):\n"
        "    segsim('scenario: s\\ntimeline:\\n  - {at: 0s, who: nobody, track: go}\\n')\n"
    )
    pytester.makepyfile(test_inline=code)
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    # `assert result.passed, result.explanation` shows segsim run's explanation of the failure
    assert "the story that decided it" in output and "expected:" in output
    # an invalid inline scenario fails with its located problem, not a traceback through the loader
    assert "invalid scenario:" in output and "<inline scenario>:3:" in output
    assert "loader.py" not in output and "During handling" not in output
    assert "FAIL a failing story (<inline scenario>)" in output  # no made-up file name


def test_an_invalid_scenario_written_by_a_hypothesis_test_shows_its_falsifying_example(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_given=(
            "from hypothesis import given, settings, strategies as st\n\n\n"
            "@settings(max_examples=30, database=None)\n"
            "@given(st.integers(0, 10))\n"
            "def test_story(segsim, n):\n"
            "    who = 'ana' if n < 7 else 'nobody'\n"
            "    story = 'scenario: s\\nshoppers: {ana: {id: cus_1}}\\ntimeline:\\n'\n"
            "    segsim(story + f'  - {{at: 0s, who: {who}, track: go}}\\n')\n"
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "invalid scenario:" in output and "unknown shopper 'nobody'" in output
    # Hypothesis's words for it vary by version: "Falsifying example", "Failing test case"
    assert re.search(r"(Falsifying example|Failing test case): test_story\(", output), output
    assert "n = 7" in output  # shrunk to the first value that writes the bad scenario


def test_segsim_strict_option(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        ghost="""
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
""",
    )
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.runpytest("--segsim-strict").assert_outcomes(failed=1)


EMULATOR_TEST = """
import httpx

def test_app(segsim_emulator):
    segsim_emulator.track_client().identify("cus_1", email="ana@example.com")
    body = httpx.get(segsim_emulator.base_url + "/_segsim/profiles").json()
    assert [p["id"] for p in body["profiles"]] == ["cus_1"]
    assert httpx.get(segsim_emulator.base_url + "/_segsim/segments/SEGMENT").status_code == STATUS
"""


@pytest.mark.parametrize(
    ("ini", "segment", "status"),
    [
        ("", "anything", 404),  # a project without the fixture workspace: an empty one
        ("segsim_workspace = ws.yaml\n", "vips", 200),
    ],
)
def test_the_emulator_fixture_serves_the_configured_workspace_or_an_empty_one(
    pytester: pytest.Pytester, ini: str, segment: str, status: int
) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:benchmark\n" + ini)
    pytester.makefile(".yaml", ws="segments: {vips: {rule: {attribute: vip, eq: true}}}\n")
    pytester.makepyfile(test_app=EMULATOR_TEST.replace("SEGMENT", segment).replace("STATUS", str(status)))
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_an_inspection_the_emulator_refuses_says_why_and_what_it_serves(pytester: pytest.Pytester) -> None:
    """Outside a project with the fixture workspace, `members("cart_abandoners")` raised a bare HTTPStatusError 404."""
    pytester.makeini("[pytest]\naddopts = -p no:benchmark\n")
    test = (
        "import pytest\n"
        "from simulator.emulator.testing import InspectionError\n"
        "def test_app(segsim_emulator):\n"
        "    with pytest.raises(InspectionError) as caught:\n"
        "        segsim_emulator.members('cart_abandoners')\n"
        "    print(caught.value)\n"
        "    assert isinstance(caught.value, LookupError)\n"
    )
    pytester.makepyfile(test_app=test)
    result = pytester.runpytest_subprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*GET /_segsim/segments/cart_abandoners: 404 no segment 'cart_abandoners'*serving *empty_workspace.yaml)*"]
    )


def test_emulator_fixture_mistakes_fail_with_the_users_words_not_a_traceback(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", ws="segments: {x: {rul: {attribute: vip, eq: true}}}\n")
    pytester.mkdir("tests")
    pytester.makepyfile(
        **{
            "tests/test_emu": (
                "import pytest\n"
                "@pytest.mark.parametrize('segsim_emulator', [{'clokc': 'manual'}], indirect=True)\n"
                "def test_option(segsim_emulator):\n    pass\n"
                "@pytest.mark.parametrize('segsim_emulator', [{'workspace': 'ws.yaml'}], indirect=True)\n"
                "def test_workspace(segsim_emulator):\n    pass\n"
                "@pytest.mark.parametrize('segsim_emulator', [{'clock': 'manual', 'start': 'yesterday'}],"
                " indirect=True)\n"
                "def test_start(segsim_emulator):\n    pass\n"
                "@pytest.mark.parametrize('segsim_emulator', [{'log': 'manual.jsonl'}], indirect=True)\n"
                "def test_log_on_the_other_clock(segsim_emulator):\n    pass\n"
            )
        }
    )
    manual = '{"kind":"session","version":1,"workspace":"ws.yaml","start":1772442000,"clock":"manual"}\n'
    (pytester.path / "manual.jsonl").write_text(manual, encoding="utf-8")
    result = pytester.runpytest_subprocess(str(pytester.path / "tests"), "--rootdir", str(pytester.path))
    result.assert_outcomes(errors=4)
    out = result.stdout.str()
    assert "segsim_emulator option 'clokc' is not an option (did you mean 'clock'?)" in out
    assert "ws.yaml:1:" in out and "did you mean 'rule'" in out  # read from the rootdir, not tests/
    assert "segsim_emulator cannot start:" in out and "yesterday" in out
    assert "manual.jsonl was written with clock='manual'; resume it with clock='manual'" in out
    assert "Traceback" not in out and "simulator/" not in out


def test_a_configured_workspace_that_is_missing_fails_clearly(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:benchmark\nsegsim_workspace = nowhere.yaml\n")
    pytester.makepyfile(test_app="def test_app(segsim_emulator):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*segsim_workspace = nowhere.yaml: no such file*"])


def test_an_inline_scenarios_missing_workspace_names_the_folder_it_is_read_from(pytester: pytest.Pytester) -> None:
    code = "def test_story(segsim):\n    segsim('scenario: s\\nworkspace: nowhere.yaml\\n')\n"
    pytester.makepyfile(test_inline=code)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert f"an inline scenario's path is relative to {pytester.path}" in result.stdout.str()
