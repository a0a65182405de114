"""From a generated story (a scenario mapping) to a compiled `Plan`, fast.

`segsim run` reads YAML text and validates the workspace on every load; the
fuzzer compiles thousands of stories against one workspace, so it validates
the story with the same scenario model and compiles its timeline with the
same compiler, against a workspace loaded once. Every witness it writes is
then loaded back through `load_plan_text`, the path `segsim run` uses.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from simulator.model.calls import Send
from simulator.model.config import BUILTIN_SOURCES, SourceConfig, builtin_source
from simulator.model.plan import Plan, ShopperIds
from simulator.model.time import is_duration, parse_duration, parse_instant
from simulator.scenario import schema as s
from simulator.scenario.compile_timeline import compile_timeline
from simulator.scenario.errors import InputError, Problem
from simulator.scenario.problems import problems_of
from simulator.scenario.yamlfile import YamlDoc
from simulator.search.catalog import Catalog

__all__ = ["PlanBuilder"]


_START = parse_instant("2026-01-01T00:00:00Z")
# The keys a generated story's steps use; a story with any other goes the validated way.
_STEP_KEYS = frozenset(
    ("at", "who", "device", "source", "track", "properties", "identify", "reset", "drop", "copies", "latency")
    + ("timestamp",)
)
_STORY_KEYS = frozenset(("scenario", "seed", "shoppers", "timeline", "workspace", "expect"))


class PlanBuilder:
    """Compiles stories against one workspace.

    A story drawn by `stories()` is valid by construction, so `build` compiles
    it straight into sends, as `compile_timeline` would, without validating it
    (the costliest part of a load); anything else it cannot vouch for goes
    through `build_validated`, the scenario model and `compile_timeline`.
    """

    def __init__(self, catalog: Catalog, file: str = "<generated story>") -> None:
        self.catalog = catalog
        self.file = file
        self.base = str(catalog.path) if catalog.path else file
        ws = catalog.workspace
        self.sources = {name: ws.sources.get(name) or builtin_source(name) for name in _source_names(catalog)}

    def build(self, story: dict[str, Any]) -> Plan:
        plan = self.compile_story(story)
        return plan if plan is not None else self.build_validated(story)

    def compile_story(self, story: dict[str, Any]) -> Plan | None:
        """The plan of a story in the shapes `stories()` draws, or None for any other."""
        if not _STORY_KEYS.issuperset(story):
            return None
        raw_shoppers = story.get("shoppers", {})
        timeline = story.get("timeline", [])
        seed = story.get("seed", 0)
        if not isinstance(raw_shoppers, dict) or not isinstance(timeline, list) or type(seed) is not int:
            return None
        shoppers: dict[str, tuple[str | None, str | None]] = {}
        for name, ids in raw_shoppers.items():
            if not isinstance(ids, dict) or not {"id", "email"}.issuperset(ids):
                return None
            shoppers[name] = (ids.get("id"), ids.get("email"))
        timed: list[tuple[int, int, dict[str, Any]]] = []
        for i, step in enumerate(timeline):
            if not isinstance(step, dict) or not _STEP_KEYS.issuperset(step) or step.get("who") not in shoppers:
                return None
            if not is_duration(step.get("at")) or ("properties" in step and "track" not in step):
                return None
            timed.append((_START + parse_duration(step["at"]), i, step))
        timed.sort(key=lambda item: item[:2])
        compiled = _sends(timed, shoppers, self.sources)
        if compiled is None:
            return None
        sends, anon_ids, devices = compiled
        ids = {
            name: ShopperIds(name, uid, email, tuple(anon_ids[name]), tuple(devices[name]))
            for name, (uid, email) in shoppers.items()
        }
        name = story.get("scenario", "generated story")
        return Plan(str(name), self.base, _START, seed, None, self.catalog.workspace, ids, sends, [], None)

    def build_validated(self, story: dict[str, Any]) -> Plan:
        data = {k: v for k, v in story.items() if k not in ("workspace", "expect")}
        doc = YamlDoc(self.file, data)
        try:
            model = s.Scenario.model_validate(data)
        except ValidationError as exc:
            raise InputError(problems_of(exc, data, doc.problem, s.Scenario)) from None
        start = parse_instant(model.start)

        def moment(text: str) -> int:
            return start + parse_duration(text) if is_duration(text) else parse_instant(text)

        problems: list[Problem] = []
        shoppers, sends = compile_timeline(model, self.catalog.workspace, moment, doc, problems)
        if problems:
            raise InputError(problems)
        until = moment(model.until) if model.until is not None else None
        return Plan(
            model.scenario, self.base, start, model.seed, until, self.catalog.workspace, shoppers, sends, [], None
        )


def _source_names(catalog: Catalog) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*catalog.workspace.sources, *BUILTIN_SOURCES)))


_Compiled = tuple[list[Send], dict[str, list[str]], dict[str, list[str]]]


def _sends(
    timed: list[tuple[int, int, dict[str, Any]]],
    shoppers: dict[str, tuple[str | None, str | None]],
    sources: dict[str, SourceConfig | None],
) -> _Compiled | None:
    """The sends of a sorted timeline, exactly as `compile_timeline` makes them
    (None for a step it would refuse: the caller then takes the validated way)."""
    devices: dict[tuple[str, str], list[Any]] = {}  # (shopper, device) -> [anonymous id, resets, identified with]
    anon_ids: dict[str, list[str]] = {name: [] for name in shoppers}
    device_names: dict[str, list[str]] = {name: [] for name in shoppers}
    sends: list[Send] = []
    for seq, (at, i, step) in enumerate(timed, start=1):
        who: str = step["who"]
        device_name = step.get("device")
        source_name = step.get("source") or ("web" if device_name else "backend")
        source = sources.get(source_name)
        if source is None:
            return None
        send = Send(seq=seq, at=at, call="track", source=source_name, shopper=who, device=device_name, step=i)
        if "latency" in step:
            send.latency = parse_duration(step["latency"])
        send.drop = step.get("drop") if isinstance(step.get("drop"), bool) else None
        send.copies = step.get("copies")
        uid, email = shoppers[who]
        device: list[Any] | None = None
        if source.kind == "client":
            if device_name is None:
                return None
            device = devices.get((who, device_name))
            if device is None:
                device = devices[(who, device_name)] = [f"anon-{who}-{device_name}", 1, None]
                anon_ids[who].append(device[0])
                device_names[who].append(device_name)
        elif device_name is not None and step.get("reset"):
            return None
        if "track" in step:
            if "identify" in step:
                return None
            send.name = step["track"]
            send.properties = dict(step.get("properties", {}))
            if device is not None:
                if device[2] is None:
                    send.anonymous_id = device[0]
                elif device[2][0] == "id":
                    send.user_id = device[2][1]
                else:
                    send.email = device[2][1]
            else:
                key = source.identify_by if {"id": uid, "email": email}[source.identify_by] is not None else None
                if key is None:
                    key = "email" if source.identify_by == "id" else "id"
                    if {"id": uid, "email": email}[key] is None:
                        return None
                if key == "id":
                    send.user_id = uid
                else:
                    send.email = email
        else:
            call = step.get("identify")
            if call is True:
                wanted: list[str] = ["id", "email"]
            elif isinstance(call, dict) and set(call) == {"with"}:
                wanted = list(call["with"])
                if any({"id": uid, "email": email}.get(key) is None for key in wanted):
                    return None
            else:
                return None
            send.call = "identify"
            send.user_id = uid if "id" in wanted else None
            send.email = email if "email" in wanted else None
            if send.user_id is None and send.email is None:
                return None
            if device is not None:
                send.anonymous_id = device[0]
                device[2] = ("id", send.user_id) if send.user_id is not None else ("email", send.email or "")
        if "timestamp" in step:
            send.timestamp = _START + parse_duration(step["timestamp"])
        elif source.timestamps == "sent":
            send.timestamp = at
        if source.event_ids and send.call == "track":
            send.event_id = f"evt-{seq:05d}"
        if step.get("reset"):
            if device is None:
                return None
            device[1] += 1
            device[0] = f"anon-{who}-{device_name}-{device[1]}"
            device[2] = None
            anon_ids[who].append(device[0])
        sends.append(send)
    return sends, anon_ids, device_names
