"""Hypothesis strategies for shoppers, devices, latencies and whole stories.

A story is a scenario as a plain mapping in the scenario file format
(`shoppers` and `timeline`), so what the fuzzer runs is exactly what it
writes and what `segsim run` replays. Stories are built to shrink well:
few shoppers, few steps, the simplest action, round gaps (`5m`, `1h`), no
logout and no fault unless the failure needs one.

By default every call follows the team's declared practice (the catalog of
the workspace: planned names and types, server-only events from server
sources, identifies with every identifier); `faults=True` adds the faults of
`simulator.search.faults`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from simulator.model.time import format_duration, parse_duration
from simulator.search.catalog import Catalog, EventSpec
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
_MAX_PROPERTIES = 4


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

    gap: str
    who: int
    action: str  # `track`, `identify` or `server_identify`
    event: int
    device: int
    server: int
    values: tuple[int, ...]
    reset: bool
    fault: str
    fault_variant: int
    follow: int = 0


# After a funnel's first step, its second comes this much later (the first is what shrinking keeps).
_FOLLOW = ("30m", "5m", "10m", "2h")

# The small choices of a step are packed in one integer, digit by digit (a draw
# costs more than the arithmetic); zero is the plainest step: the first
# shopper, the first device and source, the typical values, no logout.
_RADIX = (4, 4, 4, 4, len(SHOPPER_NAMES), len(DEVICES) + 1, 4, 3, len(_FOLLOW))
_PACKED = 1
for _r in _RADIX:
    _PACKED *= _r


def _unpack(gap: str, what: tuple[str, int], detail: int, fault: tuple[str, int], servers: int) -> _Act:
    digits = []
    for radix in _RADIX:
        detail, digit = divmod(detail, radix)
        digits.append(digit)
    v0, v1, v2, v3, who, device, reset, server, follow = digits
    return _Act(
        gap,
        who,
        what[0],
        what[1],
        device,
        server % max(1, servers),
        (v0, v1, v2, v3),
        reset == 3,
        fault[0],
        fault[1],
        follow,
    )


def _acts(catalog: Catalog, faults: bool) -> st.SearchStrategy[_Act]:
    whats: list[tuple[str, int]] = [("track", i) for i in range(len(catalog.events))]
    whats += [("identify", 0), ("server_identify", 0)]
    whats += [("funnel", i) for i in range(len(catalog.funnels))]
    if faults:
        # About half the steps of a story carry a fault.
        faulty = tuple((f, v) for v in range(3) for f in FAULTS)
        fault = st.sampled_from((("none", 0),) * len(faulty) + faulty)
    else:
        fault = st.just(("none", 0))
    servers = len(catalog.server_sources)
    return st.tuples(gaps(), st.sampled_from(whats), st.integers(0, _PACKED - 1), fault).map(
        lambda t: _unpack(t[0], t[1], t[2], t[3], servers)
    )


def _properties(spec: EventSpec, values: tuple[int, ...]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for i, prop in enumerate(spec.properties):
        pick = values[i % len(values)] if values else 0
        props[prop.name] = prop.choices[pick % len(prop.choices)]
    return props


def _step(
    catalog: Catalog, shoppers: dict[str, dict[str, str]], act: _Act, at: int, faults: bool, serial: dict[str, int]
) -> dict[str, Any] | None:
    names = list(shoppers)
    who = names[act.who % len(names)]
    known = bool(shoppers[who])
    # Most steps come from the shopper's main device, the phone.
    pick = max(0, act.device - 1)
    device = DEVICES[pick % len(DEVICES)]
    client = catalog.client_sources[pick % len(catalog.client_sources)]
    server = catalog.server_sources[act.server % len(catalog.server_sources)]
    step: dict[str, Any] = {"at": format_duration(at), "who": who}

    def from_device() -> None:
        step["device"] = device
        if client != "web":
            step["source"] = client

    def from_server() -> None:
        if server != "backend":
            step["source"] = server

    if act.action == "track" and catalog.events:
        spec = catalog.events[act.event % len(catalog.events)]
        if spec.server_only:
            if not known:
                return None  # the order system only knows identified shoppers
            from_server()
        else:
            from_device()
        step["track"] = spec.name
        props = _properties(spec, act.values)
        if spec.unique_by is not None:
            # One event per order, as the plan's `unique_by` promises: a fresh value each time.
            serial[spec.name] = serial.get(spec.name, 0) + 1
            props[spec.unique_by] = f"{spec.unique_by.removesuffix('_id')}_{serial[spec.name]}"
        if props:
            step["properties"] = props
    else:
        if not known:
            return None
        if act.action == "server_identify":
            from_server()
        else:
            from_device()
        step["identify"] = True
    if act.reset and "device" in step:
        step["reset"] = True
    if faults and act.fault != "none":
        step = apply_fault(
            step, act.fault, act.fault_variant, device=device, client_source=client, identifiers=tuple(shoppers[who])
        )
    return step


def _timeline(catalog: Catalog, shoppers: dict[str, dict[str, str]], acts: list[_Act], faults: bool) -> list[Any]:
    steps: list[dict[str, Any]] = []
    at = 0
    serial: dict[str, int] = {}
    names = {spec.name: i for i, spec in enumerate(catalog.events)}
    for act in acts:
        if act.action == "funnel":
            first, then = catalog.funnels[act.event % len(catalog.funnels)]
            opening = _step(catalog, shoppers, replace(act, action="track", event=names[first]), at, False, serial)
            later = at + parse_duration(_FOLLOW[act.follow % len(_FOLLOW)])
            closing = _step(catalog, shoppers, replace(act, action="track", event=names[then]), later, faults, serial)
            if opening is not None and closing is not None:
                # The second step speaks of the same checkout: shared properties carry over.
                shared = {k: v for k, v in opening.get("properties", {}).items() if k in closing.get("properties", {})}
                for key, value in shared.items():
                    if key != _unique_key(catalog, then):
                        closing["properties"][key] = value
            found = [s for s in (opening, closing) if s is not None]
        else:
            one = _step(catalog, shoppers, act, at, faults, serial)
            found = [one] if one is not None else []
        steps.extend(found)
        at += parse_duration(act.gap)
    steps.sort(key=lambda s: parse_duration(s["at"]))
    return steps


def _unique_key(catalog: Catalog, event: str) -> str | None:
    return catalog.event(event).unique_by


@st.composite
def _story(
    draw: st.DrawFn,
    catalog: Catalog,
    faults: bool,
    people: st.SearchStrategy[dict[str, dict[str, str]]],
    acts: st.SearchStrategy[list[_Act]],
) -> dict[str, Any]:
    shoppers = draw(people)
    drawn = draw(acts)
    seed = draw(_SEEDS)
    used = {a.who % len(shoppers) for a in drawn}
    timeline = _timeline(catalog, shoppers, drawn, faults)
    # A returning customer is often already logged in on their phone.
    logged_in = draw(_LOGINS)
    if logged_in and timeline and shoppers[timeline[0]["who"]]:
        first = timeline[0]["who"]
        timeline.insert(0, {"at": "0s", "who": first, "device": DEVICES[0], "identify": True})
    if faults:
        # An app that identifies with one identifier does so every time: a habit, not a one-off.
        habit = draw(_HABITS)
        if habit is not None:
            for step in timeline:
                if step.get("identify") is True and len(shoppers[step["who"]]) > 1:
                    step["identify"] = {"with": [habit]}
    # Keep only the shoppers the story speaks of, so a witness lists no stranger.
    named = {step["who"] for step in timeline}
    kept = {name: ids for i, (name, ids) in enumerate(shoppers.items()) if i in used and name in named}
    return {"scenario": "generated story", "seed": seed, "shoppers": kept, "timeline": timeline}


_SEEDS = st.integers(0, 999)
_HABITS = st.sampled_from((None, "id", "email"))
_LOGINS = st.sampled_from((False, True))


def stories(
    catalog: Catalog, *, faults: bool = False, max_shoppers: int = 3, max_steps: int = 8
) -> st.SearchStrategy[dict[str, Any]]:
    """Scenarios (plain mappings in the scenario file format, without
    `workspace` or `expect`) whose calls speak `catalog`'s vocabulary."""
    acts = st.lists(_acts(catalog, faults), min_size=2, max_size=max_steps)
    return _story(catalog, faults, shopper_profiles(max_shoppers), acts)
