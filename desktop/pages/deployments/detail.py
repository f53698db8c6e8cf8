"""One deployment in detail: how to call it (curl, Python), a "Try it" panel, its server log.

The examples and the sample row come from the served version's input schema, so they are the
real endpoint's columns and types. The log is the tail of the deployment's server.log, read in
the background; health checks and metrics scrapes (the app's own status probes) are hidden
unless asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.entities import Deployment
from desktop.context import AppContext
from desktop.pages.deployments.challenger_tab import ChallengerTab
from desktop.pages.deployments.endpoint_examples import (
    curl_example,
    feedback_example,
    python_example,
)
from desktop.pages.deployments.try_it import TryItPanel
from desktop.widgets.common import heading, icon_button, muted

PROBE_LINES = ("GET '/health'", "GET '/metrics'")
QUEUE_WARNING = "Task queue depth is"  # waitress: a request waited for a free thread
QUEUE_NOTE = (
    '[Shipway] {count} waitress warning{s} "Task queue depth is N" hidden: requests came in '
    "faster than the server's threads answered them, so some waited a moment in its queue. "
    "Harmless in a burst; when it never stops, the latency plots on Monitoring show the cost "
    "(more server processes help: [serving] workers in shipway.toml, or deploy --workers)."
)


@dataclass(frozen=True)
class DeploymentInfo:
    """A deployment with the input schema of the version it serves (read in the background)."""

    deployment: Deployment
    io_schema: dict[str, Any]
    record: dict[str, Any]


def visible_log(text: str, hide_probes: bool) -> str:
    """The log as shown: the app's own probes hidden (unless asked for), and waitress' queue
    depth warnings, which can fill the log under load, counted in one explained line."""
    lines = text.splitlines()
    kept = [line for line in lines if QUEUE_WARNING not in line]
    hidden = len(lines) - len(kept)
    if hide_probes:
        kept = [line for line in kept if not any(p in line for p in PROBE_LINES)]
    if hidden:
        kept.append(QUEUE_NOTE.format(count=f"{hidden:,}", s="" if hidden == 1 else "s"))
    return "\n".join(kept)


def code_box(text: str = "") -> QPlainTextEdit:
    box = QPlainTextEdit(text)
    box.setReadOnly(True)
    box.setProperty("mono", True)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    return box


def fit_height(box: QPlainTextEdit) -> None:
    """As tall as its lines (an example reads whole, without a scroll bar of its own)."""
    lines = max(1, box.toPlainText().count("\n") + 1)
    spacing = box.fontMetrics().lineSpacing()
    box.setFixedHeight(lines * spacing + 2 * int(box.document().documentMargin()) + 14)


class UsageView(QScrollArea):
    """The URL, every endpoint, and copyable curl / Python / feedback examples."""

    def __init__(self) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.url = QLabel()
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.endpoints = muted("")
        self.curl, self.python, self.feedback = code_box(), code_box(), code_box()
        body = QWidget()
        grid = QGridLayout(body)
        grid.addWidget(self.url, 0, 0, 1, 2)
        grid.addWidget(self.endpoints, 1, 0, 1, 2)
        self.copy_buttons = {}
        places = {"curl": (2, 0), "Python": (2, 1), "Feedback": (4, 0)}
        boxes = {"curl": self.curl, "Python": self.python, "Feedback": self.feedback}
        for name, box in boxes.items():
            row, column = places[name]
            head = QHBoxLayout()
            head.addWidget(heading(name))
            head.addStretch(1)
            copy = icon_button("Copy", "export", tip=f"Copy the {name} example")
            copy.clicked.connect(lambda _=False, b=box: self.copy(b))
            self.copy_buttons[name] = copy
            head.addWidget(copy)
            grid.addLayout(head, row, column)
            grid.addWidget(box, row + 1, column, Qt.AlignmentFlag.AlignTop)
        grid.setRowStretch(6, 1)
        self.setWidget(body)

    @staticmethod
    def copy(box: QPlainTextEdit) -> None:
        QGuiApplication.clipboard().setText(box.toPlainText())

    def show_info(self, info: DeploymentInfo | None) -> None:
        if info is None:
            self.url.setText("Select a deployment.")
            for box in (self.curl, self.python, self.feedback):
                box.clear()
            self.endpoints.setText("")
            return
        d = info.deployment
        self.url.setText(f"<b>{d.url}</b> · serves {d.target}")
        self.endpoints.setText(
            "GET /health · GET /metadata (the input schema) · GET /openapi.json · "
            "POST /predict · POST /feedback · GET /metrics (Prometheus)"
            + (" · every route but /health needs the token" if d.token else "")
        )
        self.curl.setPlainText(curl_example(d.url, info.record, d.token))
        self.python.setPlainText(python_example(d.url, info.record, d.token))
        self.feedback.setPlainText(feedback_example(d.url))
        for box in (self.curl, self.python, self.feedback):
            fit_height(box)


class DeploymentDetail(QWidget):
    """Header with Stop / Monitor, and the Use it / Try it / Logs tabs."""

    def __init__(self, context: AppContext) -> None:
        super().__init__()
        self.info: DeploymentInfo | None = None
        self.header = QLabel("Select a deployment to see how to call it.")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)
        self.monitor_button = icon_button("Monitor", "monitoring", tip="Open it on Monitoring")
        self.stop_button = icon_button("Stop", "cancel", tip="Stop the server (undeploy)")
        self.score_button = icon_button(
            "Score data…", "run", tip="Predict a data set version or a file in bulk with it"
        )
        self.keep_box = QCheckBox("Keep up")
        self.keep_box.setToolTip(
            "The always-on service keeps a kept deployment up: it starts its server again on "
            "the same port when it dies or after a reboot (shipway keep ID; deploy --keep). "
            "Needs the service running for this project (the status bar says whether it runs)."
        )
        self.usage = UsageView()
        self.try_it = TryItPanel(context)
        self.log = code_box()
        self.log.setMaximumBlockCount(5000)
        self.hide_probes = QCheckBox("Hide health checks and metrics scrapes")
        self.hide_probes.setChecked(True)
        self.refresh_log = icon_button("Refresh", "refresh")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.usage, "Use it")
        self.tabs.addTab(self.try_it, "Try it")
        logs = QWidget()
        column = QVBoxLayout(logs)
        row = QHBoxLayout()
        row.addWidget(muted("The end of server.log, read every few seconds while shown."), 1)
        row.addWidget(self.hide_probes)
        row.addWidget(self.refresh_log)
        column.addLayout(row)
        column.addWidget(self.log, 1)
        self.tabs.addTab(logs, "Logs")
        self.logs_tab = logs
        self.challenger = ChallengerTab()
        self.tabs.addTab(self.challenger, "Challenger")
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.score_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.keep_box, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.monitor_button, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.stop_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        self._raw_log = ""
        self.hide_probes.toggled.connect(lambda _: self.show_log(self._raw_log))
        self.show_info(None)

    @property
    def challenger_shown(self) -> bool:
        return self.tabs.currentWidget() is self.challenger and self.isVisible()

    @property
    def logs_shown(self) -> bool:
        return self.tabs.currentWidget() is self.logs_tab and self.isVisible()

    def show_info(self, info: DeploymentInfo | None, state: str = "") -> None:
        self.info = info
        self.usage.show_info(info)
        running = state in ("running", "")
        for button in (self.score_button, self.monitor_button, self.stop_button):
            button.setEnabled(info is not None)
        self.keep_box.setEnabled(info is not None)
        if info is None:
            self.header.setText("Select a deployment to see how to call it.")
            self.try_it.set_target("", {})
            self.show_log("")
            return
        d = info.deployment
        self.stop_button.setEnabled(d.status != "stopped")
        self.try_it.set_target(d.url, info.record, running and d.status != "stopped")

    def show_state(self, text: str) -> None:
        self.header.setText(text)

    def show_log(self, text: str) -> None:
        self._raw_log = text
        shown = visible_log(text, self.hide_probes.isChecked())
        if shown != self.log.toPlainText():
            self.log.setPlainText(shown)
            bar = self.log.verticalScrollBar()
            bar.setValue(bar.maximum())
