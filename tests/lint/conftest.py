"""Fixtures of the lint tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_support import LintFolder


@pytest.fixture
def folder(tmp_path: Path) -> LintFolder:
    return LintFolder(tmp_path)
