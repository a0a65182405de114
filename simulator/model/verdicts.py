"""The names of section 9's findings, defined once: the file schema accepts
them and the checks produce them."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["CAUSES", "CAUSES_OF", "Cause", "INVARIANTS", "InvariantName", "ViolationKind"]

ViolationKind = Literal["ghost_abandon", "missed_entry", "duplicate_entry", "split_identity"]
InvariantName = Literal["no_ghost_abandons", "no_missed_entries", "no_duplicate_entries", "no_split_identities", "all"]
# In the order they are tried.
Cause = Literal[
    "dropped",
    "identity_split",
    "merge_lost",
    "too_old",
    "late_arrival",
    "clock_skew",
    "refresh_lag",
    "name_mismatch",
    "type_mismatch",
    "duplicate_delivery",
    "exit_setting",
    "other",
]

CAUSES: tuple[str, ...] = get_args(Cause)

# Each invariant and the kind of violation it forbids (`all` forbids every kind).
INVARIANTS: dict[str, str] = {
    "no_ghost_abandons": "ghost_abandon",
    "no_missed_entries": "missed_entry",
    "no_duplicate_entries": "duplicate_entry",
    "no_split_identities": "split_identity",
}

# The causes each kind of violation can have (SPEC 9: the kinds in brackets
# after each cause; a split identity's cause is always `identity_split`).
_GHOST_OR_MISSED = {"merge_lost", "late_arrival", "clock_skew", "refresh_lag", "name_mismatch", "type_mismatch"}
_ALL_KINDS = {"dropped", "identity_split", "other"}
CAUSES_OF: dict[str, tuple[str, ...]] = {
    "ghost_abandon": tuple(c for c in CAUSES if c in _ALL_KINDS | _GHOST_OR_MISSED | {"exit_setting"}),
    "missed_entry": tuple(c for c in CAUSES if c in _ALL_KINDS | _GHOST_OR_MISSED | {"too_old"}),
    "duplicate_entry": tuple(c for c in CAUSES if c in _ALL_KINDS | {"duplicate_delivery"}),
    "split_identity": ("identity_split",),
}
