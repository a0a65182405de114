"""Faults `segsim fuzz --faults` adds to a story: what the workspace does not
declare but production does anyway.

Each fault rewrites one timeline step (a plain mapping in the scenario file
format) with the keys a user would write by hand: `drop: true`, `copies: 2`,
`latency: 6h`, `timestamp: 10m`, `identify: {with: [id]}`, a server-only
event sent from a device, a drifted event name, a number sent as a string.
A fault that does not apply to a step leaves it as it is.
"""

from __future__ import annotations

from typing import Any

from simulator.model.time import format_duration, parse_duration

__all__ = ["FAULTS", "apply_fault", "drift_name"]

# The order matters for shrinking: Hypothesis prefers the first entries.
FAULTS = (
    "drop",
    "duplicate",
    "delay",
    "late_batch",
    "clock_skew",
    "partial_identify",
    "server_event_from_browser",
    "drifted_name",
    "mistyped_value",
)

_DELAYS = ("10m", "30m", "1h")
_LATE_BATCHES = ("2h", "6h", "1d")
_SKEWS = (-3600, 600, -86400)


def drift_name(name: str, variant: int) -> str:
    """`checkout_started` -> `Checkout Started`, `checkout-started` or `CHECKOUT_STARTED`."""
    words = name.replace("-", "_").replace(" ", "_").split("_")
    forms = (
        " ".join(w.capitalize() for w in words),
        "-".join(words),
        name.upper(),
    )
    drifted = forms[variant % len(forms)]
    return drifted if drifted != name else name.upper()


def apply_fault(
    step: dict[str, Any],
    fault: str,
    variant: int,
    *,
    device: str,
    client_source: str,
    identifiers: tuple[str, ...] = ("id", "email"),
) -> dict[str, Any]:
    """`step` with `fault` applied (a new mapping; the input is not changed).
    `identifiers` are the ones the step's shopper has."""
    out = dict(step)
    if fault == "drop":
        out["drop"] = True
    elif fault == "duplicate":
        out["copies"] = 2 + variant % 2
    elif fault == "delay":
        out["latency"] = _DELAYS[variant % len(_DELAYS)]
    elif fault == "late_batch":
        out["latency"] = _LATE_BATCHES[variant % len(_LATE_BATCHES)]
    elif fault == "clock_skew":
        at = parse_duration(out["at"])
        out["timestamp"] = format_duration(max(0, at + _SKEWS[variant % len(_SKEWS)]))
    elif fault == "partial_identify":
        if "identify" in out and len(identifiers) > 1:
            out["identify"] = {"with": [("id", "email")[variant % 2]]}
    elif fault == "server_event_from_browser":
        if "track" in out and "device" not in out:
            out.pop("source", None)
            rest = {k: v for k, v in out.items() if k not in ("at", "who")}
            out = {"at": out["at"], "who": out["who"], "device": device, "source": client_source, **rest}
    elif fault == "drifted_name":
        if "track" in out:
            out["track"] = drift_name(out["track"], variant)
    elif fault == "mistyped_value":
        props = out.get("properties")
        if isinstance(props, dict):
            numeric = [k for k, v in props.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if numeric:
                key = numeric[variant % len(numeric)]
                out["properties"] = {**props, key: str(props[key])}
    return out
