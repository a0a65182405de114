"""Where a pydantic validation error stands in the file formats' models:
the keys allowed at a location, what a text value there is written as, the
parts of a location that index into the data (the others name a union's
member), and suggestions for a misspelt key among the keys allowed there."""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from simulator.scenario import schema as s
from simulator.scenario.errors import did_you_mean

__all__ = [
    "KNOWN_KEYS",
    "data_path",
    "field_names",
    "indexes_data",
    "indexes_data_part",
    "keys_allowed_at",
    "suggest_key",
    "text_form_at",
]


def field_names(model: type[BaseModel]) -> set[str]:
    """Every key a model and the models inside it take (by their written names)."""
    return _field_names(model, set())


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


KNOWN_KEYS = sorted(field_names(s.Scenario))


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


def _types_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """The types a location leads to from `root`, part by part."""
    types: list[Any] = [root]
    for part in loc:
        types = [t for current in types for t in _inside(current, part)]
    return types


def keys_allowed_at(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the mapping holding `loc`'s last part may have (empty when unknown)."""
    types = _types_at(root, loc[:-1])
    return sorted(
        {
            info.alias or name
            for t in types
            for m in _members(t)
            if isinstance(m, type) and issubclass(m, BaseModel)
            for name, info in m.model_fields.items()
        }
    )


def text_form_at(root: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """What a text value at `loc` is expected to be, when it is one of the
    file formats' written forms (a duration, an instant)."""
    checks: set[Any] = set()
    pending = _types_at(root, loc)
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


def suggest_key(word: str, allowed: list[str]) -> str:
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


def indexes_data(data: Any, loc: tuple[Any, ...]) -> list[bool]:
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


def data_path(data: Any, loc: tuple[Any, ...]) -> tuple[object, ...]:
    """Keep the parts of a pydantic location that index into the data."""
    return tuple(part for part, data_part in zip(loc, indexes_data(data, loc), strict=True) if data_part)


_TYPE_TAGS = {"str", "int", "bool", "float", "none", "list", "dict", "is-instance"}


def indexes_data_part(part: object) -> bool:
    """A location part that is a key or an index, not a union member's tag
    (`literal['every_time','once']`, `OncePer`, `function-after[...]`)."""
    return isinstance(part, int) or _is_key_name(part)


def _is_key_name(part: object) -> bool:
    return (
        isinstance(part, str) and part not in _TYPE_TAGS and "[" not in part and "-" not in part and part[:1].islower()
    )
