"""Hypothesis fuzz of the loaders: documents built from the schema's own keys.

Keys come from walking the pydantic models behind `segsim schema` (plus
near misses and junk), values mix valid ones (durations, instants, names
the fixture workspace defines) with wrong types and random structures. Each
document goes through `load_plan_text` (scenarios) or `load_workspace`
(written to a file): the answer is a Plan / a workspace, or an InputError
whose every problem names the file, a line (0 only for a whole-file
problem) and a message. Any other exception is a bug.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.scenario import schema
from simulator.scenario.errors import InputError, Problem
from simulator.scenario.loader import load_plan_text, load_workspace
from simulator.scenario.model_paths import field_names

from .conftest import WORKSPACE

SCENARIO_KEYS = sorted(field_names(schema.Scenario))
WORKSPACE_KEYS = sorted(field_names(schema.Workspace))
TOP_SCENARIO = sorted(schema.Scenario.model_fields)
TOP_WORKSPACE = sorted(schema.Workspace.model_fields)

# Names the fixture workspace and common scenarios use, so some documents get deep into compilation.
NAMES = ["ana", "ben", "phone", "laptop", "web", "app", "backend", "cus_1", "ana@example.com"]
NAMES += ["cart_abandoners", "cart_recovery", "checkout_started", "order_completed", "recovery_email", "vip"]
VALID_SCALARS = ["0s", "30s", "5m", "1h30m", "3d", "1w", "2026-03-02T09:00:00Z", "2026-01-01T00:00:00+01:00"]
VALID_SCALARS += ["client", "server", "id", "email", "strict", "loose", "sent", "none", "all", "any"]


def _near_miss(key: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [key[:-1] or "x", key + "s", key.upper(), key.replace("_", "-"), key[1:] + key[:1], " " + key, key + ":"]
    )


def _key(keys: list[str]) -> st.SearchStrategy[str]:
    exact = st.sampled_from(keys)
    return st.one_of(
        exact, exact, exact, exact, exact.flatmap(_near_miss), st.text(min_size=1, max_size=12), st.sampled_from(NAMES)
    )


SCALARS = st.one_of(
    st.sampled_from(VALID_SCALARS),
    st.sampled_from(NAMES),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["-1h", "1 hour", "99999999999999999999w", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]),
)


def _values(keys: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(_key(keys), inner, max_size=5),
        ),
        max_leaves=25,
    )


def _document(top: list[str], keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.one_of(st.sampled_from(top), _key(keys)), _values(keys), max_size=7)


@st.composite
def scenarios(draw: st.DrawFn) -> str:
    document = draw(_document(TOP_SCENARIO, SCENARIO_KEYS))
    document.setdefault("scenario", draw(st.sampled_from(["fuzzed", 1, None, ["x"]])))
    choice = draw(st.sampled_from(["file", "inline", "random"]))
    if choice == "file":
        document["workspace"] = str(WORKSPACE)
    elif choice == "inline":
        document["workspace"] = draw(_document(TOP_WORKSPACE, WORKSPACE_KEYS))
    return _yaml(document, draw(st.binary(max_size=3)), draw(st.integers(min_value=0, max_value=10**6)))


def _shipped(folder: Path) -> list[dict[str, Any]]:
    """The shipped scenarios as plain data, their workspace paths made absolute."""
    documents = []
    for path in sorted(folder.glob("*.yaml"))[:8]:
        document = yaml.safe_load(path.read_text("utf-8"))
        if isinstance(document.get("workspace"), str):
            document["workspace"] = str((path.parent / document["workspace"]).resolve())
        documents.append(document)
    return documents


SHIPPED = _shipped(WORKSPACE.parents[2] / "scenarios")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, prefix + (index,))
    return found


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> str:
    """A shipped scenario with one to three nodes replaced, renamed or removed: deep into compilation."""
    document = copy.deepcopy(draw(st.sampled_from(SHIPPED)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(document)[1:]))
        parent: Any = document
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        how = draw(st.sampled_from(["value", "value", "rename", "remove"]))
        if how == "value":
            parent[last] = draw(_values(SCENARIO_KEYS))
        elif how == "rename" and isinstance(parent, dict):
            parent[draw(_near_miss(str(last)))] = parent.pop(last)
        elif isinstance(parent, dict):
            del parent[last]
        else:
            parent.pop(last)
    return _yaml(document, b"", 0)


@st.composite
def workspaces(draw: st.DrawFn) -> str:
    document = draw(_document(TOP_WORKSPACE, WORKSPACE_KEYS))
    return _yaml(document, draw(st.binary(max_size=3)), draw(st.integers(min_value=0, max_value=10**6)))


def _yaml(document: Any, noise: bytes, where: int) -> str:
    """The document as YAML, sometimes with a few characters of noise spliced in."""
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if noise:
        cut = where % (len(text) + 1)
        text = text[:cut] + noise.decode("latin-1") + text[cut:]
    return text


def _well_located(problem: Problem, files: tuple[str, ...]) -> None:
    assert problem.file in files or problem.file.endswith(".yaml"), problem
    assert problem.message.strip(), problem
    assert problem.line >= 0 and problem.column >= 0, problem
    if problem.line == 0:
        assert problem.path == "", f"only a whole-file problem may lack a line: {problem}"


def _scenario_loads_or_is_refused(text: str) -> None:
    try:
        plan = load_plan_text(text, "fuzz.yaml", WORKSPACE.parent)
    except InputError as exc:
        assert exc.problems
        for problem in exc.problems:
            _well_located(problem, ("fuzz.yaml", str(WORKSPACE)))
        return
    assert plan.workspace is not None


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(text=scenarios())
def test_a_fuzzed_scenario_loads_or_is_refused_with_located_problems(text: str) -> None:
    _scenario_loads_or_is_refused(text)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_scenarios())
def test_a_mutated_shipped_scenario_loads_or_is_refused_with_located_problems(text: str) -> None:
    _scenario_loads_or_is_refused(text)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(text=workspaces())
def test_a_fuzzed_workspace_file_loads_or_is_refused_with_located_problems(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "workspace.yaml"
        path.write_text(text, "utf-8")
        try:
            config, model = load_workspace(path)
        except InputError as exc:
            assert exc.problems
            for problem in exc.problems:
                _well_located(problem, (str(path),))
            return
    assert config is not None and model is not None
