"""Project → Settings…: the monitoring rules of shipway.toml, edited in the app.

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
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from core.errors import ShipwayError
from core.services import Workspace
from desktop.context import AppContext
from desktop.errors import describe
from desktop.widgets.common import Banner
from desktop.widgets.dialogs import plain_buttons
from desktop.widgets.monitoring_settings import MonitoringSettings


@dataclass(frozen=True)
class SettingsInForce:
    """What the dialog shows, read in one background call."""

    task: str
    bucket_seconds: int
    triggers: Any  # the engine's TriggerConfig
    problems: tuple[str, ...]  # tables that could not be read as they are
    warnings: tuple[str, ...]  # ws.project.warnings()


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
    )


class ProjectSettingsDialog(QDialog):
    """Edit [drift] bucket_seconds and the [triggers] table; Save writes shipway.toml."""

    saved = Signal()

    def __init__(self, context: AppContext, workspace: Workspace, parent: QWidget) -> None:
        super().__init__(parent)
        self.context = context
        self.workspace = workspace
        self.setWindowTitle("Project settings")
        self.resize(660, 560)
        intro = QLabel(
            "When a deployed model raises an alert. Saved to shipway.toml ([drift] and "
            "[triggers]); its comments and other settings are kept. Check triggers now on the "
            "Monitoring page, or shipway monitor check, evaluates the rules."
        )
        intro.setWordWrap(True)
        self.form = MonitoringSettings()
        self.form.changed.connect(self._check)
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
        layout.addWidget(self.form)
        layout.addStretch(1)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.task = None
        self.loaded: SettingsInForce | None = None
        context.runner.fetch(
            lambda: read_settings(workspace), self._show, owner=self, on_failure=self._failed
        )

    def _show(self, settings: SettingsInForce) -> None:
        self.loaded = settings
        self.form.set_task(settings.task)
        if settings.triggers is not None:
            self.form.set_values(settings.bucket_seconds, settings.triggers)
        notes = [*settings.problems, *settings.warnings]
        if notes:
            kind = "error" if settings.problems else "warning"
            self.notes.show_message("\n".join(f"• {note}" for note in notes), kind)
        self._check()

    def _failed(self, error: BaseException, _trace: str) -> None:
        self._say(f"The settings could not be read. {describe(error).text}")

    def _check(self) -> None:
        problem = self.form.problem()
        self._say(problem)
        running = self.task is not None and self.task.running
        self.save_button.setEnabled(self.loaded is not None and not problem and not running)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def save(self):
        """Write the form's tables in the background; close when the engine accepted them."""
        if self.form.problem() or self.loaded is None:
            return None
        tables = self.form.tables()
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
        self.context.events.status.emit("Saved the monitoring settings to shipway.toml")
        self.saved.emit()
        self.accept()

    def _refused(self, error: BaseException) -> None:
        self._say(f"Nothing was saved. {describe(error).text}")
        self._check()
