"""SPEC 13: every broken file in `corpus/` is refused by `segsim run` and
`segsim check` with exit 2, file:line:column, the key path, what was expected
and a suggestion, and no traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import main
from simulator.scenario.errors import InputError, Problem
from simulator.scenario.loader import load_plan, load_plan_text

CORPUS = Path(__file__).parent / "corpus"

# file -> (line, key path it starts with, words the message must contain)
CASES: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "unknown_top_key.yaml": (4, "timline", ("unknown key 'timline'", "did you mean 'timeline'")),
    "unknown_step_key.yaml": (6, "timeline[1].latncy", ("unknown key 'latncy'", "did you mean 'latency'")),
    "wrong_type.yaml": (8, "timeline[0].copies", ("integer", "'many'")),
    "bad_duration.yaml": (8, "timeline[3].latency", ("expected a duration", "'5 minutes'")),
    "negative_duration.yaml": (4, "workspace.triggers.max_age", ("negative", "'-1h'")),
    "bad_instant.yaml": (2, "start", ("offset",)),
    "unknown_shopper.yaml": (7, "expect[0].who", ("unknown shopper 'anna'", "did you mean 'ana'")),
    "unknown_step_shopper.yaml": (5, "timeline[0].who", ("unknown shopper 'anna'", "did you mean 'ana'")),
    "unknown_segment.yaml": (
        8,
        "expect[0].in_segment",
        ("unknown segment 'cart_abandoner'", "did you mean 'cart_abandoners'"),
    ),
    "unknown_journey.yaml": (
        10,
        "expect[0].journey",
        ("unknown journey 'cart_recovry'", "did you mean 'cart_recovery'"),
    ),
    "unknown_message.yaml": (10, "expect[0].sent[0]", ("'recovery_emial'", "did you mean 'recovery_email'")),
    "segment_cycle.yaml": (4, "workspace.segments", ("cycle", "a -> b -> a")),
    "client_without_device.yaml": (5, "timeline[0]", ("client source", "device")),
    "server_step_without_identifier.yaml": (5, "timeline[0]", ("neither id nor email",)),
    # an unclosed bracket or quote is told where it opens, not where the parser gave up
    "invalid_yaml.yaml": (3, "shoppers", ("invalid YAML", "inside the flow mapping '{' that starts here", "with '}'")),
    "bad_escape.yaml": (3, "description", ("invalid YAML: found unknown escape character",)),  # not "unclosed"
    "unclosed_quote_before_marker.yaml": (2, "description", ("quoted text that starts here is not closed",)),
    "unclosed_quote.yaml": (2, "description", ("quoted text that starts here is not closed", "at line 5, column 1")),
    "alias_bomb.yaml": (2, "", ("alias bomb",)),
    "deep_nesting.yaml": (2, "description", ("nesting deeper",)),
    "python_tag.yaml": (2, "description", ("tag", "python/object", "not allowed")),
    "not_utf8.yaml": (2, "", ("not UTF-8",)),
    "list_not_mapping.yaml": (2, "shoppers", ("dictionary", "['ana', 'ben']")),
    # A value matching no member of a union is judged against the member it is
    # closest to, in one message.
    "reversed_uniform_latency.yaml": (4, "workspace.sources.web.latency", ("min <= max",)),
    "negative_exponential_latency.yaml": (
        4,
        "workspace.sources.web.latency.exponential",
        ("cannot be negative", "'-5m'"),
    ),
    "instant_out_of_range.yaml": (4, "timeline[0].timestamp", ("out of range", "1970-01-01T00:00:00Z to")),
    "count_on_not_performed.yaml": (
        5,
        "workspace.segments.rare_viewers.rule.count",
        ("count applies to performed", "not: {performed: viewed, count: {gte: N}}"),
    ),
    "reversed_within.yaml": (9, "expect[0].within", ("starts after it ends", "[0m, 2h]")),
    "identify_with_nothing.yaml": (4, "timeline[0].identify", ("with: [] would send no identifier",)),
    "two_memberships.yaml": (8, "expect[0]", ("one of in_segment, not_in_segment",)),
    "empty_event_name.yaml": (4, "timeline[0].track", ("at least 1 character",)),
    "misspelt_frequency.yaml": (6, "workspace.journeys.hello.frequency", ("did you mean 'every_time'",)),
    "swapped_letters_step_key.yaml": (7, "workspace.journeys.hello.steps[0].wiat", ("did you mean 'wait'",)),
    "cause_prefix.yaml": (6, "expect[0].cause", ("got 'late'", "did you mean 'late_arrival'")),
    "violation_key_never_present.yaml": (6, "expect[0].journey", ("names no journey", "remove journey")),
    "two_latency_models.yaml": (
        3,
        "workspace.sources.backend.latency",
        ("a latency is one model, got batch and uniform: keep one",),
    ),
    "violation_cause_never_carried.yaml": (
        6,
        "expect[0].cause",
        ("a split_identity never has cause late_arrival", "(its causes: identity_split)"),
    ),
    "empty_shopper_id.yaml": (3, "shoppers.ana.id", ("a blank identifier identifies nobody",)),
    "key_not_belonging.yaml": (8, "expect[0].within", ("within does not belong in a segment expectation",)),
    "tab_indent.yaml": (3, "shoppers", ("invalid YAML", "a tab: YAML indents with spaces only")),
    "trigger_reference_in_segment_journey.yaml": (
        9,
        "workspace.journeys.hello.steps[1].update.last.trigger",
        ("segment-triggered journey has no triggering event",),
    ),
    "misspelt_override_name.yaml": (7, "overrides.journeys.helo", ("no journey 'helo'", "did you mean 'hello'")),
    "misspelt_override_source.yaml": (4, "overrides.sources.backnd", ("no step sends through it", "'backend'")),
    # What an override adds is the override's to complete: not blamed on the workspace file.
    "added_segment_without_rule.yaml": (
        5,
        "overrides.segments.lapsed.rule",
        ("missing required key 'rule'", "without_rule.yaml:7:5: overrides.journeys.welcome.trigger"),
    ),
    "indented_too_deep.yaml": (5, "timeline", ("invalid YAML", "quote the value or fix the indent")),
    "copies_zero.yaml": (5, "timeline[0].copies", ("expected a value of at least 1", "got 0")),
    "month_thirteen.yaml": (5, "timeline[0].at", ("'2026-13-01T00:00:00Z'", "month must be in 1..12")),
    "offset_over_a_day.yaml": (5, "timeline[0].at", ("offset from UTC must be under 24 hours",)),
    "negative_offset.yaml": (5, "timeline[0].at", ("cannot be negative", "an instant", "`start:` earlier")),
    "clock_reading_offset.yaml": (5, "timeline[0].at", ("'1:30'", "written 1h30m")),
}
# Files whose one mistake must give exactly one problem.
ONE_PROBLEM = ("reversed_uniform_latency.yaml", "negative_exponential_latency.yaml", "misspelt_frequency.yaml")

# Problems located in another file than the one given to the command.
ELSEWHERE = {"bad_workspace_file.yaml": ("workspace_with_typo.yml", 5, "identity.merge_anonymus", "merge_anonymous")}

LOCATION = re.compile(r"(?P<file>[^\s:]+):(?P<line>\d+):(?P<column>\d+): (?P<path>[^:]*): (?P<message>.*)")
ENGINE_GAPS: dict[str, str] = {}


def test_the_corpus_is_complete() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix == ".yaml"}
    assert on_disk == set(CASES) | set(ELSEWHERE)


def case(name: str) -> object:
    reason = ENGINE_GAPS.get(name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("command", ["run", "check"])
@pytest.mark.parametrize("name", sorted(CASES) + sorted(ELSEWHERE))
def test_exit_2_and_no_traceback(command: str, name: str) -> None:
    result = CliRunner().invoke(main, [command, str(CORPUS / name)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "ERROR" in result.output


@pytest.mark.parametrize("name", [case(n) for n in sorted(CASES)])
def test_the_error_names_file_line_column_path_and_what_was_expected(name: str) -> None:
    line, path, words = CASES[name]
    result = CliRunner().invoke(main, ["check", str(CORPUS / name)])
    located = [m for m in map(LOCATION.search, result.output.splitlines()) if m]
    assert located, result.output
    first = located[0]
    assert first["file"].endswith(name)
    assert int(first["line"]) == line
    assert int(first["column"]) >= 1
    assert first["path"].startswith(path)
    for word in words:
        assert word in result.output


@pytest.mark.parametrize("name", ONE_PROBLEM)
def test_one_mistake_in_a_union_value_is_one_problem(name: str) -> None:
    with pytest.raises(InputError) as info:
        load_plan(CORPUS / name)
    assert len(info.value.problems) == 1, [p.render() for p in info.value.problems]


def test_a_problem_in_the_named_workspace_file_points_at_that_file() -> None:
    target, line, path, hint = ELSEWHERE["bad_workspace_file.yaml"]
    with pytest.raises(InputError) as info:
        load_plan(CORPUS / "bad_workspace_file.yaml")
    (problem,) = info.value.problems
    assert problem.file.endswith(target)
    assert (problem.line, problem.path) == (line, path)
    assert hint in problem.hint


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = """
scenario: two mistakes
shoppers: {ana: {id: cus_1}}
timeline:
  - {at: 0s, who: anna, track: viewed}
expect:
  - {who: ann, profiles: 1}
"""
    with pytest.raises(InputError) as info:
        load_plan_text(text, "two.yaml", tmp_path)
    assert [p.path for p in info.value.problems] == ["timeline[0].who", "expect[0].who"]


def test_an_expectation_with_two_questions_is_refused(tmp_path: Path) -> None:
    text = """
scenario: s
workspace: {journeys: {j: {trigger: {event: go}, steps: [{send: hi}]}}}
shoppers: {ana: {id: cus_1}}
expect:
  - {who: ana, journey: j, entered: 1, sent: [hi]}
"""
    with pytest.raises(InputError) as info:
        load_plan_text(text, "two.yaml", tmp_path)
    assert info.value.problems[0].path.startswith("expect[0]")


def test_a_huge_file_is_refused_quickly(tmp_path: Path) -> None:
    big = tmp_path / "huge.yaml"
    with big.open("w") as fh:
        fh.write("scenario: huge\ndescription: |\n")
        line = "  " + "x" * 1000 + "\n"
        for _ in range(21 * 1024):
            fh.write(line)
    result = CliRunner().invoke(main, ["check", str(big)])
    assert result.exit_code == 2
    assert "larger than" in result.output and "Traceback" not in result.output


def test_one_long_value_repeated_by_aliases_is_refused_at_its_use(tmp_path: Path) -> None:
    # 100 KB written once, used 300 times: 30 MB of text in a 102 KB file (the output
    # of `run` and `timeline --json` would repeat it as often)
    text = (
        "scenario: amplified\n"
        f"description: &long {'x' * 100_000}\n"
        "shoppers: {ana: {id: cus_1}}\n"
        "timeline:\n"
        f"  - {{at: 0s, who: ana, track: viewed, properties: {{junk: [{', '.join(['*long'] * 300)}]}}}}\n"
    )
    (tmp_path / "amplified.yaml").write_text(text)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "amplified.yaml")])
    assert result.exit_code == 2
    assert "aliases expand it past 20 MB" in result.output and "Traceback" not in result.output
    assert "timeline[0].properties.junk[" in result.output
    # a long value used as a key counts the same
    keyed = text.replace(f"junk: [{', '.join(['*long'] * 300)}]", ", ".join(f"*long : {i}" for i in range(1)))
    keyed = keyed.replace(
        "timeline:\n",
        "timeline:\n"
        + "".join(f"  - {{at: {i}s, who: ana, track: viewed, properties: {{*long : 1}}}}\n" for i in range(300)),
    )
    (tmp_path / "keyed.yaml").write_text(keyed)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "keyed.yaml")])
    assert result.exit_code == 2 and "aliases expand it past 20 MB" in result.output, result.output
    # the same value used a few times is fine
    (tmp_path / "fine.yaml").write_text(text.replace(", ".join(["*long"] * 300), "*long, *long"))
    assert CliRunner().invoke(main, ["check", str(tmp_path / "fine.yaml")]).exit_code == 0


def test_a_missing_path_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["run", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_a_bad_file_does_not_stop_the_others_from_running(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("scenario: fine\nshoppers: {ana: {id: cus_1}}\nexpect:\n  - {who: ana, profiles: 0}\n")
    result = CliRunner().invoke(main, ["run", str(good), str(CORPUS / "unknown_shopper.yaml")])
    assert result.exit_code == 2
    assert "1 passed" in result.output and "1 invalid" in result.output


def _refused(tmp_path: Path, text: str, shoppers: bool = True) -> list[Problem]:
    """The problems of a scenario `s` (with shopper ana unless told) whose other keys are `text`."""
    head = "scenario: s\n" + ("shoppers: {ana: {id: a}}\n" if shoppers else "")
    with pytest.raises(InputError) as info:
        load_plan_text(f"{head}{text}\n", "refused.yaml", tmp_path)
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "path", "hint"),
    [
        ("workspace: {identity: {grace: 5m}}", "workspace.identity.grace", "did you mean 'anonymous_grace'?"),
        ("workspace: {checks: {grace: 1h}}", "workspace.checks.grace", "did you mean 'entry_grace'?"),
        ("workspace: {triggers: {retry: 30m}}", "workspace.triggers.retry", "did you mean 'filter_retry'?"),
        ("workspace: {sources: {web: {kind: client, timestamp: none}}}", "", "did you mean 'timestamps'?"),
        ("workspace: {journeys: {j: {trigger: {event: a}, steps: [], exits: goal}}}", "", "did you mean 'exit'?"),
        ("workspace: {segments: {s: {rule: {attribute: v, equals: 1}}}}", "", "did you mean 'eq'?"),
        ("workspace: {segments: {s: {rule: {attribute: v, not_eq: 1}}}}", "", "did you mean 'ne'?"),
        ("workspace: {segments: {s: {rule: {performed: e, count: {min: 1}}}}}", "", "did you mean 'gte'?"),
        ("workspace: {segments: {s: {rule: {segment: x}}}}", "", "did you mean 'in_segment'?"),
        ("workspace: {tracking_plan: {event: {}}}", "", "did you mean 'events'?"),
        ("timeline:\n  - {at: 0m, shopper: ana, track: a}", "timeline[0].shopper", "did you mean 'who'?"),
        ("timeline:\n  - {at: 0m, who: ana, track: a, timestamps: 0s}", "", "did you mean 'timestamp'?"),
        ("timeline:\n  - {at: 0m, who: ana, identify: {attribute: {vip: true}}}", "", "did you mean 'attributes'?"),
        ("expect:\n  - {who: ana, journey: j, exit: goal}", "expect[0].exit", "did you mean 'exited'?"),
        ("expect:\n  - {who: ana, journey: j, extra: 1}", "expect[0].extra", "the keys allowed here: at, cause"),
    ],
)
def test_a_near_miss_key_is_answered_with_the_keys_allowed_where_it_stands(
    tmp_path: Path, text: str, path: str, hint: str
) -> None:
    # Suggestions come from the keys valid at that spot, not from every key of every format.
    problems = _refused(tmp_path, text)
    unknown = [p for p in problems if "unknown key" in p.message]
    assert len(unknown) == 1, [p.render() for p in problems]
    assert unknown[0].path.startswith(path)
    assert unknown[0].hint.startswith(hint)


@pytest.mark.parametrize(
    ("text", "path", "words"),
    [
        # The loader is as strict as the published JSON Schema: no quietly coerced strings or booleans.
        ("timeline:\n  - {at: 0m, who: ana, track: e, copies: '2'}", "timeline[0].copies", ("valid integer",)),
        ("timeline:\n  - {at: 0m, who: ana, track: e, drop: 'true'}", "timeline[0].drop", ("valid boolean",)),
        ("expect:\n  - {who: ana, profiles: true}", "expect[0].profiles", ("valid integer", "True")),
        ("seed: true", "seed", ("valid integer",)),
        ("workspace: {segments: {s: {rule: {performed: e, count: {eq: '1'}}}}}", "workspace.segments", ("integer",)),
        ("workspace: {sources: {w: {kind: client, drop_rate: '0.5'}}}", "workspace.sources.w", ("valid number",)),
        # A bare number where a duration or an instant is written says so, with the unit to add.
        ("workspace: {identity: {anonymous_grace: 5}}", "workspace.identity", ("expected a duration", "5m or 5s")),
        ("workspace: {sources: {w: {kind: server, latency: 90}}}", "workspace.sources.w.latency", ("90m or 90s",)),
        ("timeline:\n  - {at: 0, who: ana, track: e}", "timeline[0].at", ("duration after start", "0m or 0s")),
        ("start: 5", "start", ("expected an ISO-8601 instant",)),
        ("until: 2025-01-01T00:00:00Z", "until", ("until is before start",)),
        # a tiny file must not ask for minutes and gigabytes (SPEC 13: bounded time and memory)
        ("until: 1000w\nworkspace: {rules: {segment_refresh: 1s}}", "until", ("604,800,000 sweeps",)),
        # without `until`, the story lasts until its last arrival and its journeys' waits
        (
            "workspace:\n  rules: {segment_refresh: 1s}\n"
            "  sources: {b: {kind: server, duplicate_rate: 0.5, retry_after: 5d}}\n"
            "timeline:\n  - {at: 0m, who: ana, source: b, track: e, latency: 200d}",
            "workspace.rules.segment_refresh",
            ("205d30m",),  # the arrival, its duplicate 5d later, a held trigger's 30m
        ),
        (
            "workspace: {rules: {segment_refresh: 1s}}\ntimeline:\n  - {at: 0m, who: ana, track: e, latency: 900d}",
            "workspace.rules.segment_refresh",
            ("900d30m", "77,761,800 sweeps", "no `until`"),  # the arrival, then a held trigger's 30m
        ),
        (
            "workspace:\n  rules: {segment_refresh: 1s}\n"
            "  journeys: {j: {trigger: {event: e}, steps: [{wait: 300d}]}}\n"
            "timeline:\n  - {at: 0m, who: ana, track: e}",
            "workspace.rules.segment_refresh",
            ("300d", "sweeps (at most 10,000,000)", "with `until:`"),
        ),
        ("timeline:\n  - {at: 0m, who: ana, device: '', track: e}", "timeline[0].device", ("at least 1 character",)),
        ("timeline:\n  - {at: 0m, who: ana, source: '', track: e}", "timeline[0].source", ("at least 1 character",)),
        ("timeline:\n  - {at: 0m, who: ana, track: e, properties: {n: .nan}}", "timeline[0].properties.n", ("finite",)),
        (
            "timeline:\n  - {at: 0m, who: ana, track: e, properties: {n: 1.0e+999}}",
            "timeline[0].properties.n",
            ("finite",),
        ),
        # A mapping that is none of a union's forms is one problem, naming them.
        (
            "workspace: {sources: {w: {kind: server, latency: {gauss: 5m}}}}",
            "workspace.sources.w.latency.gauss",
            ("unknown key 'gauss'", "batch, exponential, uniform"),
        ),
        (
            "workspace: {journeys: {j: {trigger: {event: e}, frequency: once_per, steps: []}}}",
            "workspace.journeys.j.frequency",
            ("a mapping with the key once_per", "{once_per: ...}"),
        ),
        ("workspace: {journeys: {j: {trigger: ev, steps: []}}}", "workspace.journeys.j.trigger", ("event, segment",)),
        ("timeline:\n  - 5", "timeline[0]", ("expected a mapping", "at, copies")),
        # in segsim's words, not the validation library's
        (
            "expect:\n  - {who: ana, profiles: 1, within: [2d]}",
            "expect[0].within",
            ("expected at least 2 items, got 1",),
        ),
        (
            "workspace: {segments: {a: {rule: {not: []}}}}",
            "workspace.segments.a.rule.not",
            ("expected at least 1 item, got 0",),
        ),
        ("workspace: 42", "workspace", ("expected a workspace file's path or an inline workspace mapping, got 42",)),
    ],
)
def test_a_wrong_value_says_what_was_expected(tmp_path: Path, text: str, path: str, words: tuple[str, ...]) -> None:
    (problem,) = _refused(tmp_path, text)
    assert problem.path.startswith(path), problem.render()
    rendered = problem.render()
    assert "instance of" not in rendered
    for word in words:
        assert word in rendered


def test_a_misspelt_frequency_mapping_key_is_named(tmp_path: Path) -> None:
    text = "scenario: s\nworkspace: {journeys: {j: {trigger: {event: e}, frequency: {once_pr: 1d}, steps: []}}}\n"
    with pytest.raises(InputError) as info:
        load_plan_text(text, "f.yaml", tmp_path)
    assert "did you mean 'once_per'?" in [p.hint for p in info.value.problems]


def test_a_story_in_a_folder_without_its_scenario_key_is_refused_not_skipped(tmp_path: Path) -> None:
    good = "scenario: fine\nshoppers: {ana: {id: a}}\nexpect:\n  - {who: ana, profiles: 0}\n"
    (tmp_path / "good.yaml").write_text(good)
    (tmp_path / "typo.yaml").write_text(good.replace("scenario:", "scenaro:"))
    (tmp_path / "workspace.yaml").write_text("segments: {s: {rule: {performed: e}}}\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "old.yaml").write_text(good.replace("profiles: 0", "profiles: 5"))
    for command in ("run", "check"):
        result = CliRunner().invoke(main, [command, str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert "typo.yaml:1:1: scenaro: unknown key 'scenaro' (did you mean 'scenario'?)" in result.output
        assert "old.yaml" not in result.output and "workspace.yaml" not in result.output


def test_timeline_on_a_folder_is_an_input_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["timeline", str(tmp_path)])
    assert result.exit_code == 2
    assert "this is a folder, not a file" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_blank_scenario_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_plan_text("scenario: '  '\n", "blank.yaml", tmp_path)
    assert [(p.path, p.message.split(":")[0]) for p in info.value.problems] == [("scenario", "a scenario needs a name")]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ('"cart\\x01"', "\\x01"),
        ('"a\\nb"', "\\n"),
        ('"\\u202eevil"', "\\u202e"),
        ('"x\\e[31m"', "\\x1b"),
        ('"a\\u2028b"', "\\u2028"),
        ('"zero\\u200bwidth"', "\\u200b"),
        ('"\\u061cmark"', "\\u061c"),
    ],
)
def test_a_scenario_name_with_control_characters_is_refused(tmp_path: Path, name: str, shown: str) -> None:
    with pytest.raises(InputError) as info:
        load_plan_text(f"scenario: {name}\n", "odd.yaml", tmp_path)
    (problem,) = info.value.problems
    assert problem.path == "scenario" and problem.message.endswith(f"this one holds {shown}"), problem.render()
    # letters of any script, emoji and their joiners are names
    load_plan_text(
        'scenario: "caf\u00e9 \u043a\u043e\u0440\u0437\u0438\u043d\u0430 \U0001f468\u200d\U0001f469"\n',
        "ok.yaml",
        tmp_path,
    )


@pytest.mark.parametrize(
    ("text", "said", "not_said"),
    [
        ("workspace: {sources: {web: {kind: clinet}}}", "did you mean 'client'?", "a mapping"),
        ("workspace: {journeys: {j: {trigger: {event: e}, steps: [{wait: true}]}}}", "expected a duration", "Truem"),
    ],
)
def test_a_plain_choice_or_a_boolean_gets_no_advice_meant_for_others(
    tmp_path: Path, text: str, said: str, not_said: str
) -> None:
    (problem,) = _refused(tmp_path, text, shoppers=False)
    assert said in problem.render() and not_said not in problem.render()


def test_the_union_member_tags_pydantic_writes_are_the_ones_read() -> None:
    # Locations name a union's member by a tag (`function-after[_check_duration(), str]`, `BatchLatency`);
    # the suggestions depend on reading them. A pydantic upgrade that changes them fails here first.
    from pydantic import ValidationError

    from simulator.scenario import schema as s
    from simulator.scenario.model_paths import keys_allowed_at, text_form_at

    for latency in (5, {"gauss": "5m"}):
        with pytest.raises(ValidationError) as info:
            s.Workspace.model_validate({"sources": {"w": {"kind": "server", "latency": latency}}})
        for err in info.value.errors():
            loc = tuple(err["loc"])
            if err["type"] == "string_type":
                assert text_form_at(s.Workspace, loc).startswith("a duration"), loc
            if err["type"] == "extra_forbidden":
                assert keys_allowed_at(s.Workspace, loc), loc


def test_a_huge_value_is_cut_in_its_error(tmp_path: Path) -> None:
    """A 20,000-character name made a 20 KB error line; the location says where it is."""
    text = (
        "timeline:\n  - {at: 0m, who: ana, track: e}\nexpect:\n  - {who: " + "x" * 20_000 + ", entered: 1, journey: j}"
    )
    problems = _refused(tmp_path, text)
    rendered = [p.render() for p in problems]
    assert any("unknown shopper 'xxxx" in r and "...' (20,000 characters)" in r for r in rendered), rendered
    assert all(len(r) < 1000 for r in rendered), rendered
