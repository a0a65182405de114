"""Hypothesis strategies for shoppers, devices, latencies and whole stories.

A story is a scenario as a plain mapping in the scenario file format
(`shoppers` and `timeline`), so what the fuzzer runs is exactly what it
writes and what `segsim run` replays. Stories are built to shrink well:
few shoppers, few steps, the simplest action, round gaps (`5m`, `1h`), no
logout and no fault unless the failure needs one.

By default every call follows the team's declared practice (the catalog of
the workspace: planned names and types, server-only events from server
sources and other events from any source, client or server, identifies with
every identifier); `faults=True` adds the faults of `simulator.search.faults`.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from simulator.model.config import SendStep, Wait, WorkspaceConfig
from simulator.model.time import format_duration, parse_duration
from simulator.model.values import lookup
from simulator.search.catalog import Catalog, EventSpec, entry_events, put_value
from simulator.search.faults import FAULTS, apply_fault

__all__ = [
    "DEVICES",
    "GAPS",
    "SHOPPER_NAMES",
    "devices",
    "gaps",
    "latencies",
    "shopper_profiles",
    "stories",
]

SHOPPER_NAMES = ("ana", "ben", "cat", "dan")
DEVICES = ("phone", "laptop", "tablet")
# Round gaps between steps; the first one is what shrinking settles on.
GAPS = ("5m", "1m", "10m", "30m", "1h", "2h", "6h", "1d", "3d", "8d")
# What a shopper is known by: both identifiers, a guest (email only), an
# account without email, or nobody (never identifies).
_KINDS = ("id_and_email", "id_and_email", "email", "id", "anonymous")


def _shopper(index: int, kind: str) -> tuple[str, dict[str, str]]:
    name = SHOPPER_NAMES[index]
    ids: dict[str, str] = {}
    if kind in ("id_and_email", "id"):
        ids["id"] = f"cus_{index + 1}"
    if kind in ("id_and_email", "email"):
        ids["email"] = f"{name}@example.com"
    return name, ids


def _shoppers(kinds: list[str]) -> dict[str, dict[str, str]]:
    return dict(_shopper(i, kind) for i, kind in enumerate(kinds))


def shopper_profiles(max_shoppers: int = 3) -> st.SearchStrategy[dict[str, dict[str, str]]]:
    """The `shoppers:` mapping of a scenario: 1 to `max_shoppers` shoppers named
    ana, ben, cat, ..., with and without `id` and `email`."""
    limit = max(1, min(max_shoppers, len(SHOPPER_NAMES)))
    return st.lists(st.sampled_from(_KINDS), min_size=1, max_size=limit).map(_shoppers)


def devices() -> st.SearchStrategy[str]:
    """A device name (`phone`, `laptop`, `tablet`)."""
    return st.sampled_from(DEVICES)


def gaps() -> st.SearchStrategy[str]:
    """A round duration between two steps of a story (`5m`, `1h`, `1d`, ...)."""
    return st.sampled_from(GAPS)


def latencies() -> st.SearchStrategy[Any]:
    """A source latency model in the workspace file format: a fixed duration,
    `{uniform: [a, b]}`, `{exponential: mean}` or `{batch: {every: D}}`."""
    fixed = st.sampled_from(("0s", "5s", "1m", "5m", "30m", "2h"))
    uniform = st.sampled_from((("1s", "2m"), ("0s", "10m"), ("5m", "1h"))).map(lambda p: {"uniform": list(p)})
    exponential = st.sampled_from(("30s", "5m", "1h")).map(lambda m: {"exponential": m})
    batch = st.sampled_from(("15m", "30m", "1h", "2h")).map(lambda e: {"batch": {"every": e}})
    return st.one_of(fixed, uniform, exponential, batch)


@dataclass(frozen=True, slots=True)
class _Act:
    """One drawn step, before it is written in the scenario format."""

    gap: int  # seconds until the next step
    who: int
    action: str  # `track`, `identify`, `server_identify` or `funnel`
    event: int
    device: int
    server: int
    by_server: bool  # an event the plan does not reserve to servers, sent by a server source
    values: tuple[int, int, int, int]
    reset: bool
    fault: str
    fault_variant: int
    follow: int = 0


# After a funnel's first step, its second comes this much later (the first is what shrinking keeps).
_FOLLOW = ("30m", "5m", "10m", "2h")
_GAP_SECONDS = tuple(parse_duration(g) for g in GAPS)
_FOLLOW_SECONDS = tuple(parse_duration(f) for f in _FOLLOW)
_HABITS = (None, "id", "email")

# A whole story is one draw of a fixed number of bytes: a header, then a few
# bytes a step. A draw costs far more than decoding it (and a fixed size
# costs Hypothesis no "one more?" decision a byte), and Hypothesis shrinks
# bytes by lowering each towards zero on its own, so zero is always the
# plainest choice: two steps, an action byte of zero leaves its step out,
# and zero elsewhere is the shortest gap, no fault, the first shopper, device
# and source, the typical values, no logout.
#
#   header: [shoppers - 1, seed, logged in | habit << 1, steps - 2, kind of ana, of ben, of cat, of dan]
#   step:   [action + 1, gap, fault, who | device << 2 | logout << 4 | follow << 6,
#            server source | by server << 6, values (2 bits each)]
#
# "By server" (the top two bits of the server byte both set, one track in
# four) sends an event that is not server-only through a server source: a
# backend sends what it knows (an order, a subscription) whether or not the
# plan reserves it to servers, through the workspace's own ingestion.
_STEP_BYTES = 6
_SERVER_INDEX = 0x3F
_HEADER_BYTES = 4 + len(SHOPPER_NAMES)


def _follows(catalog: Catalog) -> dict[str, tuple[int, ...]]:
    """Per funnel opening event: its second step comes 30m or 5m after the first;
    or when the opening event's journey waits before its first message, 5m
    before that wait ends (an order sent 55m after a checkout whose reminder
    waits 1h, then batched past the reminder) and one second before the
    message can go out (the checkout's quickest arrival plus the wait: any
    latency on the order, a batch whatever its phase, makes the reminder a
    ghost); else 10m or 2h later."""
    ws = catalog.workspace
    quickest = min((_least_latency(ws, name) for name in catalog.client_sources), default=0)
    out: dict[str, tuple[int, ...]] = {}
    for j in ws.journeys:
        waited = 0
        for step in j.steps:
            if isinstance(step, SendStep):
                break
            if isinstance(step, Wait):
                waited += step.seconds
        for start in entry_events(ws, j):  # its trigger event, or what enters its segment
            if waited > 300 and start not in out:
                out[start] = (_FOLLOW_SECONDS[0], _FOLLOW_SECONDS[1], waited - 300, waited + quickest - 1)
    return out


def _least_latency(ws: WorkspaceConfig, source: str) -> int:
    """The shortest latency a source's model gives (0 for exponential and batch)."""
    model = ws.source(source).latency
    return model.a if model.kind in ("fixed", "uniform") else 0


class _Tables:
    """What a catalog's bytes decode to, worked out once per search."""

    def __init__(self, catalog: Catalog, faults: bool) -> None:
        self.catalog = catalog
        self.faults = faults
        whats: list[tuple[str, int]] = [("track", i) for i in range(len(catalog.events))]
        whats += [("identify", 0), ("server_identify", 0)]
        whats += [("funnel", i) for i in range(len(catalog.funnels))]
        self.whats = tuple(whats)
        # About half the steps of a story carry a fault.
        faulty = tuple((f, v) for v in range(3) for f in FAULTS)
        self.fault_table: tuple[tuple[str, int], ...] = (("none", 0),) * len(faulty) + faulty if faults else ()
        self.index = {spec.name: i for i, spec in enumerate(catalog.events)}
        self.servers = len(catalog.server_sources)
        self.at_text: dict[int, str] = {}
        self.follows = _follows(catalog)

    def act(self, b: bytes) -> _Act:
        action, event = self.whats[(b[0] - 1) % len(self.whats)]
        fault, variant = self.fault_table[b[2] % len(self.fault_table)] if self.faults else ("none", 0)
        packed, values = b[3], b[5]
        return _Act(
            _GAP_SECONDS[b[1] % len(_GAP_SECONDS)],
            packed & 3,
            action,
            event,
            (packed >> 2) & 3,
            (b[4] & _SERVER_INDEX) % max(1, self.servers),
            b[4] >> 6 == 3,
            (values & 3, (values >> 2) & 3, (values >> 4) & 3, values >> 6),
            (packed >> 4) & 3 == 3,
            fault,
            variant,
            packed >> 6,
        )

    def at(self, seconds: int) -> str:
        text = self.at_text.get(seconds)
        if text is None:
            text = self.at_text[seconds] = format_duration(seconds)
        return text


def _properties(spec: EventSpec, values: tuple[int, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for i, prop in enumerate(spec.properties):
        choice = prop.choices[values[i % len(values)] % len(prop.choices)]
        # A list or mapping is the catalog's: each story gets its own, which a tie may fill in.
        props[prop.name] = deepcopy(choice) if isinstance(choice, (dict, list)) else choice
    return props


def _device(catalog: Catalog, act: _Act) -> tuple[str, str]:
    """The device an act happens on and the client source it sends through: most
    often the shopper's main device, the phone."""
    pick = max(0, act.device - 1)
    return DEVICES[pick % len(DEVICES)], catalog.client_sources[pick % len(catalog.client_sources)]


def _step(
    tables: _Tables, shoppers: dict[str, dict[str, str]], act: _Act, at: int, faults: bool, serial: dict[str, int]
) -> dict[str, Any] | None:
    catalog = tables.catalog
    names = list(shoppers)
    who = names[act.who % len(names)]
    known = bool(shoppers[who])
    device, client = _device(catalog, act)
    server = catalog.server_sources[act.server % len(catalog.server_sources)]
    step: dict[str, Any] = {"at": tables.at(at), "who": who}
    if act.action == "track" and catalog.events:
        spec = catalog.events[act.event % len(catalog.events)]
        if spec.server_only:
            if not known:
                return None  # the order system only knows identified shoppers
            on_device = False
        else:
            # A server names the shopper by an identifier: an unknown one is on a device.
            on_device = not (act.by_server and known and not spec.client_only)
        step["track"] = spec.name
        props = _properties(spec, act.values)
        if spec.unique_by is not None:
            # One event per order, as the plan's `unique_by` promises: a fresh value each time.
            serial[spec.name] = serial.get(spec.name, 0) + 1
            props[spec.unique_by] = f"{spec.unique_by.removesuffix('_id')}_{serial[spec.name]}"
    else:
        if not known:
            return None
        on_device = act.action != "server_identify"
        props = {}
    # Keys in the order a person writes them: when, who, from where, what.
    out: dict[str, Any] = {"at": step["at"], "who": who}
    if on_device:
        out["device"] = device
        if client != "web":
            out["source"] = client
    elif server != "backend":
        out["source"] = server
    if "track" in step:
        out["track"] = step["track"]
        if props:
            out["properties"] = props
    else:
        out["identify"] = True
    if act.reset and on_device:
        out["reset"] = True
    return _with_fault(tables, shoppers, act, out) if faults else out


def _with_fault(tables: _Tables, shoppers: dict[str, dict[str, str]], act: _Act, out: dict[str, Any]) -> dict[str, Any]:
    """The step with the act's fault applied (`--faults`), as its shopper's device and source would carry it."""
    if act.fault == "none":
        return out
    device, client = _device(tables.catalog, act)
    identifiers = tuple(shoppers[out["who"]])
    return apply_fault(out, act.fault, act.fault_variant, device=device, client_source=client, identifiers=identifiers)


def _timeline(tables: _Tables, shoppers: dict[str, dict[str, str]], acts: list[_Act], faults: bool) -> list[Any]:
    catalog = tables.catalog
    steps: list[tuple[int, dict[str, Any]]] = []
    at = 0
    serial: dict[str, int] = {}
    for act in acts:
        if act.action == "funnel":
            first, then = catalog.funnels[act.event % len(catalog.funnels)]
            # The shopper starts the funnel on a device; a server may send the event that closes it.
            opening = _step(
                tables,
                shoppers,
                replace(act, action="track", event=tables.index[first], by_server=False),
                at,
                False,
                serial,
            )
            follows = tables.follows.get(first, _FOLLOW_SECONDS)
            later = at + follows[act.follow % len(follows)]
            closing_act = replace(act, action="track", event=tables.index[then])
            closing = _step(tables, shoppers, closing_act, later, False, serial)
            if opening is not None and closing is not None:
                _tie(catalog, first, then, opening, closing)
            if closing is not None and faults:
                closing = _with_fault(tables, shoppers, closing_act, closing)  # after the ties: a fault is not undone
            if opening is not None:
                steps.append((at, opening))
            if closing is not None:
                steps.append((later, closing))
        else:
            one = _step(tables, shoppers, act, at, faults, serial)
            if one is not None:
                steps.append((at, one))
        at += act.gap
    steps.sort(key=lambda pair: pair[0])  # stable: ties keep the order they were drawn in
    return [step for _, step in steps]


def _tie(catalog: Catalog, first: str, then: str, opening: dict[str, Any], closing: dict[str, Any]) -> None:
    """The funnel's second step speaks of the same checkout: shared properties
    carry over, and so does each value a goal or filter ties to the trigger's by
    another name or path (`cart_ref`, `cart.id`, `items[].sku`). Values are
    copied: a witness never shares one object between two places."""
    unique = catalog.event(then).unique_by
    opened = opening.get("properties", {})
    closed = closing.get("properties", {})
    for key in [k for k in opened if k in closed and k != unique]:
        closed[key] = deepcopy(opened[key])
    for link_first, link_then, closing_path, opening_path, op in catalog.links:
        found = lookup(opened, opening_path)
        top = closing_path.split(".")[0].removesuffix("[]")
        if (link_first, link_then) == (first, then) and found and top != unique:
            put_value(closed, closing_path, deepcopy(found[0]), contains=op == "contains")
    if closed and "properties" not in closing:
        closing["properties"] = closed


def _story(tables: _Tables, drawn: bytes, max_shoppers: int, max_steps: int) -> dict[str, Any]:
    header = drawn[:_HEADER_BYTES]
    count = 1 + header[0] % max_shoppers
    shoppers = _shoppers([_KINDS[k % len(_KINDS)] for k in header[4 : 4 + count]])
    # Two steps and up, shorter stories more often (as Hypothesis draws lists); zero is two.
    spread = max(1, max_steps - 1)
    steps = min(max_steps, 2 + min(header[3] % spread, (header[3] >> 4) % spread + 1))
    ends = range(_HEADER_BYTES + _STEP_BYTES, _HEADER_BYTES + _STEP_BYTES * steps + 1, _STEP_BYTES)
    acts = [tables.act(drawn[end - _STEP_BYTES : end]) for end in ends if drawn[end - _STEP_BYTES]]
    used = {a.who % len(shoppers) for a in acts}
    timeline = _timeline(tables, shoppers, acts, tables.faults)
    # A returning customer is often already logged in on their phone.
    if header[2] & 1 and timeline and shoppers[timeline[0]["who"]]:
        login: dict[str, Any] = {"at": "0s", "who": timeline[0]["who"], "device": DEVICES[0]}
        if tables.catalog.client_sources[0] != "web":
            login["source"] = tables.catalog.client_sources[0]
        login["identify"] = True
        timeline.insert(0, login)
    if tables.faults:
        # An app that identifies with one identifier does so every time: a habit, not a one-off.
        habit = _HABITS[(header[2] >> 1) % len(_HABITS)]
        if habit is not None:
            for step in timeline:
                if step.get("identify") is True and len(shoppers[step["who"]]) > 1:
                    step["identify"] = {"with": [habit]}
    # Keep only the shoppers the story speaks of, so a witness lists no stranger.
    named = {step["who"] for step in timeline}
    kept = {name: ids for i, (name, ids) in enumerate(shoppers.items()) if i in used and name in named}
    return {"scenario": "generated story", "seed": header[1], "shoppers": kept, "timeline": timeline}


class _Stories(st.SearchStrategy[dict[str, Any]]):
    """A story from one draw of bytes (see the layout above)."""

    def __init__(self, tables: _Tables, max_shoppers: int, max_steps: int) -> None:
        super().__init__()
        self.tables = tables
        self.max_shoppers = max(1, min(max_shoppers, len(SHOPPER_NAMES)))
        self.max_steps = max(1, max_steps)
        size = _HEADER_BYTES + _STEP_BYTES * self.max_steps
        self.drawn = st.binary(min_size=size, max_size=size)

    def do_draw(self, data: Any) -> dict[str, Any]:
        return _story(self.tables, data.draw(self.drawn), self.max_shoppers, self.max_steps)


def stories(
    catalog: Catalog, *, faults: bool = False, max_shoppers: int = 3, max_steps: int = 8
) -> st.SearchStrategy[dict[str, Any]]:
    """Scenarios (plain mappings in the scenario file format, without
    `workspace` or `expect`) whose calls speak `catalog`'s vocabulary."""
    return _Stories(_Tables(catalog, faults), max_shoppers, max_steps)
