"""Load scenario and workspace files into a `Plan`, or refuse them with every
problem located (file:line:column, key path, what was expected, a hint)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.model.config import BUILTIN_SOURCES, WorkspaceConfig
from simulator.model.plan import Plan
from simulator.model.time import format_duration, is_duration, parse_duration, parse_instant
from simulator.scenario import schema as s
from simulator.scenario.compile_timeline import compile_expectations, compile_timeline
from simulator.scenario.compile_workspace import compile_workspace
from simulator.scenario.errors import InputError, Problem, closest, did_you_mean, format_path
from simulator.scenario.problems import problems_of, value_at
from simulator.scenario.yamlfile import LINE_KEY, YamlDoc, load_yaml_file, load_yaml_text, top_level_keys

__all__ = [
    "WHOLE",
    "is_scenario_file",
    "looks_like_a_story",
    "load_plan",
    "load_plan_text",
    "load_workspace",
    "merge_overrides",
    "misspells_the_scenario_key",
    "surely_a_story",
    "scenario_name",
]

# Keys replaced as a whole by `overrides` (SPEC section 2).
WHOLE = {
    ("sources", "latency"),
    ("segments", "rule"),
    ("journeys", "trigger"),
    ("journeys", "filter"),
    ("journeys", "goal"),
    ("journeys", "frequency"),
    ("journeys", "steps"),
}


def merge_overrides(base: Any, over: Any, path: tuple[str, ...] = ()) -> Any:
    """Mappings merge key by key (an empty one changes nothing: `sources: {}` keeps
    every source); lists, scalars and the keys of `WHOLE` replace. `null` sets a
    key back to its default (`idempotency_keys: null` clears the guard)."""
    if isinstance(base, dict) and isinstance(over, dict):
        general = (path[0], path[2]) if len(path) == 3 else None
        if general in WHOLE:
            return over
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge_overrides(base[key], value, path + (key,)) if key in base else value
        return merged
    return over


_ABSENT = object()


def _exists(data: Any, path: tuple[object, ...]) -> bool:
    return value_at(data, path, _ABSENT) is not _ABSENT


def _written_by(overrides: Any, path: tuple[object, ...]) -> bool:
    """Did `overrides` write the merged workspace's value at `path` (as
    `merge_overrides` merges): the path itself, or a value on the way that
    replaced whole what was there (a scalar, a list, a key of `WHOLE`)?"""
    node = overrides
    for depth, key in enumerate(path):
        if not isinstance(node, dict):
            return depth > 0
        if key not in node:
            return False
        node = node[key]
        if depth == 2 and (path[0], key) in WHOLE:
            return True
    return True


def _added_by(overrides: Any, base: Any, path: tuple[object, ...]) -> bool:
    """Is `path` inside something `overrides` added, a segment or journey the
    workspace does not have? A key missing there (`rule`) is the override's to
    give, so its problem is the override's."""
    for depth in range(len(path), 0, -1):
        prefix = path[:depth]
        if _exists(overrides, prefix):
            return not _exists(base, prefix)
    return False


def _overridden_entry(overrides: Any, path: tuple[object, ...]) -> tuple[object, ...] | None:
    """The source, segment or journey at `path` when `overrides` change it."""
    if len(path) < 2 or path[0] not in ("sources", "segments", "journeys") or not isinstance(overrides, dict):
        return None
    section = overrides.get(path[0])
    return path[:2] if isinstance(section, dict) and path[1] in section else None


_WORKSPACE_CACHE: dict[tuple[str, int, int], YamlDoc] = {}


def _read_workspace_doc(path: Path) -> YamlDoc:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    doc = _WORKSPACE_CACHE.get(key)
    if doc is None:
        doc = load_yaml_file(path)
        _WORKSPACE_CACHE[key] = doc
    return doc


_SOUND_ALONE: set[int] = set()  # ids of the cached workspace docs found valid on their own (kept alive there)


def _check_alone(doc: YamlDoc) -> None:
    """A workspace file must be valid on its own, whatever a scenario's overrides
    replace: it is the team's workspace (what `lint`, `gate` and `serve` take),
    and a scenario that happens to override its mistake must not hide it."""
    if id(doc) not in _SOUND_ALONE:
        _validate_workspace(doc.data, lambda p, m, h="": doc.problem(p, m, h))
        _SOUND_ALONE.add(id(doc))


def _empty_workspace(doc: YamlDoc) -> InputError:
    """A workspace file with nothing in it: a file never saved, not a workspace (an empty one is written `{}`)."""
    return InputError(
        [
            doc.problem(
                (),
                "the workspace file is empty: nothing but blank lines or comments",
                "a file never saved? A workspace has sources, segments, journeys, ...; "
                "write {} for one with nothing in it",
            )
        ]
    )


def load_workspace(path: Path | str) -> tuple[WorkspaceConfig, s.Workspace]:
    doc = load_yaml_file(path)
    if doc.data is None:
        raise _empty_workspace(doc)
    data = doc.data
    if not isinstance(data, dict):
        raise InputError(
            [doc.problem((), "a workspace file is a mapping of keys (sources, identity, segments, journeys, ...)")]
        )
    if "scenario" in data:
        uses = data.get("workspace")
        hint = "pass a workspace file; scenario files are run with segsim run"
        if isinstance(uses, str):
            hint = f"pass the workspace it uses: {os.path.normpath(Path(path).parent / uses)}"
        raise InputError(
            [doc.problem(("scenario",), "this is a scenario file, where a workspace file is expected", hint)]
        )
    story = sorted(k for k in _STORY_KEYS if k in data)
    if story:
        misspelt = _no_scenario_key(doc)
        if misspelt.hint.startswith("did you mean"):
            raise InputError([misspelt])
        raise InputError(
            [
                doc.problem(
                    (story[0],),
                    f"this file has {', '.join(story)} but no 'scenario' key, so it was read as a workspace",
                    "a scenario file starts with scenario: NAME",
                )
            ]
        )
    return _validate_workspace(data, lambda p, m, h="": doc.problem(p, m, h))


# What a segment or journey that overrides add (rather than change) must have.
_NEW_NEEDS = {"segments": ("rule",), "journeys": ("trigger",)}


def _near_miss_overrides(
    base: dict[str, Any], overrides: dict[str, Any], data: dict[str, Any], doc: YamlDoc
) -> list[Problem]:
    """Overrides that add a source, segment or journey named like one the
    workspace has (`backnd`, `j_frist`), and could not be meant as a new one
    (a source no step sends through, a segment without a rule, a journey
    without a trigger): a misspelt name, not a silent new entry."""
    problems: list[Problem] = []
    timeline = data.get("timeline")
    steps: list[Any] = timeline if isinstance(timeline, list) else []
    for section in ("sources", "segments", "journeys"):
        added, known = overrides.get(section), base.get(section) or {}
        if not isinstance(added, dict) or not isinstance(known, dict):
            continue
        names = [k for k in known if isinstance(k, str)] + (list(BUILTIN_SOURCES) if section == "sources" else [])
        for name, value in added.items():
            if not isinstance(name, str) or name in names:
                continue
            hint = did_you_mean(name, names)
            if not hint.startswith("did you mean"):
                continue
            if section == "sources":
                if any(isinstance(step, dict) and step.get("source") == name for step in steps):
                    continue
                what = "no step sends through it"
            else:
                needs = [k for k in _NEW_NEEDS[section] if not (isinstance(value, dict) and k in value)]
                if not needs:
                    continue
                what = f"a new one needs {' and '.join(needs)}"
            kind = section[:-1]
            message = f"the workspace has no {kind} {name!r}, and this is no new {kind}: {what}"
            problems.append(doc.problem(("overrides", section, name), message, hint))
    return problems


def _near_file(path: Path, scenario: Path) -> str:
    """A YAML file beside `path` whose name is a near miss of it (`WS.yaml`,
    `ws.yml`), other than the scenario itself."""
    try:
        names = [
            p.name
            for p in path.parent.iterdir()
            if p.suffix in (".yaml", ".yml") and p.is_file() and not is_scenario_file(p) and p != scenario
        ]
    except OSError:
        return ""
    folded = {name.lower().replace(".yml", ".yaml"): name for name in names}
    same = folded.get(path.name.lower().replace(".yml", ".yaml"))
    if same is not None:
        return same
    near = closest(path.name, names)
    return near[0] if len(near) == 1 else ""


def _no_scenario_key(doc: YamlDoc) -> Problem:
    """The problem of a file read as a scenario that has no `scenario` key:
    a misspelt key named, else the key missing."""
    data = doc.data
    if not isinstance(data, dict):
        return doc.problem((), "a scenario file is a mapping with a top-level 'scenario: NAME' key")
    for key in data:
        if isinstance(key, str) and did_you_mean(key, ["scenario"]).startswith("did you mean"):
            return doc.problem((key,), f"unknown key {key!r}", "did you mean 'scenario'?")
    workspace_keys = sorted(k for k in data if k in _WORKSPACE_KEYS)
    if workspace_keys and not any(k in data for k in _STORY_KEYS):
        return doc.problem(
            (),
            f"this is a workspace file ({', '.join(workspace_keys)}), where a scenario file is expected",
            "a scenario names it with workspace: PATH; check the workspace itself with segsim check",
        )
    return doc.problem((), "missing required key 'scenario'", "a scenario file starts with scenario: NAME")


def _validate_workspace(data: dict[str, Any], locate: Any) -> tuple[WorkspaceConfig, s.Workspace]:
    try:
        model = s.Workspace.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_of(exc, data, locate, s.Workspace)) from None
    config, problems = compile_workspace(model, locate)
    if problems:
        raise InputError(problems)
    return config, model


# Top-level keys only a scenario file has: a file holding one without a
# `scenario:` key is a scenario whose name key is missing or misspelt.
_STORY_KEYS = ("shoppers", "timeline", "expect", "workspace", "overrides", "until")
# A workspace's own keys (`description` is a scenario's too).
_WORKSPACE_KEYS = tuple(f.alias or n for n, f in s.Workspace.model_fields.items() if n != "description")


def _has_a_line(path: Path, keys: tuple[str, ...]) -> bool:
    """A `.yaml`/`.yml` file with a line starting with one of `keys` (cheap: no YAML parsed)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            return any((key := LINE_KEY.match(line)) is not None and key.group(1) in keys for line in fh)
    except OSError:
        return False


def _has_a_top_level_key(path: Path, keys: tuple[str, ...]) -> bool:
    if path.suffix not in (".yaml", ".yml"):
        return False
    top = top_level_keys(path)
    if top is None:  # not readable as YAML: its lines decide, and loading it says what is wrong
        return _has_a_line(path, keys)
    return any(key in top for key in keys)


def is_scenario_file(path: Path) -> bool:
    """A `.yaml`/`.yml` file with a top-level `scenario` key (in its first document)."""
    return _has_a_top_level_key(path, ("scenario",))


def looks_like_a_story(path: Path) -> bool:
    """A `.yaml`/`.yml` file with a top-level key only scenarios have
    (`scenario`, shoppers, a timeline, expectations, ...): a scenario, or one
    whose name key is missing or misspelt, to be refused rather than skipped."""
    return _has_a_top_level_key(path, ("scenario", *_STORY_KEYS))


def surely_a_story(path: Path) -> bool:
    """What pytest collects from every folder it walks: a file with a top-level
    `scenario` key, or a story whose name key is misspelt (`scenrio:`) or
    missing beside two of `shoppers`, `timeline`, `expect`, `overrides` and a
    `workspace:` naming a YAML file (or written inline). A single such key
    (`expect:` in an HTTP test's fixture, `timeline:` in a roadmap) is not
    enough outside the folders given to `segsim run`."""
    top = top_level_keys(path) if path.suffix in (".yaml", ".yml") else None
    if top is None:
        return looks_like_a_story(path)  # not readable as YAML: loading it says what is wrong
    if "scenario" in top or misspells_the_scenario_key(path):
        return True
    workspace = top.get("workspace", "")  # None: a mapping (an inline workspace)
    names_one = "workspace" in top and (workspace is None or str(workspace).endswith((".yaml", ".yml")))
    return names_one + sum(key in top for key in ("shoppers", "timeline", "expect", "overrides")) >= 2


def misspells_the_scenario_key(path: Path) -> bool:
    """A story file whose `scenario` key is misspelt (`scenrio:`): an error to
    show wherever scenarios are collected, never a file silently passed over."""
    top = top_level_keys(path) if path.suffix in (".yaml", ".yml") else None
    if not top or "scenario" in top or not any(key in top for key in _STORY_KEYS):
        return False
    return any(isinstance(key, str) and did_you_mean(key, ["scenario"]).startswith("did you mean") for key in top)


def scenario_name(path: Path) -> str | None:
    """The scenario's name as its file writes it, read without validating the file."""
    name = (top_level_keys(path) or {}).get("scenario")
    return name if isinstance(name, str) and name.strip() and name not in ("null", "Null", "NULL", "~") else None


def load_plan(path: Path | str) -> Plan:
    doc = load_yaml_file(path)
    return _plan(doc, Path(path))


def load_plan_text(text: str, file: str = "<scenario>", base: Path | None = None) -> Plan:
    doc = load_yaml_text(text, file)
    plan = _plan(doc, base / "scenario.yaml" if base else Path(file), inline=True)
    plan.file = file  # its name in messages: there is no file
    return plan


def _plan(doc: YamlDoc, path: Path, inline: bool = False) -> Plan:
    data = doc.data
    if not isinstance(data, dict) or "scenario" not in data:
        raise InputError([_no_scenario_key(doc)])
    try:
        model = s.Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_of(exc, data, doc.problem, s.Scenario)) from None

    # The workspace: a file next to the scenario, or inline, plus overrides.
    ws_doc: YamlDoc | None = None
    raw_ws: Any = data.get("workspace") or {}
    if isinstance(model.workspace, str):
        ws_path = path.parent / model.workspace
        if not ws_path.is_file():
            what = "not a regular file" if ws_path.exists() else "workspace file not found"
            hint = (
                f"an inline scenario's path is relative to {path.parent}: its base, the working directory by default"
                if inline
                else "the path is relative to the scenario file"
            )
            near = _near_file(ws_path, path)
            if near:
                hint = f"did you mean {near!r}? {hint}"
            raise InputError([doc.problem(("workspace",), f"{what}: {ws_path}", hint)])
        ws_doc = _read_workspace_doc(ws_path)
        if ws_doc.data is None:
            raise _empty_workspace(ws_doc)
        raw_ws = ws_doc.data
        if not isinstance(raw_ws, dict):
            raise InputError([ws_doc.problem((), "a workspace file is a mapping of keys")])
        if "scenario" in raw_ws:
            itself = ws_path.resolve() == path.resolve()
            what = "this scenario file itself" if itself else f"a scenario file ({model.workspace})"
            hint = "name the workspace file (sources, identity, segments, journeys), or write the workspace inline"
            uses = raw_ws.get("workspace")
            if not itself and isinstance(uses, str):
                hint = f"name the workspace that scenario uses: {os.path.normpath(Path(model.workspace).parent / uses)}"
            raise InputError([doc.problem(("workspace",), f"this names {what}, not a workspace file", hint)])
    overrides = data.get("overrides") or {}
    merged = merge_overrides(raw_ws, overrides) if overrides else raw_ws

    def locate(p: tuple[object, ...], message: str, hint: str = "") -> Problem:
        if overrides and (_written_by(overrides, p) or _added_by(overrides, raw_ws, p)):
            return doc.problem(("overrides",) + p, message, hint)
        entry = _overridden_entry(overrides, p)
        if entry is not None:
            # What the override changed beside this key may be what made it wrong.
            line, _ = doc.mark(("overrides",) + entry)
            where = f"this scenario's overrides change {format_path(entry)} ({doc.file}:{line})"
            hint = f"{hint}; {where}" if hint else where
        if ws_doc is not None:
            return ws_doc.problem(p, message, hint)
        return doc.problem(("workspace",) + p, message, hint)

    if isinstance(overrides, dict) and isinstance(raw_ws, dict):
        misses = _near_miss_overrides(raw_ws, overrides, data, doc)
        if misses:
            raise InputError(misses)
    if overrides and ws_doc is not None:
        _check_alone(ws_doc)
    config, ws_model = _validate_workspace(merged, locate)

    start = parse_instant(model.start)

    def moment(text: str) -> int:
        return start + parse_duration(text) if is_duration(text) else parse_instant(text)

    problems: list[Problem] = []
    shoppers, sends = compile_timeline(model, config, moment, doc, problems)
    expectations = compile_expectations(model, ws_model, config, shoppers, moment, doc, problems)
    if problems:
        raise InputError(problems)
    until = moment(model.until) if model.until is not None else None
    if until is not None and until < start:
        raise InputError([doc.problem(("until",), "until is before start: nothing would be simulated")])
    _check_sweeps(config, start, until, sends, expectations, doc, data)
    if until is not None:
        # nothing after `until` is simulated: an instant past it could never be checked (a `within`
        # span past it is read up to `until`: what it asks about the story is still answered)
        late = [
            doc.problem(
                ("expect", e.index, "at"),
                "this instant is after the scenario's `until`",
                "check it at or before `until`, or move `until` later",
            )
            for e in expectations
            if e.at is not None and e.at > until
        ]
        if late:
            raise InputError(late)
    return Plan(
        model.scenario, str(path), start, model.seed, until, config, shoppers, sends, expectations, model.description
    )


# Segment sweeps a story may ask for (`rules.segment_refresh` over its span):
# past this, a short file would take minutes and gigabytes. A story without
# `until` has its end estimated from above (every window and journey wait after
# its last arrival, whether or not anything reaches them), so it gets more room.
MAX_SWEEPS = 1_000_000
MAX_ESTIMATED_SWEEPS = 10 * MAX_SWEEPS


def _check_sweeps(
    config: WorkspaceConfig,
    start: int,
    until: int | None,
    sends: list[Any],
    expectations: list[Any],
    doc: YamlDoc,
    data: Any,
) -> None:
    refresh = config.segment_refresh
    if not refresh:
        return
    end = until if until is not None else _latest_end(config, start, sends, expectations)
    end = max([end, *(send.at for send in sends)])
    sweeps = (end - start) // refresh
    most = MAX_SWEEPS if until is not None else MAX_ESTIMATED_SWEEPS
    if sweeps > most:
        lasts = (
            "lasts"
            if until is not None
            else "can last (no `until`: the last send's latest arrival or the latest `at` or `within` end "
            "of an expectation, then windows and journey waits)"
        )
        raise InputError(
            [
                doc.problem(
                    ("until",) if until is not None else _refresh_key(data),
                    f"rules.segment_refresh every {format_duration(refresh)} over the {format_duration(end - start)} "
                    f"the story {lasts} is {sweeps:,} sweeps (at most {most:,})",
                    "refresh less often, or end the story sooner with `until:`",
                )
            ]
        )


def _refresh_key(data: Any) -> tuple[str, ...]:
    """Where this scenario sets `rules.segment_refresh` (its overrides, its inline
    workspace), else its `workspace` key (the file it names sets it)."""
    for where in ("overrides", "workspace"):
        if value_at(data, (where, "rules", "segment_refresh")) is not None:
            return (where, "rules", "segment_refresh")
    return ("workspace",) if "workspace" in data else ()


def _latest_end(config: WorkspaceConfig, start: int, sends: list[Any], expectations: list[Any]) -> int:
    """When a story without `until` ends at the latest: its last send arrived
    (the worst latency; 40 means for an exponential one) or reached its
    timestamp, its last expectation, then the longest time window closing and
    the longest journey run (every wait and `wait_until` of every path)."""
    from simulator.platform.rules import longest_waits

    last = start
    for send in sends:
        source = config.source(send.source)
        worst = send.latency
        if worst is None:
            model = source.latency
            worst = model.worst_case if model.worst_case is not None else 40 * model.a
        retry = send.retry_after if send.retry_after is not None else source.retry_after
        copies = (send.copies or 1) - 1 + (1 if source.duplicate_rate else 0)  # a duplicate comes a retry later
        last = max(last, send.at + worst + copies * retry, send.timestamp or start)
    last = max([last, *(e.at for e in expectations if getattr(e, "at", None) is not None)])
    last = max([last, *(e.within[1] for e in expectations if getattr(e, "within", None) is not None)])
    longest_window, longest_run = longest_waits(config)
    return last + longest_window + config.filter_retry + longest_run
