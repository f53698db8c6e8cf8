"""The Data page's views of one version: its profile, its import report, its details."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from core.entities import DatasetVersion
from desktop.theme import current_colors
from desktop.widgets.common import (
    format_size,
    format_value,
    heading,
    make_table,
    muted,
    plural,
    set_widths,
)
from desktop.widgets.plots import TOP_CATEGORIES, PlotPanel, category_bars, elide, histogram
from desktop.widgets.table_model import Column, ListTableModel


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def _range(stats: dict[str, Any]) -> str:
    if stats.get("min") is None:
        return "—"
    return f"{format_value(stats['min'])} – {format_value(stats.get('max'))}"


def _top(stats: dict[str, Any]) -> str:
    top = stats.get("top") or []
    return ", ".join(f"{t['value']} ({t['count']})" for t in top[:3])


def category_counts(stats: dict[str, Any]) -> tuple[list[str], list[int]]:
    """The most frequent values of a text column and their rows, then "other (N values)" with
    the rows of every other value (from the profile's counts)."""
    top = (stats.get("top") or [])[:TOP_CATEGORIES]
    labels = [str(t["value"]) for t in top]
    values = [int(t["count"]) for t in top]
    rest_rows = int(stats.get("count", 0)) - sum(values)
    rest_values = int(stats.get("distinct", len(top))) - len(top)
    if rest_rows > 0 and rest_values > 0:
        labels.append(f"other ({plural(rest_values, 'value')})")
        values.append(rest_rows)
    return labels, values


PROFILE_COLUMNS = [
    Column("Column", lambda r: r[0]),
    Column("Type", lambda r: r[1].get("type")),
    Column(
        "Missing",
        lambda r: r[1].get("missing_share"),
        text=lambda r: _percent(r[1].get("missing_share")),
        numeric=True,
    ),
    Column("Distinct", lambda r: r[1].get("distinct"), numeric=True),
    Column("Range", lambda r: r[1].get("min"), text=lambda r: _range(r[1])),
    Column("Mean", lambda r: r[1].get("mean"), text=lambda r: format_value(r[1].get("mean"))),
    Column("Most frequent", lambda r: _top(r[1])),
]


class ProfileView(QWidget):
    """Per-column statistics, and the distribution of the selected column."""

    def __init__(self) -> None:
        super().__init__()
        self.model = ListTableModel(PROFILE_COLUMNS)
        self.table = make_table(self.model)
        set_widths(self.table, [140, 72, 72, 76, 110, 80])
        self.plot = PlotPanel(min_height=200)
        self.caption = muted("Select a column to see its distribution.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 6, 0, 0)
        lower_layout.addWidget(self.caption)
        lower_layout.addWidget(self.plot, 1)
        splitter.addWidget(lower)
        splitter.setSizes([300, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(splitter)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._plot_current())

    def show_version(self, version: DatasetVersion | None) -> None:
        rows = list((version.profile or {}).items()) if version else []
        self.model.set_items(rows)
        if rows:
            self.table.selectRow(0)
        else:
            self.plot.show_message("This version has no profile.")

    def select_column(self, name: str) -> None:
        row = self.model.row_of(lambda r: r[0] == name)
        if row is not None:
            self.table.selectRow(row)

    def _plot_current(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid():
            return
        name, stats = self.model.item(index.row())
        self.show_distribution(self.plot, name, stats)
        missing = stats.get("missing", 0)
        self.caption.setText(
            f"{name}: {stats.get('type', '?')}, {plural(stats.get('count', 0), 'value')}, "
            f"{missing:,} missing"
        )

    @staticmethod
    def show_distribution(panel: PlotPanel, name: str, stats: dict[str, Any]) -> None:
        """A histogram for numbers, a bar per category for text; or why there is none."""
        counts = stats.get("histogram") or {}
        if counts.get("counts"):
            panel.draw(
                lambda p, c: histogram(p, counts["edges"], counts["counts"], c.series[0]),
                x_label=name,
                y_label="rows",
            )
            return
        labels, values = category_counts(stats)
        if not labels:
            panel.show_message(f"No distribution to show for {name}: it has no values to count.")
            return
        if len(labels) <= 5 and max(len(label) for label in labels) <= 10:
            panel.draw(
                lambda p, c: category_bars(p, labels, values, c.series[0]),
                x_label=name,
                y_label="rows",
            )
            return
        shown = [elide(label) for label in labels]  # names on the left, one bar per row
        panel.draw(
            lambda p, c: category_bars(p, shown, values, c.series[0], horizontal=True),
            x_label=f"rows ({name})",
            y_label="",
        )


class ReportView(QWidget):
    """The import report: what was detected, every problem, which tokens became missing."""

    def __init__(self) -> None:
        super().__init__()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.problems = ListTableModel(
            [
                Column("Severity", lambda p: p.get("severity")),
                Column("Kind", lambda p: p.get("kind")),
                Column("Column", lambda p: p.get("column", "")),
                Column("Count", lambda p: p.get("count"), numeric=True),
                Column("Where", lambda p: _where(p)),
                Column("What happened", lambda p: p.get("message")),
            ]
        )
        colors = current_colors
        self.problems.set_emphasis(
            color=lambda p, col: (
                (colors().warning if p.get("severity") == "warning" else colors().muted)
                if col == 0
                else None
            )
        )
        self.tokens = ListTableModel(
            [
                Column("Column", lambda t: t[0]),
                Column("Token", lambda t: t[1]),
                Column("Cells", lambda t: t[2], numeric=True),
            ]
        )
        problems_table = make_table(self.problems)
        set_widths(problems_table, [80, 130, 120, 70, 120])
        self.no_problems = muted(
            "No problems were found: no type conflicts, ragged rows, constant or empty columns, "
            "or duplicate rows."
        )
        self.problem_stack = QStackedWidget()
        self.problem_stack.addWidget(problems_table)
        self.problem_stack.addWidget(self.no_problems)
        tokens_table = make_table(self.tokens)
        set_widths(tokens_table, [200, 120])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.summary)
        layout.addWidget(heading("Problems"))
        layout.addWidget(self.problem_stack, 3)
        layout.addWidget(heading("Cells read as missing values"))
        layout.addWidget(tokens_table, 2)

    def show_version(self, version: DatasetVersion | None) -> None:
        report = version.report if version else {}
        detected = report.get("detected", {})
        found = " · ".join(f"{k} <b>{_visible(v)}</b>" for k, v in detected.items())
        colors = current_colors()
        if report.get("clean", True):
            verdict = f"<span style='color:{colors.good}'>Clean: no warnings.</span>"
        else:
            count = report.get("warnings", 0)
            verdict = (
                f"<span style='color:{colors.warning}'>{plural(count, 'warning')}: read "
                f"{'it' if count == 1 else 'them'} before training; the data-checks gate "
                "counts this version as not clean.</span>"
            )
        source = report.get("source", "")
        self.summary.setText(
            f"{verdict}<br>Format <b>{report.get('format', '?')}</b>"
            + (f" · {found}" if found else "")
            + (f"<br><span style='color:{colors.muted}'>{source}</span>" if source else "")
        )
        self.problems.set_items(report.get("problems", []))
        self.problem_stack.setCurrentIndex(0 if report.get("problems") else 1)
        tokens = [
            (column, token, count)
            for column, counts in (report.get("missing_tokens") or {}).items()
            for token, count in counts.items()
        ]
        self.tokens.set_items(tokens)


def _visible(value: Any) -> str:
    return {"\t": "tab", ",": "comma (,)", ";": "semicolon (;)", "|": "pipe (|)"}.get(
        value, str(value)
    )


def _where(problem: dict[str, Any]) -> str:
    if problem.get("lines"):
        return "lines " + ", ".join(str(n) for n in problem["lines"][:6])
    if problem.get("rows"):
        return "rows " + ", ".join(str(n) for n in problem["rows"][:6])
    return ""


def version_details(version: DatasetVersion) -> list[tuple[str, object]]:
    """(property, value) pairs describing where a version came from."""
    return [
        ("Reference", version.ref),
        ("Rows", version.rows),
        ("Columns", version.columns),
        ("Stored size", format_size(version.size_bytes)),
        ("SHA-256 (stored Parquet)", version.sha256),
        ("Source", version.source),
        ("Source format", version.source_format),
        ("SHA-256 (source file)", version.source_sha256),
        ("Parent version", version.parent_version),
        ("Created (UTC)", version.created_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("Created by", version.created_by),
        ("Options", ", ".join(f"{k}={v}" for k, v in version.options.items() if v) or "—"),
    ]
