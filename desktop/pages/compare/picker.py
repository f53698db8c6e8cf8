"""The Compare page's list of finished runs to tick (2–10), with a filter and search trials."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import metrics
from core.entities import Run
from desktop.widgets.common import format_metric, heading, icon_button, muted, plural

MIN_RUNS, MAX_RUNS = 2, 10
RUN_ROLE = Qt.ItemDataRole.UserRole + 1


class RunPicker(QWidget):
    """Emits ``chosen(ids)`` when Compare is pressed; ``wanted`` survives refreshes of the list."""

    chosen = Signal(list)

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []
        self.wanted: set[int] = set()
        self.list = QListWidget()
        self.list.setSpacing(3)
        self.list.itemChanged.connect(lambda _item: self._ticked())
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter runs")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.trials = QCheckBox("Include search trials")
        self.trials.toggled.connect(lambda _on: self.set_runs(self.runs))
        self.count = muted("")
        self.button = icon_button("Compare", "compare", primary=True)
        self.button.clicked.connect(lambda: self.chosen.emit(self.checked_ids()))
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(heading("Finished runs"))
        for widget in (self.search, self.trials):
            column.addWidget(widget)
        column.addWidget(self.list, 1)
        column.addWidget(self.count)
        column.addWidget(self.button)

    def set_runs(self, runs: list[Run]) -> None:
        """Offer ``runs`` (newest first); trials only on demand or when already ticked."""
        self.runs = runs
        self.list.blockSignals(True)
        self.list.clear()
        for run in reversed(runs):
            if run.parent_id and not self.trials.isChecked() and run.id not in self.wanted:
                continue
            self.list.addItem(self._item(run))
        self.list.blockSignals(False)
        self._filter(self.search.text())
        self._count()

    def _item(self, run: Run) -> QListWidgetItem:
        metric = metrics.DEFAULT_PRIMARY.get(run.task, "")
        value = format_metric(metrics.finite(run.metrics.get(metric)))
        parent = f" · trial of #{run.parent_id}" if run.parent_id else ""
        item = QListWidgetItem(
            f"#{run.id}  {run.estimator}{parent}\n"
            f"{run.dataset}@{run.dataset_version} → {run.target} · {metric} {value}"
        )
        item.setData(RUN_ROLE, run.id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        ticked = run.id in self.wanted
        item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        return item

    def tick(self, ids: list[int]) -> None:
        self.wanted = set(ids)
        self.list.blockSignals(True)
        for row in range(self.list.count()):
            item = self.list.item(row)
            wanted = item.data(RUN_ROLE) in self.wanted
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._count()

    def checked_ids(self) -> list[int]:
        items = [self.list.item(row) for row in range(self.list.count())]
        return [i.data(RUN_ROLE) for i in items if i.checkState() == Qt.CheckState.Checked]

    def _ticked(self) -> None:
        self.wanted = set(self.checked_ids())
        self._count()

    def _filter(self, text: str) -> None:
        words = text.casefold().split()
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(not all(w in item.text().casefold() for w in words))

    def _count(self) -> None:
        count = len(self.checked_ids())
        ok = MIN_RUNS <= count <= MAX_RUNS
        self.button.setEnabled(ok)
        hint = "" if ok else (" — tick at least 2" if count < MIN_RUNS else " — at most 10")
        self.count.setText(f"{plural(count, 'run')} ticked{hint}")
