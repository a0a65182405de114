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
    if kind == "scenario":
        _describe_overrides(schema)
    return schema


def _describe_overrides(schema: dict[str, Any]) -> None:
    """`overrides` is a partial workspace (SPEC 2): any of the workspace's keys,
    and of a source's, segment's or journey's, none required; a key replaced
    whole (`rule`, `trigger`, `steps`, ...) is written whole."""
    defs = schema["$defs"]
    partial = {key: value for key, value in defs["Workspace"].items() if key != "required"}
    partial["properties"] = dict(partial["properties"])
    partial["title"] = "Overrides (a partial workspace)"
    for key, name in (("sources", "Source"), ("segments", "Segment"), ("journeys", "Journey")):
        defs[f"Partial{name}"] = {k: v for k, v in defs[name].items() if k != "required"}
        partial["properties"][key] = {
            **partial["properties"][key],
            "additionalProperties": {"$ref": f"#/$defs/Partial{name}"},
        }
    defs["PartialWorkspace"] = partial
    schema["properties"]["overrides"] = {
        "anyOf": [{"$ref": "#/$defs/PartialWorkspace"}, {"type": "null"}],
        "default": None,
        "title": "Overrides",
    }
