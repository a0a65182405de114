"""Write a witness (a generated story and the violation it shows) as a
scenario file, and read it back.

The layout is fixed so that dump, load, dump gives the same text: a header
of `# key: value` comment lines (how it was found, the seed, the Hypothesis
reproduction blob, the replay command), then the top-level keys in the
scenario file's order, one shopper, step or expectation a line in YAML flow
style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from simulator.scenario.errors import InputError
from simulator.scenario.yamlfile import dump_yaml, load_yaml_text

__all__ = ["Witness", "dump_witness", "load_witness"]

_ORDER = (
    "scenario",
    "description",
    "start",
    "seed",
    "until",
    "workspace",
    "overrides",
    "shoppers",
    "timeline",
    "expect",
)
_LISTS = ("timeline", "expect")


@dataclass
class Witness:
    """A scenario mapping and the comment lines above it (an ordered mapping of
    header keys, such as `seed` and `reproduce`, to one-line texts)."""

    scenario: dict[str, Any]
    header: dict[str, str] = field(default_factory=dict)


def _flow(value: Any) -> str:
    text = dump_yaml(value, default_flow_style=True, sort_keys=False, width=1_000_000, allow_unicode=True)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    elif text.endswith("..."):
        text = text[: -len("...")].strip()
    return text


def _key(key: str) -> str:
    return _flow(key)


def dump_witness(witness: Witness) -> str:
    """The witness's text: its header as comments, then its scenario as YAML
    (`load_witness` reads it back into an equal witness: dump, load, dump gives
    the same text)."""
    lines: list[str] = []
    for key, text in witness.header.items():
        one_line = " ".join(str(text).split())
        lines.append(f"# {key}: {one_line}")
    data = witness.scenario
    keys = [k for k in _ORDER if k in data] + [k for k in data if k not in _ORDER]
    for key in keys:
        value = data[key]
        if key in _LISTS and isinstance(value, list):
            if not value:
                lines.append(f"{key}: []")
                continue
            lines.append(f"{key}:")
            lines.extend(f"  - {_flow(item)}" for item in value)
        elif key == "shoppers" and isinstance(value, dict) and value:
            lines.append(f"{key}:")
            lines.extend(f"  {_key(name)}: {_flow(ids)}" for name, ids in value.items())
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "\n".join(lines) + "\n"


def load_witness(text: str) -> Witness:
    """The inverse of `dump_witness` (header comments included)."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, rest = line[1:].strip().partition(":")
        if sep:
            header[key.strip()] = rest.strip()
    try:
        data = load_yaml_text(text, "<witness>").data  # as `segsim run` reads it
    except InputError as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(data, dict):
        raise ValueError("a witness file is a scenario mapping")
    return Witness(data, header)
