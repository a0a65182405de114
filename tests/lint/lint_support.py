"""Helpers of the lint tests: a small clean workspace, and a folder that holds
workspaces, scenarios and logs and lints them."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from simulator.lint.findings import Finding
from simulator.lint.lint_run import LintRun, lint_paths

NOW = 1_800_000_000  # a fixed "wall clock" for log timestamps without arrival

BASE_WORKSPACE: dict[str, Any] = {
    "sources": {
        "web": {"kind": "client", "latency": "5s"},
        "backend": {"kind": "server", "latency": {"batch": {"every": "30m"}}},
    },
    "identity": {"auto_merge": True, "merge_anonymous": True},
    "dedupe": {"by_event_id": True, "idempotency_keys": {"order_completed": "order_id"}},
    "tracking_plan": {
        "events": {
            "checkout_started": {
                "description": "the checkout page rendered",
                "properties": {
                    "checkout_id": {"type": "string", "required": True},
                    "value": {"type": "number", "required": True},
                    "currency": {"type": "string"},
                },
            },
            "added_to_cart": {
                "description": "an item went into the cart",
                "properties": {
                    "product_id": {"type": "string", "required": True},
                    "category": {"type": "string"},
                },
            },
            "order_completed": {
                "description": "payment accepted",
                "source": "server",
                "unique_by": "order_id",
                "properties": {
                    "order_id": {"type": "string", "required": True},
                    "checkout_id": {"type": "string"},
                    "value": {"type": "number", "required": True},
                    "items": {"type": "list"},
                },
            },
        }
    },
    "segments": {
        "cart_abandoners": {
            "description": "started checkout in the last 2h, no order since",
            "rule": {
                "all": [
                    {"performed": "checkout_started", "within": "2h"},
                    {"not_performed": "order_completed", "after": "checkout_started"},
                ]
            },
        },
    },
    "journeys": {
        "cart_recovery": {
            "trigger": {"event": "checkout_started", "where": {"value": {"gt": 0}}},
            "filter": {"not_performed": "order_completed", "after": "checkout_started"},
            "goal": {"performed": "order_completed", "where": {"checkout_id": {"trigger": "checkout_id"}}},
            "exit": "goal_or_stop_matching",
            "steps": [{"wait": "1h"}, {"send": "recovery_email"}],
        }
    },
}


def workspace(**changes: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(BASE_WORKSPACE)
    for change in changes.values():
        change(data)
    return data


class LintFolder:
    """A temporary folder holding one workspace and the files to lint with it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace_path = root / "workspace.yaml"
        self.write_workspace(BASE_WORKSPACE)

    def write_workspace(self, data: dict[str, Any]) -> Path:
        self.workspace_path.write_text(yaml.safe_dump(data, sort_keys=False))
        return self.workspace_path

    def scenario(self, timeline: list[dict[str, Any]], name: str = "story.yaml", **extra: Any) -> Path:
        data: dict[str, Any] = {
            "scenario": "a story",
            "workspace": "workspace.yaml",
            "shoppers": {"ana": {"id": "cus_1", "email": "ana@example.com"}},
            "timeline": timeline,
        }
        data.update(extra)
        path = self.root / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def log(self, records: Iterable[dict[str, Any] | str], name: str = "events.jsonl") -> Path:
        path = self.root / name
        with path.open("w") as fh:
            for record in records:
                fh.write((record if isinstance(record, str) else json.dumps(record)) + "\n")
        return path

    def lint(self, *files: Path) -> LintRun:
        run = lint_paths(self.workspace_path, [str(f) for f in files], NOW)
        assert not run.problems, [p.render() for p in run.problems]
        return run


def rules(findings: Iterable[Finding]) -> list[str]:
    return [f.rule for f in findings]


def track(event: str, properties: dict[str, Any], at: str = "2027-01-15T10:00:00Z", **extra: Any) -> dict[str, Any]:
    """A Data Pipelines track message from a server library, arriving 2s after its timestamp."""
    from simulator.lint.logs import read_instant
    from simulator.model.time import format_instant

    message: dict[str, Any] = {
        "type": "track",
        "userId": "cus_1",
        "event": event,
        "properties": properties,
        "timestamp": at,
        "receivedAt": format_instant(read_instant(at) + 2),
        "messageId": f"m-{event}-{json.dumps(properties, sort_keys=True)}-{at}",
        "context": {"library": {"name": "analytics-python"}},
    }
    message.update(extra)
    return message
