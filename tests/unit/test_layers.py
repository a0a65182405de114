"""The package's shape: data flows one way, and the core stays light.

The platform model never imports the scenario layer, pytest, HTTP or the
CLI; `model/` is pure data; the engine and everything it needs import only
the standard library, so that `import simulator`, a replay and
`segsim --help` stay fast. Read from the source with `ast`, so a forbidden
import fails here even when nothing executes it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import simulator

PACKAGE = Path(simulator.__file__).parent

# Per folder, the only first-party folders (or top-level modules) it may import.
ALLOWED_FIRST_PARTY = {
    "model": {"model"},
    "ingestion": {"model"},
    "platform": {"model", "platform"},
    "checks": {"model", "platform", "checks", "pipeline"},
}
# Folders whose every import is the standard library or first-party: the engine's path.
STDLIB_ONLY = {"model", "ingestion", "platform", "checks"}


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, absolute, with its line (TYPE_CHECKING blocks included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = list(path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level])
                found.append((node.lineno, ".".join([*base, *(node.module.split(".") if node.module else [])])))
            else:
                found.append((node.lineno, node.module or ""))
    return found


def _files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("folder", sorted(ALLOWED_FIRST_PARTY))
def test_each_layer_imports_only_the_layers_below_it(folder: str) -> None:
    allowed = ALLOWED_FIRST_PARTY[folder]
    wrong = []
    for path in _files(folder):
        for line, module in _imports(path):
            parts = module.split(".")
            if parts[0] == "simulator" and len(parts) > 1 and parts[1] not in allowed:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
            elif folder in STDLIB_ONLY and parts[0] not in ("simulator", "__future__"):
                if parts[0] not in sys.stdlib_module_names:
                    wrong.append(
                        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module} (not the standard library)"
                    )
    assert not wrong, "\n".join(wrong)


def test_the_layer_rules_read_real_imports() -> None:
    """The reader above sees imports of every form, so the layer test cannot pass by reading nothing."""
    imports = {module for path in _files("platform") for _, module in _imports(path)}
    assert {"simulator.model.config", "simulator.platform.trace", "heapq"} <= imports
    assert any(m.startswith("simulator.pipeline") for p in _files("checks") for _, m in _imports(p))


def _run_at_import(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements a module runs when imported: its body, into `if`, `try`, `with` and class
    bodies (`if TYPE_CHECKING:` included, as a type checker imports it), never into a function."""
    for node in body:
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _run_at_import(getattr(node, field, []) or [])
        for handler in getattr(node, "handlers", []) or []:
            yield from _run_at_import(handler.body)


def test_nothing_outside_the_plugin_and_the_strategies_imports_pytest_or_hypothesis_at_import_time() -> None:
    allowed = {"pytest_plugin.py", "strategies.py"}
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in allowed or "search" in path.relative_to(PACKAGE).parts:
            continue  # the fuzz driver is Hypothesis's own front end
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _run_at_import(tree.body):  # a function may import an extra lazily
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            wrong.extend(
                f"{path.relative_to(PACKAGE.parent)}:{node.lineno} imports {n}"
                for n in names
                if n.split(".")[0] in ("pytest", "_pytest", "hypothesis")
            )
    assert not wrong, "\n".join(wrong)


def test_importing_the_package_and_the_engine_loads_nothing_beyond_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); import simulator, simulator.pipeline, simulator.checks.expectations; "
        "print('\\n'.join(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    third_party = sorted(m for m in loaded if m != "simulator" and m not in sys.stdlib_module_names)
    assert "simulator" in loaded
    assert third_party == [], f"the core import loads {third_party}"


def test_the_public_names_are_exactly_those_documented_and_each_resolves() -> None:
    assert sorted(simulator.__all__) == sorted(
        [
            "InputError",
            "SegsimError",
            "load_plan",
            "load_plan_text",
            "load_workspace",
            "Outcome",
            "ScenarioResult",
            "check_plan",
            "simulate",
            "Violation",
            "find_violations",
            "__version__",
        ]
    )
    for name in simulator.__all__:
        assert getattr(simulator, name) is not None, name
        assert name in dir(simulator)
    with pytest.raises(AttributeError, match="no attribute 'engine_internals'"):
        simulator.engine_internals  # noqa: B018
