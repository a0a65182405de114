"""Finding scenario files: the paths people give on the command line, folders
searched for `.yaml`/`.yml` files with a top-level `scenario` key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from simulator.scenario.loader import looks_like_a_story

__all__ = ["SKIPPED_FOLDERS", "collect_scenario_files"]

# Folders a search skips, as pytest's `norecursedirs` does by default (and
# hidden ones: `.git`, `.venv`), so `segsim run DIR` and `pytest DIR` agree.
SKIPPED_FOLDERS = ("build", "dist", "node_modules", "venv", "CVS", "_darcs", "{arch}")


def _walk(folder: Path) -> Iterable[Path]:
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            skipped = entry.name.startswith(".") or entry.name in SKIPPED_FOLDERS or entry.name.endswith(".egg")
            if not skipped and not entry.is_symlink():  # a linked folder could loop back
                yield from _walk(entry)
        elif entry.is_file():
            yield entry


def collect_scenario_files(paths: Iterable[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to run, in a stable order, and (path, problem) for each path
    that names nothing usable (a missing path, a folder with no scenario)."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not raw.strip():
            problems.append((repr(raw), "an empty path (an unset variable?): name a file or a folder"))
        elif path.is_dir():
            found = sorted(p for p in _walk(path) if looks_like_a_story(p))
            if not found:
                problems.append((raw, "no scenario files (.yaml/.yml with a top-level 'scenario:' key) in this folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            problems.append((raw, "not a regular file or folder (a device, a pipe?)"))
        else:
            problems.append((raw, "no such file or folder"))
    unique = []
    for file in files:  # a file named twice, or met again through a link, runs once
        real = file.resolve()
        if real not in seen:
            seen.add(real)
            unique.append(file)
    return unique, problems
