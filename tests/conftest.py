"""Shared test settings: Hypothesis runs derandomized so CI is reproducible."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "segsim",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    max_examples=int(os.environ.get("SEGSIM_MAX_EXAMPLES", "60")),
)
settings.load_profile("segsim")
