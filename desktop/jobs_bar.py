"""The status bar's list of background jobs: what runs, how far it got, and a Cancel button."""

from __future__ import annotations

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

from desktop.tasks import Task, TaskRunner
from desktop.widgets.common import icon_button


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
            self.bar.setFixedWidth(140)
            row.addWidget(self.label, 1)
            row.addWidget(self.bar)
        row.addWidget(self.cancel_button)
        task.progressed.connect(lambda *_: self.update_from_task())
        self.update_from_task()

    def update_from_task(self) -> None:
        task = self.task
        self.label.setText(f"{task.title} — {task.message}" if task.message else task.title)
        if task.fraction is None:
            self.bar.setRange(0, 0)  # busy: how far is not known
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, task.fraction)) * 1000))
        self.cancel_button.setEnabled(task.running and not task.token.cancelled)


class JobsBar(QWidget):
    """Shows the newest job inline and every job in a popup (when more than one runs)."""

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__()
        self.runner = runner
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        self.row: JobRow | None = None
        self._row_box = QHBoxLayout()
        self.more = QToolButton()
        self.more.setToolTip("Show every background job")
        self.more.clicked.connect(self.show_all)
        layout.addLayout(self._row_box)
        layout.addWidget(self.more)
        self.popup: QFrame | None = None
        runner.started.connect(self._changed)
        runner.ended.connect(self._changed)
        self._changed()

    def jobs(self) -> list[Task]:
        return self.runner.tasks()

    def _changed(self, *_: object) -> None:
        jobs = self.jobs()
        newest = jobs[-1] if jobs else None
        if self.row is not None and self.row.task is not newest:
            self.row.setParent(None)
            self.row.deleteLater()
            self.row = None
        if newest is not None and self.row is None:
            self.row = JobRow(newest)
            self._row_box.addWidget(self.row)
        self.more.setText(f"{len(jobs)} jobs ▾")
        self.more.setVisible(len(jobs) > 1)
        self.setVisible(bool(jobs))
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
        popup.adjustSize()
        corner = self.mapToGlobal(QPoint(self.width() - popup.width(), -popup.height() - 4))
        popup.move(corner)
        popup.show()
        self.popup = popup
