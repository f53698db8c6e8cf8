"""The Deployments page: deploy a version or alias in one click, watch every server live.

The list is read again every :data:`POLL_MS` while the page is shown, in the background: the
recorded deployments and, for each that should run, a short probe (``ws.deployments.states``:
is the process alive, does /health answer, which version, requests and errors from /metrics).
Each row is the engine's ``LiveState`` of a deployment. Rows are repainted in place, so the
selection and the Try-it panel stay put.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
)

from core.entities import Deployment
from desktop.context import AppContext
from desktop.pages.base import Page
from desktop.pages.common.deploy_action import start_deployment
from desktop.pages.deployments.challenger_control import ChallengerControl
from desktop.pages.deployments.detail import DeploymentDetail, DeploymentInfo
from desktop.pages.deployments.table import (
    COLUMNS,
    STATE_COLORS,
    rate_text,
    read_info,
    read_rows,
    uptime_text,
)
from desktop.pages.models.score_dialog import ScoreDialog
from desktop.polling import Poller
from desktop.theme import current_colors
from desktop.widgets.common import EmptyState, heading, icon_button, make_table, set_widths
from desktop.widgets.dialogs import ask
from desktop.widgets.table_model import ListTableModel

POLL_MS = 3000


class DeploymentsPage(Page):
    key = "deployments"
    title = "Deployments"
    icon_name = "deployments"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.model = ListTableModel(COLUMNS)
        self.model.set_emphasis(
            color=lambda r, col: (
                getattr(current_colors(), STATE_COLORS.get(r.state, "text")) if col == 0 else None
            ),
            bold=lambda r, col: col == 0,
        )
        self.detail = DeploymentDetail(context)
        self._selected: str | None = None
        self.poller = Poller(self, POLL_MS, self._read_list)
        self.log_poller = Poller(self, POLL_MS, self._read_log)
        self.challengers = ChallengerControl(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._toolbar())
        layout.addWidget(self._body(), 1)
        self._connect()

    def _toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(heading("Deployments", "title"))
        row.addStretch(1)
        self.target = QComboBox()
        self.target.setMinimumWidth(220)
        self.target.setToolTip("A model version (M@3) or an alias (M@production) to serve")
        self.deploy_button = icon_button("Deploy", "deployments", True, "Serve it on 127.0.0.1")
        self.show_stopped = QCheckBox("Show stopped")
        self.refresh_button = icon_button("Refresh", "refresh")
        for widget in (self.target, self.deploy_button, self.show_stopped, self.refresh_button):
            row.addWidget(widget)
        return row

    @property
    def primary_button(self):
        return self.deploy_button

    def _body(self) -> QStackedWidget:
        self.table = make_table(self.model)
        set_widths(self.table, (100, 80, 160, 64, 56, 160, 64, 76, 60, 84, 50))
        self.empty = EmptyState(
            "deployments",
            "Nothing is deployed",
            "Choose a model version or alias above and press Deploy (or Deploy on the Models "
            "page): it is served as a REST API on this machine (127.0.0.1, a free port), "
            "with a prediction log that the Monitoring page reads.",
        )
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setSizes([140, 580])
        split.setChildrenCollapsible(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(split)
        return self.stack

    def _connect(self) -> None:
        self.deploy_button.clicked.connect(lambda: self.deploy())
        self.show_stopped.toggled.connect(lambda _: self._read_list())
        self.refresh_button.clicked.connect(self.refresh)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._current())
        self.detail.stop_button.clicked.connect(lambda: self.stop())
        self.detail.monitor_button.clicked.connect(self._monitor)
        self.detail.score_button.clicked.connect(lambda: self.score_data())
        self.detail.keep_box.clicked.connect(lambda on: self.keep(bool(on)))
        self.detail.refresh_log.clicked.connect(self._read_log)
        self.detail.tabs.currentChanged.connect(lambda _: self.log_poller.poll())
        self.detail.tabs.currentChanged.connect(lambda _: self.challengers.poller.poll())
        events = self.context.events
        events.deployments_changed.connect(self._read_list)
        events.models_changed.connect(self._read_targets)
        events.deployment_requested.connect(self.show_deployment)

    # -- reading -------------------------------------------------------------------------------

    def set_workspace(self, workspace) -> None:
        super().set_workspace(workspace)
        if workspace is None:
            self.poller.stop()
            self.log_poller.stop()
            self.challengers.poller.stop()
        else:
            self.poller.start(now=False)
            self.log_poller.start(now=False)
            self.challengers.poller.start(now=False)

    def refresh(self) -> None:
        self._read_targets()
        self._read_list()

    def activated(self) -> None:
        self._read_list()

    def _read_targets(self) -> None:
        def read(ws) -> list[str]:
            refs = []
            for model in ws.registry.models():
                refs += [f"{model.name}@{alias}" for alias in sorted(model.aliases)]
                refs += [f"{model.name}@{v.version}" for v in ws.registry.versions(model.name)][
                    ::-1
                ]
            return refs

        self.fetch(read, self._show_targets)

    def _show_targets(self, refs: list[str]) -> None:
        current = self.target.currentText()
        self.target.clear()
        self.target.addItems(refs)
        if current in refs:
            self.target.setCurrentText(current)
        self.deploy_button.setEnabled(bool(refs))

    def _read_list(self):
        if self.workspace is None:
            self.model.set_items([])
            return None
        stopped = self.show_stopped.isChecked()
        return self.fetch(
            lambda ws: read_rows(ws, stopped), self._show_rows, self.quietly_failed("Deployments")
        )

    def _show_rows(self, rows: list[Any]) -> None:
        """Show the ``LiveState`` of each deployment, repainting rows in place."""
        self.model.update_items(rows, key=lambda r: r.id)
        self.stack.setCurrentIndex(1 if rows else 0)
        if not rows:
            self.detail.show_info(None)
            return
        wanted = self._selected or rows[0].id
        row = self.model.row_of(lambda r: r.id == wanted)
        if row is None:
            row, self._selected = 0, None
        if self.table.currentIndex().row() != row:
            self.table.selectRow(row)
        self._show_state()

    def _current(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid():
            return
        deployment_id = self.model.item(index.row()).id
        if deployment_id == self._selected and self.detail.info is not None:
            return
        self._selected = deployment_id
        self.fetch(lambda ws: read_info(ws, deployment_id), self._show_info)
        self.log_poller.poll()
        self.challengers.poller.poll()

    def _show_info(self, info: DeploymentInfo) -> None:
        if info.deployment.id == self._selected:
            row = self.selected_row()
            self.detail.show_info(info, row.state if row else "")
            self._show_state()

    def _show_state(self) -> None:
        row = self.selected_row()
        if row is None or self.detail.info is None:
            return
        d = row.deployment
        color = getattr(current_colors(), STATE_COLORS.get(row.state, "text"))
        version = row.version or d.version
        self.detail.show_state(
            f"<b>{d.id}</b> · <span style='color:{color}'><b>{row.state}</b></span> · serves "
            f"<b>{d.target}</b> (v{version}) at {d.url} · up {uptime_text(row.uptime_s)} · "
            f"{row.requests if row.requests is not None else '—'} requests, errors {rate_text(row)}"
        )
        self.detail.stop_button.setEnabled(d.status != "stopped")
        self.detail.keep_box.setChecked(d.keep)
        self.detail.keep_box.setEnabled(d.keep or d.status != "stopped")
        self.detail.try_it.send_button.setEnabled(row.state == "running")

    def selected_row(self) -> Any:
        """The ``LiveState`` of the selected deployment, or None."""
        if self._selected is None:
            return None
        row = self.model.row_of(lambda r: r.id == self._selected)
        return None if row is None else self.model.item(row)

    def _read_log(self):
        deployment_id = self._selected
        if deployment_id is None or not self.detail.logs_shown:
            return None

        def show(text: str) -> None:
            if deployment_id == self._selected:
                self.detail.show_log(text)

        return self.fetch(
            lambda ws: ws.deployments.server_log(deployment_id),
            show,
            self.quietly_failed("The log"),
        )

    # -- actions -------------------------------------------------------------------------------

    def deploy(self, ref: str | None = None):
        ref = ref or self.target.currentText()
        if self.workspace is None or not ref:
            return None
        return start_deployment(self.context, self.workspace, ref, self)

    def show_deployment(self, deployment_id: str) -> None:
        self._selected = deployment_id
        self.context.events.navigate.emit(self.key)
        self._read_list()

    def confirm(self, title: str, text: str) -> bool:
        """Ask before stopping a server (the tests replace this method)."""
        return ask(self, title, text, yes="Stop it", no="Keep it running", icon_name="cancel")

    def stop(self, deployment_id: str | None = None):
        deployment_id = deployment_id or self._selected
        workspace = self.workspace
        if workspace is None or deployment_id is None:
            return None
        question = f"Stop deployment {deployment_id}? Clients calling it will get no answer."
        if not self.confirm("Stop the deployment", question):
            return None

        def stopped(deployment: Deployment) -> None:
            self.context.started_deployments.discard(deployment.id)
            self.status(f"Stopped deployment {deployment.id} ({deployment.target})")
            self.context.events.deployments_changed.emit()

        return self.context.runner.submit(
            f"Stopping deployment {deployment_id}",
            lambda _p, _c: workspace.deployments.undeploy(deployment_id),
            on_success=stopped,
            owner=self,
        )

    def keep(self, on: bool, deployment_id: str | None = None):
        """Keep the deployment up with the always-on service, or no longer (a job)."""
        deployment_id = deployment_id or self._selected
        workspace = self.workspace
        if workspace is None or deployment_id is None:
            return None

        def done(deployment: Deployment) -> None:
            kept = (
                "is kept up by the always-on service" if deployment.keep else "is no longer kept up"
            )
            self.status(f"Deployment {deployment.id} {kept}")
            self.context.events.deployments_changed.emit()

        def refused(error: BaseException, _trace: str) -> None:
            self.detail.keep_box.setChecked(not on)
            self.context.errors.report(error, f"Keep up deployment {deployment_id}")

        return self.context.runner.submit(
            f"{'Keeping' if on else 'No longer keeping'} deployment {deployment_id} up",
            lambda _p, _c: workspace.deployments.keep(deployment_id, on),
            on_success=done,
            on_failure=refused,
            owner=self,
        )

    def _monitor(self) -> None:
        if self._selected is not None:
            self.context.events.monitor_requested.emit(self._selected)

    def score_data(self) -> ScoreDialog | None:
        """Score data with what the selected deployment serves (its alias, or its version)."""
        info, workspace = self.detail.info, self.workspace
        if info is None or workspace is None:
            return None
        dialog = ScoreDialog(self.context, workspace, info.deployment.target, self)
        dialog.open()
        self.score_dialog = dialog
        return dialog
