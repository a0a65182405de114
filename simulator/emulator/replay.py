"""Replaying a call log: the same operations at the same instants give the
same platform trace as the live session; or a scenario skeleton.

The skeleton (`segsim replay LOG --to-scenario FILE`) turns the delivered
calls back into a story: shoppers are inferred from the identifiers that
calls tie together (an identify carrying an id, an email and an anonymous
id is one shopper), every anonymous id becomes a device of its shopper, and
every call a step at its arrival offset with `latency: 0s`, so a scenario
run delivers it when the emulator received it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.model.calls import Send
from simulator.model.config import WorkspaceConfig
from simulator.model.time import format_duration, format_instant
from simulator.platform.state import email_key
from simulator.scenario.yamlfile import dump_yaml

from .calllog import LogError, SessionLog
from .session import EmulatorSession

__all__ = ["Skeleton", "replay_log", "scenario_skeleton", "workspace_reference", "write_skeleton"]


def replay_log(log: SessionLog, workspace: WorkspaceConfig) -> EmulatorSession:
    """A fresh session with every record of the log applied in order."""
    session = EmulatorSession(workspace, log.start)
    for record in log.records:
        kind = record["kind"]
        try:
            if kind == "request":
                session.apply_request(record["at"], record["ops"])
            elif kind == "advance":  # `settle: false`: the clock moved by advance (see EmulatorSession.sync)
                session.apply_advance(record["at"], record.get("settle", True) is not False)
            elif kind == "reset":
                session.apply_reset(record["at"])
            # "resume": serve restarted on this log; nothing changed in the platform
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, RecursionError) as exc:
            raise LogError(f"{log.path}:{record.get('_line', '?')}: cannot apply this record ({exc!r})") from None
    return session


class _Shoppers:
    """Union-find over identifiers: `id:X`, `email:Y`, `anon:Z`."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.order: list[str] = []

    def find(self, key: str) -> str:
        if key not in self.parent:
            self.parent[key] = key
            self.order.append(key)
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, keys: list[str]) -> None:
        roots = [self.find(k) for k in keys]
        for other in roots[1:]:
            first, second = sorted((roots[0], other), key=self.order.index)
            self.parent[second] = first


def _keys(send: Send) -> list[str]:
    keys = [f"id:{send.user_id}"] if send.user_id is not None else []
    if send.email is not None:
        keys.append(f"email:{email_key(send.email)}")
    if send.anonymous_id is not None:
        keys.append(f"anon:{send.anonymous_id}")
    for ref in (send.primary, send.secondary):
        if ref is not None and ref[0] in ("id", "email"):
            keys.append(f"{ref[0]}:{email_key(ref[1]) if ref[0] == 'email' else ref[1]}")
    return keys


class _ServerSources:
    """The server source each replayed track goes through, so that it lands where
    the live call did: `backend` when it keys the call by the identifier the call
    named (or the shopper has no other), else a source the skeleton declares
    (`backend_by_email`: an email-keyed Track API call of a shopper with an id)."""

    def __init__(self, workspace: WorkspaceConfig) -> None:
        self.workspace = workspace
        self.declared: dict[str, dict[str, Any]] = {}

    def keyed(self, send: Send, person: dict[str, Any]) -> str:
        by = "id" if send.user_id is not None else "email"
        other = "email" if by == "id" else "id"
        if self.workspace.source("backend").identify_by == by or other not in person:
            return "backend"
        name = f"backend_by_{by}"
        while name in self.workspace.sources and self.workspace.sources[name].identify_by != by:
            name += "_"
        if name not in self.workspace.sources:
            self.declared[name] = {"kind": "server", "identify_by": by, "latency": "0s"}
        return name

    def lossy(self, name: str) -> bool:
        if name in self.declared:
            return False
        source = self.workspace.source(name)
        return source.drop_rate > 0 or source.duplicate_rate > 0


@dataclass(frozen=True)
class Skeleton:
    document: dict[str, Any]  # the scenario, a mapping ready for YAML
    anonymous_ids: dict[str, str]  # device name -> the anonymous id its calls carried
    left_out: list[str]  # the calls a scenario has no step for, at their offsets


# Calls that change people but that a scenario has no step for. They are said
# as calls, not as what they did (a delete of nobody was dropped live).
_NOT_A_STEP = {
    "delete": "a delete of {who}",
    "suppress": "a suppress of {who} (later calls carrying it are dropped)",
    "unsuppress": "an unsuppress of {who}",
    "device_add": "a device added to {who}",
    "device_delete": "a device deleted from {who}",
}


def _left_out(log: SessionLog, start: int) -> list[str]:
    """The calls since the last reset that the skeleton cannot write as steps, said in words."""
    lines: list[str] = []
    for record in log.records:
        if record["kind"] == "reset":
            lines = []
        elif record["kind"] == "request":
            for op in record["ops"]:
                said = _NOT_A_STEP.get(op.get("op"))
                if said is not None:
                    ref = op.get("ref")
                    # quoted as JSON: an identifier is the caller's text, and a comment line must stay one
                    who = json.dumps(ref[1] if isinstance(ref, list | tuple) and len(ref) == 2 else None)
                    lines.append(f"at {format_duration(record['at'] - start)}: " + said.format(who=who))
    return lines


def scenario_skeleton(session: EmulatorSession, log: SessionLog, workspace_ref: str) -> Skeleton:
    """The scenario for the calls the session delivered. A scenario derives each device's anonymous id
    from the names, so the ids the calls carried are kept beside it, for the file's header."""
    shoppers = _Shoppers()
    for send in session.sends:
        keys = _keys(send)
        if send.call == "merge":
            for key in keys:
                shoppers.find(key)
        elif keys:
            shoppers.union(keys)
    names: dict[str, str] = {}
    people: dict[str, dict[str, Any]] = {}
    devices: dict[str, str] = {}
    for key in shoppers.order:
        root = shoppers.find(key)
        if root not in names:
            names[root] = f"shopper_{len(names) + 1}"
            people[names[root]] = {}
        person = people[names[root]]
        kind, _, value = key.partition(":")
        if kind in ("id", "email"):
            person.setdefault(kind, value)
        else:
            devices[value] = f"device_{len(devices) + 1}"
    start = session.platform.start  # the last reset's, when there was one: the sends are since then
    servers = _ServerSources(session.platform.ws)
    timeline: list[dict[str, Any]] = []
    for send in session.sends:
        step: dict[str, Any] = {"at": format_duration(send.at - start)}
        if send.call == "merge":
            assert send.primary is not None and send.secondary is not None
            primary, secondary = send.primary, send.secondary
            step["merge"] = {"primary": {primary[0]: primary[1]}, "secondary": {secondary[0]: secondary[1]}}
            step["latency"] = "0s"
            timeline.append(step)
            continue
        keys = _keys(send)
        if not keys:
            continue
        who = names[shoppers.find(keys[0])]
        step["who"] = who
        if send.anonymous_id is not None:
            step["device"] = devices[send.anonymous_id]
            step["source"] = "web"
        elif send.call == "track":
            step["source"] = servers.keyed(send, people[who])
        else:
            step["source"] = "backend"
        if servers.lossy(step["source"]):  # the call arrived once: no draw may drop or double it
            step.update(drop=False, copies=1)
        if send.call == "track":
            step["track"] = send.name
            if send.properties:
                step["properties"] = send.properties
            if send.timestamp is not None and send.timestamp != send.at:
                step["timestamp"] = format_instant(send.timestamp)
            if send.event_id is not None:
                step["event_id"] = send.event_id
        else:
            with_ = [k for k in ("id", "email") if getattr(send, "user_id" if k == "id" else k) is not None]
            with_ = [k for k in with_ if k in people[who]]
            identify: dict[str, Any] = {}
            if with_ and with_ != [k for k in ("id", "email") if k in people[who]]:
                identify["with"] = with_
            if send.attributes:
                identify["attributes"] = send.attributes
            step["identify"] = identify or True
        step["latency"] = "0s"
        timeline.append(step)
    document = {
        "scenario": f"replay of {log.path.name}",
        "description": (
            f"Calls received by the emulator from {format_instant(start)}, one step per call at its arrival "
            "offset (but for the calls the header lists, which no step can say). Shoppers are inferred from the "
            "identifiers the calls tie together; add expectations."
        ),
        "start": format_instant(start),
        "workspace": workspace_ref,
        **({"overrides": {"sources": servers.declared}} if servers.declared else {}),
        "shoppers": {name: person for name, person in people.items()},
        "timeline": timeline,
        "expect": [],
    }
    anonymous_ids = {device: anonymous_id for anonymous_id, device in devices.items()}
    return Skeleton(document, anonymous_ids, _left_out(log, start))


def write_skeleton(skeleton: Skeleton, path: Path) -> None:
    text = dump_yaml(skeleton.document, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)
    from simulator.fileout import write_text

    header = ["# Written by segsim replay --to-scenario: a starting point, edit freely."]
    if skeleton.anonymous_ids:
        header.append("# The anonymous ids the calls carried (a scenario derives its own from the names):")
        header += [f"#   {device}: {json.dumps(anon)}" for device, anon in skeleton.anonymous_ids.items()]
    if skeleton.left_out:
        header.append("# Calls no scenario step can say, left out (the story below runs without them):")
        header += [f"#   {line}" for line in skeleton.left_out]
    write_text(path, "\n".join(header) + "\n" + text)  # OutputError names the file


def workspace_reference(workspace: Path, scenario: Path) -> str:
    """The workspace path as the scenario file should name it (relative to the scenario's folder)."""
    from simulator.fileout import reference_from

    return reference_from(Path(os.path.dirname(scenario) or "."), workspace)
