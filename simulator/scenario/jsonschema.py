"""JSON Schemas of the two file formats, for editors' autocompletion."""

from __future__ import annotations

from typing import Any

from simulator.scenario.schema import Scenario, Strict, Workspace, defaulted_keys

__all__ = ["json_schema"]


def json_schema(kind: str) -> dict[str, Any]:
    model = Scenario if kind == "scenario" else Workspace
    schema = model.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"segsim {kind} file"
    if kind == "scenario":
        _describe_overrides(schema)
    _null_where_it_is_the_default(schema, model)
    return schema


def _models(base: type[Strict] = Strict) -> dict[str, type[Strict]]:
    found: dict[str, type[Strict]] = {}
    for model in base.__subclasses__():
        found[model.__name__] = model
        found.update(_models(model))
    return found


def _null_where_it_is_the_default(schema: dict[str, Any], top: type[Strict]) -> None:
    """A key that may be left out takes `null` as its default (`Strict`'s loader
    reads it so): the schema says so, or an editor would flag what `check` accepts."""
    models = _models()
    for name, definition in [("", schema), *schema.get("$defs", {}).items()]:
        model = models.get(name.removeprefix("Partial")) if name else top
        properties = definition.get("properties")
        if model is None or not isinstance(properties, dict):
            continue
        for key in sorted(defaulted_keys(model) & set(properties)):
            prop = properties[key]
            if prop.get("type") == "null" or {"type": "null"} in prop.get("anyOf", []):
                continue
            outer = {k: v for k, v in prop.items() if k in ("title", "description", "default")}
            inner = {k: v for k, v in prop.items() if k not in outer}
            properties[key] = {**outer, "anyOf": [inner, {"type": "null"}]}


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
