"""The ranking of a parent run's children: a "Try all" run's estimators, or a search's trials.

The rows are the engine's ``ws.runs.ranked(parent_id)`` records (frozen ``RankedRun``), best
first on the project's primary metric, the order the CLI prints: rank, run, estimator, the
metric on the test rows, its cross-validation mean ± std when the run had folds, fit time and
single-row predict latency, since the most accurate model is not always the one to serve. The
winner (the child the engine marked best) is starred and bold; children without a value
(failed, cancelled) come last, their error in the status cell's tooltip. The view keeps the
engine's order (no sorting by column: the rank is the point). Double-click a row and
:attr:`RankingView.open_requested` names that child run, for the page to open it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.widgets.common import format_metric, make_table, plural
from desktop.widgets.table_model import Column, ListTableModel

WINNER = "★"
METHODS = {"all": "Try all", "grid": "Grid search", "random": "Random search",
           "bayes": "Bayesian search"}  # fmt: skip


def _number(value: float | None, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def cv_text(row: Any) -> str:
    """``0.9737 ± 0.0372``, or — when the run had no folds (or no value)."""
    if row.cv_mean is None:
        return "—"
    return f"{row.cv_mean:.4f} ± {_number(row.cv_std, 4)}"


def _rank_text(row: Any) -> str:
    return f"{row.rank} {WINNER}" if row.is_best else str(row.rank)


def _latency_tip(row: Any) -> str:
    return f"p50 {_number(row.predict_p50_ms, 1)} ms, p95 {_number(row.predict_p95_ms, 1)} ms"


def columns_for(metric: str) -> list[Column]:
    """The ranking's columns; the metric's own name heads its column."""
    latency = "Single-row predict latency, median (p50 and p95 in each cell's tooltip)"
    return [
        Column("Rank", lambda r: r.rank, text=_rank_text, numeric=True, tooltip="★: the winner"),
        Column("Run", lambda r: r.run_id, text=lambda r: f"#{r.run_id}", numeric=True),
        Column("Estimator", lambda r: r.estimator),
        Column(
            f"{metric} (test)",
            lambda r: r.value,
            text=lambda r: format_metric(r.value),
            numeric=True,
            tooltip=f"{metric} on the test rows (the primary metric)",
        ),
        Column(
            "CV mean ± std",
            lambda r: r.cv_mean,
            text=cv_text,
            numeric=True,
            tooltip=f"{metric} over the cross-validation folds",
        ),
        Column(
            "Fit s",
            lambda r: r.fit_s,
            text=lambda r: _number(r.fit_s, 3),
            numeric=True,
            tooltip="Seconds to fit the model on the training part",
        ),
        Column(
            "Predict p50 ms",
            lambda r: r.predict_p50_ms,
            text=lambda r: _number(r.predict_p50_ms, 1),
            numeric=True,
            tooltip=latency,
            cell_tip=_latency_tip,
        ),
        Column("Status", lambda r: r.status, cell_tip=lambda r: r.error or r.status),
    ]


def caption_text(rows: Sequence[Any], method: str | None) -> str:
    """What the table shows, who won, and how to open a row."""
    if not rows:
        return "No child runs yet: they appear here as they are recorded."
    what = METHODS.get(method or "", "Search")
    noun = "estimators" if method == "all" else "trials"
    metric = rows[0].metric
    parts = [f"<b>{what}</b>: {len(rows)} {noun} ranked on <b>{metric}</b>, best first."]
    winner = next((r for r in rows if r.is_best), None)
    if winner is not None:
        parts.append(
            f"{WINNER} Winner: <b>#{winner.run_id} {winner.estimator}</b>, {metric} "
            f"{format_metric(winner.value)}."
        )
    unfinished = [r for r in rows if r.status != "done"]
    if unfinished:
        parts.append(f"{plural(len(unfinished), 'run')} without a result, ranked last.")
    parts.append("Double-click a row to open that run.")
    return " ".join(parts)


class RankingView(QWidget):
    """A parent run's children, ranked; emits ``open_requested(run_id)`` on double-click."""

    open_requested = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.TextFormat.RichText)
        self.model = ListTableModel(columns_for("metric"))
        self.model.set_emphasis(bold=lambda row, _column: row.is_best)
        self.table = make_table(self.model, sortable=False)
        self.table.doubleClicked.connect(self._open)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.show_ranking((), None)

    def show_ranking(self, rows: Sequence[Any], method: str | None) -> None:
        """Show ``rows`` (RankedRun records, best first) of a parent run of ``method``."""
        metric = rows[0].metric if rows else "metric"
        if self.model.column(3).title != f"{metric} (test)":
            self.model.set_columns(columns_for(metric))
        self.model.update_items(list(rows), key=lambda row: row.run_id)
        self.caption.setText(caption_text(rows, method))
        fonts = self.table.horizontalHeader().fontMetrics()
        for column in range(self.model.columnCount()):
            texts = [self.model.column(column).title] + [
                self.model.data(self.model.index(row, column)) or ""
                for row in range(self.model.rowCount())
            ]
            widest = max(fonts.horizontalAdvance(text) for text in texts)
            self.table.setColumnWidth(column, min(widest + 20, 240))

    def rows(self) -> list[Any]:
        return self.model.items()

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_requested.emit(self.model.item(index.row()).run_id)
