"""JSON Schemas of the two file formats, for editors' autocompletion."""

from __future__ import annotations

from typing import Any

from simulator.scenario.schema import Scenario, Workspace

__all__ = ["json_schema"]


def json_schema(kind: str) -> dict[str, Any]:
    model = Scenario if kind == "scenario" else Workspace
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"segsim {kind} file"
    return schema
