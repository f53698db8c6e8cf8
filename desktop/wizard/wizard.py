"""The new-project wizard: name and folder, first data set, target and task, primary metric,
monitoring rules, default gates. Finish creates the project in the background and opens it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from desktop.context import AppContext
from desktop.errors import describe
from desktop.theme import set_style_property
from desktop.wizard.create import ProjectPlan, create_project
from desktop.wizard.gates import GatesPage, MetricPage, MonitoringPage
from desktop.wizard.pages import ImportPage, NamePage, TargetPage, say

NAME, DATA, TARGET, METRIC, MONITORING, GATES = range(6)


class NewProjectWizard(QWizard):
    project_created = Signal(str)  # the new project's folder

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("New project")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.resize(900, 660)
        self.name_page = NamePage()
        self.import_page = ImportPage(context)
        self.target_page = TargetPage()
        self.metric_page = MetricPage()
        self.monitoring_page = MonitoringPage()
        self.gates_page = GatesPage()
        pages = (self.name_page, self.import_page, self.target_page, self.metric_page)
        pages += (self.monitoring_page, self.gates_page)
        for number, page in enumerate(pages):
            page.setTitle(f"Step {number + 1} of {len(pages)} · {page.title()}")
            self.setPage(number, page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Create project")
        for button in (QWizard.WizardButton.FinishButton, QWizard.WizardButton.NextButton):
            set_style_property(self.button(button), "primary", True)
        self.currentIdChanged.connect(self._entering)
        self.task = None
        self.folder: Path | None = None

    def _entering(self, page_id: int) -> None:
        if page_id == TARGET and self.import_page.panel.preview is not None:
            self.target_page.set_preview(self.import_page.panel.preview)
        elif page_id == METRIC:
            self.metric_page.set_task(self.target_page.task)
        elif page_id == MONITORING:
            self.monitoring_page.set_task(self.target_page.task, self.metric_page.chosen_metric)
        elif page_id == GATES:
            self.gates_page.set_metric(self.metric_page.chosen_metric)

    def plan(self) -> ProjectPlan:
        panel = self.import_page.panel
        assert panel.path is not None
        return ProjectPlan(
            folder=self.name_page.folder,
            name=self.name_page.name.text().strip(),
            data=panel.path,
            options=panel.options(),
            task=self.target_page.task,
            target=self.target_page.target.currentText(),
            primary_metric=self.metric_page.chosen_metric,
            gates=self.gates_page.gates(),
            tables=self.monitoring_page.tables(),
        )

    def accept(self) -> None:
        """Finish: create the project in the background; close only when it is done."""
        if self.task is not None and self.task.running:
            return
        plan = self.plan()
        page = self.gates_page
        say(page.message, "")
        page.show_progress(None, "Creating the project…")
        self._busy(True)
        self.task = self.context.runner.submit(
            f"Creating {plan.name}",
            lambda progress, cancel: create_project(plan, progress, cancel),
            on_success=self._created,
            on_failure=lambda error, _trace: self._failed(plan, error),
            on_cancel=lambda: self._failed(plan, None),
            owner=self,
        )
        self.task.progressed.connect(page.show_progress)

    def _busy(self, busy: bool) -> None:
        for button in (
            QWizard.WizardButton.BackButton,
            QWizard.WizardButton.FinishButton,
            QWizard.WizardButton.CancelButton,
        ):
            self.button(button).setEnabled(not busy)

    def _created(self, folder: Path) -> None:
        self.folder = folder
        self._busy(False)
        self.project_created.emit(str(folder))
        super().accept()

    def _failed(self, plan: ProjectPlan, error: BaseException | None) -> None:
        page = self.gates_page
        page.progress.hide()
        page.progress_label.hide()
        self._busy(False)
        if (plan.folder / "shipway.toml").is_file():
            self.name_page.own_folder = plan.folder  # Finish again reuses it
        reason = describe(error).text if error is not None else "Cancelled."
        say(
            page.message,
            f"The project could not be set up. {reason}\n\nGo Back to change the file or "
            "its options, then press Create project again.",
        )
