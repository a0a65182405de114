"""Finding scenario files: the paths people give on the command line, folders
searched for `.yaml`/`.yml` files with a top-level `scenario` key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from simulator.fileout import special_file_kind
from simulator.scenario.loader import looks_like_a_story

__all__ = [
    "SKIPPED_FOLDERS",
    "collect_files",
    "collect_scenario_files",
    "missing_path_problem",
    "workspace_file_problem",
]

# Folders a search skips, as pytest's `norecursedirs` does by default (and
# hidden ones: `.git`, `.venv`), so `segsim run DIR` and `pytest DIR` agree.
SKIPPED_FOLDERS = ("build", "dist", "node_modules", "venv", "CVS", "_darcs", "{arch}")


_WHAT_A_SCENARIO_IS = ".yaml/.yml with a top-level 'scenario:' key"

Problems = list[tuple[str, str]]  # (the path as given or found, what is wrong with it)


def _walk(folder: Path, problems: Problems, suffixes: tuple[str, ...]) -> Iterable[Path]:
    """The files under `folder`, sorted; a subfolder that cannot be listed, and an entry named like
    an input (`suffixes`) that is no file (a broken link, a pipe), are problems of their own."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        problems.append((str(folder), f"cannot be read ({exc.strerror or exc})"))
        return
    for entry in entries:
        if entry.is_dir():
            skipped = entry.name.startswith(".") or entry.name in SKIPPED_FOLDERS or entry.name.endswith(".egg")
            if not skipped and not entry.is_symlink():  # a linked folder could loop back
                yield from _walk(entry, problems, suffixes)
        elif entry.is_file():
            yield entry
        elif entry.name.endswith(suffixes):
            problems.append((str(entry), missing_path_problem(entry)))


def workspace_file_problem(path: Path) -> str | None:
    """Why a path given as a workspace is no workspace file, in words (None when it is a file).
    A pipe is not read: the command would wait on it forever."""
    if path.is_file():
        return None
    if path.is_dir():
        return "a folder: name the workspace file"
    if path.is_symlink():
        return "a link that leads nowhere (its target is missing, or links loop)"
    if path.exists():
        return f"not a regular file ({special_file_kind(path)}): name the workspace file"
    return "no such workspace file"


def missing_path_problem(path: Path) -> str:
    """Why a path that is neither a file nor a folder is no input, in words."""
    if path.is_symlink():
        return "a link that leads nowhere (its target is missing, or links loop)"
    if path.exists():
        return f"not a regular file or folder ({special_file_kind(path)})"
    return "no such file or folder"


def collect_files(
    paths: Iterable[str], wanted: Callable[[Path], bool], none_here: str, suffixes: tuple[str, ...] = (".yaml", ".yml")
) -> tuple[list[Path], Problems]:
    """The files the paths name: a file as it is, a folder searched for `wanted`
    files (`none_here` when it has none); and a problem for each path, or
    subfolder, that names nothing usable. One bad path never stops the others."""
    files: list[Path] = []
    problems: Problems = []
    for raw in paths:
        path = Path(raw)
        if not raw.strip():
            problems.append((repr(raw), "an empty path (an unset variable?): name a file or a folder"))
            continue
        try:
            if path.is_dir():
                found = sorted(p for p in _walk(path, problems, suffixes) if wanted(p))
                if not found:
                    problems.append((raw, none_here))
                files.extend(found)
            elif path.is_file():
                files.append(path)
            else:
                problems.append((raw, missing_path_problem(path)))
        except OSError as exc:  # a name too long: this path only
            problems.append((raw, f"cannot be read ({exc.strerror or exc})"))
    seen: set[Path] = set()
    unique = []
    for file in files:  # a file named twice, or met again through a link, is read once
        real = file.resolve()
        if real not in seen:
            seen.add(real)
            unique.append(file)
    return unique, problems


def collect_scenario_files(paths: Iterable[str]) -> tuple[list[Path], Problems]:
    """The files to run, in a stable order, and (path, problem) for each path
    that names nothing usable (a missing path, a folder with no scenario)."""
    none_here = f"no scenario files ({_WHAT_A_SCENARIO_IS}) in this folder"
    return collect_files(paths, looks_like_a_story, none_here)
