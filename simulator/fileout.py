"""Writing output files so that nothing is half written: each file goes to a
temporary file in its folder first, and only when every one of them is
complete are they moved into place. An existing output is replaced whole, or
not at all: if a move fails, the outputs already moved are put back. Folders
are made when the files are written, not when they are checked. An output
named through a link replaces the file the link names (the link stays); a
device, pipe or socket, and an output that is one of the command's inputs,
are refused."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "OutputError",
    "check_not_an_input",
    "check_writable_folder",
    "reference_from",
    "special_file_kind",
    "write_all",
    "write_text",
]


class OutputError(Exception):
    """An output that cannot be written; the message names it and why."""


def check_writable_folder(folder: Path, names: tuple[str, ...] = ()) -> None:
    """Check, before any work is done and without creating anything, that
    `folder` can be made (or is there) and that `names` can be written in it."""
    try:
        if folder.is_symlink() and not folder.exists():
            raise OutputError(f"{folder}: a link to a folder that does not exist (or links that loop); make it first")
        blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise OutputError(f"{folder}: {blocking} is a file, not a folder")
        existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
        if not os.access(existing, os.W_OK):
            raise OutputError(f"{folder}: {existing} is not writable")
        for name in names:
            if (folder / name).is_dir():
                raise OutputError(f"{folder / name}: is a folder, where the output file goes")
            _regular_target(folder / name)
    except OSError as exc:  # a name too long, a loop of links
        raise OutputError(f"{folder}: cannot write there ({exc.strerror or exc})") from None


def check_not_an_input(output: Path, inputs: Iterable[Path]) -> None:
    """Refuse an output that is one of the command's inputs (the same file by
    any name, links included): writing it would destroy what was read."""
    where = os.path.realpath(output)  # `new/../s.yaml` is s.yaml once `new/` is made
    for source in inputs:
        try:
            same = where == os.path.realpath(source) or (
                output.exists() and source.exists() and os.path.samefile(output, source)
            )
        except OSError:
            same = False
        if same:
            raise OutputError(f"{output}: is also an input ({source}); write the output to another file")


def special_file_kind(path: Path) -> str:
    """What a path that exists but is neither a regular file nor a folder is."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return "a special file"
    for test, kind in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "a special file"


def _regular_target(target: Path) -> Path:
    """Where an output goes: through a link to the file it names; a device, a
    pipe or a socket is refused (an atomic replace would swap it for a file)."""
    resolved = Path(os.path.realpath(target)) if target.is_symlink() else target
    if resolved.is_symlink():  # realpath stops where links loop
        raise OutputError(f"{target}: links that loop back on themselves; write the output to a file")
    if resolved.exists() and not resolved.is_file() and not resolved.is_dir():
        raise OutputError(
            f"{target}: is not a regular file ({special_file_kind(resolved)}); write the output to a file"
        )
    return resolved


def _quietly_remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def write_all(writers: dict[Path, Callable[[Path], Any]]) -> list[Path]:
    """Call each writer on a temporary path beside its target, then move them
    all into place. On a failure the targets are as they were, the
    temporaries are gone, and OutputError names the file and why."""
    named = list(writers)
    targets = [_regular_target(target) for target in named]
    tag = f"{os.getpid()}"
    temporaries = [target.parent / f".segsim-{tag}-{i}.tmp" for i, target in enumerate(targets)]
    backups = [target.parent / f".segsim-{tag}-{i}.old" for i, target in enumerate(targets)]
    current = targets[0] if targets else Path(".")
    moved: list[int] = []  # targets replaced, whose previous file (if any) is in its backup
    made: list[Path] = []  # folders made for the targets, outermost first
    try:
        for name, target, temporary in zip(named, targets, temporaries, strict=True):
            current = target
            if target.is_dir() or not target.name:
                raise IsADirectoryError(21, "it is a folder")
            made += reversed([p for p in (target.parent, *target.parent.parents) if not p.exists()])
            target.parent.mkdir(parents=True, exist_ok=True)
            writers[name](temporary)
        for i, (target, temporary, backup) in enumerate(zip(targets, temporaries, backups, strict=True)):
            current = target
            if target.exists():
                os.replace(target, backup)
            moved.append(i)
            os.replace(temporary, target)
    except BaseException as exc:  # an interrupt too: put the previous outputs back
        for i in reversed(moved):
            try:
                if backups[i].exists():
                    os.replace(backups[i], targets[i])
                else:
                    targets[i].unlink(missing_ok=True)
            except OSError:
                pass
        for path in (*temporaries, *backups):
            _quietly_remove(path)
        for folder in reversed(made):  # innermost first; a folder something else filled stays
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise OutputError(f"{current}: cannot write it ({exc.strerror or exc}); no output was changed") from None
        raise
    finally:
        for path in (*temporaries, *backups):
            _quietly_remove(path)
    return named


def write_text(path: Path, text: str) -> Path:
    """One text file (UTF-8), whole or not at all. A file name that is not UTF-8 (its bytes kept as
    lone surrogates) is written escaped (`caf\\udce9.yaml`): the page stays valid UTF-8."""
    return write_all({path: lambda target: target.write_text(text, encoding="utf-8", errors="backslashreplace")})[0]


def reference_from(folder: Path, target: Path) -> str:
    """`target` as a file written in `folder` names it (a scenario naming its
    workspace): relative, and right as the loader opens it, the folder joined
    with the path and `..` taken by the system after the folder's links (so
    from the folder a link leads to, not the one holding the link). Absolute
    when no relative path exists (another drive)."""
    # realpath, not abspath first: abspath would fold `link/..` before the link is followed
    here = os.path.realpath(folder)
    there = os.path.join(os.path.realpath(os.path.dirname(target) or "."), os.path.basename(target))
    try:
        return Path(os.path.relpath(there, here)).as_posix()
    except ValueError:
        return Path(os.path.abspath(target)).as_posix()
