"""Project → Settings…: the monitoring rules and the always-on service's tables of shipway.toml,
edited in the app.

Three tabs: Monitoring ([drift] and [triggers]), Service ([monitor] and [retrain]: what the
always-on service does and when) and Notifications ([notify]: e-mail, webhook, this app;
:mod:`desktop.widgets.service_settings`). One Save writes the tables of every tab.

The dialog reads the settings in force in the background (``ws.monitoring.drift_config()``,
``ws.monitoring.trigger_config()``, ``ws.project.info()`` for the task, and
``ws.project.warnings()``: keys nothing reads, with their line), shows them in the form the
wizard uses (:class:`~desktop.widgets.monitoring_settings.MonitoringSettings`) and saves with
``ws.project.save_settings(tables=...)``: tomlkit keeps the file's comments and other keys, and
the engine checks what was written as the monitoring reads it (a mistake names the line and
puts the previous file back). A table that cannot be read as it is (a typo made in an editor)
is said in the dialog; the form then starts from the defaults, and saving writes its keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.errors import ShipwayError
from core.services import Workspace
from desktop.context import AppContext
from desktop.errors import describe
from desktop.widgets.common import Banner
from desktop.widgets.dialogs import plain_buttons
from desktop.widgets.monitoring_settings import MonitoringSettings
from desktop.widgets.service_settings import NotifySettingsForm, ServiceSettings

SERVICE_TABLES = ("monitor", "retrain", "notify")


@dataclass(frozen=True)
class SettingsInForce:
    """What the dialog shows, read in one background call."""

    task: str
    bucket_seconds: int
    triggers: Any  # the engine's TriggerConfig
    problems: tuple[str, ...]  # tables that could not be read as they are
    warnings: tuple[str, ...]  # ws.project.warnings()
    tables: dict[str, dict[str, Any]]  # [monitor], [retrain], [notify] as written
    datasets: tuple[str, ...] = ()


def read_settings(workspace: Workspace) -> SettingsInForce:
    """The monitoring settings in force; a table that cannot be read is said, not raised."""
    problems: list[str] = []
    bucket_seconds, triggers = 3600, None
    try:
        bucket_seconds = workspace.monitoring.drift_config().bucket_seconds
    except ShipwayError as error:
        problems.append(error.one_line())
    try:
        triggers = workspace.monitoring.trigger_config()
    except ShipwayError as error:
        problems.append(error.one_line())
    info = workspace.project.info()
    return SettingsInForce(
        task=info.task or "classification",
        bucket_seconds=bucket_seconds,
        triggers=triggers,
        problems=tuple(problems),
        warnings=tuple(workspace.project.warnings()),
        tables=workspace.project.tables(*SERVICE_TABLES),
        datasets=tuple(d.name for d in workspace.data.datasets()),
    )


class ProjectSettingsDialog(QDialog):
    """Edit [drift], [triggers], [monitor], [retrain] and [notify]; Save writes shipway.toml."""

    saved = Signal()

    def __init__(self, context: AppContext, workspace: Workspace, parent: QWidget) -> None:
        super().__init__(parent)
        self.context = context
        self.workspace = workspace
        self.setWindowTitle("Project settings")
        self.resize(700, 720)
        intro = QLabel(
            "Saved to shipway.toml; its comments and other settings are kept. Monitoring: when "
            "a deployed model raises an alert (Check triggers now on the Monitoring page "
            "evaluates the rules). Service and Notifications: what the always-on service does "
            "and who hears of it (it reads shipway.toml again when it changes)."
        )
        intro.setWordWrap(True)
        self.form = MonitoringSettings()
        self.service_form = ServiceSettings()
        self.notify_form = NotifySettingsForm()
        self.tabs = QTabWidget()
        for form, title in ((self.form, "Monitoring"), (self.service_form, "Service"),
                            (self.notify_form, "Notifications")):  # fmt: skip
            form.changed.connect(self._edited)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(form)
            self.tabs.addTab(scroll, title)
        self.notes = Banner()  # warnings about shipway.toml, tables that could not be read
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setProperty("role", "error")
        self.message.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        plain_buttons(self.buttons)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setProperty("primary", True)
        self.save_button.setEnabled(False)  # until the settings in force are read
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.notes)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.task = None
        self.refusal = ""
        self.loaded: SettingsInForce | None = None
        context.runner.fetch(
            lambda: read_settings(workspace), self._show, owner=self, on_failure=self._failed
        )

    def _show(self, settings: SettingsInForce) -> None:
        self.loaded = settings
        self.form.set_task(settings.task)
        if settings.triggers is not None:
            self.form.set_values(settings.bucket_seconds, settings.triggers)
        tables = settings.tables
        self.service_form.set_datasets(list(settings.datasets))
        self.service_form.set_values(tables.get("monitor", {}), tables.get("retrain", {}))
        self.notify_form.set_values(tables.get("notify", {}))
        notes = [*settings.problems, *settings.warnings]
        if notes:
            kind = "error" if settings.problems else "warning"
            self.notes.show_message("\n".join(f"• {note}" for note in notes), kind)
        self._check()

    def _failed(self, error: BaseException, _trace: str) -> None:
        self._say(f"The settings could not be read. {describe(error).text}")

    def problem(self) -> str:
        """The first thing a tab needs fixed before saving ("" when nothing)."""
        for form in (self.form, self.service_form, self.notify_form):
            if form.problem():
                return form.problem()
        return ""

    def _edited(self) -> None:
        self.refusal = ""  # the engine's last refusal holds until the form changes
        self._check()

    def _check(self) -> None:
        problem = self.problem()
        self._say(problem or self.refusal)
        running = self.task is not None and self.task.running
        self.save_button.setEnabled(self.loaded is not None and not problem and not running)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def save(self):
        """Write the form's tables in the background; close when the engine accepted them."""
        if self.problem() or self.loaded is None:
            return None
        tables = {**self.form.tables(), **self.service_form.tables(), **self.notify_form.tables()}
        tables = {  # a table the file does not have is not added empty
            name: values
            for name, values in tables.items()
            if any(v is not None for v in values.values()) or self.loaded.tables.get(name)
        }
        workspace = self.workspace
        self.save_button.setEnabled(False)
        self.task = self.context.runner.submit(
            "Saving the project settings",
            lambda _p, _c: workspace.project.save_settings(tables=tables),
            on_success=lambda _info: self._saved(),
            on_failure=lambda error, _trace: self._refused(error),
            owner=self,
        )
        return self.task

    def _saved(self) -> None:
        self.context.events.status.emit("Saved the project settings to shipway.toml")
        self.saved.emit()
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self.refusal = f"Nothing was saved. {describe(error).text}"
        self._check()
