"""The shell: start page, opening projects, sidebar and shortcuts, settings, themes, errors."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QPalette
from PySide6.QtTest import QTest

from core.errors import ImportFailed
from core.services import Workspace
from desktop.context import make_context
from desktop.errors import describe
from desktop.main_window import MainWindow
from desktop.pages import PAGES
from desktop.settings import AppSettings
from tests.desktop.conftest import wait_until


def test_start_page_then_open_a_project_by_path(qtbot, context, tmp_path: Path) -> None:
    Workspace.create(tmp_path / "shop", name="Shop").close()
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    assert window.central.currentWidget() is window.start
    assert not window.import_action.isEnabled()  # nothing to import into yet
    window.open_project(tmp_path / "shop")
    wait_until(qtbot, lambda: window.workspace is not None, 30)
    assert window.shell.header.name.text() == "Shop"
    assert str(tmp_path / "shop") in window.shell.header.path.text()
    assert window.windowTitle() == "Shop — Shipway"
    assert context.settings.recent_projects()[0] == str((tmp_path / "shop").resolve())
    window.close_project()
    assert window.central.currentWidget() is window.start
    assert window.start.recent.count() == 1  # the start page lists it now


def test_opening_a_folder_without_a_project_explains_why(qtbot, context, tmp_path) -> None:
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.open_project(tmp_path)
    wait_until(qtbot, lambda: context.errors.history, 30)
    explanation = context.errors.history[-1]
    assert "no shipway.toml here" in explanation.text.lower()
    assert "What to do:" in explanation.text
    assert window.workspace is None


def test_sidebar_pages_and_their_shortcuts(qtbot, window) -> None:
    titles = [window.shell.sidebar.item(row).text() for row in range(window.shell.sidebar.count())]
    assert titles == ["Data", "Experiments", "Compare", "Models", "Deployments", "Monitoring"]
    assert [p.title for p in PAGES] == titles
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=5000)
    for number, key in enumerate(["data", "experiments", "compare", "models"], start=1):
        QTest.keySequence(window, QKeySequence(f"Ctrl+{number}"))
        assert window.shell.current_page.key == key
    later = window.shell.current_page
    assert later.empty.title.text() == "No registered models yet"
    assert "Experiments" in later.empty.text.text()  # it says how to get one
    shortcuts = {a.text(): a.shortcut().toString() for a in window.actions()}
    assert shortcuts["&New project…"] == "Ctrl+N"
    assert shortcuts["&Open project…"] == "Ctrl+O"
    assert shortcuts["&Import data…"] == "Ctrl+I"
    assert shortcuts["Start &run"] == "Ctrl+R"
    assert shortcuts["&Refresh"] == "F5"


def test_geometry_and_theme_are_remembered(qtbot, qapp, tmp_path: Path, workspace) -> None:
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    first = make_context(AppSettings(store), warm_workers=False)
    window = MainWindow(first, workspace, own_workspace=False)
    qtbot.addWidget(window)
    window.show()
    assert _ink(window.refresh_action) < 100  # dark line icons on a light window
    window.theme_action.trigger()  # dark
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert _ink(window.refresh_action) > 150  # re-tinted: light lines on a dark window
    window.setGeometry(30, 40, 1100, 720)
    qtbot.waitUntil(lambda: window.width() == 1100)
    window.close()
    again = make_context(AppSettings(store), warm_workers=False)
    assert again.theme.name == "dark"
    second = MainWindow(again)
    qtbot.addWidget(second)
    assert (second.width(), second.height()) == (1100, 720)
    again.theme.apply("light")
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 200


def _ink(action) -> int:
    """The lightness of an icon's most opaque pixel (its line colour)."""
    image = action.icon().pixmap(24, 24).toImage()
    pixels = [image.pixelColor(x, y) for x in range(24) for y in range(24)]
    return max(pixels, key=lambda c: c.alpha()).lightness()


def test_a_shipway_error_reads_as_sentences() -> None:
    error = ImportFailed(
        "invalid UTF-8: byte 0xff at byte offset 10 (line 3)",
        where="data.csv:3",
        hint="repair that line, or pass the file's real encoding",
    )
    explanation = describe(error)
    assert explanation.title == "The import was refused"
    assert explanation.text.startswith("Invalid UTF-8: byte 0xff")
    assert "Where: data.csv:3" in explanation.text
    assert "What to do: Repair that line, or pass the file's real encoding." in explanation.text
    assert explanation.expected


def test_unexpected_exceptions_from_any_thread_end_in_a_dialog(qtbot, window, context) -> None:
    context.errors.install_hooks()
    try:
        worker = threading.Thread(target=lambda: 1 / 0, name="worker-7")
        worker.start()
        worker.join()
        wait_until(qtbot, lambda: context.errors.history, 10)
    finally:
        context.errors.uninstall_hooks()
    explanation = context.errors.history[-1]
    assert "ZeroDivisionError" in explanation.text and "worker-7" in explanation.title
    dialog = context.errors.dialogs[-1]
    assert dialog.isVisible()
    assert "Traceback" in dialog.details.toPlainText()
    dialog.copy_details()
    assert "ZeroDivisionError" in QGuiApplication.clipboard().text()
    dialog.close()


def test_closing_with_work_running_asks_then_cancels(qtbot, window, context) -> None:
    import time

    asked: list[list[str]] = []
    window.confirm_stop = lambda titles: asked.append(titles) or True

    def slow(progress, cancel):
        while True:
            cancel.raise_if_cancelled()
            time.sleep(0.01)

    task = context.runner.submit("A slow job", slow)
    wait_until(qtbot, lambda: window.jobs.isVisible(), 5)
    assert window.jobs.row.task is task
    assert window.close()
    assert asked == [["A slow job"]]
    assert task.state == "cancelled"
    assert window.workspace is None


def test_declining_to_stop_keeps_the_window_open(qtbot, window, context) -> None:
    import time

    window.confirm_stop = lambda titles: False

    def slow(progress, cancel):
        while not cancel.cancelled:
            time.sleep(0.01)

    task = context.runner.submit("Another job", slow)
    assert not window.close()
    assert window.workspace is not None and task.running
    task.cancel()
    wait_until(qtbot, lambda: not task.running, 5)


def test_the_jobs_bar_cancels_a_job(qtbot, window, context) -> None:
    import time

    def slow(progress, cancel):
        for step in range(1000):
            cancel.raise_if_cancelled()
            progress(step / 1000, "working")
            time.sleep(0.01)

    task = context.runner.submit("Cancellable", slow)
    wait_until(qtbot, lambda: window.jobs.row is not None and task.fraction is not None, 5)
    qtbot.mouseClick(window.jobs.row.cancel_button, Qt.MouseButton.LeftButton)
    wait_until(qtbot, lambda: task.state == "cancelled", 5)
    wait_until(qtbot, lambda: not window.jobs.isVisible(), 5)
