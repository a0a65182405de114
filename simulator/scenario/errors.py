"""User-facing input errors.

    SegsimError                 anything segsim refuses, shown without a traceback
    +-- InputError              a file the user wrote is wrong (exit 2)
        carries one or more Problem(file, line, column, path, message, hint)

Every problem names the file, the line and column, the key path
(`timeline[3].latency`), what was expected and, for near misses, a
suggestion.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["InputError", "Problem", "SegsimError", "closest", "did_you_mean", "format_path"]


class SegsimError(Exception):
    """Base of every error segsim shows to a user without a traceback."""


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {_shorten_path(self.path) + ': ' if self.path else ''}{_shorten(self.message)}"
        if self.hint:
            text += f" ({_shorten(self.hint)})"
        return text


# A quoted value longer than this is cut in messages: the line and key path say where it is.
_LONG_QUOTED = re.compile(r"'([^'\n]{200,})'")


def _shorten(text: str) -> str:
    return _LONG_QUOTED.sub(lambda m: f"'{m.group(1)[:60]}...' ({len(m.group(1)):,} characters)", text)


def _shorten_path(path: str) -> str:
    """A key path of 200 characters or more (a huge key, dots and all) cut in its
    middle: its start and its leaf are what say where."""
    return path if len(path) < 200 else f"{path[:60]}...{path[-60:]} ({len(path):,} characters)"


class InputError(SegsimError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


def format_path(parts: Iterable[object]) -> str:
    """('timeline', 3, 'latency') -> `timeline[3].latency`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _edits(a: str, b: str) -> int:
    """Edits from `a` to `b`: insertions, deletions, substitutions and swaps of
    two neighbouring letters (optimal string alignment distance)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def closest(word: str, choices: Iterable[str]) -> list[str]:
    """The choices nearest `word` by edit distance (a swap of two letters counts
    once: `wiat` is `wait`, not `with`), among those difflib finds similar: one,
    or every one of a tie (`an` is as near `ana` as `anb`), in sorted order."""
    similar = difflib.get_close_matches(word, sorted(set(choices)), n=5, cutoff=0.6)
    if not similar:
        return []
    least = min(_edits(word, c) for c in similar)
    return sorted(c for c in similar if _edits(word, c) == least)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    options = sorted(set(choices))
    close = closest(word, options)
    if not close:
        folded = {c.lower().replace("-", "_").replace(" ", "_"): c for c in options}
        key = word.lower().replace("-", "_").replace(" ", "_")
        if key in folded:
            close = [folded[key]]
        else:  # the start of exactly one choice: `late` is `late_arrival`
            starting = [c for k, c in folded.items() if len(key) >= 3 and k.startswith(key)]
            close = starting if len(starting) == 1 else []
    if close:
        named = [repr(c) for c in close]
        return f"did you mean {' or '.join(named) if len(named) < 3 else ', '.join(named[:-1]) + ' or ' + named[-1]}?"
    if options and len(options) <= 12:
        return "expected one of: " + ", ".join(options)
    return ""
