"""The README stays true: its set-up commands and its pasted tutorial output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands() -> None:
    blocks = re.findall(r"```\n(.*?)\n```", README[: README.index("## What it does")], re.S)
    assert blocks == ["pip install -e . && segsim run scenarios/", "pip install -e '.[test]' && pytest -n 2"]


def test_tutorial_output_is_the_real_output() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "run", "docs/tutorial/my_story.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert run.stdout.rstrip() in README


def test_tutorial_story_in_readme_is_the_file() -> None:
    story = (ROOT / "docs/tutorial/my_story.yaml").read_text(encoding="utf-8").rstrip()
    assert story in README
