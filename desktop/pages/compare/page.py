"""The Compare page: 2–10 runs side by side: metrics (best highlighted), parameter differences,
overlaid curves, latency and size; the shown table exports as CSV and the plot as PNG/SVG.

Runs trained with a decision threshold rule have their chosen threshold said under the summary
and marked on the precision/recall curve; the class picker starts on the class the threshold is
for, so that the marks are in sight.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.entities import Run
from core.services import Workspace, export_table_csv
from desktop.context import AppContext
from desktop.pages.base import Page
from desktop.pages.common.curve_plots import (
    classes_of,
    draw_view,
    missing_from,
    positive_class,
    threshold_lines,
    views_for,
)
from desktop.pages.compare.picker import MAX_RUNS, MIN_RUNS, RunPicker
from desktop.pages.compare.tables import costs_table, differences_table, metrics_table
from desktop.widgets.common import (
    EmptyState,
    heading,
    icon_button,
    make_table,
    muted,
    plural,
)
from desktop.widgets.plots import PlotPanel


class ComparePage(Page):
    key = "compare"
    title = "Compare"
    icon_name = "compare"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.comparison = None  # the RunComparison shown
        self.runs: list[Run] = []
        self.exports: dict[str, dict[str, list[Any]]] = {}
        self.picker = RunPicker()
        self.picker.chosen.connect(self.compare)
        names = ("metrics", "diff", "cost")
        self.tables = {name: make_table(None, sortable=False) for name in names}
        self.view = QComboBox()
        self.cls = QComboBox()
        self.plot = PlotPanel(min_height=260)
        self.view.currentIndexChanged.connect(self._draw)
        self.cls.currentIndexChanged.connect(self._draw)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(self._toolbar())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.picker)
        splitter.addWidget(self._result_panel())
        splitter.setSizes([340, 860])
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)
        context.events.compare_requested.connect(self.compare)
        context.events.runs_changed.connect(self.refresh)

    @property
    def primary_button(self):
        return self.picker.button

    def _toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(heading("Compare", "title"))
        row.addStretch(1)
        self.csv_button = icon_button("Export table (CSV)…", "export")
        self.csv_button.setToolTip("Write the table on the current tab as CSV")
        self.csv_button.clicked.connect(self.export_csv)
        self.png_button = icon_button("Save plot…", "image")
        self.png_button.setToolTip("Write the overlaid curves as PNG or SVG")
        self.png_button.clicked.connect(self.save_plot)
        for button in (self.csv_button, self.png_button):
            button.setEnabled(False)
            row.addWidget(button)
        return row

    def _result_panel(self) -> QWidget:
        self.tabs = QTabWidget()
        self.tabs.addTab(self.tables["metrics"], "Metrics")
        self.tabs.addTab(self.tables["diff"], "Parameter differences")
        curves = QWidget()
        curves_layout = QVBoxLayout(curves)
        pick = QHBoxLayout()
        pick.addWidget(self.view)
        self.class_label = QLabel("class")
        pick.addWidget(self.class_label)
        pick.addWidget(self.cls)
        pick.addStretch(1)
        curves_layout.addLayout(pick)
        curves_layout.addWidget(self.plot, 1)
        self.plot_note = muted("")
        curves_layout.addWidget(self.plot_note)
        self.tabs.addTab(curves, "Curves")
        self.tabs.addTab(self.tables["cost"], "Latency and size")
        self.tables["metrics"].setMinimumWidth(400)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.thresholds = muted("")
        self.thresholds.setToolTip(
            "The decision threshold each run's rule chose on its test rows (marked on the "
            "precision–recall curve)"
        )
        result = QWidget()
        column = QVBoxLayout(result)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.summary)
        column.addWidget(self.thresholds)
        column.addWidget(self.tabs, 1)
        self.empty = EmptyState(
            "compare",
            "Choose runs to compare",
            "Tick 2 to 10 finished runs on the left and press Compare, or select them in the "
            "Experiments table and press Compare selected. Runs must solve the same task.",
        )
        self.result_stack = QStackedWidget()
        self.result_stack.addWidget(self.empty)
        self.result_stack.addWidget(result)
        return self.result_stack

    # -- the runs to pick from ----------------------------------------------------------------

    def refresh(self) -> None:
        if self.workspace is None:
            self.picker.set_runs([])
            self.result_stack.setCurrentWidget(self.empty)
            return
        self.fetch(
            lambda ws: [r for r in ws.runs.list(all_runs=True) if r.status == "done"],
            self.picker.set_runs,
        )

    def checked_ids(self) -> list[int]:
        return self.picker.checked_ids()

    # -- comparing -----------------------------------------------------------------------------

    def compare(self, run_ids: list[int]) -> None:
        if self.workspace is None or not MIN_RUNS <= len(run_ids) <= MAX_RUNS:
            return
        ids = sorted(run_ids)
        self.picker.tick(ids)

        def read(ws: Workspace) -> tuple[Any, list[Run]]:
            return ws.runs.compare(ids), [ws.runs.get(i) for i in ids]

        self.summary.setText("Comparing…")
        self.result_stack.setCurrentIndex(1)
        self.context.runner.fetch(
            lambda ws=self.workspace: read(ws),
            self.show_comparison,
            on_failure=self._failed,
            owner=self,
            title="Comparing runs",
        )

    def _failed(self, error: BaseException, trace: str) -> None:
        from desktop.errors import describe

        self.summary.setText(describe(error).text)
        self.context.errors.report(error, "Comparing runs", trace)

    def show_comparison(self, answer: tuple[Any, list[Run]]) -> None:
        self.comparison, self.runs = answer
        comparison = self.comparison
        self.exports = {}
        for key, build in (
            ("metrics", metrics_table),
            ("diff", differences_table),
            ("cost", costs_table),
        ):
            model, export = build(comparison)
            table = self.tables[key]
            table.setModel(model)
            header = table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
            table.setColumnWidth(0, 200)
            self.exports[key] = export
        best = comparison.best
        metric = comparison.primary_metric
        different = len(comparison.differences)
        self.summary.setText(
            f"{len(self.runs)} runs on <b>{metric}</b> (the primary metric): best is "
            f"<b>#{best}</b> ★. Highlighted cells hold the best value of each row. "
            f"{plural(different, 'setting')} {'differs' if different == 1 else 'differ'} "
            "between the runs."
            if best
            else f"{len(self.runs)} runs; none finished, so none is best."
        )
        task = self.runs[0].task
        self._fill_combo(self.view, views_for(task))
        classes = sorted({c for r in self.runs for c in classes_of(r.curves)})
        self._fill_combo(self.cls, classes)
        self._show_thresholds(classes)
        self.csv_button.setEnabled(True)
        self._draw()

    def _show_thresholds(self, classes: list[str]) -> None:
        """Say each run's chosen threshold; pick the class it is for (its marks in sight)."""
        lines = threshold_lines([(f"#{r.id} {r.estimator}", r.curves) for r in self.runs])
        self.thresholds.setText("Decision thresholds: " + "; ".join(lines) if lines else "")
        self.thresholds.setVisible(bool(lines))
        positives = [p for r in self.runs if (p := positive_class(r.curves)) in classes]
        if positives:
            self.cls.blockSignals(True)
            self.cls.setCurrentText(positives[0])
            self.cls.blockSignals(False)

    @staticmethod
    def _fill_combo(combo: QComboBox, items) -> None:
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(items))
        if current in items:
            combo.setCurrentText(current)
        combo.blockSignals(False)

    def _draw(self) -> None:
        if not self.runs:
            return
        view = self.view.currentText()
        per_class = view in ("ROC curve", "Precision–recall")
        self.cls.setVisible(per_class)
        self.class_label.setVisible(per_class)
        series = [(f"#{r.id} {r.estimator}", r.curves) for r in self.runs]
        cls = self.cls.currentText() or None
        draw_view(self.plot, view, series, cls)
        self.png_button.setEnabled(self.plot.showing_plot)
        missing = missing_from(view, series, cls) if view != "Confusion matrix" else []
        self.plot_note.setText(
            f"Not drawn, nothing recorded: {', '.join(missing)}. A search run keeps no curves; "
            "compare its best trial instead (listed as “trial of #…”)."
            if missing
            else (
                "Confusion matrix of the first run; choose runs one by one to see theirs."
                if view == "Confusion matrix" and len(series) > 1
                else ""
            )
        )

    # -- exports -------------------------------------------------------------------------------

    def export_csv(self, target: str | None = None) -> None:
        key = {0: "metrics", 1: "diff", 3: "cost"}.get(self.tabs.currentIndex(), "metrics")
        if key not in self.exports:
            return
        if not target:
            target, _ = QFileDialog.getSaveFileName(
                self, "Export the comparison", f"comparison-{key}.csv", "CSV (*.csv)"
            )
        if target:
            columns = self.exports[key]
            path = export_table_csv(columns, target)
            self.status(f"Wrote {path}")

    def save_plot(self, target: str | None = None) -> None:
        if not self.plot.showing_plot:
            return
        if not target:
            target, _ = QFileDialog.getSaveFileName(
                self, "Save the plot", "comparison.png", "PNG image (*.png);;SVG (*.svg)"
            )
        if target:
            self.status(f"Wrote {self.plot.export(target)}")
