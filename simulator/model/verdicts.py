"""The names of section 9's findings, defined once: the file schema accepts
them and the checks produce them."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["CAUSES", "Cause", "INVARIANTS", "InvariantName", "ViolationKind"]

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
