"""What runs around an open project: the change feed, its warnings, demo traffic, and what
happens to the deployments this window started when the project closes.

Deployments are separate processes that outlive the app by design (``shipway deploy``). Those
started from this window keep running after it closes only if the user says so: closing asks
(stop them / keep them running), unless the setting ``deployments/on_exit`` is ``stop`` or
``keep`` (the dialog's "remember" box sets it; the tests set it). A quit by signal never
waits for an answer: it applies the setting, and stops them when nothing was chosen.

**Garbage collection.** A full collection of Python's cyclic garbage collector walks every
object the interpreter tracks, holding the GIL: with pandas, scikit-learn, pyqtgraph and the
window's widgets loaded, 120–350 ms (measured by ``benchmarks/bench_gui.py --trace`` on a busy
machine), during which the GUI thread cannot run one line of Python, whichever thread started
it. So the session moves the long-lived objects into the collector's permanent generation
(``gc.freeze()``), where later collections do not walk them: a few seconds after the project
opens (its pages have read, the engine's modules are imported), then whenever the oldest
generation (objects that survived two collections) has grown by :data:`FREEZE_GROWTH` objects
(a look every :data:`FREEZE_EVERY_MS`). The young generations are collected first (a few
milliseconds), so only objects that lived long are kept; cyclic garbage already in the oldest
generation stays until the project closes, which gives everything back (``gc.unfreeze()``) so
a closed project's widgets are collected.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QCheckBox, QLabel, QMessageBox, QWidget

from core.entities import Deployment
from core.services import Workspace
from desktop.context import AppContext
from desktop.team_watch import ChangeWatcher
from desktop.traffic import TrafficGenerator
from desktop.widgets.common import Banner, plural
from desktop.widgets.dialogs import message_box

ON_EXIT_KEY = "deployments/on_exit"  # "ask" (default), "stop" or "keep"
FREEZE_AFTER_MS = 4000  # after the pages' first reads: the long-lived objects are made
FREEZE_EVERY_MS = 30_000  # then a look this often
FREEZE_GROWTH = 20_000  # objects in the oldest generation that make a freeze worth it
STOP_WAIT_S = 20.0


class ProjectSession(QObject):
    """Started when a project is shown; :meth:`close` ends it before the workspace closes."""

    def __init__(
        self, context: AppContext, workspace: Workspace, window: QWidget, banner: Banner
    ) -> None:
        super().__init__(window)
        self.context = context
        self.workspace = workspace
        self.window = window
        self.banner = banner
        self.watcher = ChangeWatcher(context, workspace, window)
        self.traffic: TrafficGenerator | None = None
        self.warnings: list[str] = []  # the last ws.project.warnings() shown
        self._traffic_label: QLabel | None = None
        self._traffic_timer = QTimer(self)
        self._traffic_timer.setInterval(2000)
        self._traffic_timer.timeout.connect(self._tell_traffic)
        self._freeze = QTimer(self)
        self._freeze.setInterval(FREEZE_AFTER_MS)
        self._freeze.timeout.connect(self._freeze_long_lived)

    def start(self) -> None:
        self.watcher.start()
        self.banner.hide()
        self.show_warnings()
        self._freeze.start()

    def show_warnings(self) -> None:
        """Read ``ws.project.warnings()`` (a network share, keys of shipway.toml nothing reads,
        with their line) and show them in the banner, one per line; hide it when none."""
        self.context.runner.fetch(
            self.workspace.project.warnings, self._show_warnings, owner=self.window
        )

    def _show_warnings(self, warnings: list[str]) -> None:
        self.warnings = list(warnings)
        if len(warnings) == 1:
            self.banner.show_message(warnings[0], "warning")
        elif warnings:
            self.banner.show_message("\n".join(f"• {w}" for w in warnings), "warning")
        elif self.banner.kind == "warning":
            self.banner.hide()

    def _freeze_long_lived(self) -> None:
        """Freeze what lived long (see "Garbage collection" above), when there is enough."""
        self._freeze.setInterval(FREEZE_EVERY_MS)
        if len(gc.get_objects(generation=2)) >= FREEZE_GROWTH:
            gc.collect(1)
            gc.freeze()

    def start_traffic(self, generator: TrafficGenerator, label: QLabel | None = None) -> None:
        """Send demo traffic; ``label`` (in the status bar) says how much went out."""
        self.stop_traffic()
        self.traffic = generator
        generator.start()
        if label is not None:
            self._traffic_label = label
            self._traffic_timer.start()
            self._tell_traffic()

    def _tell_traffic(self) -> None:
        traffic, label = self.traffic, self._traffic_label
        if traffic is None or label is None:
            return
        text = (
            f"Demo traffic: {plural(traffic.answered, 'request')} answered, "
            f"{traffic.share_now():.0%} of rows shifted"
        )
        tip = (
            "A thread sends penguins to penguins@production; a growing share of them is "
            "heavier, longer-flippered and from Torgersen (drift). It stops with the project."
        )
        if traffic.refused:
            text += f", {traffic.refused:,} refused"
            tip += f"\n\nLast refusal: {traffic.last_error}"
        label.setText(text)
        label.setToolTip(tip)
        label.setProperty("muted", not traffic.refused)
        label.setVisible(traffic.running)

    def stop_traffic(self) -> None:
        if self.traffic is not None:
            self.traffic.stop()
        self._traffic_timer.stop()
        if self._traffic_label is not None:
            self._traffic_label.hide()

    # -- closing ---------------------------------------------------------------------------------

    def ask_about_deployments(self, forced: bool) -> str | None:
        """ "stop", "keep" or None (cancel closing) for the deployments this window started."""
        running = self.started_and_running()
        if not running:
            return "keep"
        remembered = str(self.context.settings.value(ON_EXIT_KEY, "ask"))
        if remembered in ("stop", "keep"):
            return remembered
        if forced:
            return "stop"
        return self.question([d.target + f" ({d.id}, {d.url})" for d in running])

    def started_and_running(self) -> list[Deployment]:
        started = self.context.started_deployments
        if not started:
            return []
        return [
            d for d in self.workspace.deployments.list(include_stopped=False) if d.id in started
        ]

    def question(self, names: list[str]) -> str | None:
        """Ask the user (the tests set ``deployments/on_exit`` instead)."""
        listed = "\n".join(f"• {name}" for name in names[:8])
        box = message_box(
            self.window,
            "Deployments are running",
            f"{plural(len(names), 'deployment')} started from this window "
            f"{'is' if len(names) == 1 else 'are'} still serving:\n\n"
            f"{listed}\n\nStop them, or keep them running after Shipway closes? (Either way "
            "they are listed on the Deployments page next time.)",
            "deployments",
        )
        stop = box.addButton("Stop them", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep them running", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        remember = QCheckBox("Remember my answer")
        box.setCheckBox(remember)
        box.exec()
        answer = {stop: "stop", keep: "keep"}.get(box.clickedButton())
        if answer and remember.isChecked():
            self.context.settings.set_value(ON_EXIT_KEY, answer)
        return answer

    def stop_background(self) -> None:
        """Stop the change feed and the demo traffic (first, before the jobs are cancelled),
        and let the collector see every object again (see "Garbage collection" above)."""
        self.watcher.stop()
        self.stop_traffic()
        self._freeze.stop()
        gc.unfreeze()

    def stop_deployments(self, deployments: str) -> None:
        """Stop the deployments this window started when told to ("stop"), and forget them."""
        started = set(self.context.started_deployments)
        self.context.started_deployments.clear()
        if deployments != "stop" or not started:
            return
        workspace = self.workspace

        def stop_all(_progress, _cancel) -> list[str]:
            stopped = []
            for deployment in workspace.deployments.list(include_stopped=False):
                if deployment.id in started:
                    workspace.deployments.undeploy(deployment.id)
                    stopped.append(deployment.id)
            return stopped

        self.context.runner.submit("Stopping the deployments started here", stop_all)
        self.context.runner.wait(STOP_WAIT_S)
