"""Plain YAML scalars are read as YAML 1.2's core schema reads them: YAML 1.1's
booleans (`yes`, `NO`, `on`), base-60 numbers (`12:30`) and octal numbers
(`02134`) silently changed property values, so `where: {country: "NO"}` never
matched an event written `country: NO`."""

from __future__ import annotations

import pytest
from acceptance_support import passes
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.errors import InputError
from simulator.scenario.loader import load_plan_text
from simulator.scenario.yamlfile import dump_yaml, load_yaml_text


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("yes", "yes"),
        ("NO", "NO"),
        ("on", "on"),
        ("Off", "Off"),
        ("y", "y"),
        ("12:30", "12:30"),
        ("190:20:30.15", "190:20:30.15"),
        ("02134", "02134"),
        ("'yes'", "yes"),
        ("true", True),
        ("False", False),
        ("TRUE", True),
        ("1e3", 1000.0),
        ("-1.5E-3", -0.0015),
        ("'1e3'", "1e3"),
        ("0", 0),
        ("120", 120),
        ("0.5", 0.5),
        ("0x1F", 31),
        ("0o17", 15),
        ("~", None),
        ("!!str 1e3", "1e3"),
        ("!!str 0o17", "0o17"),
        ("!!float 1e3", 1000.0),
    ],
)
def test_a_plain_scalar_is_read_as_yaml_1_2_reads_it(written: str, read: object) -> None:
    value = load_yaml_text(f"key: {written}\nlist: [{written}]\nflow: {{k: {written}}}\n", "f.yaml").data
    assert value == {"key": read, "list": [read], "flow": {"k": read}}
    assert type(value["key"]) is type(read)


def test_a_tag_beside_an_anchor_still_says_how_the_value_is_read() -> None:
    text = "a: &one !!str 1e3\nb: !!str &two 0o17\nc: *one\n"
    assert load_yaml_text(text, "f.yaml").data == {"a": "1e3", "b": "0o17", "c": "1e3"}
    # a `!` in a comment between an anchor and its value is no tag
    text = "a: &x # see !note\n  yes\nb: &y # !!\n  012\nc: *y\nd: !!str # a tag, then a comment\n  1e3\n"
    assert load_yaml_text(text, "f.yaml").data == {"a": "yes", "b": "012", "c": "012", "d": "1e3"}


@pytest.mark.parametrize("written", ["0o" + "7" * 60, "1" * 60 + "e3"])
def test_a_far_too_large_number_is_refused_whatever_its_notation(written: str) -> None:
    with pytest.raises(InputError, match="far too large"):
        load_yaml_text(f"key: {written}\n", "f.yaml")


@pytest.mark.parametrize("written", ["1e3", "TRUE", "yes", "0o17", "12:30"])
def test_a_key_is_read_as_written(written: str) -> None:
    assert load_yaml_text(f"{written}: x\n", "f.yaml").data == {written.strip("'"): "x"}


STEP = "{at: 0s, who: ana, track: order_completed, properties: {country: NO, slot: 12:30, zip: 02134}}"
STORY = """
scenario: the Norway problem
workspace:
  segments:
    norwegians: {rule: {performed: order_completed, where: {country: "NO", slot: "12:30", zip: "02134"}}}
shoppers: {ana: {id: cus_1}}
timeline:
  - STEP
expect:
  - {who: ana, in_segment: norwegians, at: 1m}
""".replace("STEP", STEP)


def test_unquoted_text_in_a_story_matches_the_same_text_quoted() -> None:
    passes(STORY)


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{at: 1:30, who: ana, track: go}", "(hours and minutes are written 1h30m)"),
        ("{at: 1m, who: ana, track: go, latency: 0:45}", "(hours and minutes are written 45m)"),
        ("{at: 1m, who: ana, track: go, drop: yes}", "valid boolean, got 'yes'"),
    ],
)
def test_a_yaml_1_1_reading_in_a_field_is_an_error_that_says_what_to_write(step: str, message: str) -> None:
    text = STORY.replace(STEP, step)
    with pytest.raises(InputError) as caught:
        load_plan_text(text, "story.yaml")
    assert message in str(caught.value)


# Printable text: how PyYAML writes control characters and line separators (NEL, U+2028)
# is its own question, and no catalog value holds one.
_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")))
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT
    | st.sampled_from(
        ["1e3", "-2E+5", ".5e1", "0o17", "yes", "NO", "on", "12:30", "02134", "0x1F", "1_000", "~", "null"]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_what_segsim_writes_in_yaml_it_reads_back_as_written(value: object) -> None:
    # Witnesses and replay skeletons are written with dump_yaml and read by the loader:
    # a text `1e3` written unquoted came back as the number 1000.0.
    for flow in (True, False, None):
        text = dump_yaml({"v": value}, default_flow_style=flow, sort_keys=False, allow_unicode=True)
        assert load_yaml_text(text, "f.yaml").data == {"v": value}, text
