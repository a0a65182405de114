"""Outputs are written whole or not at all (simulator.fileout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.fileout import OutputError, check_not_an_input, check_writable_folder, write_all


def _text(value: str):  # type: ignore[no-untyped-def]
    return lambda path: path.write_text(value)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".segsim-"))


def test_all_files_replace_the_previous_ones(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")
    written = write_all({tmp_path / "a.txt": _text("new a"), tmp_path / "sub" / "b.txt": _text("new b")})
    assert written == [tmp_path / "a.txt", tmp_path / "sub" / "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "new a" and (tmp_path / "sub" / "b.txt").read_text() == "new b"
    assert _leftovers(tmp_path) == []


def test_a_failing_writer_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old a")

    def full(path: Path) -> None:
        path.write_text("partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match=r"b.txt: cannot write it \(No space left on device\)"):
        write_all({tmp_path / "a.txt": _text("new a"), tmp_path / "b.txt": full})
    assert (tmp_path / "a.txt").read_text() == "old a"
    assert not (tmp_path / "b.txt").exists()
    assert _leftovers(tmp_path) == []


def test_a_failing_move_puts_the_moved_outputs_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The third move fails (an immutable file, say): the first two outputs,
    already replaced, get their previous contents back."""
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text(f"old {name}")
    real_replace = os.replace

    def refuse_c(src: object, dst: object) -> None:
        if str(src).endswith("c.txt"):
            raise PermissionError(1, "Operation not permitted")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr("simulator.fileout.os.replace", refuse_c)
    with pytest.raises(OutputError, match=r"c.txt: cannot write it \(Operation not permitted\)"):
        write_all({tmp_path / f"{n}.txt": _text(f"new {n}") for n in ("a", "b", "c")})
    assert [(tmp_path / f"{n}.txt").read_text() for n in ("a", "b", "c")] == ["old a", "old b", "old c"]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", [".", "r" * 250 + ".html"])
def test_a_folder_or_a_very_long_name_is_an_error_not_a_traceback(tmp_path: Path, name: str) -> None:
    target = tmp_path if name == "." else tmp_path / name
    try:
        write_all({target: _text("page")})
    except OutputError as exc:
        assert str(target) in str(exc)
    else:
        assert target.read_text() == "page"  # the file system takes such names
    assert _leftovers(tmp_path) == []


def test_checking_a_folder_creates_nothing(tmp_path: Path) -> None:
    check_writable_folder(tmp_path / "new" / "deeper", ("out.csv",))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("")
    with pytest.raises(OutputError, match="afile is a file, not a folder"):
        check_writable_folder(tmp_path / "afile" / "sub")


def test_a_failed_write_removes_the_folders_it_made(tmp_path: Path) -> None:
    """The same command run twice behaves the same: no empty folder is left."""
    (tmp_path / "kept").mkdir()

    def full(path: Path) -> None:
        path.write_text("partial")
        raise OSError(28, "No space left on device")

    targets = {tmp_path / "kept" / "new" / "deeper" / "a.txt": _text("a"), tmp_path / "other" / "b.txt": full}
    with pytest.raises(OutputError, match="No space left on device"):
        write_all(targets)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["kept"]


def test_checking_a_folder_with_a_name_too_long_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write there"):
        check_writable_folder(tmp_path / ("d" * 300) / "sub", ("out.csv",))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_or_device_is_refused_not_replaced_by_a_file(tmp_path: Path) -> None:
    """An atomic replace would swap `/dev/null` (or a pipe a reader waits on) for a regular file."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OutputError, match=r"is not a regular file \(a named pipe\)"):
        check_writable_folder(tmp_path, ("pipe",))
    with pytest.raises(OutputError, match=r"is not a regular file \(a named pipe\)"):
        write_all({pipe: _text("x")})
    with pytest.raises(OutputError, match=r"is not a regular file \(a character device\)"):
        check_writable_folder(Path("/dev"), ("null",))
    assert not pipe.is_file() and pipe.exists()
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no links here")
def test_an_output_named_by_a_link_replaces_the_file_the_link_names(tmp_path: Path) -> None:
    (tmp_path / "real.html").write_text("old")
    (tmp_path / "link.html").symlink_to("real.html")
    assert write_all({tmp_path / "link.html": _text("new")}) == [tmp_path / "link.html"]
    assert (tmp_path / "link.html").is_symlink()
    assert (tmp_path / "real.html").read_text() == "new"
    (tmp_path / "dangling.html").symlink_to("made.html")
    write_all({tmp_path / "dangling.html": _text("made")})
    assert (tmp_path / "dangling.html").is_symlink() and (tmp_path / "made.html").read_text() == "made"


def test_an_output_that_is_an_input_is_refused_by_any_name(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("scenario: s\n")
    check_not_an_input(tmp_path / "report.html", [scenario])  # a new file: fine
    with pytest.raises(OutputError, match=r"is also an input"):  # `new/` would be made, then `..` is here
        check_not_an_input(tmp_path / "new" / ".." / "s.yaml", [scenario])
    if hasattr(os, "link"):
        os.link(scenario, tmp_path / "hard.yaml")
        with pytest.raises(OutputError, match=r"is also an input"):
            check_not_an_input(tmp_path / "hard.yaml", [scenario])


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no links here")
def test_links_that_loop_or_lead_nowhere_as_a_folder_are_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "a.html").symlink_to(tmp_path / "b.html")
    (tmp_path / "b.html").symlink_to(tmp_path / "a.html")
    with pytest.raises(OutputError, match="links that loop"):
        write_all({tmp_path / "a.html": _text("x")})
    assert (tmp_path / "a.html").is_symlink()  # not replaced by a file
    (tmp_path / "out").symlink_to(tmp_path / "missing" / "inner")
    with pytest.raises(OutputError, match="a link to a folder that does not exist"):
        check_writable_folder(tmp_path / "out", ("whatif.json",))


def test_a_path_pasted_back_is_quoted_and_never_read_as_an_option() -> None:
    from simulator.cli_paths import shell_path

    assert shell_path("fuzz-out/a.yaml") == "fuzz-out/a.yaml"
    assert shell_path("fz sp/a.yaml") == "'fz sp/a.yaml'"
    assert shell_path("-fz/a.yaml") == f".{os.sep}-fz/a.yaml"
