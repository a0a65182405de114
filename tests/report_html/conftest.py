"""Two small scenarios for the HTML report: a late order batch that sends a ghost reminder, and a clean story."""

from __future__ import annotations

from pathlib import Path

import pytest

WORKSPACE = Path(__file__).parents[2] / "fixtures" / "workspaces" / "dtc_store.yaml"

LATE_BATCH = """\
scenario: late batch behind the first reminder
description: Ana pays, but the order reaches the platform three hours later; Ben never pays.
workspace: {workspace}
shoppers:
  ana: {{id: cus_1, email: ana@example.com}}
  ben: {{id: cus_2, email: ben@example.com}}
timeline:
  - {{at: 0m, who: ana, device: phone, identify: true}}
  - {{at: 1m, who: ana, device: phone, track: checkout_started, properties: {{checkout_id: ck_1, value: 80}}}}
  - {{at: 20m, who: ana, source: backend, track: order_completed, latency: 3h,
     properties: {{order_id: o_1, checkout_id: ck_1, value: 80}}}}
  - {{at: 5m, who: ben, device: laptop, track: checkout_started, properties: {{checkout_id: ck_2, value: 30}}}}
  - {{at: 6m, who: ben, device: laptop, identify: true}}
expect:
  - {{violation: ghost_abandon, who: ana, cause: late_arrival}}
"""

CLEAN = """\
scenario: one clean purchase
workspace: {workspace}
shoppers:
  cat: {{id: cus_3, email: cat@example.com}}
timeline:
  - {{at: 0m, who: cat, device: phone, identify: true}}
  - {{at: 1m, who: cat, device: phone, track: checkout_started, properties: {{checkout_id: ck_3, value: 120}}}}
  - {{at: 4m, who: cat, source: backend, track: order_completed, latency: 0s,
     properties: {{order_id: o_3, checkout_id: ck_3, value: 120}}}}
expect:
  - {{who: cat, journey: cart_recovery, sent: []}}
  - {{invariant: all}}
"""


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("suite")
    (folder / "late_batch.yaml").write_text(LATE_BATCH.format(workspace=WORKSPACE))
    (folder / "clean.yaml").write_text(CLEAN.format(workspace=WORKSPACE))
    return folder
