"""The main window on real Qt widgets (offscreen) over a real project; Qt's own health."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QLineF
from PySide6.QtGui import QFontDatabase, QImage, QPainter, QPen

from core.services import Workspace
from tests.desktop.conftest import wait_until


def test_window_lists_the_projects_data_sets(qtbot, window, workspace: Workspace, tmp_path) -> None:
    csv = tmp_path / "penguins.csv"
    csv.write_text("species,bill_mm\nAdelie,39.1\nGentoo,47.5\n", encoding="utf-8")
    workspace.data.import_file(csv)
    page = window.show_page("data")
    page.refresh()
    wait_until(qtbot, lambda: page.datasets.rowCount() == 1, 10)
    assert page.datasets.index(0, 0).data() == "penguins"
    assert page.datasets.index(0, 2).data() == "2"  # rows
    wait_until(qtbot, lambda: page.profile.model.rowCount() == 2, 10)
    assert "proj" in window.windowTitle()


def test_fonts_are_installed(qapp) -> None:
    assert QFontDatabase.families(), "no fonts: every glyph would be an empty box"


def test_drawing_does_not_leak_references_to_none(qapp) -> None:
    """PySide6 6.12 drops a reference to None per void call; 6.11.3 must not."""
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    before = sys.getrefcount(None)
    for i in range(1000):
        painter.setPen(QPen())
        painter.drawLine(QLineF(0, 0, i % 64, 63))
    after = sys.getrefcount(None)
    painter.end()
    assert after >= before - 10


def test_self_test_walks_the_pages_and_runs_the_loop_offscreen() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "desktop.app", "--self-test"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "PASS"
    checked = [line.split(":", 1)[0].split(None, 1)[1] for line in lines[:-1] if ":" in line]
    for name in ("window", "pages (empty project)", "train", "deploy", "predict", "drift"):
        assert name in checked, lines
    assert all(line.startswith("ok   ") for line in lines[:-1]), lines
