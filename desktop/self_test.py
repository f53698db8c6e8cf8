"""``shipway-desktop --self-test``: the installed app checks itself offscreen and says what it saw.

It opens the main window on a temporary project, walks every page, runs a tiny loop through the
engine (import → train in a worker process → register → deploy a waitress process → predict over
HTTP → drift of the logged requests), walks the Models, Deployments and Monitoring pages again
with that data, and stops the deployment. One line per check (``ok`` or ``FAIL``), then ``PASS``
or ``FAIL``; exit status 0 or 1. The installer's smoke test calls it on the installed app, so the
flag and the exit codes are stable. Nothing of the user's (settings, projects) is touched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable
from pathlib import Path

PAGE_TIMEOUT_S = 30.0


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


class Checks:
    """Runs checks in order; one line each; a failed check does not stop the next ones."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def run(self, name: str, check: Callable[[], str]) -> bool:
        try:
            detail = check()
        except Exception as error:  # a failed check is reported, never a crash
            detail = f"{type(error).__name__}: {error}"
            self.failed.append(name)
            print(f"FAIL {name}: {detail}", flush=True)
            if os.environ.get("SHIPWAY_SELF_TEST_TRACE"):
                traceback.print_exc()
            return False
        print(f"ok   {name}: {detail}", flush=True)
        return True


def wait_until(condition: Callable[[], object], timeout_s: float = PAGE_TIMEOUT_S) -> bool:
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return False


def run_self_test() -> int:
    if not os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # (keeps the tests' offscreen:configfile=…)
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="shipway-self-test-") as scratch:
        state = _SelfTest(app, Path(scratch), checks)
        try:
            state.run()
        finally:
            state.tear_down()
    verdict = "PASS" if not checks.failed else f"FAIL: {', '.join(checks.failed)}"
    print(verdict, flush=True)
    return 0 if not checks.failed else 1


class _SelfTest:
    def __init__(self, app, scratch: Path, checks: Checks) -> None:
        self.app, self.scratch, self.checks = app, scratch, checks
        self.context = self.window = self.workspace = None
        self.run_record = self.version = self.deployment = None
        self.stopped = False

    def run(self) -> None:
        c = self.checks
        c.run("qt", self.check_qt)
        c.run("fonts", self.check_fonts)
        c.run("resources", self.check_resources)
        if not c.run("window", self.open_window):
            return
        c.run("pages (empty project)", self.walk_pages)
        if not (c.run("import", self.check_import) and c.run("train", self.check_train)):
            return
        if not (c.run("register", self.check_register) and c.run("deploy", self.check_deploy)):
            return
        c.run("predict", self.check_predict)
        c.run("drift", self.check_drift)
        c.run("models page", self.check_models_page)
        c.run("deployments page", self.check_deployments_page)
        c.run("monitoring page", self.check_monitoring_page)
        c.run("undeploy", self.check_undeploy)
        c.run("errors", self.check_no_errors)

    # -- Qt and the window -----------------------------------------------------------------------

    def check_qt(self) -> str:
        import PySide6
        from PySide6.QtGui import QGuiApplication

        return f"PySide6 {PySide6.__version__}, platform {QGuiApplication.platformName()}"

    def check_fonts(self) -> str:
        from PySide6.QtGui import QFontDatabase

        families = QFontDatabase.families()
        if not families:
            raise RuntimeError("no fonts: every glyph would be an empty box")
        return f"{len(families)} font families"

    def check_resources(self) -> str:
        from desktop.theme import resource

        needed = [resource("styles", "light.qss"), resource("styles", "dark.qss")]
        needed += [resource("icons", "shipway.svg"), resource("demo", "penguins.csv")]
        missing = [str(path) for path in needed if not path.is_file()]
        if missing:
            raise RuntimeError(f"missing {', '.join(missing)}")
        return f"styles, icons and demo data in {resource()}"

    def open_window(self) -> str:
        from PySide6.QtCore import QSettings

        from core.services import Workspace
        from desktop.context import make_context
        from desktop.main_window import MainWindow
        from desktop.settings import AppSettings

        store = QSettings(str(self.scratch / "settings.ini"), QSettings.Format.IniFormat)
        self.context = make_context(AppSettings(store), warm_workers=False)
        self.context.settings.set_value("deployments/on_exit", "stop")
        self.context.theme.apply()
        self.workspace = Workspace.create(self.scratch / "project", name="self-test")
        self.window = MainWindow(self.context, self.workspace)
        self.window.confirm_stop = lambda titles: True
        self.window.resize(1280, 800)
        self.window.show()
        wait_until(lambda: False, 0.2)
        return f"main window {self.window.width()}×{self.window.height()}"

    def walk_pages(self) -> str:
        shown = []
        for page in self.window.shell.pages:
            self.window.show_page(page.key)
            if not wait_until(lambda: not self.context.runner.tasks(include_quiet=True)):
                raise RuntimeError(f"the {page.title} page did not finish reading")
            shown.append(page.title)
        self.check_no_errors()
        return ", ".join(shown)

    # -- the engine's loop -----------------------------------------------------------------------

    def check_import(self) -> str:
        from desktop.demo import demo_data

        outcome = self.workspace.data.import_file(demo_data())
        return f"{outcome.version.ref}, {_plural(outcome.version.rows, 'row')}"

    def check_train(self) -> str:
        from core.services import TrainRequest

        request = TrainRequest(data="penguins", target="species", estimator="logistic_regression")
        self.run_record = self.workspace.runs.train(request).result()
        if self.run_record.status != "done":
            raise RuntimeError(f"run #{self.run_record.id} {self.run_record.status}")
        return f"run #{self.run_record.id} done in a worker, f1 {self.run_record.metrics['f1']:.3f}"

    def check_register(self) -> str:
        self.version = self.workspace.lifecycle.register(self.run_record.id, "self-test")
        return self.version.ref

    def check_deploy(self) -> str:
        self.deployment = self.workspace.deployments.deploy(self.version.ref)
        self.context.started_deployments.add(self.deployment.id)
        return f"{self.deployment.id} at {self.deployment.url}"

    def check_predict(self) -> str:
        from desktop.pages.deployments.endpoint_examples import sample_record

        body = json.dumps({"records": [sample_record(self.version.io_schema)] * 5}).encode()
        request = urllib.request.Request(
            f"{self.deployment.url}/predict", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            predictions = json.load(answer)["predictions"]
        return f"POST /predict answered {predictions[0]!r}"

    def check_drift(self) -> str:
        wait_until(lambda: False, 1.5)  # the prediction log is written off the request path
        report = self.workspace.monitoring.drift(self.version.ref, deployment=self.deployment.id)
        return (
            f"{_plural(report.tested_features, 'feature')} tested on "
            f"{_plural(report.current_rows, 'logged row')}"
        )

    # -- the pages with data ---------------------------------------------------------------------

    def check_models_page(self) -> str:
        page = self.window.show_page("models")
        page.refresh()
        if not wait_until(lambda: page.detail.version is not None and page.detail.card.html):
            raise RuntimeError("the version and its card did not show")
        page.detail.tabs.setCurrentWidget(page.detail.card_tab)
        if not wait_until(lambda: page.detail.card.images_loaded > 0, 5):
            raise RuntimeError("the card's curves (SVG data URIs) were not drawn")
        return f"{page.detail.version.ref} with its card ({page.detail.card.images_loaded} curves)"

    def check_deployments_page(self) -> str:
        page = self.window.show_page("deployments")
        if not wait_until(lambda: (row := page.selected_row()) and row.state == "running"):
            raise RuntimeError("the deployment did not show as running")
        return f"{page.selected_row().deployment.id} running"

    def check_monitoring_page(self) -> str:
        page = self.window.show_page("monitoring")
        if not wait_until(lambda: page.snapshot is not None and page.board.rate.showing_plot):
            raise RuntimeError("no traffic plotted")
        return f"{_plural(page.snapshot.traffic.total, 'request')} plotted"

    def check_undeploy(self) -> str:
        stopped = self.workspace.deployments.undeploy(self.deployment.id)
        self.context.started_deployments.discard(stopped.id)
        self.stopped = True
        return f"{stopped.id} {stopped.status}"

    def check_no_errors(self) -> str:
        shown = [e.title for e in self.context.errors.history]
        if shown:
            raise RuntimeError("; ".join(shown))
        return "none shown"

    def tear_down(self) -> None:
        if self.deployment is not None and not self.stopped:
            try:
                self.workspace.deployments.undeploy(self.deployment.id)
            except Exception as error:  # already stopped: say so, go on closing
                print(f"note: {error}", file=sys.stderr)
        if self.window is not None:
            self.window.forced_quit = True
            self.window.close()
            self.app.processEvents()
        elif self.workspace is not None:
            self.workspace.close()
