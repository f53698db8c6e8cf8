"""The Monitoring page: a deployment's traffic and drift, live, updated in place.

Every :data:`POLL_MS` while the page is shown, :func:`read_snapshot` runs in the background
(never two at once) and the board sets the new arrays into its existing plots. The poll is a
pure read: it never evaluates the [triggers] of shipway.toml, so looking at a deployment can
never record an alert or start a training. **Check triggers now** does that, as a visible job
(:meth:`MonitoringActionsMixin.check_triggers`); what it fired shows in the banner. Alerts
recorded by anyone (this page, ``shipway monitor check``, a teammate) are listed, and one that
appears while the page is shown is also told in the banner and the status bar.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QStackedWidget, QTabWidget, QVBoxLayout

from core.entities import Deployment
from desktop.context import AppContext
from desktop.errors import describe
from desktop.pages.base import Page
from desktop.pages.monitoring.actions import MonitoringActionsMixin
from desktop.pages.monitoring.board import MonitoringBoard
from desktop.pages.monitoring.challenger_section import ChallengerSection
from desktop.pages.monitoring.segments_section import SegmentsSection
from desktop.pages.monitoring.snapshot import RANGES, Snapshot, read_snapshot
from desktop.polling import Poller
from desktop.widgets.common import Banner, EmptyState, heading, icon_button, muted

POLL_MS = 4000
YOUNG_S = 1800  # deployments younger than this open on the 5-minute range


class MonitoringPage(MonitoringActionsMixin, Page):
    key = "monitoring"
    title = "Monitoring"
    icon_name = "monitoring"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.snapshot: Snapshot | None = None
        self.retrained = None
        self.trigger_check = None  # the TriggerCheck of the last "Check triggers now"
        self.file_report = None
        self._deployments: list[Deployment] = []
        self._wanted: str | None = None
        self._seen_alerts: set[int] | None = None
        self.board = MonitoringBoard()
        self.banner = Banner()
        self.banner.label.setOpenExternalLinks(False)
        self.banner.label.linkActivated.connect(context.events.model_requested.emit)
        self.poller = Poller(self, POLL_MS, self._read)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 8)
        layout.addLayout(self._toolbar())
        layout.addWidget(self.updated)
        layout.addWidget(self.banner)
        layout.addWidget(self._body(), 1)
        events = context.events
        events.deployments_changed.connect(self._read_deployments)
        events.monitor_requested.connect(self.show_deployment)

    def _toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(heading("Monitoring", "title"))
        row.addSpacing(12)
        self.deployment = QComboBox()
        self.deployment.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.deployment.setMinimumContentsLength(22)
        self.deployment.currentIndexChanged.connect(lambda _: self._chosen())
        self.range = QComboBox()
        for item in RANGES:
            self.range.addItem(item.label, item)
            self.range.setItemData(
                self.range.count() - 1,
                f"{item.bucket_seconds} s buckets",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.range.currentIndexChanged.connect(lambda _: self._chosen())
        self.range.activated.connect(lambda _: setattr(self, "_range_picked", True))
        self._range_picked = False  # the user chose a range: keep it for every deployment
        self.updated = muted("")
        self.check_button = icon_button("Check a file…", "data", tip="Drift of a CSV or Parquet")
        self.check_button.clicked.connect(self.choose_file)
        self.retrain_button = icon_button("Retrain…", "reproduce", tip="The same spec, newest data")
        self.retrain_button.clicked.connect(lambda: self.retrain())
        self.triggers_button = self.board.triggers_button  # beside the Alerts list
        self.triggers_button.clicked.connect(lambda: self.check_triggers())
        for widget in (self.deployment, self.range):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.check_button)
        row.addWidget(self.retrain_button)
        return row

    @property
    def primary_button(self):
        return self.triggers_button

    def _body(self) -> QStackedWidget:
        self.empty = EmptyState(
            "monitoring",
            "Nothing to monitor yet",
            "Deploy a model on the Deployments page (or with Deploy on the Models page). Its "
            "requests, latency, prediction mix and the drift of every feature against the "
            "training data appear here, live.",
        )
        self.views = QTabWidget()  # the board, and a challenger's comparison when there is one
        self.views.setTabBarAutoHide(True)
        self.views.setDocumentMode(True)
        self.views.addTab(self.board, "Traffic and drift")
        self.segments = SegmentsSection(self, self.views)  # read at most every 30 s, in sight
        self.challenger = ChallengerSection(self, self.views)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.views)
        return self.stack

    # -- choosing what to watch --------------------------------------------------------------

    def set_workspace(self, workspace) -> None:
        self.snapshot, self._seen_alerts = None, None
        super().set_workspace(workspace)
        if workspace is None:
            self.poller.stop()
        else:
            self.poller.start(now=False)

    def refresh(self) -> None:
        self.segments.stale()
        self._read_deployments()

    def activated(self) -> None:
        self._read_deployments()

    def _read_deployments(self) -> None:
        self.fetch(lambda ws: ws.deployments.list(), self._show_deployments)

    def _show_deployments(self, deployments: list[Deployment]) -> None:
        self._deployments = deployments
        wanted = self._wanted or self.deployment_id()
        running = [d for d in deployments if d.status == "running"]
        if wanted is None and (running or deployments):
            wanted = (running or deployments)[0].id
        self.deployment.blockSignals(True)
        self.deployment.clear()
        for d in deployments:
            state = "" if d.status == "running" else " (stopped)"
            self.deployment.addItem(f"{d.target} · {d.id} · port {d.port}{state}", d.id)
        index = self.deployment.findData(wanted)
        self.deployment.setCurrentIndex(max(index, 0))
        self.deployment.blockSignals(False)
        self.stack.setCurrentIndex(1 if deployments else 0)
        for button in (self.triggers_button, self.check_button, self.retrain_button):
            button.setEnabled(bool(deployments))
        self._wanted = None
        self._chosen(quiet=True)

    def _chosen(self, quiet: bool = False) -> None:
        deployment = self.current_deployment()
        if deployment is None:
            return
        if self.snapshot is None or self.snapshot.deployment.id != deployment.id:
            self.snapshot = None
            if not self._range_picked:  # a young deployment: minutes; an old one: a day
                young = time.time() - deployment.started_at.timestamp() < YOUNG_S
                self.range.blockSignals(True)
                self.range.setCurrentIndex(0 if young else 2)
                self.range.blockSignals(False)
        elif not quiet:
            self.snapshot = None
        self.poller.poll()

    def deployment_id(self) -> str | None:
        return self.deployment.currentData()

    def current_deployment(self) -> Deployment | None:
        wanted = self.deployment_id()
        return next((d for d in self._deployments if d.id == wanted), None)

    def served_ref(self) -> str | None:
        d = self.current_deployment()
        version = self.snapshot.version.version if self.snapshot else (d.version if d else None)
        return None if d is None else f"{d.model}@{version}"

    def show_deployment(self, deployment_id: str) -> None:
        self._wanted = deployment_id
        self.context.events.navigate.emit(self.key)
        self._read_deployments()

    def choose_range(self, seconds: int) -> None:
        index = next((i for i, r in enumerate(RANGES) if r.seconds == seconds), 0)
        self.range.setCurrentIndex(index)

    # -- reading and showing ---------------------------------------------------------------------

    def _read(self):
        deployment_id, time_range = self.deployment_id(), self.range.currentData()
        if deployment_id is None or time_range is None:
            return None
        self.challenger.read(deployment_id)
        self.segments.tick(deployment_id)
        return self.fetch(
            lambda ws: read_snapshot(ws, deployment_id, time_range), self._show, self._failed
        )

    def _failed(self, error: BaseException, _trace: str) -> None:
        """A look that failed is said in the page (it is tried again at the next tick)."""
        self.updated.setText(f"Could not read the deployment: {describe(error).text}")

    def _show(self, snapshot: Snapshot) -> None:
        if snapshot.deployment.id != self.deployment_id():
            return
        self.snapshot = snapshot
        self.board.show_snapshot(snapshot)
        d = snapshot.deployment
        self.updated.setText(
            f"{d.target} at {d.url} serves v{snapshot.version.version} · "
            f"{snapshot.time_range.bucket_seconds} s buckets · updated "
            f"{_clock(snapshot.read_at)}, every {POLL_MS // 1000} s"
        )
        self._announce_alerts(snapshot)

    def _announce_alerts(self, snapshot: Snapshot) -> None:
        ids = {alert.id for alert in snapshot.alerts}
        if self._seen_alerts is not None:
            new = [a for a in snapshot.alerts if a.id not in self._seen_alerts]
            if new:
                alert = new[0]
                self.banner.show_message(f"Alert: {alert.message}", "warning")
                self.status(f"Monitoring alert on {alert.deployment}: {alert.message}")
                self.context.events.alerts_changed.emit()
        self._seen_alerts = ids if self._seen_alerts is None else self._seen_alerts | ids


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(moment))
