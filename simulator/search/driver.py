"""The fuzz driver: search stories for violated invariants, shrink each
distinct failure, and write it down as a scenario file.

Failures are told apart by (violation kind, journey, cause). Each key raises
its own exception type, so Hypothesis keeps and shrinks every distinct bug
separately; after a round that found something, another round runs that
ignores the keys already found, so one loud bug cannot hide a quieter one.
Hypothesis shrinks a round's failures under one shared budget, so each
finding is then shrunk again on its own, for its own key (`search.shrink`).
"""

from __future__ import annotations

import re
import signal
import sys
import tempfile
import threading
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

from simulator.checks.violations import INVARIANTS, Violation, find_violations
from simulator.pipeline import simulate
from simulator.search.catalog import Catalog, catalog_of
from simulator.search.plans import PlanBuilder
from simulator.search.shrink import shrink_story
from simulator.search.stories import stories

__all__ = ["Crash", "Finding", "FuzzOptions", "FuzzReport", "Pinned", "Key", "search", "violation_key"]

Key = tuple[str, str, str]  # (violation kind, journey or "", cause)

_MAX_ROUNDS = 3
_SEEN_LIMIT = 20_000  # stories remembered with their verdicts, per search


class _Interrupts:
    """Ctrl-C during a search. Python drops an exception raised inside a garbage-collector
    callback (Hypothesis installs one, to time collections), so a `KeyboardInterrupt` that
    lands there was lost and the search ran on: the press is also remembered, and raised
    again before the next example or shrink step."""

    def __init__(self) -> None:
        self.pressed = False

    def raise_if_pressed(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def _on_sigint(self, signum: int, frame: object) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    @contextmanager
    def watching(self) -> Iterator[None]:
        self.pressed = False
        # Only Python's own Ctrl-C handler is replaced: not an ignored SIGINT (a background job
        # of a shell), not a caller's handler, and not outside the main thread (no signals there).
        if (
            threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        ):
            yield
            return
        signal.signal(signal.SIGINT, self._on_sigint)
        previous_hook = sys.unraisablehook

        def quiet(unraisable: Any) -> None:
            # The Ctrl-C Python drops inside a gc callback is remembered and raised again:
            # not also printed as "Exception ignored in ... Traceback".
            if not (self.pressed and isinstance(unraisable.exc_value, KeyboardInterrupt)):
                previous_hook(unraisable)

        sys.unraisablehook = quiet
        try:
            yield
        finally:
            sys.unraisablehook = previous_hook
            signal.signal(signal.SIGINT, signal.default_int_handler)


_INTERRUPTS = _Interrupts()


def violation_key(v: Violation) -> Key:
    return (v.kind, v.journey or "", v.cause)


@dataclass(frozen=True)
class FuzzOptions:
    workspace: Path
    invariants: tuple[str, ...] = ()  # names from INVARIANTS; empty: all
    journey: str | None = None
    max_examples: int = 200
    seed: int = 0
    faults: bool = False
    database: Path | None = None  # None: no example database (a seeded, reproducible run)
    max_steps: int = 8

    @property
    def kinds(self) -> set[str]:
        names = self.invariants or tuple(INVARIANTS)
        return {INVARIANTS[n] for n in names}

    def wants(self, v: Violation) -> bool:
        if v.kind not in self.kinds:
            return False
        if self.journey is not None:
            return v.journey == self.journey or (v.journey is None and bool(self.invariants))
        return True


@dataclass
class Finding:
    key: Key
    violation: Violation
    story: dict[str, Any]
    blob: str = ""
    # Every violation its story shows (every invariant), so its witness documents them all.
    also: list[Violation] = field(default_factory=list)


@dataclass
class Crash:
    error: str
    story: dict[str, Any]
    blob: str = ""


@dataclass
class Pinned:
    """A shipped scenario of the workspace, replayed before the search:
    `violations` are those its own `{violation: ...}` expectations do not
    document (they fail the command), `documented` those they do."""

    file: Path
    violations: list[Violation]
    error: str = ""
    documented: list[Violation] = field(default_factory=list)


@dataclass
class FuzzReport:
    options: FuzzOptions
    examples: int = 0
    rounds: int = 0
    findings: list[Finding] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)
    pinned: list[Pinned] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C after a round had found something: what it found is kept


class FoundViolation(Exception):
    """Raised inside the property for a violation the search has not yet kept."""

    def __init__(self, violation: Violation, story: dict[str, Any]) -> None:
        super().__init__(f"{violation.kind} in {violation.journey or '-'} ({violation.cause})")
        self.violation = violation
        self.story = story


class EngineCrash(Exception):
    """The engine raised on a generated story: a bug of segsim itself."""

    def __init__(self, error: str, story: dict[str, Any]) -> None:
        super().__init__(error.splitlines()[-1] if error else "crash")
        self.error = error
        self.story = story


_FOUND_TYPES: dict[Key, type[FoundViolation]] = {}
_CRASH_TYPES: dict[str, type[EngineCrash]] = {}


def _found_type(key: Key) -> type[FoundViolation]:
    # One exception type per key: Hypothesis tracks and shrinks each separately.
    found = _FOUND_TYPES.get(key)
    if found is None:
        name = "Found_" + "_".join(part or "any" for part in key)
        found = _FOUND_TYPES[key] = type(name, (FoundViolation,), {})
    return found


def _crash_type(name: str) -> type[EngineCrash]:
    found = _CRASH_TYPES.get(name)
    if found is None:
        found = _CRASH_TYPES[name] = type(f"Crash_{name}", (EngineCrash,), {})
    return found


_BLOB = re.compile(r"@reproduce_failure\([^)]*\)")


def _blob(exc: BaseException) -> str:
    for note in getattr(exc, "__notes__", []) or []:
        found = _BLOB.search(note)
        if found:
            return found.group(0)
    return ""


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for inner in exc.exceptions:
            out.extend(_leaves(inner))
        return out
    return [exc]


def _property(
    builder: PlanBuilder,
    options: FuzzOptions,
    excluded: set[Key],
    counter: list[int],
    seen: dict[str, list[Violation]],
) -> Callable[[dict[str, Any]], None]:
    kinds = options.kinds

    def check(story: dict[str, Any]) -> None:
        _INTERRUPTS.raise_if_pressed()
        counter[0] += 1
        # Different draws often tell the same story (a byte no step reads, a
        # shrink that changes nothing): judge each story once per search.
        text = repr(story)
        found = seen.get(text)
        if found is None:
            try:
                every = find_violations(simulate(builder.build(story)), kinds=kinds)
            except Exception as exc:  # an engine bug: keep the story that shows it
                raise _crash_type(type(exc).__name__)(traceback.format_exc(), story) from exc
            if len(seen) >= _SEEN_LIMIT:
                seen.clear()
            found = seen[text] = [v for v in every if options.wants(v)]
        if not found:
            return
        fresh: dict[Key, Violation] = {}
        for v in found:
            key = violation_key(v)
            if key not in excluded:
                fresh.setdefault(key, v)
        if fresh:
            # Which of several fresh keys this story stands for: a stable choice
            # that still gives each key its turn across stories.
            keys = sorted(fresh)
            key = keys[zlib.crc32(text.encode()) % len(keys)]
            raise _found_type(key)(fresh[key], story)

    return check


def _round(
    catalog: Catalog,
    options: FuzzOptions,
    excluded: set[Key],
    budget: int,
    round_no: int,
    seen: dict[str, list[Violation]],
) -> tuple[int, list[BaseException]]:
    builder = PlanBuilder(catalog)
    counter = [0]
    check = _property(builder, options, excluded, counter, seen)
    database = DirectoryBasedExampleDatabase(str(options.database)) if options.database is not None else None
    test = given(stories(catalog, faults=options.faults, max_steps=options.max_steps))(check)
    test = settings(
        max_examples=budget,
        deadline=None,
        database=database,
        derandomize=False,
        print_blob=True,
        report_multiple_bugs=True,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    )(test)
    test = hypothesis.seed(options.seed + round_no)(test)
    # The example database is keyed by workspace, faults and round, not only by this function.
    digest = f"{options.workspace.resolve()}|{options.faults}|{round_no}|{sorted(options.kinds)}|{options.journey}"
    test._hypothesis_internal_add_digest = digest.encode()  # type: ignore[attr-defined]
    try:
        test()
    except BaseException as exc:  # noqa: B036 - Hypothesis may raise a group of failures
        if isinstance(exc, KeyboardInterrupt):
            raise
        return counter[0], _leaves(exc)
    return counter[0], []


def _shrink(finding: Finding, builder: PlanBuilder, seen: dict[str, list[Violation]]) -> None:
    """Shrink the finding's story on its own, for its own key (the blob still
    replays the example as the search found it)."""
    kinds = {finding.key[0]}
    tried: dict[str, list[Violation] | None] = {}

    def judge(story: dict[str, Any]) -> list[Violation] | None:
        _INTERRUPTS.raise_if_pressed()
        text = repr(story)
        if text in seen:
            return seen[text]
        if text not in tried:
            try:
                tried[text] = find_violations(simulate(builder.build(story)), kinds=kinds)
            except Exception:  # a story the engine refuses is not kept; engine bugs are the search's to find
                tried[text] = None
        return tried[text]

    story, violation = shrink_story(finding.story, finding.key, judge)
    if violation is not None:
        finding.story, finding.violation = story, violation
    try:
        finding.also = find_violations(simulate(builder.build(finding.story)))
    except Exception:  # the story ran in the search; a witness without the others is still a witness
        finding.also = []


def search(options: FuzzOptions, catalog: Catalog | None = None) -> FuzzReport:
    """Run the search; `catalog_of(options.workspace)` raises `InputError` on a bad workspace.

    Hypothesis caches what it reads in the source (`.hypothesis/constants`) under the working
    folder; the search gives it a folder of its own, removed after, so that a search leaves
    nothing behind but its witnesses (and `options.database`, when one is named)."""
    # The home a caller set (a conftest), else None: Hypothesis's own default.
    previous = getattr(hypothesis.configuration, "__hypothesis_home_directory", None)
    with tempfile.TemporaryDirectory(prefix="segsim-fuzz-") as home, _INTERRUPTS.watching():
        set_hypothesis_home_dir(home)
        try:
            return _search(options, catalog or catalog_of(options.workspace))
        finally:
            set_hypothesis_home_dir(previous)


def _search(options: FuzzOptions, catalog: Catalog) -> FuzzReport:
    builder = PlanBuilder(catalog)
    report = FuzzReport(options)
    excluded: set[Key] = set()
    seen: dict[str, list[Violation]] = {}
    budget = options.max_examples
    for round_no in range(_MAX_ROUNDS):
        try:
            calls, failures = _round(catalog, options, excluded, budget, round_no, seen)
        except KeyboardInterrupt:
            if not report.findings:
                raise
            # A CI job's timeout, a Ctrl-C: the failures the rounds before found are written.
            report.interrupted = True
            break
        report.rounds += 1
        report.examples += calls
        new = 0
        for exc in failures:
            if isinstance(exc, FoundViolation):
                key = violation_key(exc.violation)
                if key not in excluded:
                    excluded.add(key)
                    finding = Finding(key, exc.violation, exc.story, _blob(exc))
                    _shrink(finding, builder, seen)
                    report.findings.append(finding)
                    new += 1
            elif isinstance(exc, EngineCrash):
                report.crashes.append(Crash(exc.error, exc.story, _blob(exc)))
            else:
                report.crashes.append(Crash("".join(traceback.format_exception(exc)), {}, ""))
        if not new or report.crashes:
            break
        budget = options.max_examples
    report.findings.sort(key=lambda f: f.key)
    return report
