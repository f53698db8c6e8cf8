"""Fixtures for the desktop tests: real widgets (offscreen), a real engine on a temp project.

Every test gets its own settings file and application context; QStandardPaths runs in test
mode, so nothing here touches the user's settings or data folders.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication

from core.entities import Deployment, ModelVersion
from core.services import TrainRequest, Workspace
from desktop.context import AppContext, make_context
from desktop.main_window import MainWindow
from desktop.settings import AppSettings

PENGUINS = Path(__file__).resolve().parents[2] / "resources" / "demo" / "penguins.csv"


def _roomy_offscreen_screen() -> None:
    """Give the offscreen platform a 1600 × 1000 screen (its default, 800 × 600, is smaller
    than the main window), so window sizes behave as on a desktop. Set before any QApplication."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return
    screen = {"name": "test", "x": 0, "y": 0, "width": 1600, "height": 1000, "logicalDpi": 96}
    config = Path(tempfile.mkdtemp(prefix="shipway-qt-")) / "screens.json"
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


_roomy_offscreen_screen()


@pytest.fixture(autouse=True, scope="session")
def _test_paths() -> None:
    QStandardPaths.setTestModeEnabled(True)


@pytest.fixture
def context(qapp, tmp_path: Path) -> Iterator[AppContext]:
    # One application per process, for good: if an earlier test made a QGuiApplication (enough to
    # paint), every widget would abort the process. Fail here, saying so, instead.
    assert isinstance(qapp, QApplication), f"this test process's Qt application is a {type(qapp)}"
    # Widgets of earlier tests that sit in reference cycles must go now: collected later, in the
    # middle of a style-sheet pass that calls into Python, their deletion would crash Qt. The
    # windows pytest-qt closed are deleted later, by the event loop: do it now, so that a theme
    # change does not restyle the widgets of every earlier test.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    made = make_context(AppSettings(store), warm_workers=False)
    made.settings.set_value("deployments/on_exit", "stop")  # no question when a window closes
    made.theme.apply("light")
    yield made
    # Reads cannot be cancelled; on a loaded machine one may outlive the first 30 s. It must end
    # before the next test builds its window: a pool thread left running touches this test's
    # objects while they are torn down.
    if not made.runner.shutdown(30):
        assert made.runner.wait(300), f"tasks still running: {made.runner.tasks(True)}"
    made.errors.uninstall_hooks()
    for dialog in list(made.errors.dialogs):
        dialog.close()
    gc.collect()


@pytest.fixture
def window(qtbot, context: AppContext, workspace: Workspace) -> MainWindow:
    """The main window on the test's project (it closes the workspace when it closes)."""
    made = MainWindow(context, workspace)
    made.resize(1280, 800)
    made.confirm_stop = lambda titles: True  # no modal question in tests
    qtbot.addWidget(made)
    made.show()
    return made


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Iterator[Workspace]:
    """One project shared by the tests that train: penguins imported, a worker kept warm.

    Starting a worker process costs seconds (imports); sharing it keeps the suite affordable.
    Tests add runs to it but never depend on runs they did not make themselves.
    """
    folder = tmp_path_factory.mktemp("lab") / "lab"
    workspace = Workspace.create(folder, name="lab")
    workspace.data.import_file(penguins_copy(folder.parent))
    executor = workspace.runs.executor()
    if hasattr(executor, "warm"):
        executor.warm(1)
    yield workspace
    workspace.close()


@pytest.fixture
def lab_window(qtbot, context: AppContext, lab: Workspace) -> MainWindow:
    """The main window on the shared project (the project stays open when it closes)."""
    made = MainWindow(context, lab, own_workspace=False)
    made.resize(1280, 800)
    made.confirm_stop = lambda titles: True
    qtbot.addWidget(made)
    made.show()
    return made


@pytest.fixture(scope="session")
def registered(lab: Workspace) -> ModelVersion:
    """A logistic regression of the shared project, registered as ``penguins-lr@1``."""
    run = lab.runs.train(
        TrainRequest(data="penguins", target="species", estimator="logistic_regression")
    ).result()
    return lab.lifecycle.register(run.id, "penguins-lr")


@pytest.fixture(scope="module")
def served(lab: Workspace, registered: ModelVersion) -> Iterator[Deployment]:
    """``penguins-lr@1`` served by a real waitress process on 127.0.0.1 (one per module)."""
    deployment = lab.deployments.deploy(registered.ref)
    yield deployment
    if lab.deployments.get(deployment.id).status != "stopped":
        lab.deployments.undeploy(deployment.id)


def post_json(url: str, body: dict) -> dict:
    """POST JSON with urllib (the way any client would) and return the decoded answer."""
    request = urllib.request.Request(
        url, json.dumps(body).encode("utf-8"), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def penguins_copy(folder: Path, name: str = "penguins.csv") -> Path:
    target = folder / name
    target.write_bytes(PENGUINS.read_bytes())
    return target


def _runnable_wait_s() -> float:
    """Seconds this thread has waited runnable for a CPU (Linux schedstat; 0 elsewhere)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class LatencyProbe:
    """Measures how long the GUI thread's event loop goes without serving a timer.

    A 10 ms timer should fire every 10 ms; the longest gap between two firings, less the
    interval, is the longest time the event loop was blocked. Time the GUI thread spent waiting
    runnable for a CPU (the machine's load: other test processes on two cores) is not the
    app's doing and is taken off each gap; work on the GUI thread, waiting for a lock or for
    the GIL all count.
    """

    def __init__(self, interval_ms: int = 10) -> None:
        self.interval = interval_ms / 1000
        self.gaps: list[float] = []
        self.load_waits: list[float] = []
        self._last = 0.0
        self._waited = 0.0
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now, waited = time.perf_counter(), _runnable_wait_s()
        if self._last:
            self.gaps.append(now - self._last - (waited - self._waited))
            self.load_waits.append(waited - self._waited)
        self._last, self._waited = now, waited

    def __enter__(self) -> LatencyProbe:
        self._last = 0.0
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()

    @property
    def worst_ms(self) -> float:
        """The longest gap the app caused, in milliseconds (load waits taken off)."""
        return (max(self.gaps, default=0.0) - self.interval) * 1000


@pytest.fixture
def settings_file(lab: Workspace) -> Iterator[Path]:
    """The shared project's shipway.toml, put back as it was after the test."""
    path = lab.root / "shipway.toml"
    before = path.read_text(encoding="utf-8")
    yield path
    path.write_text(before, encoding="utf-8")
    lab.project.reload_settings()


def show_version(qtbot, window, ref: str):
    """The Models page, showing version ``ref`` once its detail has loaded."""
    page = window.show_page("models")
    page.show_version(ref)
    wait_until(qtbot, lambda: page.detail.version is not None and page.detail.version.ref == ref)
    return page


def wait_until(qtbot, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    qtbot.waitUntil(lambda: bool(condition()), timeout=int(timeout_s * 1000))
