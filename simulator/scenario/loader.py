"""Load scenario and workspace files into a `Plan`, or refuse them with every
problem located (file:line:column, key path, what was expected, a hint)."""

from __future__ import annotations

import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from simulator.model.config import WorkspaceConfig
from simulator.model.plan import Plan
from simulator.model.time import is_duration, parse_duration, parse_instant
from simulator.scenario import schema as s
from simulator.scenario.compile_timeline import compile_expectations, compile_timeline
from simulator.scenario.compile_workspace import compile_workspace
from simulator.scenario.errors import InputError, Problem, did_you_mean
from simulator.scenario.yamlfile import YamlDoc, load_yaml_file, load_yaml_text

__all__ = [
    "is_scenario_file",
    "looks_like_a_story",
    "load_plan",
    "load_plan_text",
    "load_workspace",
    "merge_overrides",
]

# Keys replaced as a whole by `overrides` (SPEC section 2).
_WHOLE = {
    ("sources", "latency"),
    ("segments", "rule"),
    ("journeys", "trigger"),
    ("journeys", "filter"),
    ("journeys", "goal"),
    ("journeys", "frequency"),
    ("journeys", "steps"),
}


def _field_names(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[str]:
    if model in seen:
        return set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        for arg in _model_args(info.annotation):
            names |= _field_names(arg, seen)
    return names


def _model_args(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_model_args(arg))
    return found


_KNOWN_KEYS = sorted(_field_names(s.Scenario, set()))


def _members(annotation: Any) -> list[Any]:
    """A type with `Optional`, unions and `Annotated` opened: its members."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _tagged(annotation: Any) -> list[Any]:
    """A type's union members, each `Annotated` kept whole (its validators name it in locations)."""
    if get_origin(annotation) in (Union, UnionType):
        return [m for arg in get_args(annotation) for m in _tagged(arg)]
    return [annotation]


def _union_tag(member: Any) -> str | None:
    """How pydantic names a union member in a location: a model's class name,
    or `function-after[check(), base]` for a type with an after-validator."""
    if get_origin(member) is Annotated:
        base = _union_tag(get_args(member)[0])
        for meta in reversed(member.__metadata__):
            func = getattr(meta, "func", None)
            if func is not None:
                base = f"function-after[{func.__name__}(), {base}]"
        return base
    if isinstance(member, type) and issubclass(member, BaseModel):
        validators = member.__pydantic_decorators__.model_validators
        name = member.__name__
        for dec in validators.values():
            if dec.info.mode == "after":
                name = f"function-after[{dec.func.__name__}(), {name}]"
        return name
    return getattr(member, "__name__", None)


def _inside(annotation: Any, part: object) -> list[Any]:
    """The types a location part leads to from `annotation` (a union member
    named by its tag, a field of a model, a value of a mapping, an item of a list)."""
    named = [m for m in _tagged(annotation) if _union_tag(m) == part]
    if named:
        return named
    out: list[Any] = []
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, info in member.model_fields.items():
                if part in (name, info.alias):
                    # pydantic keeps a field's own Annotated metadata apart: put it back
                    out.append(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)
        elif get_origin(member) is dict and isinstance(part, str):
            out.append(get_args(member)[1])
        elif get_origin(member) is list and isinstance(part, int):
            out.append(get_args(member)[0])
    return out


def _keys_allowed_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the mapping holding `loc`'s last part may have (empty when unknown)."""
    types: list[Any] = [root]
    for part in loc[:-1]:
        types = [t for current in types for t in _inside(current, part)]
    return sorted(
        {
            info.alias or name
            for t in types
            for m in _members(t)
            if isinstance(m, type) and issubclass(m, BaseModel)
            for name, info in m.model_fields.items()
        }
    )


def _text_form_at(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """What a text value at `loc` is expected to be, when it is one of the
    file formats' written forms (a duration, an instant)."""
    types: list[Any] = [root]
    for part in loc:
        types = [t for current in types for t in _inside(current, part)]
    checks: set[Any] = set()
    pending = list(types)
    while pending:
        t = pending.pop()
        if get_origin(t) is Annotated:
            checks |= {getattr(m, "func", None) for m in t.__metadata__}
            pending.append(get_args(t)[0])
        elif get_origin(t) in (Union, UnionType):
            pending.extend(get_args(t))
    for check, text in s.TEXT_FORMS:
        if check in checks:
            return text
    return ""


# Words people write for a key by another name (kept only where that key is allowed).
_SYNONYMS = {
    "equals": "eq",
    "equal": "eq",
    "is": "eq",
    "not_eq": "ne",
    "neq": "ne",
    "not_equal": "ne",
    "not_equals": "ne",
    "greater_than": "gt",
    "min": "gte",
    "max": "lte",
    "at_least": "gte",
    "at_most": "lte",
    "less_than": "lt",
    "shopper": "who",
    "user": "who",
    "time": "at",
    "when": "at",
    "exit": "exited",
    "exits": "exit",
    "segment": "in_segment",
}


def _suggest_key(word: str, allowed: list[str]) -> str:
    """`did you mean` among the keys allowed where `word` stands: a synonym,
    a near spelling, or the one allowed key `word` is a part of (`grace` for
    `anonymous_grace`)."""
    if _SYNONYMS.get(word) in allowed:
        return f"did you mean {_SYNONYMS[word]!r}?"
    hint = did_you_mean(word, allowed)
    if hint.startswith("did you mean"):
        return hint
    parts = [key for key in allowed if word in key.split("_")]
    if len(parts) == 1:
        return f"did you mean {parts[0]!r}?"
    return ""


def _indexes_data(data: Any, loc: tuple[Any, ...]) -> list[bool]:
    """For each part of a pydantic location: does it index into the data (a
    key, a list index, or a missing or unknown key's name)? The other parts
    name a union member (a type or a validator, such as `UniformLatency`)."""
    out: list[bool] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        elif isinstance(current, dict) and _is_key_name(part):
            current = None  # a missing or unknown key: name it
        else:
            out.append(False)
            continue
        out.append(True)
    return out


def _data_path(data: Any, loc: tuple[Any, ...]) -> tuple[object, ...]:
    """Keep the parts of a pydantic location that index into the data."""
    return tuple(part for part, data_part in zip(loc, _indexes_data(data, loc), strict=True) if data_part)


_TYPE_TAGS = {"str", "int", "bool", "float", "none", "list", "dict", "is-instance"}


def _indexes_data_part(part: object) -> bool:
    """A location part that is a key or an index, not a union member's tag
    (`literal['every_time','once']`, `OncePer`, `function-after[...]`)."""
    return isinstance(part, int) or _is_key_name(part)


def _is_key_name(part: object) -> bool:
    return (
        isinstance(part, str) and part not in _TYPE_TAGS and "[" not in part and "-" not in part and part[:1].islower()
    )


def _member_score(depth: int, errs: list[Any]) -> tuple[int, int, int]:
    """How far the data is from one union member: refused outright (the wrong
    type), then keys missing or not allowed right under it, then the errors."""
    wrong_type = any(
        len(e["loc"]) == depth + 1
        and (str(e["type"]).endswith("_type") or (e["type"] == "literal_error" and not isinstance(e["input"], str)))
        for e in errs
    )
    shape = sum(1 for e in errs if len(e["loc"]) == depth + 2 and e["type"] in ("missing", "extra_forbidden"))
    return (int(wrong_type), shape, len(errs))


def _closest_members(errors: list[Any], data: Any) -> list[Any]:
    """Pydantic reports a value that matches no member of a union once per
    member. Keep the errors of the member the data is closest to (`uniform:
    [2m, 1s]` is a uniform latency with min > max, not an exponential latency
    missing its key), shallowest union first; ties keep every tied member."""
    while True:
        groups: dict[tuple[Any, ...], dict[Any, list[Any]]] = {}
        for err in errors:
            loc = tuple(err["loc"])
            for i in (i for i, data_part in enumerate(_indexes_data(data, loc)) if not data_part):
                groups.setdefault(loc[:i], {}).setdefault(loc[i], []).append(err)
        for prefix in sorted(groups, key=len):
            members = groups[prefix]
            if len(members) < 2:
                continue
            scores = {tag: _member_score(len(prefix), errs) for tag, errs in members.items()}
            best = min(scores.values())
            dropped = {id(e) for tag, errs in members.items() if scores[tag] != best for e in errs}
            if dropped:
                errors = [e for e in errors if id(e) not in dropped]
                break
        else:
            return errors


_QUOTED = re.compile(r"'([^']*)'")


def _explain(err: Any, missing_beside: list[str], root: type[BaseModel]) -> tuple[str, str]:
    kind = err["type"]
    msg = str(err["msg"])
    loc = err["loc"]
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        if missing_beside:
            hint = did_you_mean(str(last), missing_beside)
            if hint.startswith("did you mean"):
                return f"unknown key {last!r}", hint
        allowed = _keys_allowed_at(root, tuple(loc))
        if allowed:
            hint = _suggest_key(str(last), allowed)
            if hint:
                return f"unknown key {last!r}", hint
            if last in _KNOWN_KEYS:
                return f"key {last!r} is not allowed here", "it belongs elsewhere: check the indentation and nesting"
            return f"unknown key {last!r}", "the keys allowed here: " + ", ".join(allowed)
        if last in _KNOWN_KEYS:
            return f"key {last!r} is not allowed here", "it belongs elsewhere: check the indentation and nesting"
        return f"unknown key {last!r}", did_you_mean(str(last), _KNOWN_KEYS)
    if kind == "missing":
        return f"missing required key {last!r}", ""
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if msg.startswith("Assertion failed, "):
        msg = msg[len("Assertion failed, ") :]
    got = err.get("input")
    if kind in ("literal_error", "enum"):
        expected = _QUOTED.findall(str((err.get("ctx") or {}).get("expected", "")))
        hint = did_you_mean(str(got), expected) if isinstance(got, str) and expected else ""
        # a union of these words and mappings (`frequency: once | {once_per: 7d}`)
        tagged = len(loc) > 1 and not _indexes_data_part(loc[-1])
        keys = _keys_allowed_at(root, (*loc[:-1], "")) if tagged else []
        if keys:
            msg += " or a mapping with the key " + " or ".join(keys)
            if got in keys:
                hint = f"{got} takes a value: {{{got}: ...}}"
        return f"{msg[:1].lower()}{msg[1:]}, got {got!r}", hint if hint.startswith(("did you mean", *keys)) else ""
    if kind == "string_type":
        form = _text_form_at(root, tuple(loc))
        if form:
            number = isinstance(got, int | float) and not isinstance(got, bool)
            unit = f"a number needs its unit: {got}m or {got}s" if number else ""
            return f"expected {form}, got {got!r}", unit if "duration" in form else ""
    if kind == "model_type":
        keys = _keys_allowed_at(root, (*loc, ""))
        return f"expected a mapping, got {got!r}", ("with keys among: " + ", ".join(keys)) if keys else ""
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{msg.lower()}, got {got!r}", ""
    return msg, ""


def _tied_mapping_members(errors: list[Any], data: Any, locate: Any) -> tuple[list[Any], list[Problem]]:
    """A mapping that is none of a union's mapping forms, equally far from
    each (`latency: {gauss: 5m}`: no `uniform`, `exponential` or `batch`
    key), is one problem: its unknown key, with the forms' keys to choose from."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        tags = [i for i, data_part in enumerate(_indexes_data(data, loc)) if not data_part]
        if tags and tags[-1] == len(loc) - 2 and err["type"] in ("missing", "extra_forbidden"):
            groups.setdefault(loc[: tags[-1]], []).append(err)
    problems: list[Problem] = []
    dropped: set[int] = set()
    for prefix, errs in groups.items():
        keys = sorted({str(e["loc"][-1]) for e in errs if e["type"] == "missing"})
        if len({e["loc"][-2] for e in errs}) < 2 or len(keys) < 2:
            continue
        path = _data_path(data, prefix)
        unknown = sorted({str(e["loc"][-1]) for e in errs if e["type"] == "extra_forbidden"})
        forms = "one of the keys " + ", ".join(keys)
        if unknown:
            for key in unknown:
                hint = did_you_mean(key, keys)
                hint = hint if hint.startswith("did you mean") else ""
                problems.append(locate(path + (key,), f"unknown key {key!r}, expected {forms}", hint))
        else:
            problems.append(locate(path, f"expected {forms}"))
        dropped |= {id(e) for e in errs}
    return [e for e in errors if id(e) not in dropped], problems


def problems_of(exc: ValidationError, data: Any, locate: Any, root: type[BaseModel]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[object, ...]] = set()
    every = exc.errors()
    errors = _closest_members(list(every), data)
    # Keys a mapping lacks, by the data path of the mapping: an unknown key
    # beside them is most likely one of them misspelt (`wiat` for `wait`).
    missing: dict[tuple[object, ...], list[str]] = {}
    for err in every:
        if err["type"] == "missing" and err["loc"]:
            missing.setdefault(_data_path(data, tuple(err["loc"]))[:-1], []).append(str(err["loc"][-1]))
    errors, merged = _tied_mapping_members(errors, data, locate)
    problems.extend(merged)
    # Within a union, pydantic reports one error per member; keep the deepest per path.
    for err in sorted(errors, key=lambda e: -len(e["loc"])):
        path = _data_path(data, tuple(err["loc"]))
        message, hint = _explain(err, missing.get(path[:-1], []), root)
        key = path
        if key in seen:
            continue
        if any(key == other[: len(key)] for other in seen):
            continue
        seen.add(key)
        problems.append(locate(path, message, hint))
    problems.sort(key=lambda p: (p.file, p.line, p.column))
    return problems


def merge_overrides(base: Any, over: Any, path: tuple[str, ...] = ()) -> Any:
    """Mappings merge key by key; lists, scalars and the keys of `_WHOLE` replace.
    An empty mapping replaces too (`idempotency_keys: {}` clears the guard): merged
    key by key it would change nothing."""
    if isinstance(base, dict) and isinstance(over, dict) and over:
        general = (path[0], path[2]) if len(path) == 3 else None
        if general in _WHOLE:
            return over
        merged = dict(base)
        for key, value in over.items():
            merged[key] = merge_overrides(base[key], value, path + (key,)) if key in base else value
        return merged
    return over


def _exists(data: Any, path: tuple[object, ...]) -> bool:
    current = data
    for part in path:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
        else:
            return False
    return True


_WORKSPACE_CACHE: dict[tuple[str, int, int], YamlDoc] = {}


def _read_workspace_doc(path: Path) -> YamlDoc:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    doc = _WORKSPACE_CACHE.get(key)
    if doc is None:
        doc = load_yaml_file(path)
        _WORKSPACE_CACHE[key] = doc
    return doc


def load_workspace(path: Path | str) -> tuple[WorkspaceConfig, s.Workspace]:
    doc = load_yaml_file(path)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise InputError(
            [doc.problem((), "a workspace file is a mapping of keys (sources, identity, segments, journeys, ...)")]
        )
    story = sorted(k for k in ("shoppers", "timeline", "expect", "workspace", "overrides", "until") if k in data)
    if story and "scenario" not in data:
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


def _no_scenario_key(doc: YamlDoc) -> Problem:
    """The problem of a file read as a scenario that has no `scenario` key:
    a misspelt key named, else the key missing."""
    data = doc.data
    if not isinstance(data, dict):
        return doc.problem((), "a scenario file is a mapping with a top-level 'scenario: NAME' key")
    for key in data:
        if isinstance(key, str) and did_you_mean(key, ["scenario"]).startswith("did you mean"):
            return doc.problem((key,), f"unknown key {key!r}", "did you mean 'scenario'?")
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


# `scenario:` at the top level, in block style or as the first key of a flow mapping.
_SCENARIO_KEY = re.compile(r"""^(\{\s*)?["']?scenario["']?\s*:""")


def is_scenario_file(path: Path) -> bool:
    """A `.yaml`/`.yml` file with a top-level `scenario` key (cheap, line based)."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            for line in fh:
                if _SCENARIO_KEY.match(line):
                    return True
    except OSError:
        return False
    return False


# A top-level key only a scenario file has, at the start of a line.
_STORY_KEY = re.compile(r"""^["']?(shoppers|timeline|expect|overrides|until)["']?\s*:""")


def looks_like_a_story(path: Path) -> bool:
    """A `.yaml`/`.yml` file without a `scenario` key that still holds a story
    (shoppers, a timeline, expectations): a scenario whose name key is missing
    or misspelt, to be refused rather than skipped."""
    if path.suffix not in (".yaml", ".yml"):
        return False
    try:
        with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
            return any(_STORY_KEY.match(line) for line in fh)
    except OSError:
        return False


def load_plan(path: Path | str) -> Plan:
    doc = load_yaml_file(path)
    return _plan(doc, Path(path))


def load_plan_text(text: str, file: str = "<scenario>", base: Path | None = None) -> Plan:
    doc = load_yaml_text(text, file)
    return _plan(doc, base / "scenario.yaml" if base else Path(file))


def _plan(doc: YamlDoc, path: Path) -> Plan:
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
            raise InputError(
                [
                    doc.problem(
                        ("workspace",),
                        f"{what}: {ws_path}",
                        "the path is relative to the scenario file",
                    )
                ]
            )
        ws_doc = _read_workspace_doc(ws_path)
        raw_ws = ws_doc.data if ws_doc.data is not None else {}
        if not isinstance(raw_ws, dict):
            raise InputError([ws_doc.problem((), "a workspace file is a mapping of keys")])
    overrides = data.get("overrides") or {}
    merged = merge_overrides(raw_ws, overrides) if overrides else raw_ws

    def locate(p: tuple[object, ...], message: str, hint: str = "") -> Problem:
        if overrides and _exists(overrides, p[:1]) and _exists(overrides, p[:2] if len(p) > 1 else p):
            return doc.problem(("overrides",) + p, message, hint)
        if ws_doc is not None:
            return ws_doc.problem(p, message, hint)
        return doc.problem(("workspace",) + p, message, hint)

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
    if until is not None:
        late = [e for e in expectations if e.at is not None and e.at > until]
        if late:
            raise InputError(
                [
                    doc.problem(
                        ("expect", e.index, "at"),
                        "this instant is after the scenario's `until`",
                        "check it at or before `until`, or move `until` later",
                    )
                    for e in late
                ]
            )
    return Plan(
        model.scenario, str(path), start, model.seed, until, config, shoppers, sends, expectations, model.description
    )
