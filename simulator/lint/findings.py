"""Lint findings: a stable rule id, a severity, a location and a message that
says how to fix it; and the sink that collects them.

A log of a million lines must not print a million findings: the sink folds
findings that share an aggregation key into one, keeping the first line and
counting the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ERROR", "WARNING", "Finding", "FindingSink", "Severity"]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(slots=True)
class Finding:
    rule: str
    severity: Severity
    file: str
    line: int
    path: str
    message: str
    count: int = 1

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
        if self.count > 1:
            return f"{self.message} ({self.count} occurrences, first on this line)"
        return self.message

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
    ) -> None:
        """`count`: how many occurrences one unfolded finding stands for (it is already counted)."""
        if key is None:
            self._plain.append(Finding(rule, severity, file, line, path, message, max(count, 1)))
            return
        full_key = (rule, file) + key
        found = self._folded.get(full_key)
        if found is None:
            self._folded[full_key] = Finding(rule, severity, file, line, path, message)
        else:
            found.count += 1

    def findings(self) -> list[Finding]:
        """Every finding, in file and line order (stable whatever the input order)."""
        return sorted([*self._plain, *self._folded.values()], key=lambda f: f.sort_key)

    @property
    def has_errors(self) -> bool:
        return any(f.severity == ERROR for f in [*self._plain, *self._folded.values()])
