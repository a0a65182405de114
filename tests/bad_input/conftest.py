"""The corpus holds broken scenario files on purpose: never collect them as scenarios."""

from __future__ import annotations

collect_ignore_glob = ["corpus/*"]
