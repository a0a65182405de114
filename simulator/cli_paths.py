"""Path options and arguments for the commands: click's `Path`, refusing an
empty value. An unset variable (`segsim run "$DIR"`) must not quietly mean
the current folder."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["GivenPath", "given_once", "not_utf8_problem", "shell_path"]


def given_once(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
    """The callback of an option declared `multiple=True` that takes one value: a second,
    different value would otherwise silently replace the first (None when not given)."""
    if len(set(values)) > 1:
        raise click.BadParameter(f"given {len(values)} times ({', '.join(values)}); give it once")
    return values[0] if values else None


def shell_path(path: object) -> str:
    """A path as a command to paste back names it: quoted for the shell, and `./` before a
    leading dash so that it is not read as an option (`segsim run ./-fz/x.yaml`)."""
    import os
    import shlex

    text = str(path)
    return shlex.quote(("." + os.sep + text) if text.startswith("-") else text)


def not_utf8_problem(name: str) -> str | None:
    """Why a path cannot be written into a UTF-8 file (a witness's `workspace:`, a call log's
    header): its bytes are not UTF-8 text. None when they are."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        return (
            f"'{shown}': the name is not UTF-8 text, and this command writes it into a UTF-8 file;"
            " rename the file (or link to it under a UTF-8 name)"
        )
    return None


class GivenPath(click.Path):
    """`click.Path` that refuses an empty or blank value (exit 2, what was expected).

    `text=True` is for a path the command writes into a file (a witness's
    `workspace:`, a call log's header): such files are UTF-8, so a name whose
    bytes are not UTF-8 is refused before any work rather than failing after it."""

    def __init__(self, *args: Any, text: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.text = text

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("an empty path (an unset variable?): name a file or a folder", param, ctx)
        if self.text and isinstance(value, str):
            problem = not_utf8_problem(value)
            if problem is not None:
                self.fail(problem, param, ctx)
        return super().convert(value, param, ctx)
