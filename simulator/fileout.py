"""Writing output files so that nothing is half written: each file goes to a
temporary sibling first, and only when every one of them is complete are
they moved into place (an existing output is replaced whole, or not at all)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["OutputError", "check_writable_folder", "write_all"]


class OutputError(Exception):
    """An output that cannot be written; the message names it and why."""


def check_writable_folder(folder: Path, names: tuple[str, ...] = ()) -> None:
    """Create `folder` if needed and check that `names` can be written in it,
    before any work is done."""
    blocking = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise OutputError(f"{folder}: {blocking} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create this folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: this folder is not writable")
    for name in names:
        if (folder / name).is_dir():
            raise OutputError(f"{folder / name}: is a folder, where the output file goes")


def write_all(writers: dict[Path, Callable[[Path], Any]]) -> list[Path]:
    """Call each writer on a temporary path beside its target, then move them
    all into place. On any failure the temporaries are removed, the targets
    are as they were, and OutputError says which file failed and why."""
    pending: list[tuple[Path, Path]] = []
    try:
        for target, write in writers.items():
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            pending.append((temporary, target))
            write(temporary)
        for temporary, target in pending:
            os.replace(temporary, target)
    except OSError as exc:
        failed = pending[-1][1] if pending else next(iter(writers), Path("."))
        raise OutputError(f"{failed}: cannot write it ({exc.strerror or exc}); no output was changed") from None
    finally:
        for temporary, _target in pending:
            temporary.unlink(missing_ok=True)
    return [target for _temporary, target in pending]
