"""How a file written in a folder names another (a witness or skeleton naming
its workspace): as the loader opens it, the folder joined with the path and
`..` taken by the system after any link."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.fileout import reference_from


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/a/b/ws.yaml, tmp/a/b/c/, tmp/cwd/L -> ../a/b/c; the working folder tmp/cwd."""
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "b" / "ws.yaml").write_text("segments: {}\n")
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "L").symlink_to(Path("..") / "a" / "b" / "c")
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


def _opens(folder: Path, reference: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    return os.path.isfile(os.path.join(folder, reference))


@pytest.mark.parametrize(
    ("folder", "target"),
    [
        ("L", "../a/b/ws.yaml"),  # a linked folder: `..` from where it leads
        ("L/../out", "../a/b/ws.yaml"),  # `L/..` is a/b, not the working folder
        ("out", "L/../ws.yaml"),  # the target's own path through a link
        ("L/deeper/still", "L/../ws.yaml"),  # a folder not made yet, under a link
        (".", "../a/b/ws.yaml"),
    ],
)
def test_the_reference_opens_the_target_from_the_folder(tree: Path, folder: str, target: str) -> None:
    reference = reference_from(Path(folder), Path(target))
    assert not Path(reference).is_absolute()
    assert _opens(Path(folder), reference), reference
