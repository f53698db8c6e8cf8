"""The status bar's list of background jobs: what runs, how far it got, and a Cancel button.

Two kinds of job: this window's tasks (:class:`~desktop.tasks.Task`) and the always-on
service's jobs (``ws.jobs``: retrainings, imports, pruning), which
:class:`~desktop.service_watch.ServiceIndicator` reads every few seconds and hands over with
:meth:`JobsBar.show_service_jobs`. A service job's Cancel asks the service to stop it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.entities import Job
from desktop.tasks import Task, TaskRunner
from desktop.widgets.common import icon_button

LABEL_MAX_WIDTH = 360  # px of a job's one-line text in the status bar


class JobRow(QWidget):
    """One job: its title and latest message, a progress bar and Cancel."""

    def __init__(self, task: Task, compact: bool = True, stacked: bool = False) -> None:
        """``stacked``: the message above the bar, wrapped (a narrow column)."""
        super().__init__()
        self.task = task
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.cancel_button = icon_button("Cancel", "cancel")
        self.cancel_button.setToolTip(f"Cancel: {task.title}")
        self.cancel_button.clicked.connect(task.cancel)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        if stacked:
            self.label.setWordWrap(True)
            column = QVBoxLayout(self)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(self.label)
            column.addLayout(row)
            row.addWidget(self.bar, 1)
        else:
            self.setLayout(row)
            self.label.setMinimumWidth(180 if compact else 260)
            self.label.setMaximumWidth(LABEL_MAX_WIDTH)  # the status bar's messages keep room
            self.bar.setFixedWidth(140)
            row.addWidget(self.label, 1)
            row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        task.progressed.connect(lambda *_: self.update_from_task())
        self.update_from_task()

    def update_from_task(self) -> None:
        task = self.task
        text = f"{task.title} — {task.message}" if task.message else task.title
        self.label.setToolTip(text)
        if self.label.wordWrap():
            self.label.setText(text)
        else:  # one line: elided, the whole text in the tooltip
            metrics = self.label.fontMetrics()
            self.label.setText(
                metrics.elidedText(text, Qt.TextElideMode.ElideRight, LABEL_MAX_WIDTH)
            )
        if task.fraction is None:
            self.bar.setRange(0, 0)  # busy: how far is not known
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, task.fraction)) * 1000))
        self.cancel_button.setEnabled(task.running and not task.token.cancelled)


class ServiceJobRow(QWidget):
    """One job of the always-on service: what, how far, and Cancel (a request the service
    reads within a second)."""

    def __init__(self, job: Job, cancel: Callable[[int], object] | None) -> None:
        super().__init__()
        self.job = job
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedWidth(140)
        self.cancel_button = icon_button("Cancel", "cancel")
        self.cancel_button.clicked.connect(lambda: cancel(self.job.id) if cancel else None)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label.setMinimumWidth(260)
        self.label.setMaximumWidth(LABEL_MAX_WIDTH)
        row.addWidget(self.label, 1)
        row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        self.show_job(job)

    def show_job(self, job: Job) -> None:
        self.job = job
        now = (
            f"{job.fraction:.0%} {job.message}".strip() if job.fraction is not None else job.message
        )
        state = "waiting" if job.status == "queued" else now or "running"
        if job.cancel_requested:
            state = "stopping"
        text = f"Service: {job.title} — {state}"
        metrics = self.label.fontMetrics()
        self.label.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, LABEL_MAX_WIDTH))
        self.label.setToolTip(
            f"{text}\nJob {job.id} of the always-on service ({job.kind}, {job.status})"
        )
        if job.fraction is None or job.status == "queued":
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, job.fraction)) * 1000))
        self.cancel_button.setEnabled(not job.cancel_requested)
        self.cancel_button.setToolTip(
            "Asked: the service stops it within seconds" if job.cancel_requested
            else f"Ask the service to stop job {job.id}"
        )  # fmt: skip


class JobsBar(QWidget):
    """Shows the newest job inline and every job in a popup (when more than one runs)."""

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.runner = runner
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        self.row: JobRow | ServiceJobRow | None = None
        self._row_box = QHBoxLayout()
        self.more = QToolButton()
        self.more.setToolTip("Show every background job")
        self.more.clicked.connect(self.show_all)
        layout.addLayout(self._row_box)
        layout.addWidget(self.more)
        self.popup: QFrame | None = None
        self.service_jobs: list[Job] = []
        self.cancel_service_job: Callable[[int], object] | None = None
        runner.started.connect(self._changed)
        runner.ended.connect(self._changed)
        self._changed()

    def jobs(self) -> list[Task]:
        return self.runner.tasks()

    def show_service_jobs(self, jobs: list[Job]) -> None:
        """The always-on service's unfinished jobs, newest first (from ``ws.jobs.list``)."""
        if [(j.id, j.status, j.fraction, j.message, j.cancel_requested) for j in jobs] == [
            (j.id, j.status, j.fraction, j.message, j.cancel_requested) for j in self.service_jobs
        ]:
            return  # nothing changed: no repaint
        self.service_jobs = list(jobs)
        self._changed()

    def _changed(self, *_: object) -> None:
        jobs = self.jobs()
        newest: Task | Job | None = jobs[-1] if jobs else None
        if newest is None and self.service_jobs:
            newest = self.service_jobs[0]
        row = self.row
        if isinstance(row, ServiceJobRow) and isinstance(newest, Job) and row.job.id == newest.id:
            row.show_job(newest)
        elif row is not None and not (isinstance(row, JobRow) and row.task is newest):
            row.setParent(None)
            row.deleteLater()
            self.row = None
        if newest is not None and self.row is None:
            self.row = self._row_for(newest)
            self._row_box.addWidget(self.row)
        count = len(jobs) + len(self.service_jobs)
        self.more.setText(f"{count} jobs ▾")
        self.more.setVisible(count > 1)
        self.setVisible(bool(count))
        if self.popup is not None and self.popup.isVisible():
            self.show_all()

    def show_all(self) -> None:
        if self.popup is not None:
            self.popup.close()
            self.popup.deleteLater()
        popup = QFrame(self, Qt.WindowType.Popup)
        popup.setObjectName("Card")
        column = QVBoxLayout(popup)
        for task in self.jobs():
            column.addWidget(JobRow(task, compact=False))
        for job in self.service_jobs:
            column.addWidget(ServiceJobRow(job, self.cancel_service_job))
        popup.adjustSize()
        corner = self.mapToGlobal(QPoint(self.width() - popup.width(), -popup.height() - 4))
        popup.move(corner)
        popup.show()
        self.popup = popup

    def _row_for(self, item: Task | Job) -> QWidget:
        if isinstance(item, Job):
            return ServiceJobRow(item, self.cancel_service_job)
        return JobRow(item)
