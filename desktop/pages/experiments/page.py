"""The Experiments page: the New run form, the runs table with live progress, a run's detail.

Runs execute in the engine's worker processes. Starting one (``ws.runs.train`` /
``ws.runs.search``, a quick background read) records it and hands back its ``TrainingRun``
handle, whose ``run_id`` names the run's row at once; a visible task then waits for the run
(``handle.result(progress, cancel)``) and its progress is painted into that row
(:mod:`desktop.pages.experiments.jobs`).

A parent run's detail ranks its children (``ws.runs.ranked``); double-clicking one opens it:
"Show search trials" is ticked so that its row is in the table, and the row is selected.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLineEdit,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core import metrics
from core.entities import Run
from core.services import TrainRequest, catalog
from desktop.context import AppContext
from desktop.errors import describe
from desktop.pages.base import Page
from desktop.pages.experiments.actions import MAX_COMPARE, RunActionsMixin
from desktop.pages.experiments.detail import RunDetail
from desktop.pages.experiments.form import NewRunForm
from desktop.pages.experiments.jobs import RunJob, start_training, title_of
from desktop.pages.experiments.runs_table import STATUS_COLUMN, RunsTableModel, StatusDelegate
from desktop.tasks import Task
from desktop.widgets.common import EmptyState, heading, icon_button, make_table


class ExperimentsPage(RunActionsMixin, Page):
    key = "experiments"
    title = "Experiments"
    icon_name = "experiments"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.model = RunsTableModel()
        self.jobs: list[RunJob] = []
        self.primary: dict[str, str] = dict(metrics.DEFAULT_PRIMARY)
        self.form = NewRunForm()
        self.form.submitted.connect(self.start_run)
        self.detail = RunDetail()
        self.detail.cancel_requested.connect(self.cancel_run)
        self.detail.reproduce_requested.connect(self.reproduce_run)
        self.detail.register_requested.connect(self.register_run)
        self.detail.open_requested.connect(self.open_run)
        self._refresh_soon = QTimer(self, singleShot=True, interval=300)
        self._refresh_soon.timeout.connect(self.refresh)
        self._filter_soon = QTimer(self, singleShot=True, interval=200)
        self._filter_soon.timeout.connect(lambda: self.model.set_filter(self.filter.text()))
        self._selected: int | None = None
        self._sized = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._toolbar())
        layout.addWidget(self._body(), 1)
        context.events.runs_changed.connect(self.refresh)
        context.events.datasets_changed.connect(self._load_versions)

    def _toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(heading("Experiments", "title"))
        row.addStretch(1)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter runs: estimator, status, data…")
        self.filter.setClearButtonEnabled(True)
        self.filter.setMinimumWidth(120)
        self.filter.setMaximumWidth(280)
        self.filter.textChanged.connect(lambda _: self._filter_soon.start())
        self.trials = QCheckBox("Show search trials")
        self.trials.toggled.connect(self.refresh)
        self.form_button = icon_button("New run", "run")
        self.form_button.setCheckable(True)
        self.form_button.setChecked(True)
        self.form_button.setToolTip("Show or hide the New run form")
        self.form_button.toggled.connect(lambda on: self.form_area.setVisible(on))
        self.compare_button = icon_button("Compare", "compare")
        self.compare_button.setToolTip("Compare 2 to 10 selected runs side by side")
        self.compare_button.clicked.connect(self.compare_selected)
        export = icon_button("Export…", "export")
        export.setToolTip("Write every run and its metrics as CSV")
        export.clicked.connect(self.export_runs)
        self.export_button = export
        row.addWidget(self.form_button)
        return row

    def _table_bar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.filter, self.trials):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.compare_button)
        row.addWidget(self.export_button)
        return row

    def _body(self) -> QSplitter:
        self.form_area = self.form  # its fields scroll; Start run stays below them, in sight
        self.form_area.setMinimumWidth(290)
        self.form_area.setMaximumWidth(440)
        self.table = make_table(self.model)
        self.table.setItemDelegateForColumn(STATUS_COLUMN, StatusDelegate(self.table))
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._current())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.empty = EmptyState(
            "experiments",
            "No runs yet",
            "Choose a data version, a target and a model in the New run form, then press "
            "Start run (Ctrl+R). Each run trains in a worker process; its progress shows here.",
        )
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.empty)
        self.table_stack.addWidget(self.table)
        runs = QWidget()
        runs_layout = QVBoxLayout(runs)
        runs_layout.setContentsMargins(0, 0, 0, 0)
        runs_layout.addLayout(self._table_bar())
        runs_layout.addWidget(self.table_stack, 1)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(runs)
        right.addWidget(self.detail)
        right.setSizes([250, 480])
        right.setChildrenCollapsible(False)
        body = QSplitter(Qt.Orientation.Horizontal)
        body.addWidget(self.form_area)
        body.addWidget(right)
        body.setSizes([340, 900])
        body.setChildrenCollapsible(False)
        return body

    # -- reading -----------------------------------------------------------------------------

    def set_workspace(self, workspace) -> None:
        self.jobs = [j for j in self.jobs if j.task.running]
        super().set_workspace(workspace)
        if workspace is not None:
            runner = self.context.runner
            runner.fetch(catalog, self.form.set_catalog, owner=self)
            self._load_versions()
        else:
            self.form.set_versions([])
            self.detail.show_run(None)

    def _load_versions(self) -> None:
        def read(ws):
            versions = [v for d in ws.data.datasets() for v in ws.data.versions(d.name)]
            info = ws.project.info()
            return sorted(versions, key=lambda v: -v.created_at.timestamp()), info

        self.fetch(
            read, lambda answer: self.form.set_versions(answer[0], answer[1].target, answer[1].task)
        )

    def refresh(self) -> None:
        if self.workspace is None:
            self.model.set_runs([])
            return
        every = self.trials.isChecked()

        def read(ws):
            runs = ws.runs.list(all_runs=every)
            return runs, {task: ws.runs.primary_metric(task) for task in metrics.DEFAULT_PRIMARY}

        self.fetch(read, self._show_runs)

    def _show_runs(self, answer: tuple[list[Run], dict[str, str]]) -> None:
        runs, self.primary = answer
        if self.model.set_runs(list(reversed(runs)), self.primary) or not self._sized:
            self._sized = True
            fonts = self.table.horizontalHeader().fontMetrics()
            for column, width in enumerate(self.model.widths(fonts.horizontalAdvance)):
                self.table.setColumnWidth(column, width)
        for job in self.jobs:
            if job.task.running:
                self.model.set_progress(job.run_id, job.task.fraction, job.task.message)
        self.table_stack.setCurrentWidget(self.table if runs else self.empty)
        if self._selected is not None:
            row = self.model.row_of(lambda r: r.id == self._selected)
            if row is not None:
                self.table.selectRow(row)
                self.table.scrollTo(self.model.index(row, 0))
                self._load_detail(self._selected)

    def _current(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid():
            return
        run = self.model.item(index.row())
        self._selected = run.id
        self._load_detail(run.id)

    def _load_detail(self, run_id: int) -> None:
        def read(ws) -> tuple[Run, tuple]:
            run = ws.runs.get(run_id)
            return run, ws.runs.ranked(run_id) if run.kind == "search" else ()

        def show(answer: tuple[Run, tuple]) -> None:
            run, ranking = answer
            if run.id == self._selected:
                cancellable = self._job_of(run.id) is not None
                self.detail.show_run(run, cancellable=cancellable, ranking=ranking)

        self.fetch(read, show)

    def open_run(self, run_id: int) -> None:
        """Select run ``run_id`` (a child picked in a ranking) and show its detail."""
        self._selected = run_id
        self._load_detail(run_id)
        if self.trials.isChecked():
            self.refresh()
        else:
            self.trials.setChecked(True)  # its toggle refreshes the table, with the child's row

    def _selection(self) -> None:
        count = len(self.selected_ids())
        self.compare_button.setEnabled(2 <= count <= MAX_COMPARE or count == 0)

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.item(row).id for row in rows]

    def _job_of(self, run_id: int) -> RunJob | None:
        return next((j for j in self.jobs if j.run_id == run_id and j.task.running), None)

    # -- starting and stopping runs ------------------------------------------------------------

    @property
    def primary_button(self):
        return self.form.start

    def show_new_run(self) -> None:
        self.form_button.setChecked(True)
        self.form.data.setFocus()

    def start_from_form(self) -> None:
        """Ctrl+R: start the run the New run form describes (shown if it was hidden); what is
        missing is said under the form."""
        self.show_new_run()
        self.form.submit()

    def start_run(self, request: TrainRequest, search: tuple[str, int] | None = None) -> Task:
        """Record and start a run (a quick background read), then wait for it in a visible task.

        Returns the read that starts it; :attr:`jobs` holds the run (its id and its task) from
        the moment the engine has recorded it."""
        workspace = self.workspace
        assert workspace is not None
        title = title_of(request, search)
        return self.context.runner.fetch(
            lambda: start_training(workspace, request, search),
            lambda handle: self._started(workspace, handle, title),
            owner=self,
            on_failure=self._run_failed,
            title=f"Starting: {title}",
        )

    def _started(self, workspace, handle, title: str) -> None:
        if self.workspace is not workspace:  # the project closed meanwhile: nobody waits for it
            handle.cancel()
            return
        task = self.context.runner.submit(
            title,
            lambda progress, cancel: handle.result(progress, cancel),
            on_success=self._run_finished,
            on_failure=self._run_failed,
            on_cancel=lambda: self._run_stopped(title),
            owner=self,
        )
        job = RunJob(handle.run_id, handle.kind, task)
        self.jobs.append(job)
        task.progressed.connect(
            lambda fraction, message: self.model.set_progress(job.run_id, fraction, message)
        )
        self.refresh()  # the run's row: recorded, running

    def _run_finished(self, run: Run) -> None:
        metric = self.primary.get(run.task, "")
        value = run.metrics.get(metric)
        shown = f", {metric} {value:.4f}" if isinstance(value, int | float) else ""
        self.status(f"Run #{run.id} {run.status}{shown}")
        self._selected = run.id
        self._forget_finished()
        self.context.events.runs_changed.emit()

    def _run_failed(self, error: BaseException, trace: str) -> None:
        self.form.show_problem(describe(error).text)
        self._forget_finished()
        self.context.errors.report(error, "Starting the run", trace)
        self.refresh()

    def _run_stopped(self, title: str) -> None:
        self.status(f"Cancelled: {title}")
        self._forget_finished()
        self.context.events.runs_changed.emit()

    def _forget_finished(self) -> None:
        self.jobs = [j for j in self.jobs if j.task.running]

    def cancel_run(self, run_id: int) -> None:
        job = self._job_of(run_id)
        if job is not None:
            job.task.cancel()
            self.status(f"Cancelling run #{run_id}…")
