"""A pydantic validation error told as problems people can act on: one per
mistake, located in the file, saying what was expected, with a suggestion."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError

from simulator.scenario.errors import Problem, did_you_mean
from simulator.scenario.model_paths import (
    KNOWN_KEYS,
    data_path,
    indexes_data,
    indexes_data_part,
    keys_allowed_at,
    suggest_key,
    text_form_at,
)

__all__ = ["problems_of", "value_at"]


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
            for i in (i for i, data_part in enumerate(indexes_data(data, loc)) if not data_part):
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
_BOUNDS = {
    "greater_than_equal": ("ge", "of at least"),
    "greater_than": ("gt", "above"),
    "less_than_equal": ("le", "of at most"),
    "less_than": ("lt", "below"),
}


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
        allowed = keys_allowed_at(root, tuple(loc))
        if allowed:
            hint = suggest_key(str(last), allowed)
            if hint:
                return f"unknown key {last!r}", hint
            if last in KNOWN_KEYS:
                return f"key {last!r} is not allowed here", "it belongs elsewhere: check the indentation and nesting"
            return f"unknown key {last!r}", "the keys allowed here: " + ", ".join(allowed)
        if last in KNOWN_KEYS:
            return f"key {last!r} is not allowed here", "it belongs elsewhere: check the indentation and nesting"
        return f"unknown key {last!r}", did_you_mean(str(last), KNOWN_KEYS)
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
        tagged = len(loc) > 1 and not indexes_data_part(loc[-1])
        keys = keys_allowed_at(root, (*loc[:-1], "")) if tagged else []
        if keys:
            msg += " or a mapping with the key " + " or ".join(keys)
            if got in keys:
                hint = f"{got} takes a value: {{{got}: ...}}"
        return f"{msg[:1].lower()}{msg[1:]}, got {got!r}", hint if hint.startswith(("did you mean", *keys)) else ""
    if kind == "string_type":
        form = text_form_at(root, tuple(loc))
        if form:
            number = isinstance(got, int | float) and not isinstance(got, bool)
            unit = f"a number needs its unit: {got}m or {got}s" if number else ""
            return f"expected {form}, got {got!r}", unit if "duration" in form else ""
    if kind == "model_type":
        keys = keys_allowed_at(root, (*loc, ""))
        return f"expected a mapping, got {got!r}", ("with keys among: " + ", ".join(keys)) if keys else ""
    if kind in ("too_short", "too_long"):
        ctx = err.get("ctx") or {}
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        bound = f"at least {limit}" if kind == "too_short" else f"at most {limit}"
        items = "item" if limit == 1 else "items"
        return f"expected {bound} {items}, got {ctx.get('actual_length')}: {got!r}", ""
    if tuple(loc) in (("workspace", "str"), ("workspace", "Workspace")) and kind in ("string_type", "model_type"):
        return f"expected a workspace file's path or an inline workspace mapping, got {got!r}", ""
    if kind in _BOUNDS:
        bound, words = _BOUNDS[kind]
        return f"expected a value {words} {(err.get('ctx') or {}).get(bound)}, got {got!r}", ""
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
        tags = [i for i, data_part in enumerate(indexes_data(data, loc)) if not data_part]
        if tags and tags[-1] == len(loc) - 2 and err["type"] in ("missing", "extra_forbidden"):
            groups.setdefault(loc[: tags[-1]], []).append(err)
    problems: list[Problem] = []
    dropped: set[int] = set()
    for prefix, errs in groups.items():
        keys = sorted({str(e["loc"][-1]) for e in errs if e["type"] == "missing"})
        if len({e["loc"][-2] for e in errs}) < 2 or len(keys) < 2:
            continue
        path = data_path(data, prefix)
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


_NAMED_KEY = re.compile(r"^(\w+)(?:, \w+)* does not belong|remove (\w+)$")


def value_at(data: Any, path: tuple[object, ...], absent: Any = None) -> Any:
    """The value at a data path (`("timeline", 3, "latency")`), or `absent`."""
    for part in path:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return absent
    return data


def _offending_key(message: str, mapping: Any) -> tuple[str, ...]:
    """The key a mapping-wide complaint is about (`within does not belong in
    ...`, `... remove message`), when the mapping has it: the place to point at."""
    found = _NAMED_KEY.search(message)
    key = found and (found.group(1) or found.group(2))
    return (key,) if key and isinstance(mapping, dict) and key in mapping else ()


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
            missing.setdefault(data_path(data, tuple(err["loc"]))[:-1], []).append(str(err["loc"][-1]))
    errors, merged = _tied_mapping_members(errors, data, locate)
    problems.extend(merged)
    # Within a union, pydantic reports one error per member; keep the deepest per path.
    for err in sorted(errors, key=lambda e: -len(e["loc"])):
        path = data_path(data, tuple(err["loc"]))
        message, hint = _explain(err, missing.get(path[:-1], []), root)
        if err["type"] == "value_error":
            path += _offending_key(message, value_at(data, path))
        key = path
        if key in seen:
            continue
        if any(key == other[: len(key)] for other in seen):
            continue
        seen.add(key)
        problems.append(locate(path, message, hint))
    problems.sort(key=lambda p: (p.file, p.line, p.column))
    return problems
