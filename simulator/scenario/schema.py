"""The file formats: pydantic models of the workspace and scenario files.

These models are the edge: they validate what people write and give the JSON
Schemas (`segsim schema`). The engine never sees them; `scenario.build`
compiles them into plain data.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from simulator.model.time import (
    DURATION_PATTERN,
    LATEST_IN_FILES,
    clock_reading_hint,
    is_duration,
    parse_duration,
    parse_instant,
)
from simulator.model.verdicts import CAUSES_OF, Cause, InvariantName, ViolationKind

__all__ = [
    "Condition",
    "Expectation",
    "Journey",
    "Scenario",
    "Source",
    "TimelineStep",
    "Workspace",
]

# The spaces `str.strip` takes off, spelled out: `\s` is another set in an editor's
# (ECMA-262) regular expressions than in Python's.
_SPACES = r"[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"
# A `Moment`: a duration after start, or an instant.
# An ISO-8601 instant with its offset, in the forms the loader reads (extended or
# basic, calendar or week dates, any one character between date and time, spaces
# around): editors flag one without an offset.
_INSTANT = (
    _SPACES + r"[0-9]{4}-?(?:[0-9]{2}-?[0-9]{2}|W[0-9]{2}-?[0-9]?)."
    r"[0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:[.,][0-9]+)?)?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2}(?::?[0-9]{2}(?:\.[0-9]+)?)?)?)" + _SPACES
)
INSTANT_PATTERN = f"^{_INSTANT}$"
# The loader reads a duration with spaces around it, as it does an instant.
_DURATION = _SPACES + DURATION_PATTERN.removeprefix("^").removesuffix("$") + _SPACES
_DURATION_PATTERN = f"^{_DURATION}$"
_MOMENT_PATTERN = f"^({_DURATION}|{_INSTANT})$"


def _check_duration(value: str) -> str:
    parse_duration(value)
    return value


_LOOKS_LIKE_A_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _check_moment(value: str) -> str:
    if is_duration(value):
        parse_duration(value)
        return value
    if value.startswith("-") and is_duration(value[1:]):
        raise ValueError(
            f"an offset from start cannot be negative, got {value!r}: give an instant (such as "
            "2026-03-02T09:00:00Z) before start, or set `start:` earlier"
        )
    try:
        parse_instant(value, LATEST_IN_FILES)
    except ValueError as exc:
        if "out of range" in str(exc) or "no offset" in str(exc) or _LOOKS_LIKE_A_DATE.match(value):
            raise  # an instant, but not one segsim takes: say why
        raise ValueError(
            f"expected a duration after start (such as 40m or 1h30m) or an "
            f"ISO-8601 instant with an offset, got {value!r}{clock_reading_hint(value)}"
        ) from None
    return value


Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    WithJsonSchema(
        {"type": "string", "pattern": _DURATION_PATTERN, "description": "a duration: 30s, 15m, 2h, 1h30m, 3d, 1w"}
    ),
]
Moment = Annotated[
    str,
    AfterValidator(_check_moment),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _MOMENT_PATTERN,
            "description": "a duration after start (40m) or an ISO-8601 instant",
        }
    ),
]


def _check_instant(value: str) -> str:
    parse_instant(value, LATEST_IN_FILES)
    return value


Instant = Annotated[
    str,
    AfterValidator(_check_instant),
    WithJsonSchema({"type": "string", "pattern": INSTANT_PATTERN, "description": "an ISO-8601 instant with an offset"}),
]

# What a value of each written form is, for error messages: (its check, the words).
TEXT_FORMS = (
    (_check_duration, "a duration such as 30s, 15m, 2h or 1h30m"),
    (_check_instant, "an ISO-8601 instant with an offset, such as 2026-03-02T09:00:00Z"),
    (_check_moment, "a duration after start (such as 40m or 1h30m) or an ISO-8601 instant with an offset"),
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_the_default(cls, data: Any) -> Any:
        """`null` on a key that may be left out is its default (`seed: null` is 0,
        `properties: null` none); a required key's `null` stays an error."""
        if isinstance(data, dict):
            defaulted = defaulted_keys(cls)
            if any(value is None and key in defaulted for key, value in data.items()):
                return {key: value for key, value in data.items() if value is not None or key not in defaulted}
        return data


_DEFAULTED: dict[type[BaseModel], frozenset[str]] = {}
# A journey's `exit` says how its runs end: `null` there is a mistake to show,
# not a wish for the default (an override's `exit: null` is refused).
_NULL_IS_AN_ERROR = frozenset({"exit"})


def _holds_definitions(annotation: Any) -> bool:
    """A section of definitions (`sources`, `journeys`, `identity`, a step list):
    its `null` would empty or reset the whole section, in an override too, so it
    stays an error; `null` is the default only for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    if get_origin(annotation) in (dict, list):
        return any(_holds_definitions(arg) for arg in get_args(annotation))
    # A union is a value (`latency: 5m` or a model of one) unless it holds only sections.
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    return bool(args) and all(_holds_definitions(arg) for arg in args)


def defaulted_keys(model: type[BaseModel]) -> frozenset[str]:
    """The keys (names and aliases) of `model`'s fields that have a default but take
    no `null` of their own (a field that takes one keeps it: `sent: null` is refused
    with its own message, an override's `goal: null` removes the goal)."""
    keys = _DEFAULTED.get(model)
    if keys is None:
        found: set[str] = set()
        for name, field in model.model_fields.items():
            if field.is_required() or field.annotation is Any or type(None) in get_args(field.annotation):
                continue
            if name in _NULL_IS_AN_ERROR or (model is not Scenario and _holds_definitions(field.annotation)):
                continue  # (a scenario's own lists, `expect:` with every item commented out, are just empty)
            found.update(k for k in (name, field.alias) if k)
        keys = _DEFAULTED[model] = frozenset(found)
    return keys


def _one_of(*heads: str) -> dict[str, Any]:
    """The JSON Schema of "exactly one of these keys", as `_exactly_one` checks it
    (a key written `null` is one left out, as is `identify: false`)."""
    return {"oneOf": [{"required": [head], "properties": {head: {"not": {"enum": [None, False]}}}} for head in heads]}


def _exactly_one(model: BaseModel, heads: tuple[str, ...], what: str) -> None:
    given = [h for h in heads if getattr(model, h.rstrip("_"), None) is not None]
    if len(given) != 1:
        names = ", ".join(h.rstrip("_") for h in heads)
        if not given:
            raise ValueError(f"{what} needs one of: {names}")
        raise ValueError(f"{what} takes only one of {names}; got {', '.join(given)}")


# --------------------------------------------------------------------------- conditions


def _whole_number(value: Any) -> Any:
    """`2.0` where a count is asked is 2, as JSON and the JSON Schema read it (an
    editor accepts it); `2.5` stays a float and is refused. (Placed after `Field` in
    an `Annotated`, so that the schema keeps its `minimum` and `maximum`.)"""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# An identifier or event id: text, or a whole number (`2.0` is 2, as for a count).
_TextOrWhole = Annotated[Union[str, int], BeforeValidator(_whole_number)]
# A count of events: 0 or more (`count: {eq: -1}` would never hold, `gte: -1` always).
_Count = Annotated[int, Field(ge=0), BeforeValidator(_whole_number)]
# An event, segment or attribute name: never empty.
_Name = Annotated[str, Field(min_length=1)]


class CountTest(Strict):
    eq: Optional[_Count] = None
    gte: Optional[_Count] = None
    lte: Optional[_Count] = None
    gt: Optional[_Count] = None
    lt: Optional[_Count] = None


_CONDITION_HEADS = ("all", "any", "not_", "performed", "not_performed", "attribute", "in_segment", "trigger")
_VALUE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in_", "contains", "exists")


class Condition(Strict):
    """One node of the rule language (section 6)."""

    all: Optional[list[Condition]] = None
    any: Optional[list[Condition]] = None
    not_: Optional[Union[Condition, Annotated[list[Condition], Field(min_length=1)]]] = Field(default=None, alias="not")
    performed: Optional[_Name] = None
    not_performed: Optional[_Name] = None
    within: Optional[Duration] = None
    where: Optional[dict[str, Any]] = None
    count: Optional[CountTest] = None
    after: Optional[_Name] = None
    attribute: Optional[_Name] = None
    eq: Any = None
    ne: Any = None
    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None
    in_: Optional[list[Any]] = Field(default=None, alias="in")
    contains: Any = None
    exists: Optional[bool] = None
    in_segment: Optional[_Name] = None
    trigger: Optional[dict[str, Any]] = None

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        heads = [h for h in _CONDITION_HEADS if getattr(self, h) is not None]
        if len(heads) != 1:
            names = "all, any, not, performed, not_performed, attribute, in_segment, trigger"
            if not heads:
                raise ValueError(f"a condition needs one of: {names}")
            raise ValueError(
                "a condition takes one of "
                + names
                + "; got "
                + ", ".join(h.rstrip("_") for h in heads)
                + " (combine several with all: [...])"
            )
        head = heads[0]
        event_mods = [m for m in ("within", "where", "count", "after") if getattr(self, m) is not None]
        if event_mods and head not in ("performed", "not_performed"):
            raise ValueError(f"{', '.join(event_mods)} belongs to performed/not_performed, not {head.rstrip('_')}")
        ops = [o for o in _VALUE_OPS if o in self.model_fields_set]
        if ops and head != "attribute":
            raise ValueError(
                f"{', '.join(o.rstrip('_') for o in ops)} tests an attribute: write attribute: NAME beside it"
            )
        if head == "attribute" and not ops:
            raise ValueError("an attribute test needs one of eq, ne, gt, gte, lt, lte, in, contains, exists")
        return self


# --------------------------------------------------------------------------- workspace


class UniformLatency(Strict):
    uniform: Annotated[list[Duration], Field(min_length=2, max_length=2)]

    @model_validator(mode="after")
    def _order(self) -> UniformLatency:
        low, high = (parse_duration(x) for x in self.uniform)
        if low > high:
            raise ValueError("uniform: [min, max] needs min <= max")
        return self


class ExponentialLatency(Strict):
    exponential: Duration


class BatchSpec(Strict):
    every: Duration
    offset: Duration = "0s"
    delay: Duration = "0s"

    @model_validator(mode="after")
    def _positive(self) -> BatchSpec:
        if parse_duration(self.every) == 0:
            raise ValueError("batch every must be longer than 0s")
        return self


class BatchLatency(Strict):
    batch: BatchSpec


Latency = Union[Duration, UniformLatency, ExponentialLatency, BatchLatency]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class Source(Strict):
    # Default: the built-in source's kind for web, app (client) and backend
    # (server), so redeclaring `backend: {latency: 30m}` keeps it a server; client otherwise.
    kind: Optional[Literal["client", "server"]] = None
    latency: Latency = "0s"
    identify_by: Literal["id", "email"] = "id"
    drop_rate: Rate = 0.0
    duplicate_rate: Rate = 0.0
    retry_after: Duration = "1m"
    timestamps: Literal["sent", "none"] = "sent"
    event_ids: Optional[bool] = None
    description: Optional[str] = None

    @field_validator("latency", mode="before")
    @classmethod
    def _one_model(cls, value: Any) -> Any:
        models = [k for k in value if k in ("uniform", "exponential", "batch")] if isinstance(value, dict) else []
        if len(models) > 1:
            raise ValueError(f"a latency is one model, got {' and '.join(models)}: keep one")
        return value


class Identity(Strict):
    auto_merge: bool = True
    merge_anonymous: bool = True
    anonymous_retention: Duration = "30d"
    anonymous_grace: Duration = "5m"
    merge_event_window: Duration = "30d"


class Dedupe(Strict):
    by_event_id: bool = True
    idempotency_keys: dict[str, str] = Field(default_factory=dict)


class Rules(Strict):
    types: Literal["strict", "coerce"] = "strict"
    negative_window_needs_age: bool = True
    segment_refresh: Optional[Duration] = None


class Triggers(Strict):
    max_age: Duration = "72h"
    filter_retry: Duration = "30m"


class Checks(Strict):
    entry_grace: Duration = "1h"


class Segment(Strict):
    description: Optional[str] = None
    rule: Condition


class EventTrigger(Strict):
    model_config = ConfigDict(json_schema_extra=_one_of("event", "segment"))
    event: Optional[_Name] = None
    where: Optional[dict[str, Any]] = None
    segment: Optional[_Name] = None

    @model_validator(mode="after")
    def _shape(self) -> EventTrigger:
        if (self.event is None) == (self.segment is None):
            raise ValueError("a trigger is {event: NAME, where: {...}} or {segment: NAME}")
        if self.segment is not None and self.where is not None:
            raise ValueError("where belongs to an event trigger, not a segment trigger")
        return self


class OncePer(Strict):
    once_per: Duration


Frequency = Union[Literal["every_time", "once", "once_at_a_time"], OncePer]


class WaitUntil(Strict):
    condition: Condition
    max: Duration
    then: list[JourneyStep] = Field(default_factory=list)


class Branch(Strict):
    if_: Condition = Field(alias="if")
    then: list[JourneyStep] = Field(default_factory=list)
    else_: list[JourneyStep] = Field(default_factory=list, alias="else")


_JOURNEY_STEP_KINDS = ("wait", "send", "wait_until", "branch", "update")


class JourneyStep(Strict):
    model_config = ConfigDict(json_schema_extra=_one_of(*_JOURNEY_STEP_KINDS))
    wait: Optional[Duration] = None
    send: Optional[_Name] = None
    wait_until: Optional[WaitUntil] = None
    branch: Optional[Branch] = None
    update: Optional[dict[str, Any]] = None

    @model_validator(mode="after")
    def _one(self) -> JourneyStep:
        _exactly_one(self, _JOURNEY_STEP_KINDS, "a journey step")
        return self


class Journey(Strict):
    description: Optional[str] = None
    trigger: EventTrigger
    filter: Optional[Condition] = None
    frequency: Optional[Frequency] = None
    goal: Optional[Condition] = None
    exit: Literal["goal", "stop_matching", "goal_or_stop_matching", "never"] = "stop_matching"
    steps: list[JourneyStep] = Field(default_factory=list)


PropertyType = Literal["string", "number", "integer", "boolean", "list", "object", "timestamp"]


class PlanProperty(Strict):
    type: Optional[PropertyType] = None
    required: bool = False
    description: Optional[str] = None


class PlanEvent(Strict):
    description: Optional[str] = None
    fires: Optional[str] = None
    source: Optional[Literal["client", "server"]] = None
    unique_by: Optional[str] = None
    properties: dict[str, PlanProperty] = Field(default_factory=dict)


class TrackingPlan(Strict):
    events: dict[str, PlanEvent] = Field(default_factory=dict)


class Workspace(Strict):
    """A workspace file: the platform's configuration."""

    description: Optional[str] = None
    sources: dict[str, Source] = Field(default_factory=dict)
    identity: Identity = Field(default_factory=Identity)
    dedupe: Dedupe = Field(default_factory=Dedupe)
    rules: Rules = Field(default_factory=Rules)
    triggers: Triggers = Field(default_factory=Triggers)
    checks: Checks = Field(default_factory=Checks)
    segments: dict[str, Segment] = Field(default_factory=dict)
    journeys: dict[str, Journey] = Field(default_factory=dict)
    tracking_plan: TrackingPlan = Field(default_factory=TrackingPlan)


# --------------------------------------------------------------------------- scenario


class Shopper(Strict):
    id: Optional[_TextOrWhole] = None
    email: Optional[str] = None
    description: Optional[str] = None

    @field_validator("id", "email")
    @classmethod
    def _not_blank(cls, value: Any) -> Any:
        # A blank identifier identifies nobody: two shoppers with `id: ''` would land on one profile.
        if isinstance(value, str) and not value.strip():
            raise ValueError("a blank identifier identifies nobody: give it a value or leave the key out")
        return value


class IdentifyCall(Strict):
    with_: Optional[list[Literal["id", "email"]]] = Field(default=None, alias="with")
    attributes: dict[str, Any] = Field(default_factory=dict)


_PERSON_REF_KINDS = ("id", "email", "cio_id")


class PersonRef(Strict):
    model_config = ConfigDict(json_schema_extra=_one_of(*_PERSON_REF_KINDS))
    id: Optional[_TextOrWhole] = None
    email: Optional[str] = None
    cio_id: Optional[str] = None

    @model_validator(mode="after")
    def _one(self) -> PersonRef:
        _exactly_one(self, _PERSON_REF_KINDS, "a person reference")
        return self


class MergeCall(Strict):
    primary: PersonRef
    secondary: PersonRef


_TIMELINE_STEP_KINDS = ("track", "identify", "merge")


class TimelineStep(Strict):
    model_config = ConfigDict(json_schema_extra=_one_of(*_TIMELINE_STEP_KINDS))
    at: Moment
    who: Optional[str] = None
    device: Optional[Annotated[str, Field(min_length=1)]] = None  # "" is no device: say so
    source: Optional[Annotated[str, Field(min_length=1)]] = None  # "" is no source (null is the default)
    track: Optional[Annotated[str, Field(min_length=1)]] = None  # an event needs a name
    identify: Optional[Union[bool, IdentifyCall]] = None
    merge: Optional[MergeCall] = None
    properties: dict[str, Any] = Field(default_factory=dict)
    latency: Optional[Duration] = None
    drop: Optional[bool] = None  # true: never arrives; false: arrives whatever the source's drop_rate
    copies: Optional[Annotated[int, Field(ge=1, le=100), BeforeValidator(_whole_number)]] = None
    retry_after: Optional[Duration] = None
    timestamp: Optional[Moment] = None
    event_id: Optional[_TextOrWhole] = None
    reset: bool = False

    @model_validator(mode="after")
    def _shape(self) -> TimelineStep:
        if self.identify is False:
            self.identify = None
        _exactly_one(self, _TIMELINE_STEP_KINDS, "a timeline step")
        if self.merge is None and self.who is None:
            raise ValueError("who is required for track and identify steps")
        if self.properties and self.track is None:
            raise ValueError("properties belong to a track step")
        return self


# The key that makes an expectation one kind or another, first that is given (`kind()`);
# the JSON Schema asks for one of them (a segment's members with it).
_EXPECTATION_HEADS = (
    ("violation", "violation"),
    ("invariant", "invariant"),
    ("segment", "segment"),
    ("member", "in_segment"),
    ("member", "not_in_segment"),
    ("journey", "journey"),
    ("profiles", "profiles"),
)


def _one_kind() -> dict[str, Any]:
    """The JSON Schema of "one of the heads" (a key written `null` is one left out)."""
    groups = [[head, "members"] if head == "segment" else [head] for _, head in _EXPECTATION_HEADS]
    given = [{"required": keys, "properties": {k: {"not": {"type": "null"}} for k in keys}} for keys in groups]
    return {"anyOf": given}


class Expectation(Strict):
    model_config = ConfigDict(json_schema_extra=_one_kind())
    at: Optional[Moment] = None
    segment: Optional[str] = None
    members: Optional[list[str]] = None
    who: Optional[str] = None
    in_segment: Optional[str] = None
    not_in_segment: Optional[str] = None
    journey: Optional[str] = None
    entered: Optional[_Count] = None
    sent: Optional[list[str]] = None
    exited: Optional[Literal["goal", "stopped_matching", "completed", "merged", "open"]] = None
    within: Optional[Annotated[list[Moment], Field(min_length=2, max_length=2)]] = None
    profiles: Optional[_Count] = None
    invariant: Optional[InvariantName] = None
    violation: Optional[ViolationKind] = None
    cause: Optional[Cause] = None
    message: Optional[str] = None
    description: Optional[str] = None

    @model_validator(mode="after")
    def _shape(self) -> Expectation:
        kind = self.kind()
        if kind == "unknown":
            raise ValueError(
                "an expectation is one of: {segment, members}, {who, in_segment}, "
                "{who, not_in_segment}, {who, journey, entered|sent|exited}, "
                "{who, profiles}, {invariant}, {violation, ...}"
            )
        allowed = _EXPECTATION_KEYS[kind] | {"at", "description"}
        extra = sorted(k for k in self.model_fields_set if k not in allowed and getattr(self, k) is not None)
        if extra:
            article = "an" if kind[0] in "aeiou" else "a"
            raise ValueError(f"{', '.join(extra)} does not belong in {article} {kind} expectation")
        if kind == "journey":
            questions = ("entered", "sent", "exited")
            asked = [k for k in questions if getattr(self, k) is not None]
            empty = [k for k in questions if k in self.model_fields_set and getattr(self, k) is None]
            if empty:
                hint = "sent: [] for no message" if empty[0] == "sent" else f"{empty[0]}: a value"
                raise ValueError(f"{empty[0]} is empty (null): write {hint}")
            if len(asked) != 1:
                raise ValueError("a journey expectation takes one of entered, sent, exited")
            if self.within is not None and self.exited is not None:
                raise ValueError("within applies to entered and sent, not exited")
        if kind in ("member", "journey", "profiles") and self.who is None:
            raise ValueError("who is required")
        if kind == "member" and self.in_segment is not None and self.not_in_segment is not None:
            raise ValueError("a membership expectation takes one of in_segment, not_in_segment: write two")
        if kind == "segment" and self.members is None:
            raise ValueError("a segment expectation needs members: [...]")
        if kind == "violation":  # keys such a violation never has could never match
            if self.message is not None and self.violation != "ghost_abandon":
                raise ValueError(f"a {self.violation} names no message (only a ghost_abandon does): remove message")
            if self.journey is not None and self.violation == "split_identity":
                raise ValueError("a split_identity names no journey (it is about the shopper): remove journey")
            causes = CAUSES_OF[self.violation or ""]
            if self.cause is not None and self.cause not in causes:
                raise ValueError(
                    f"a {self.violation} never has cause {self.cause} (its causes: {', '.join(causes)}): "
                    "change or remove cause"
                )
        return self

    def kind(self) -> str:
        return next((kind for kind, head in _EXPECTATION_HEADS if getattr(self, head) is not None), "unknown")


_EXPECTATION_KEYS = {
    "violation": {"violation", "who", "journey", "message", "cause"},
    "invariant": {"invariant"},
    "segment": {"segment", "members"},
    "member": {"who", "in_segment", "not_in_segment"},
    "journey": {"who", "journey", "entered", "sent", "exited", "within"},
    "profiles": {"who", "profiles"},
}


# Joiners shape emoji and scripts (a family emoji, Persian): kept. Every other format
# character (bidi controls, zero-width spaces, soft hyphens) hides or reorders text.
_JOINERS = {"\u200c", "\u200d"}


def _hidden(c: str) -> bool:
    """A character a scenario name may not hold: a control, separator or format
    character but the joiners (Unicode's own categories, as the running Python knows them)."""
    return unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c not in _JOINERS


def _hidden_ranges() -> str:
    """What `_named` refuses, as a regex class body for editors: every control,
    separator and format character of the Basic Multilingual Plane but the joiners
    (an editor's regex reads one UTF-16 unit at a time; `_named` is the judge above it)."""
    codes = [c for c in range(0x10000) if _hidden(chr(c))]
    ranges: list[tuple[int, int]] = []
    for c in codes:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    return "".join(f"\\u{a:04x}" + (f"-\\u{b:04x}" if b > a else "") for a, b in ranges)


class _NameSchema:
    """The JSON Schema of a scenario name, made when a schema is asked for (not at
    import): blank, or holding a hidden character, is refused. (`$` of a Python regex
    matches before a final newline: the `not` says no line break anywhere.)"""

    @classmethod
    def __get_pydantic_json_schema__(cls, _core: Any, _handler: Any) -> dict[str, Any]:
        hidden = _hidden_ranges()
        return {
            "type": "string",
            "pattern": f"^[^{hidden}]*[^{_SPACES[1:-2]}{hidden}][^{hidden}]*$",
            "not": {"pattern": "[\\n\\r]"},
            "description": "the scenario's name, one line",
        }


def _named(value: str) -> str:
    if not value.strip():
        raise ValueError("a scenario needs a name: it is how runs, reports and pytest ids name it")
    hidden = [c for c in value if _hidden(c)]
    if hidden:
        raise ValueError(
            f"a scenario name is one line of printable text (it is printed in terminals, reports and "
            f"pytest ids), and this one holds {ascii(hidden[0])[1:-1]}"
        )
    return value


class Scenario(Strict):
    """A scenario file: one story and its expectations."""

    scenario: Annotated[
        str,
        AfterValidator(_named),
        _NameSchema(),
    ]
    description: Optional[str] = None
    start: Instant = "2026-01-01T00:00:00Z"
    seed: Annotated[int, BeforeValidator(_whole_number)] = 0
    until: Optional[Moment] = None
    workspace: Optional[Union[str, Workspace]] = None
    overrides: Optional[dict[str, Any]] = None
    shoppers: dict[str, Shopper] = Field(default_factory=dict)
    timeline: list[TimelineStep] = Field(default_factory=list)
    expect: list[Expectation] = Field(default_factory=list)


Condition.model_rebuild()
WaitUntil.model_rebuild()
Branch.model_rebuild()
JourneyStep.model_rebuild()
