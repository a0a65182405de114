"""From a generated story (a scenario mapping) to a compiled `Plan`, fast.

`segsim run` reads YAML text and validates the workspace on every load; the
fuzzer compiles thousands of stories against one workspace, so it validates
the story with the same scenario model and compiles its timeline with the
same compiler, against a workspace loaded once. Every witness it writes is
then loaded back through `load_plan_text`, the path `segsim run` uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from simulator.model.plan import Plan
from simulator.model.time import is_duration, parse_duration, parse_instant
from simulator.scenario import schema as s
from simulator.scenario.compile_timeline import compile_timeline
from simulator.scenario.errors import InputError, Problem
from simulator.scenario.loader import problems_of
from simulator.scenario.yamlfile import YamlDoc
from simulator.search.catalog import Catalog

__all__ = ["PlanBuilder"]


class PlanBuilder:
    """Compiles stories against one workspace."""

    def __init__(self, catalog: Catalog, file: str = "<generated story>") -> None:
        self.catalog = catalog
        self.file = file

    def build(self, story: dict[str, Any]) -> Plan:
        data = {k: v for k, v in story.items() if k not in ("workspace", "expect")}
        doc = YamlDoc(self.file, data)
        try:
            model = s.Scenario.model_validate(data)
        except ValidationError as exc:
            raise InputError(problems_of(exc, data, doc.problem)) from None
        start = parse_instant(model.start)

        def moment(text: str) -> int:
            return start + parse_duration(text) if is_duration(text) else parse_instant(text)

        problems: list[Problem] = []
        shoppers, sends = compile_timeline(model, self.catalog.workspace, moment, doc, problems)
        if problems:
            raise InputError(problems)
        until = moment(model.until) if model.until is not None else None
        base = str(self.catalog.path) if self.catalog.path else self.file
        return Plan(model.scenario, base, start, model.seed, until, self.catalog.workspace, shoppers, sends, [], None)


def relative_workspace(workspace: Path, out_dir: Path) -> str:
    """The workspace's path as a scenario file in `out_dir` names it."""
    import os

    return Path(os.path.relpath(workspace.resolve(), out_dir.resolve())).as_posix()
