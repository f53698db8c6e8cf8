"""Monitoring's Segments tab: every live metric per value of each ``[evaluation] segments``
column, on the rows of the watched deployment that received feedback.

The engine measures (``ws.monitoring.live_segments``); this tab only shows the frozen
``LiveSegments`` it returns. One compact table per segment column: the value, its rows with
feedback, the primary metric with its 95% interval, the same value's metric on the version's
test split beside it, then the other live metrics (each cell's tooltip gives its interval and
test-split value). The worst value of the primary metric is marked in words and colour; the
column's gap is in its caption. Every state that is not a table is said in words: no segment
column configured (and how to configure one), no feedback yet, a column that is not in the
logged inputs, a segment too small for an interval, the values grouped into ``(other)``.

Decisions:

* The measure bootstraps every segment and costs seconds, so it is not read with the page's
  fast poll: the page's ticks only ask :meth:`SegmentsSection.tick`, which reads when the
  deployment changed, after the page's refresh, and otherwise at most every
  :data:`REREAD_S` — and only while the tab is in sight (showing it reads at once when due).
  Never two reads at once; a read that ends for a deployment no longer watched is dropped.
* A tab beside "Traffic and drift" rather than a strip under the plots: the board keeps its
  height, and the tables get the page's width (the window stays usable at 1100 px).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import describe
from desktop.theme import current_colors
from desktop.widgets.common import EmptyState, heading, make_table, muted
from desktop.widgets.table_model import Column, ListTableModel

if TYPE_CHECKING:
    from desktop.pages.monitoring.page import MonitoringPage

TITLE = "Segments"
REREAD_S = 30.0  # at most one measure this often while the tab is in sight
WORST = "worst"
HOW_TO = (
    "Name the columns to compare in shipway.toml, for example\n\n"
    '[evaluation]\nsegments = ["island"]\n\n'
    "and every live metric is measured per value of each column on the requests that "
    "received feedback, beside the same value on the version's test split. Segment by one "
    "of the model's inputs: the prediction log keeps only those."
)
FEEDBACK_HOW = (
    "Send the true outcome of answered requests to the deployment's /feedback (the request "
    "id and the actual values); the metrics per segment appear here at the next read."
)


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def with_interval(segment: Any, name: str) -> str:
    """``0.875 (0.756–0.969)``; ``1.000 (n < 10)`` when the segment is too small for one."""
    text = number(segment.metrics.get(name))
    if name in segment.intervals:
        low, high = segment.intervals[name]
        return f"{text} ({low:.3f}–{high:.3f})"
    return f"{text} ({segment.note.split(':')[0]})" if segment.note else text


def cell_tip(segment: Any, name: str) -> str:
    """A metric of one segment in words: live, interval, test split."""
    live = f"{name} {with_interval(segment, name)} on {segment.rows} live rows"
    if segment.note:
        live += f" ({segment.note})"
    if segment.test_rows is None:
        return f"{live}; the test split has no such value"
    tested = number(segment.test.get(name))
    return f"{live}; {tested} on {segment.test_rows} test-split rows"


def caption(column: Any, metric: str) -> str:
    """``By island · f1 gap 0.250: Biscoe best, Dream worst`` (or why there is no gap)."""
    if column.status != "measured":
        return f"By {column.column}: not measured"
    if column.gap is None:
        return f"By {column.column} · no {metric} gap"
    if column.best == column.worst or column.gap == 0:
        return f"By {column.column} · {metric} the same in every segment compared"
    gap = f"{metric} gap {column.gap:.3f}"
    return f"By {column.column} · {gap}: {column.best} best, {column.worst} worst"


def table_columns(column: Any, metric: str, metrics: tuple[str, ...]) -> list[Column]:
    """Value (the worst one marked), rows, the primary metric, the test split, the others."""

    def value_text(s: Any) -> str:
        return f"{s.value}  ▼ {WORST}" if s.value == column.worst else s.value

    def other(name: str) -> Column:
        return Column(name, lambda s: s.metrics.get(name),
                      text=lambda s: number(s.metrics.get(name)), numeric=True,
                      cell_tip=lambda s: cell_tip(s, name),
                      tooltip=f"{name} on the segment's rows with feedback")  # fmt: skip

    return [
        Column("Segment", lambda s: s.value, text=value_text),
        Column("Rows", lambda s: s.rows, numeric=True, tooltip="Rows with feedback"),
        Column(f"{metric} (95% CI)", lambda s: s.metrics.get(metric),
               text=lambda s: with_interval(s, metric), numeric=True,
               cell_tip=lambda s: cell_tip(s, metric),
               tooltip=f"{metric} on the segment's rows with feedback, 95% bootstrap interval"),
        Column("Test split", lambda s: s.test.get(metric),
               text=lambda s: number(s.test.get(metric)), numeric=True,
               cell_tip=lambda s: cell_tip(s, metric),
               tooltip=f"{metric} of the same value on the version's test split"),
        *(other(name) for name in metrics if name != metric),
    ]  # fmt: skip


class ColumnBlock(QWidget):
    """One segment column: its caption, its table (sized to its rows) and its notes."""

    def __init__(self) -> None:
        super().__init__()
        self.caption = heading("")
        self.model = ListTableModel([])
        self.table = make_table(self.model, sortable=False, stretch_last=False)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.horizontalScrollBar().rangeChanged.connect(lambda *_: self._fit_height())
        self.notes = muted("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 6)
        layout.setSpacing(4)
        for widget in (self.caption, self.table, self.notes):
            layout.addWidget(widget)

    def show_column(self, column: Any, metric: str, metrics: tuple[str, ...]) -> None:
        self.column = column
        self.caption.setText(caption(column, metric))
        self.model.set_columns(table_columns(column, metric, metrics))
        self.model.set_items(column.segments)
        worst = column.worst  # its name and primary metric, in the theme's colour of "bad"
        self.model.set_emphasis(
            bold=lambda s, i: s.value == worst and i in (0, 2),
            color=lambda s, i: current_colors().bad if s.value == worst and i in (0, 2) else None,
        )
        self.table.setVisible(bool(column.segments))
        self._fit_height()
        self.notes.setText("\n".join(column.notes))
        self.notes.setVisible(bool(column.notes))

    def _fit_height(self) -> None:
        """Every row in sight, and the horizontal scroll bar's room only when it shows."""
        table = self.table
        rows = table.verticalHeader().defaultSectionSize() * self.model.rowCount()
        header = table.horizontalHeader().sizeHint().height()
        bar = table.horizontalScrollBar()
        scroll = bar.sizeHint().height() if bar.maximum() > 0 else 0
        table.setFixedHeight(rows + header + scroll + 2 * table.frameWidth())


class SegmentsSection(QWidget):
    """The live metrics per segment of the watched deployment (a tab of ``tabs``)."""

    def __init__(self, page: MonitoringPage, tabs: QTabWidget) -> None:
        super().__init__()
        self.page = page
        self.found: Any = None  # the LiveSegments shown
        self.error: str = ""
        self.task = None  # the read under way
        self.read_for: str | None = None  # the deployment of the last read started
        self.read_at = 0.0  # time.monotonic() of the last read started
        self.read_why = ""  # what started it: "asked" (a refresh, a new deployment) or "timer"
        self.reads = 0  # reads started (the tests read it)
        self.shown_for: str | None = None  # the deployment whose segments are shown
        self._stale = True
        self.summary = muted("")
        self.message = EmptyState("compare", "", "")
        self.blocks: list[ColumnBlock] = []
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self._tables())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.stack, 1)
        tabs.addTab(self, TITLE)
        self._say("Not read yet", "The live metrics per segment are read when this tab is shown.")

    def _tables(self) -> QScrollArea:
        inner = QWidget()
        self.column_layout = QVBoxLayout(inner)
        self.column_layout.setContentsMargins(0, 0, 8, 0)
        self.column_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)
        return scroll

    # -- when to read ----------------------------------------------------------------------

    def stale(self) -> None:
        """Read again at the next tick (the page's refresh)."""
        self._stale = True

    def tick(self, deployment_id: str | None) -> None:
        """Read now if it is due and someone would see it (called on every page tick)."""
        if deployment_id is None or self.page.workspace is None:
            return
        if deployment_id != self.shown_for:
            self._reading(deployment_id)
        if self.task is not None or not self.isVisible():
            return
        due = self._stale or deployment_id != self.read_for
        if due or time.monotonic() - self.read_at >= REREAD_S:
            self.read_why = "asked" if due else "timer"
            self._read(deployment_id)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.tick(self.page.deployment_id())

    def _read(self, deployment_id: str) -> None:
        def show(found: Any) -> None:
            if deployment_id == self.page.deployment_id():
                self.show_segments(found)

        def failed(error: BaseException, _trace: str) -> None:
            if deployment_id == self.page.deployment_id():
                self.show_problem(describe(error).text)

        self._stale, self.read_for, self.read_at = False, deployment_id, time.monotonic()
        self.task = self.page.fetch(
            lambda ws: ws.monitoring.live_segments(deployment_id), show, failed
        )
        if self.task is not None:
            self.reads += 1
            self.task.ended.connect(self._ended)

    def _ended(self, task: Any) -> None:
        if task is self.task:
            self.task = None
            self.tick(self.page.deployment_id())  # the deployment may have changed meanwhile

    # -- showing ---------------------------------------------------------------------------

    def _reading(self, deployment_id: str) -> None:
        self.found, self.error, self.shown_for = None, "", deployment_id
        self.summary.setText("")
        self._say(
            "Measuring…",
            f"Computing every live metric per segment of {deployment_id} (a bootstrap per "
            "segment: it takes a few seconds).",
        )

    def _say(self, title: str, text: str) -> None:
        self.message.title.setText(title)
        self.message.text.setText(text)
        self.stack.setCurrentIndex(0)

    def show_problem(self, text: str) -> None:
        """The measure failed: the engine's words, tried again at the next read."""
        self.found, self.error = None, text
        self._say("Could not measure the segments", f"{text} (tried again within {REREAD_S:.0f} s)")

    def show_segments(self, found: Any) -> None:
        """A ``LiveSegments``: its tables, or its state in words."""
        self.found, self.error = found, ""
        self.summary.setText(summary(found))
        if found.status == "no_segments":
            self._say("No segments configured", HOW_TO)
        elif found.status == "no_feedback":
            self._say("No feedback yet", " ".join([*found.notes, FEEDBACK_HOW]))
        else:
            self._show_columns(found)
            self.stack.setCurrentIndex(1)

    def _show_columns(self, found: Any) -> None:
        while len(self.blocks) < len(found.columns):
            self.blocks.append(ColumnBlock())
            self.column_layout.insertWidget(len(self.blocks) - 1, self.blocks[-1])
        for block, column in zip(self.blocks, found.columns, strict=False):
            block.show_column(column, found.metric, found.metrics)
        for index, block in enumerate(self.blocks):
            block.setVisible(index < len(found.columns))

    def block(self, column: str) -> ColumnBlock:
        """The block shown for a segment column (the tests read it)."""
        shown = self.blocks[: len(self.found.columns)] if self.found else []
        return next(b for b in shown if b.column.column == column)


def summary(found: Any) -> str:
    """What was measured, in one line, and when."""
    return (
        f"{found.model}@{found.version} · {found.rows:,} rows with feedback of "
        f"{found.logged_rows:,} logged · primary metric {found.metric} · read "
        f"{time.strftime('%H:%M:%S')}, again every {REREAD_S:.0f} s while shown"
    )
