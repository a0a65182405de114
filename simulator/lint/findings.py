"""Lint findings: a stable rule id, a severity, a location and a message that
says how to fix it; and the sink that collects them.

A log of a million lines must not print a million findings: the sink folds
findings that share an aggregation key (one problem: the same rule, event,
property, value) into one, at the first line, counting the others and naming
the first few of them, so every occurrence can still be found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ERROR", "LISTED_OTHERS", "WARNING", "Finding", "FindingSink", "Severity"]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

LISTED_OTHERS = 5  # a folded finding names this many of its other occurrences, then counts the rest


@dataclass(slots=True)
class Finding:
    rule: str
    severity: Severity
    file: str
    line: int
    path: str
    message: str
    count: int = 1
    # The first few other occurrences, as (file, line); the rest are only counted.
    others: list[tuple[str, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self._full_message(),
        }

    def _full_message(self) -> str:
        if self.count <= 1:
            return self.message
        text = f"{self.message} ({self.count} occurrences, first on this line)"
        if not self.others:
            return text
        more = self.count - 1 - len(self.others)
        if all(file == self.file for file, _ in self.others):
            shown = [str(line) for _, line in self.others]
            places = "on line " if len(shown) == 1 and more <= 0 else "on lines "
        else:
            shown = [f"{file}:{line}" if line else file for file, line in self.others]
            places = "at "
        if more > 0:
            shown.append(f"{more} more")
        listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
        return f"{text}; also {places}{listed}"

    def also(self, file: str, line: int) -> None:
        """Another occurrence of this finding: counted, and named while few are."""
        self.count += 1
        place = (file, line)
        if len(self.others) < LISTED_OTHERS and place != (self.file, self.line) and place not in self.others:
            self.others.append(place)

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        path = f" {self.path}:" if self.path else ""
        return f"{where}: {self.severity} [{self.rule}]{path} {self._full_message()}"

    @property
    def sort_key(self) -> tuple[str, int, str, str, str]:
        return (self.file, self.line, self.rule, self.path, self.message)


class FindingSink:
    """Collects findings; `add(..., key=K)` folds repeats of K into the first one."""

    def __init__(self) -> None:
        self._plain: list[Finding] = []
        self._folded: dict[tuple[object, ...], Finding] = {}

    def add(
        self,
        rule: str,
        severity: Severity,
        file: str,
        line: int,
        message: str,
        path: str = "",
        key: tuple[object, ...] | None = None,
        count: int = 1,
        others: list[tuple[str, int]] | None = None,
    ) -> None:
        """`count`: how many occurrences one unfolded finding stands for (it is already
        counted), `others` the first few of them other than this one (file, line)."""
        if key is None:
            listed = list(others or [])[:LISTED_OTHERS]
            self._plain.append(Finding(rule, severity, file, line, path, message, max(count, 1), listed))
            return
        full_key = (rule, file) + key
        found = self._folded.get(full_key)
        if found is None:
            self._folded[full_key] = Finding(rule, severity, file, line, path, message)
        else:
            found.also(file, line)

    def findings(self) -> list[Finding]:
        """Every finding, in file and line order (stable whatever the input order)."""
        return sorted([*self._plain, *self._folded.values()], key=lambda f: f.sort_key)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == ERROR for f in [*self._plain, *self._folded.values()])
