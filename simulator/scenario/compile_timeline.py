"""Compile a scenario's shoppers and timeline into sends (the ground truth),
and its expectations into checks, validating every name they use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.model.calls import Send
from simulator.model.config import BUILTIN_SOURCES, WorkspaceConfig, builtin_source
from simulator.model.plan import Expect, ShopperIds
from simulator.model.time import parse_duration
from simulator.scenario import schema as s
from simulator.scenario.errors import Problem, did_you_mean
from simulator.scenario.yamlfile import YamlDoc

__all__ = ["compile_expectations", "compile_timeline"]


@dataclass
class _Device:
    anonymous_id: str
    resets: int = 1
    identified_with: tuple[str, str] | None = None  # ("id"|"email", value)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def compile_timeline(
    model: s.Scenario, ws: WorkspaceConfig, moment: Callable[[str], int], doc: YamlDoc, problems: list[Problem]
) -> tuple[dict[str, ShopperIds], list[Send]]:
    shoppers = {name: (_text(sh.id), _text(sh.email)) for name, sh in model.shoppers.items()}
    devices: dict[tuple[str, str], _Device] = {}
    anon_ids: dict[str, list[str]] = {name: [] for name in shoppers}
    device_names: dict[str, list[str]] = {name: [] for name in shoppers}
    order = sorted(range(len(model.timeline)), key=lambda i: (moment(model.timeline[i].at), i))
    sends: list[Send] = []
    # Ids are derived from names (`anon-ana-phone`, `evt-00002`), but two
    # names can derive one id: (ana, x-phone) and (ana-x, phone); a device's
    # id after a reset and another device's; an explicit `event_id` and a
    # generated one. A derived id already taken gets a suffix (`~2`), so
    # every device and every send keeps an id of its own.
    taken_anon: set[str] = set()
    explicit_ids = {str(step.event_id) for step in model.timeline if step.event_id is not None}

    def fresh(base: str, taken: set[str]) -> str:
        """`base`, or `base~N` when that is taken; taken from now on."""
        found, n = base, 1
        while found in taken:
            n += 1
            found = f"{base}~{n}"
        taken.add(found)
        return found

    def new_device(who: str, name: str) -> _Device:
        device = devices[(who, name)] = _Device(fresh(f"anon-{who}-{name}", taken_anon))
        anon_ids[who].append(device.anonymous_id)
        device_names[who].append(name)
        return device

    def fail(i: int, key: str | None, message: str, hint: str = "") -> None:
        path: tuple[object, ...] = ("timeline", i) + ((key,) if key else ())
        problems.append(doc.problem(path, message, hint))

    for seq, i in enumerate(order, start=1):
        step = model.timeline[i]
        at = moment(step.at)
        who = step.who
        if who is not None and who not in shoppers:
            fail(i, "who", f"unknown shopper {who!r}", did_you_mean(who, shoppers))
            continue
        source_name = step.source or ("web" if step.device else "backend")
        source = ws.sources.get(source_name) or builtin_source(source_name)
        if source is None:
            fail(
                i,
                "source",
                f"unknown source {source_name!r}",
                did_you_mean(source_name, [*ws.sources, *BUILTIN_SOURCES]),
            )
            continue
        send = Send(
            seq=seq,
            at=at,
            call="track",
            source=source_name,
            shopper=who,
            device=step.device,
            step=i,
            latency=None,
            drop=step.drop,
            copies=step.copies,
        )
        if step.latency is not None:
            send.latency = parse_duration(step.latency)
        if step.retry_after is not None:
            send.retry_after = parse_duration(step.retry_after)
        if step.merge is not None:
            send.call = "merge"
            send.shopper = who
            send.primary = _ref(step.merge.primary)
            send.secondary = _ref(step.merge.secondary)
            if step.reset:
                fail(
                    i,
                    "reset",
                    "reset logs a shopper's device out; a merge step has no shopper device",
                    "put reset: true on a step of the shopper's, with its device",
                )
                continue
            if step.device is not None:
                fail(
                    i,
                    "device",
                    "a merge (Merge People, with the API key) comes from a server, not a shopper's device",
                    "leave device out: a merge goes through its source (backend unless the step names another)",
                )
                continue
            if source.kind == "client":
                fail(
                    i,
                    "source",
                    f"source {source_name!r} is a client source: a merge (Merge People, with the API key) "
                    "comes from a server",
                    "leave source out (backend) or name a server source",
                )
                continue
            sends.append(send)
            continue
        assert who is not None
        uid, email = shoppers[who]
        device: _Device | None = None
        if source.kind == "client":
            if step.device is None:
                fail(
                    i,
                    None,
                    f"source {source_name!r} is a client source: the step needs a device",
                    "add device: phone (or laptop, ...), or use a server source such as backend",
                )
                continue
            device = devices.get((who, step.device)) or new_device(who, step.device)
        if step.track is not None:
            send.name = step.track
            send.properties = dict(step.properties)
            if device is not None:
                if device.identified_with is None:
                    send.anonymous_id = device.anonymous_id
                elif device.identified_with[0] == "id":
                    send.user_id = device.identified_with[1]
                else:
                    send.email = device.identified_with[1]
            else:
                order_keys = ("id", "email") if source.identify_by == "id" else ("email", "id")
                known = {"id": uid, "email": email}
                key = next((k for k in order_keys if known[k] is not None), None)
                if key is None:
                    fail(
                        i,
                        "who",
                        f"shopper {who!r} has neither id nor email, so server source "
                        f"{source_name!r} cannot send for them",
                        "give the shopper an id or email, or send from a device",
                    )
                    continue
                if key == "id":
                    send.user_id = uid
                else:
                    send.email = email
        else:
            send.call = "identify"
            call = step.identify if isinstance(step.identify, s.IdentifyCall) else s.IdentifyCall()
            if call.with_ is not None and not call.with_:
                fail(
                    i, "identify", "identify with: [] would send no identifier", "list id, email or both, or drop with:"
                )
                continue
            wanted = call.with_ or ["id", "email"]
            lacking = [key for key in wanted if {"id": uid, "email": email}[key] is None]
            if call.with_ and lacking:
                for key in lacking:
                    fail(i, "identify", f"shopper {who!r} has no {key} to identify with")
                continue
            send.user_id = uid if "id" in wanted else None
            send.email = email if "email" in wanted else None
            if send.user_id is None and send.email is None:
                fail(
                    i,
                    "identify",
                    f"shopper {who!r} has no id or email to identify with",
                    "give the shopper an id or an email under shoppers:",
                )
                continue
            send.attributes = dict(call.attributes)
            if device is not None:
                send.anonymous_id = device.anonymous_id
                device.identified_with = (
                    ("id", send.user_id) if send.user_id is not None else ("email", send.email or "")
                )
        if step.timestamp is not None:
            send.timestamp = moment(step.timestamp)
        elif source.timestamps == "sent":
            send.timestamp = at
        if step.event_id is not None:
            send.event_id = str(step.event_id)
        elif source.event_ids and send.call == "track":
            send.event_id = fresh(f"evt-{seq:05d}", explicit_ids)
        if step.reset:
            if step.device is None:
                fail(
                    i,
                    "reset",
                    "reset logs a device out, and this step names no device",
                    "add device: NAME, the shopper's device that logs out",
                )
            else:  # the step's device logs out, whatever the source of its own call
                out = devices.get((who, step.device)) or new_device(who, step.device)
                out.resets += 1
                out.anonymous_id = fresh(f"anon-{who}-{step.device}-{out.resets}", taken_anon)
                out.identified_with = None
                anon_ids[who].append(out.anonymous_id)
                send.logs_out = (step.device, out.anonymous_id)
        sends.append(send)

    result = {
        name: ShopperIds(name, uid, email, tuple(anon_ids[name]), tuple(device_names[name]))
        for name, (uid, email) in shoppers.items()
    }
    return result, sends


def _ref(ref: s.PersonRef) -> tuple[str, str]:
    if ref.id is not None:
        return ("id", str(ref.id))
    if ref.email is not None:
        return ("email", ref.email)
    return ("cio_id", str(ref.cio_id))


def compile_expectations(
    model: s.Scenario,
    ws_model: s.Workspace,
    ws: WorkspaceConfig,
    shoppers: dict[str, ShopperIds],
    moment: Callable[[str], int],
    doc: YamlDoc,
    problems: list[Problem],
) -> list[Expect]:
    out: list[Expect] = []
    journeys = {j.name: j for j in ws.journeys}
    segments = {seg.name for seg in ws.segments}

    for i, e in enumerate(model.expect):

        def fail(key: str, message: str, hint: str = "", i: int = i) -> None:
            problems.append(doc.problem(("expect", i, key), message, hint))

        if e.who is not None and e.who not in shoppers:
            fail("who", f"unknown shopper {e.who!r}", did_you_mean(e.who, shoppers))
        for key in ("segment", "in_segment", "not_in_segment"):
            name = getattr(e, key)
            if name is not None and name not in segments:
                fail(key, f"unknown segment {name!r}", did_you_mean(name, segments))
        for j, member in enumerate(e.members or []):
            if member not in shoppers:
                problems.append(
                    doc.problem(
                        ("expect", i, "members", j), f"unknown shopper {member!r}", did_you_mean(member, shoppers)
                    )
                )
        journey = journeys.get(e.journey) if e.journey is not None else None
        if e.journey is not None and journey is None:
            fail("journey", f"unknown journey {e.journey!r}", did_you_mean(e.journey, journeys))
        messages: set[str] = set()
        if journey is not None:
            messages = set(journey.messages)
        elif e.journey is None:
            messages = {m for j in ws.journeys for m in j.messages}
        for j, message in enumerate(e.sent or []):
            if journey is not None and message not in messages:
                problems.append(
                    doc.problem(
                        ("expect", i, "sent", j),
                        f"journey {e.journey!r} has no message {message!r}",
                        did_you_mean(message, messages),
                    )
                )
        if e.message is not None and e.message not in messages:
            fail("message", f"unknown message {e.message!r}", did_you_mean(e.message, messages))
        fields: dict[str, Any] = e.model_dump(exclude_none=True, exclude={"at", "within"})
        at = moment(e.at) if e.at is not None else None
        within = (moment(e.within[0]), moment(e.within[1])) if e.within else None
        if e.within and within is not None and within[0] > within[1]:
            first, last = e.within
            fail(
                "within",
                f"within: [{first}, {last}] starts after it ends, so nothing could match",
                f"write it as [{last}, {first}]",
            )
        line, _col = doc.mark(("expect", i))
        out.append(Expect(i, e.kind(), fields, at, within, doc.file, line, _flow(doc.data, i)))
    return out


def _flow(data: Any, i: int) -> str:
    """The expectation as the user wrote it, in YAML flow style."""
    item = data.get("expect", [])[i] if isinstance(data, dict) else None
    if not isinstance(item, dict):
        return str(item)
    parts = []
    for key, value in item.items():
        parts.append(f"{key}: {_value(value)}")
    return "{" + ", ".join(parts) + "}"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    return str(value)
