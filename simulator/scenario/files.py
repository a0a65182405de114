"""Finding scenario files: the paths people give on the command line, folders
searched for `.yaml`/`.yml` files with a top-level `scenario` key."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from simulator.scenario.loader import is_scenario_file

__all__ = ["collect_scenario_files"]


def collect_scenario_files(paths: Iterable[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """The files to run, in a stable order, and (path, problem) for each path
    that names nothing usable (a missing path, a folder with no scenario)."""
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_scenario_file(p))
            if not found:
                problems.append((raw, "no scenario files (.yaml/.yml with a top-level 'scenario:' key) in this folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            problems.append((raw, "not a regular file or folder (a device, a pipe?)"))
        else:
            problems.append((raw, "no such file or folder"))
    return files, problems
