"""The pytest plugin: every scenario file is a test item, and fixtures give
Python tests the same engine.

`pytest scenarios/` collects each `.yaml`/`.yml` file with a top-level
`scenario` key as one item named after the scenario. A failure shows the
same explanation as `segsim run`, not a Python traceback.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

__all__ = ["InvalidScenario", "ScenarioFile", "ScenarioItem", "pytest_collect_file", "segsim"]


class ScenarioFailed(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class InvalidScenario(Exception):
    """The `segsim` fixture was given a scenario that does not load: its located
    problems. An exception, not `pytest.fail`, so that a Hypothesis test shrinks
    it and prints the falsifying example that wrote the scenario."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("segsim")
    group.addoption(
        "--segsim-strict",
        action="store_true",
        default=False,
        help="fail a scenario on any violation it does not document",
    )
    parser.addini(
        "segsim_workspace",
        "the workspace file the segsim_emulator fixture serves (relative to the rootdir; default: "
        "fixtures/workspaces/dtc_store.yaml when there is one, else an empty workspace)",
        default="",
    )


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml"):
        from simulator.scenario.loader import surely_a_story

        # A story without its `scenario` key (misspelt, or missing beside two of shoppers,
        # timeline, expect) is collected too: it fails instead of passing unnoticed.
        if surely_a_story(file_path):
            return ScenarioFile.from_parent(parent, path=file_path)  # type: ignore[no-any-return]
    return None


def _as_run_names_it(path: Path, config: pytest.Config) -> Path:
    """The file as `segsim run` from the same folder names it (relative, when it is below that
    folder), so a failure reads the same on every machine, in the terminal and in JUnit XML."""
    try:
        return path.relative_to(config.invocation_params.dir)
    except ValueError:
        return path


class ScenarioFile(pytest.File):
    def collect(self) -> Any:
        from simulator.scenario.errors import InputError
        from simulator.scenario.loader import load_plan, scenario_name

        try:
            plan = load_plan(_as_run_names_it(self.path, self.config))
        except InputError as exc:
            name = scenario_name(self.path) or self.path.stem  # `-k` finds it by the name it was given
            yield InvalidScenarioItem.from_parent(self, name=item_name(name), error=exc)
            return
        yield ScenarioItem.from_parent(self, name=item_name(plan.name), plan=plan)


def item_name(scenario: str) -> str:
    """The test item's name: the scenario's, with a space after each colon that a
    colon follows (`::` is `: :`). pytest splits a node id at `::`, so
    `file.yaml::cart::recovery` could not be run again by the id it printed."""
    return re.sub(r":(?=:)", ": ", scenario)


class InvalidScenarioItem(pytest.Item):
    def __init__(self, *, error: Exception, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise ScenarioFailed("invalid scenario file:\n" + str(self.error))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.text
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario file {self.path.name}"


class ScenarioItem(pytest.Item):
    def __init__(self, *, plan: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan

    def runtest(self) -> None:
        from simulator.checks.expectations import check_plan
        from simulator.report.text import failure_text
        from simulator.scenario.errors import InputError

        strict = bool(self.config.getoption("segsim_strict", False))
        try:
            res = check_plan(self.plan, strict=strict)
        except InputError as exc:  # a story that never ends
            raise ScenarioFailed(f"ERROR {self.plan.file}\n{exc}") from None
        if not res.passed:
            raise ScenarioFailed(failure_text(res))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.text
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario: {self.plan.name}"


@pytest.fixture(scope="session")  # it keeps no state: usable in `@given` tests too
def segsim() -> Callable[..., Any]:
    """Run a scenario given as a YAML string or a path; returns a ScenarioResult.

    def test_story(segsim):
        result = segsim('''
        scenario: my story
        ...
        ''')
        assert result.passed, result.explanation   # segsim run's words for a failure

    A path is read relative to the working directory, and an inline scenario's
    `workspace:` path relative to `base` (default: the working directory). An
    invalid scenario fails the test with its located problems.
    """
    from simulator.checks.expectations import check_plan
    from simulator.report.text import failure_text
    from simulator.scenario.errors import InputError
    from simulator.scenario.loader import load_plan, load_plan_text

    def run(source: str | Path, *, base: str | Path | None = None, strict: bool = False) -> Any:
        try:
            one_line = isinstance(source, str) and "\n" not in source
            if isinstance(source, Path) or (one_line and (source.endswith((".yaml", ".yml")) or Path(source).exists())):
                plan = load_plan(source)
            else:
                plan = load_plan_text(str(source), "<inline scenario>", Path(base) if base else Path.cwd())
        except InputError as exc:
            problems = str(exc)
        else:
            problems = ""
        if not problems:
            try:
                result = check_plan(plan, strict=strict)
            except InputError as exc:  # a story that never ends
                problems = str(exc)
        if problems:  # outside the handler: one message, no chained traceback
            __tracebackhide__ = True  # the traceback ends at the test's own call
            raise InvalidScenario(f"invalid scenario:\n{problems}")
        if not result.passed:
            result.explanation = failure_text(result)
        return result

    return run


@pytest.fixture
def segsim_emulator(request: pytest.FixtureRequest) -> Any:
    """A local Customer.io emulator on a free loopback port, for the test's duration.

    Yields a `simulator.emulator.testing.EmulatorHandle` (`base_url`,
    `track_url`, `pipelines_url`, credentials, `inspect`, `track_client()`,
    `analytics_client()`), serving, in this order: the workspace
    given through indirect parametrization, the `segsim_workspace` ini option,
    the project's `fixtures/workspaces/dtc_store.yaml`, or an empty workspace
    (profiles and events, no segments or journeys):

        @pytest.mark.parametrize("segsim_emulator", [{"workspace": "ws.yaml", "clock": "manual"}], indirect=True)
        def test_app(segsim_emulator): ...
    """
    import inspect

    from simulator.emulator.testing import running_emulator
    from simulator.scenario.errors import InputError, SegsimError, did_you_mean

    options = dict(getattr(request, "param", None) or {})
    known = ["workspace", *(p for p in inspect.signature(running_emulator).parameters if p != "workspace_path")]
    for key in options:
        if key not in known:
            hint = did_you_mean(str(key), known) or f"expected one of: {', '.join(known)}"
            pytest.fail(f"segsim_emulator option {key!r} is not an option ({hint})", pytrace=False)
    workspace = options.pop("workspace", None)
    if workspace is not None and not Path(workspace).is_absolute():
        workspace = request.config.rootpath / workspace  # as `segsim_workspace`, whatever the working directory
        if not workspace.is_file():
            pytest.fail(f"segsim_emulator workspace {str(workspace)!r}: no such file", pytrace=False)
    if workspace is None:
        configured = str(request.config.getini("segsim_workspace") or "")
        if configured:
            workspace = request.config.rootpath / configured
            if not Path(workspace).is_file():
                pytest.fail(
                    f"segsim_workspace = {configured}: no such file under {request.config.rootpath}", pytrace=False
                )
        else:
            workspace = request.config.rootpath / "fixtures/workspaces/dtc_store.yaml"
            if not Path(workspace).is_file():
                empty = request.getfixturevalue("tmp_path") / "empty_workspace.yaml"
                empty.write_text("# no segments or journeys: profiles and events only\n{}\n")
                workspace = empty
    try:
        emulator = running_emulator(workspace, **options)
        handle = emulator.__enter__()
    except (InputError, SegsimError, ValueError) as exc:  # the user's workspace, log or options: no traceback
        problem = str(exc)
    else:
        problem = ""
    if problem:  # outside the handler: one message, no chained traceback
        pytest.fail(f"segsim_emulator cannot start: {problem}", pytrace=False)
    try:
        yield handle
    finally:
        emulator.__exit__(None, None, None)
