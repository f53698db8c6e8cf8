"""The runs table: one row per run, a column per metric, live progress for running runs.

Metric columns follow the runs shown: the metrics of every task present, the project's primary
metric first. Progress of runs this window started is painted into the Status cell.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from core import metrics
from core.entities import Run
from desktop.theme import current_colors
from desktop.widgets.common import format_metric
from desktop.widgets.table_model import Column, ListTableModel

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 2
STATUS_COLUMN = 1


def _duration(run: Run) -> str:
    if run.duration_s is None:
        return "—"
    seconds = run.duration_s
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _estimator(run: Run) -> str:
    if run.kind == "search":
        return f"{run.estimator} (search)"
    return f"{run.estimator} (trial of #{run.parent_id})" if run.parent_id else run.estimator


def metric_column(name: str, primary: bool = False) -> Column:
    better = "higher" if metrics.GREATER_IS_BETTER[name] else "lower"
    return Column(
        f"{name} ★" if primary else name,
        lambda r, n=name: metrics.finite(r.metrics.get(n)),
        text=lambda r, n=name: format_metric(metrics.finite(r.metrics.get(n))),
        numeric=True,
        tooltip=f"{name} on the test split ({better} is better)"
        + (" — the project's primary metric" if primary else ""),
    )


def run_columns(tasks: set[str], primary: dict[str, str]) -> list[Column]:
    names: list[str] = []
    firsts = [primary[t] for t in sorted(tasks) if t in primary]
    for task in sorted(tasks):
        names += [m for m in metrics.metrics_for(task) if m not in names]
    ordered = firsts + [n for n in names if n not in firsts]
    return [
        Column("Run", lambda r: r.id, text=lambda r: f"#{r.id}", numeric=True),
        Column("Status", lambda r: r.status),
        Column("Estimator", lambda r: r.estimator, text=_estimator),
        Column("Data", lambda r: f"{r.dataset}@{r.dataset_version}"),
        Column("Target", lambda r: r.target),
        *[metric_column(name, name in firsts) for name in ordered],
        Column("Duration", lambda r: r.duration_s, text=_duration, numeric=True),
        Column(
            "Created (UTC)", lambda r: r.created_at, text=lambda r: f"{r.created_at:%d %b %H:%M}"
        ),
        Column("By", lambda r: r.created_by),
    ]


class RunsTableModel(ListTableModel):
    """Runs, with the latest progress of the ones this window is waiting for."""

    WIDTHS = (56, 124, 200, 110, 90)  # run, status, estimator, data, target

    def __init__(self) -> None:
        super().__init__(run_columns({"classification"}, metrics.DEFAULT_PRIMARY))
        self._tasks: set[str] = {"classification"}
        self._primary = dict(metrics.DEFAULT_PRIMARY)
        self.progress: dict[int, tuple[float | None, str]] = {}
        colors = current_colors
        status_colors = {"failed": "bad", "cancelled": "muted", "running": "accent"}
        self.set_emphasis(
            bold=lambda r, _col: r.is_best,
            color=lambda r, col: (
                getattr(colors(), status_colors[r.status])
                if col == STATUS_COLUMN and r.status in status_colors
                else None
            ),
        )

    def set_runs(self, runs: Sequence[Run], primary: dict[str, str] | None = None) -> bool:
        """Show ``runs``; True when the columns changed (their widths need setting)."""
        tasks = {r.task for r in runs} or {"classification"}
        primary = primary or self._primary
        changed = tasks != self._tasks or primary != self._primary
        if changed:
            self._tasks, self._primary = tasks, dict(primary)
            sort = self._sort
            self.set_columns(run_columns(tasks, primary))
            self._sort = sort
        live = {r.id for r in runs if not r.finished}
        self.progress = {k: v for k, v in self.progress.items() if k in live}
        self.set_items(runs)
        return changed

    def widths(self, text_width) -> list[int]:
        """Column widths: fixed ones first, then each metric as wide as its header needs."""
        metrics_end = self.columnCount() - 3
        titles = [self.column(c).title for c in range(len(self.WIDTHS), metrics_end)]
        fitted = [max(80, text_width(title) + 30) for title in titles]
        return [*self.WIDTHS, *fitted, 80, 110, 80]

    def set_progress(self, run_id: int, fraction: float | None, message: str) -> None:
        self.progress[run_id] = (fraction, message)
        row = self.row_of(lambda r: r.id == run_id)
        if row is not None:
            index = self.index(row, STATUS_COLUMN)
            self.dataChanged.emit(index, index)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if index.isValid() and index.column() == STATUS_COLUMN:
            run = self.item(index.row())
            live = self.progress.get(run.id) if not run.finished else None
            if role == PROGRESS_ROLE:
                return live
            if role == Qt.ItemDataRole.DisplayRole and live is not None:
                fraction = live[0]
                share = "" if fraction is None else f" {fraction * 100:.0f} %"
                return f"{run.status}{share}"
            if role == Qt.ItemDataRole.ToolTipRole:
                return (live[1] if live else None) or run.error or run.status
        return super().data(index, role)


class StatusDelegate(QStyledItemDelegate):
    """Draws a thin progress bar under the status of a running run."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().paint(painter, option, index)
        live = index.data(PROGRESS_ROLE)
        if not live:
            return
        fraction = live[0] or 0.0
        colors = current_colors()
        rect: QRect = option.rect.adjusted(6, option.rect.height() - 6, -6, -3)
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colors.grid))
        painter.drawRoundedRect(rect, 1.5, 1.5)
        filled = QRect(rect)
        filled.setWidth(max(2, int(rect.width() * max(0.0, min(1.0, fraction)))))
        painter.setBrush(QColor(colors.accent))
        painter.drawRoundedRect(filled, 1.5, 1.5)
        painter.restore()
