"""The Data page: drag-and-drop import, refused files, profile, versions and their diff, export."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from core.services import Workspace
from tests.conftest import stored_objects
from tests.desktop.conftest import penguins_copy, wait_until


def drop_files(target: QWidget, paths: list[Path]) -> QDropEvent:
    """Drag ``paths`` onto ``target`` and drop them, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    centre = target.rect().center()
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the drag was refused"
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, buttons, modifiers)
    QApplication.sendEvent(target, drop)
    return drop


def test_dropping_a_csv_imports_it_and_shows_its_profile(qtbot, window, tmp_path) -> None:
    page = window.show_page("data")
    wait_until(qtbot, lambda: page.stack.currentWidget() is page.empty, 10)
    event = drop_files(page.empty, [penguins_copy(tmp_path)])  # a child: the page takes it
    assert event.isAccepted()
    wait_until(qtbot, lambda: page.datasets.rowCount() == 1, 30)
    wait_until(qtbot, lambda: page.profile.model.rowCount() == 8, 10)
    assert page.datasets.item(0).name == "penguins" and page.datasets.item(0).latest_rows == 344
    assert "Imported penguins@1: 344 rows" in window.statusBar().currentMessage()
    page.profile.select_column("body_mass_g")
    assert page.profile.plot.showing_plot  # a histogram of a number column
    assert "body_mass_g: integer, 342 values, 2 missing" in page.profile.caption.text()
    page.profile.select_column("island")
    assert page.profile.plot.showing_plot  # bars of a text column
    page.tabs.setCurrentWidget(page.report)
    assert "Clean: no warnings" in page.report.summary.text()
    assert page.report.tokens.rowCount() == 5  # "NA" became missing in five columns


def test_a_corrupt_file_is_refused_and_the_project_stays_unchanged(
    qtbot, window, workspace: Workspace, tmp_path: Path
) -> None:
    workspace.data.import_file(penguins_copy(tmp_path))
    page = window.show_page("data")
    window.refresh()  # F5: the import above did not go through the window
    wait_until(qtbot, lambda: page.datasets.rowCount() == 1, 10)
    before = [(d.name, d.versions) for d in workspace.data.datasets()]
    objects = stored_objects(workspace.root)
    corrupt = tmp_path / "penguins.parquet"
    corrupt.write_bytes(b"PAR1" + bytes(range(256)) * 40)  # a Parquet header, then garbage
    drop_files(page, [corrupt])
    errors = window.context.errors
    wait_until(qtbot, lambda: errors.history, 30)
    explanation = errors.history[-1]
    assert explanation.title.startswith("Importing penguins.parquet")
    assert explanation.expected  # a refusal told as sentences, not a crash report
    assert "penguins.parquet" in explanation.text
    assert page.banner.isVisible() and "Nothing was imported" in page.banner.label.text()
    assert errors.dialogs and errors.dialogs[-1].isVisible()
    assert [(d.name, d.versions) for d in workspace.data.datasets()] == before
    assert stored_objects(workspace.root) == objects
    assert not any((workspace.root / "objects" / "tmp").iterdir())


def test_two_versions_are_compared_and_a_version_exported(
    qtbot, window, workspace: Workspace, tmp_path: Path
) -> None:
    first = penguins_copy(tmp_path)
    workspace.data.import_file(first)
    lines = first.read_text(encoding="utf-8").splitlines()
    changed = tmp_path / "later" / "penguins.csv"
    changed.parent.mkdir()
    changed.write_text("\n".join(lines[:200]) + "\n", encoding="utf-8")
    page = window.show_page("data")
    page.import_files([changed])
    wait_until(qtbot, lambda: page.versions.rowCount() == 2, 30)
    assert page.versions.item(0).version == 2  # newest first
    page.tabs.setCurrentWidget(page.diff)
    assert page.diff.a.currentText() == "penguins@1" and page.diff.b.currentText() == "penguins@2"
    page.diff.button.click()
    wait_until(qtbot, lambda: page.diff.model.rowCount() == 8, 30)
    assert "rows 344 → 199 (-145)" in page.diff.summary.text()
    shifts = {c["name"]: c["shift"] for c in page.diff.model.items()}
    assert shifts["species"] == "shift"  # the first 199 rows hold no Gentoo at all

    target = tmp_path / "out" / "clean.csv"
    target.parent.mkdir()
    version = page.selected_version()
    window.context.runner.submit(
        "export", lambda _p, _c: workspace.data.export(version.ref, target)
    )
    wait_until(qtbot, lambda: target.exists(), 30)
    assert target.read_text(encoding="utf-8").count("\n") == 200


def test_an_empty_project_explains_how_to_start(qtbot, window) -> None:
    page = window.show_page("data")
    wait_until(qtbot, lambda: page.stack.currentWidget() is page.empty, 10)
    assert "drop" in page.empty.text.text().lower()
    assert page.empty.button.text() == "Import a file…"
    assert not page.export_button.isEnabled()
