"""The Segments tab of a model version: every metric per segment of the test split.

One table for every ``[evaluation] segments`` column: the column, the segment's value, its test
rows, then each metric with its 95% bootstrap interval (``0.875 (0.756–0.969)``; a segment of
fewer than ten rows has none). With no column configured the tab says how to get them. The
engine computes the tables (``ws.registry.segments``, read after the version's detail because
it loads the model and rebuilds the test rows); this widget only shows them.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from desktop.theme import set_style_property
from desktop.widgets.common import EmptyState, make_table, muted, set_widths
from desktop.widgets.table_model import Column, ListTableModel

HOW_TO = (
    "Add the columns to compare to shipway.toml, for example\n\n"
    '[evaluation]\nsegments = ["sex", "island"]\n\n'
    "and every metric is reported per value of each column on the version's test split, "
    "with its row count and a 95% confidence interval. Any column of the data set counts, a "
    "feature or not; old versions get the tables too."
)


def interval_text(found: Any) -> str:
    """``0.875 (0.756–0.969)``, the value alone without an interval, empty without a value."""
    if found is None or found.value is None:
        return ""
    if found.low is None or found.high is None:
        return f"{found.value:.4g}"
    return f"{found.value:.4g} ({found.low:.3g}–{found.high:.3g})"


def segment_columns(metrics: tuple[str, ...]) -> list[Column]:
    def metric_column(name: str) -> Column:
        return Column(
            name,
            lambda s: getattr(s.metrics.get(name), "value", None),
            text=lambda s: interval_text(s.metrics.get(name)),
            numeric=True,
            tooltip=f"{name} on the segment's test rows (95% bootstrap interval)",
        )

    return [
        Column("Segment by", lambda s: s.column),
        Column("Value", lambda s: s.value),
        Column("Rows", lambda s: s.rows, numeric=True, tooltip="Test rows in the segment"),
        *(metric_column(name) for name in metrics),
    ]


class SegmentsView(QWidget):
    """The segment table, or what to do to get one."""

    def __init__(self) -> None:
        super().__init__()
        self.found: Any = None  # the VersionSegments shown
        self.model = ListTableModel(segment_columns(()))
        self.empty = EmptyState("compare", "No segments evaluated", HOW_TO)
        self.notes = muted("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        table = QWidget()
        column = QVBoxLayout(table)
        column.setContentsMargins(0, 6, 0, 0)
        self.table = make_table(self.model, sortable=True)
        set_widths(self.table, (90, 90, 50))
        column.addWidget(self.table, 1)
        column.addWidget(self.notes)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.stack, 1)
        self.show_segments(None)

    def reading(self, ref: str) -> None:
        self._status(f"Computing the metrics per segment of {ref}…", "")

    def show_segments(self, found: Any) -> None:
        """A VersionSegments (None: no version, or not read yet)."""
        self.found = found
        tables = found.tables if found is not None else ()
        metrics = tables[0].metrics if tables else ()
        self.model.set_columns(segment_columns(metrics))
        self.model.set_items([segment for table in tables for segment in table.segments])
        self.notes.setText("\n".join(note for table in tables for note in table.notes))
        self.notes.setVisible(any(table.notes for table in tables))
        configured = found is not None and bool(found.columns)
        self.stack.setCurrentIndex(1 if configured else 0)
        problems = "\n".join(found.problems) if found is not None else ""
        self._status(problems, "error" if problems else "")

    def show_problem(self, text: str) -> None:
        """The tables could not be computed (the engine said why)."""
        self.found = None
        self.model.set_items([])
        self.stack.setCurrentIndex(1)
        self._status(text, "error")

    def _status(self, text: str, kind: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        set_style_property(self.status, "role", kind)
