"""Shared fixtures. Qt runs offscreen in every test (set before any QApplication exists)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SHIPWAY_USER", "tester")

from pathlib import Path

import pytest

from core.services import Workspace


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh project on a real SQLite file, closed after the test."""
    ws = Workspace.create(tmp_path / "proj", name="proj")
    yield ws
    ws.close()


@pytest.fixture
def project_dir(workspace: Workspace) -> Path:
    return workspace.root
