"""A deep document is refused with a message before libyaml composes it: its
C composer recurses once per level, and in some PyYAML releases (6.0.3) a
50,000-level flow list crashed the process instead of raising."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.scenario import yamlfile
from simulator.scenario.errors import InputError
from simulator.scenario.yamlfile import COMPOSE_DEPTH, MAX_DEPTH, load_yaml_text


def _nested(block: int, compact: int, flow: int, split: bool = False) -> str:
    """`block` mapping levels by indentation, then `compact` sequence levels on
    one line (`- - - x`), then `flow` bracket levels, on that line or one a
    line (`split`): depth block + compact + flow."""
    lines = ["scenario: x", "description:"]
    lines += [" " * (level + 1) + "k:" for level in range(block)]
    indent = " " * (block + 1)
    if split:
        lines.append(indent + "- " * compact + "[")
        lines += [indent + " " * (2 * compact + 1) + "[" for _ in range(flow - 1)]
        lines.append(indent + " " * (2 * compact + 1) + "v")
        lines += [indent + " " * (2 * compact + 1) + "]" for _ in range(flow)]
    else:
        lines.append(indent + "- " * compact + "[" * flow + "v" + "]" * flow)
    return "\n".join(lines) + "\n"


def test_a_flow_list_far_past_the_composer_depth_is_refused_where_the_limit_is_first_passed() -> None:
    text = "scenario: x\ndescription: " + "[" * 50_000 + "]" * 50_000 + "\n"
    mark, limit = yamlfile._past_limits(text)
    assert limit == "depth"
    # The first bracket (column 13) is inside the root mapping only: the first
    # node inside more than MAX_DEPTH collections is the bracket MAX_DEPTH
    # further on. libyaml's scanner may look further ahead before the parser
    # yields that node, and stop at its own limit (1,000 in PyYAML 6.0.4).
    assert mark.line == 1
    assert mark.column in (13 + MAX_DEPTH, 12 + 1000)
    with pytest.raises(InputError) as refused:
        load_yaml_text(text, "deep.yaml")
    problem = refused.value.problems[0]
    assert (problem.line, problem.path) == (2, "description")
    assert f"nesting deeper than {MAX_DEPTH} levels" in problem.message


def test_a_document_the_builder_can_refuse_itself_is_composed_and_refused_with_its_path() -> None:
    text = _nested(0, 0, MAX_DEPTH + 5)
    assert yamlfile._past_limits(text) is None
    with pytest.raises(InputError) as refused:
        load_yaml_text(text, "deep.yaml")
    assert refused.value.problems[0].path.startswith("description[0][0]")


@given(st.integers(0, 700), st.integers(0, 700), st.integers(1, 1200), st.booleans())
def test_only_a_text_the_cheap_look_lets_through_is_composed_and_it_is_never_too_deep(
    block: int, compact: int, flow: int, split: bool
) -> None:
    text = _nested(block, compact, flow, split)
    depth = 2 + block + compact + flow  # the root mapping, the `description` value
    if not yamlfile._could_pass_limits(text):
        assert depth <= COMPOSE_DEPTH
    past = yamlfile._past_limits(text)
    assert (past is not None) == (depth > COMPOSE_DEPTH)


@given(st.integers(0, 1000))
def test_sequences_at_their_keys_column_nest_two_levels_a_column(pairs: int) -> None:
    # `a:` then `-` in the same column: a mapping and a sequence for one column more.
    lines = ["scenario: x", "description:"]
    for level in range(pairs):
        lines += [" " * (level + 1) + "-", " " * (level + 2) + "a:"]
    text = "\n".join(lines) + " v\n"
    depth = 1 + 2 * pairs  # collections around the last value: the root mapping, then the pairs
    if not yamlfile._could_pass_limits(text):
        assert depth <= COMPOSE_DEPTH
    past = yamlfile._past_limits(text)
    assert (past is not None) == (depth > COMPOSE_DEPTH)


def test_an_ordinary_workspace_skips_the_extra_parse() -> None:
    text = (Path(__file__).parents[2] / "fixtures/workspaces/dtc_store.yaml").read_text(encoding="utf-8")
    assert not yamlfile._could_pass_limits(text)


@pytest.mark.parametrize("second", ["a: 1\n", "[" * 50_000 + "]" * 50_000 + "\n", ""])
def test_a_second_document_is_refused_as_such_however_deep_it_is(second: str) -> None:
    """A scenario file is one document: a second one is named at its `---`,
    not read for its depth (a deep one, too, is never composed) nor blamed on
    the first document's last key."""
    text = "scenario: x\ntimeline: []\n---\n" + second
    with pytest.raises(InputError) as refused:
        load_yaml_text(text, "two.yaml")
    problem = refused.value.problems[0]
    assert (problem.line, problem.column, problem.path) == (3, 1, "")
    assert problem.message == "a second YAML document starts here: a file holds one scenario or workspace"
    assert "remove the second document" in problem.hint


def test_a_document_marked_at_its_start_and_end_is_one_document() -> None:
    doc = load_yaml_text("---\nscenario: x\ntimeline: []\n...\n", "one.yaml")
    assert doc.data == {"scenario": "x", "timeline": []}


def test_a_folder_search_stops_reading_a_file_at_the_depth_the_loader_refuses(tmp_path: Path) -> None:
    # `check`, `lint` and pytest's collection ask a file's top-level keys: past
    # MAX_DEPTH the parser's events are not read on (their cost grows with the
    # square of the depth); the lines decide, and loading says what is wrong.
    from simulator.scenario.loader import is_scenario_file, load_plan, surely_a_story
    from simulator.scenario.yamlfile import top_level_keys

    deep = tmp_path / "deep.yaml"
    nested = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    deep.write_text(f"scenario: deep\ntimeline: []\ndescription: {nested}\n")
    shallow = tmp_path / "shallow.yaml"
    shallow.write_text("scenario: shallow\ndescription: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert top_level_keys(deep) == {"scenario": None, "timeline": None, "description": None}  # by its lines
    assert top_level_keys(shallow) == {"scenario": "shallow", "description": None}
    assert is_scenario_file(deep)
    # A file that is not a story stays one: one story-like key is not enough for pytest.
    fixture = tmp_path / "http_fixture.yaml"
    fixture.write_text(f"expect:\n  body: {nested}\n")
    assert not surely_a_story(fixture)
    # Keys quoted, or opening a flow mapping, name it too.
    for name, text in [
        ("quoted", f'"scenario": deep\ndescription: {nested}\n'),
        ("flow", f'{{"scenario": {nested}}}\n'),
    ]:
        story = tmp_path / f"{name}.yaml"
        story.write_text(text)
        assert is_scenario_file(story) and surely_a_story(story), name
    with pytest.raises(InputError, match="description"):
        load_plan(deep)
