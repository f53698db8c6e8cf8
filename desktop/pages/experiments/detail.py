"""One run in detail: metrics, parameters, curves, feature importance, environment and log.

A parent run (a "Try all" run or a search) also shows the ranking of its children, in a Ranking
tab chosen when such a run is selected (:mod:`desktop.pages.experiments.ranking_view`);
double-clicking a child asks the page to open it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import metrics
from core.entities import Run
from desktop.pages.common.curve_plots import classes_of, draw_view, views_for
from desktop.pages.experiments.ranking_view import RankingView
from desktop.theme import current_colors
from desktop.widgets.common import (
    format_metric,
    format_size,
    icon_button,
    key_value_model,
    make_table,
)
from desktop.widgets.contribution_bars import importance_label, importance_with_spread
from desktop.widgets.plots import PlotPanel
from desktop.widgets.table_model import Column, ListTableModel

METRIC_COLUMNS = [
    Column("Metric", lambda m: m[0]),
    Column("Test", lambda m: m[1], text=lambda m: format_metric(m[1]), numeric=True),
    Column("Validation", lambda m: m[2], text=lambda m: format_metric(m[2]), numeric=True),
    Column("CV mean", lambda m: m[3], text=lambda m: format_metric(m[3]), numeric=True),
    Column("CV std", lambda m: m[4], text=lambda m: format_metric(m[4]), numeric=True),
]


def metric_rows(run: Run) -> list[tuple[str, Any, Any, Any, Any]]:
    summary = run.cv.get("summary", {}) if run.cv else {}
    return [
        (
            name,
            run.metrics.get(name),
            run.validation_metrics.get(name),
            summary.get(name, {}).get("mean"),
            summary.get(name, {}).get("std"),
        )
        for name in metrics.metrics_for(run.task)
    ]


def overview_text(run: Run) -> str:
    timings = run.timings or {}
    parts = [
        f"<b>Run #{run.id}</b> · {run.kind} · <b>{run.status}</b> · {run.estimator} on "
        f"{run.dataset}@{run.dataset_version}, target <b>{run.target}</b> ({run.task})"
    ]
    if not run.finished:
        parts.append(
            f"started by {run.created_by}, {run.created_at:%Y-%m-%d %H:%M} UTC; metrics, curves "
            "and costs appear when it finishes"
        )
        return "<br>".join(parts)
    parts += [
        f"by {run.created_by}, {run.created_at:%Y-%m-%d %H:%M} UTC · took "
        f"{_number(run.duration_s, 2)} s (fit {_number(timings.get('fit'), 2)} s) · "
        f"{latency_text(timings)} · model {format_size(run.model_size)}",
    ]
    if run.reproduces_id:
        parts.append(f"reproduces run #{run.reproduces_id}")
    if run.error:
        bad = current_colors().bad
        parts.append(f"<span style='color:{bad}'><b>Error:</b> {_escape(run.error)}</span>")
    parts += evaluation_lines(run)
    parts += [f"note: {_escape(n)}" for n in run.notes]
    return "<br>".join(parts)


def evaluation_lines(run: Run) -> list[str]:
    """The backtest's windows (with their mean and std) and the chosen decision threshold."""
    lines = []
    backtest = (run.cv or {}).get("backtest")
    if backtest:
        name = metrics.DEFAULT_PRIMARY.get(run.task, "")
        stats = backtest["summary"].get(name, {})
        lines.append(
            f"<b>Backtest</b>: {backtest['k']} walk-forward windows, {name} "
            f"{_number(stats.get('mean'), 4)} ± {_number(stats.get('std'), 4)}"
        )
        lines += [
            f"&nbsp;&nbsp;window {i}: {w['test_from']} – {w['test_to']} ({w['test_rows']} rows "
            f"after {w['train_rows']}): {name} {_number(w['metrics'].get(name), 4)}"
            for i, w in enumerate(backtest["windows"], start=1)
        ]
    chosen = (run.curves or {}).get("threshold")
    if chosen:
        rule = ", ".join(f"{k}={v:g}" for k, v in chosen["rule"].items())
        lines.append(
            f"<b>Decision threshold</b> {chosen['threshold']:.4f} ({_escape(rule)}): precision "
            f"{chosen['precision']:.4f}, recall {chosen['recall']:.4f}"
        )
    return lines


RUN_LATENCY_NOTE = "a short probe in the training worker; the latency gate times its own"
RUN_LATENCY_TIP = (
    "Predict latency: one row per predict call, timed in the training worker right after "
    "fitting. The probe is short (a few dozen calls at most), so its p95 is about its slowest "
    "call and one busy moment (another run on the same cores) raises it. The latency gate of "
    "shipway.toml times single-row predicts again, more of them, where and when the gates "
    "are evaluated: the two figures need not agree."
)


def latency_text(timings: dict[str, Any]) -> str:
    """The run's single-row predict latency, saying how it was measured."""
    return (
        f"single-row predict p50 {_number(timings.get('predict_p50_ms'), 1)} ms, p95 "
        f"{_number(timings.get('predict_p95_ms'), 1)} ms (<i>{RUN_LATENCY_NOTE}</i>)"
    )


def _number(value: Any, decimals: int) -> str:
    return "—" if value is None else f"{value:.{decimals}f}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class RunDetail(QWidget):
    """Shows a full run (with curves) and offers Cancel, Reproduce, Register and Compare;
    ``open_requested(run_id)`` asks to open a child run picked in the ranking."""

    cancel_requested = Signal(int)
    open_requested = Signal(int)
    reproduce_requested = Signal(int)
    register_requested = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.run: Run | None = None
        self.summary = QLabel("Select a run to see its details.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setToolTip(RUN_LATENCY_TIP)
        self.buttons = {
            "cancel": icon_button("Cancel run", "cancel"),
            "reproduce": icon_button("Reproduce", "reproduce"),
            "register": icon_button("Register…", "register"),
        }
        self.buttons["cancel"].clicked.connect(lambda: self._emit(self.cancel_requested))
        self.buttons["reproduce"].clicked.connect(lambda: self._emit(self.reproduce_requested))
        self.buttons["register"].clicked.connect(lambda: self._emit(self.register_requested))
        self.buttons["reproduce"].setToolTip("Train the same spec on the same data again")
        self.buttons["register"].setToolTip("Register this run as a new model version")
        self.metrics = ListTableModel(METRIC_COLUMNS)
        self.params = key_value_model([], ("Parameter", "Value"))
        self.environment = key_value_model([], ("Property", "Value"))
        self.view = QComboBox()
        self.cls = QComboBox()
        self.curves = PlotPanel()
        self.importance = PlotPanel(min_height=160)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setProperty("mono", True)
        self.ranking = RankingView()
        self.ranking.open_requested.connect(self.open_requested)
        self._layout()
        self.view.currentIndexChanged.connect(self._draw_curves)
        self.cls.currentIndexChanged.connect(self._draw_curves)
        self.show_run(None)

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        for button in self.buttons.values():
            top.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        self.tabs = QTabWidget()
        self.tabs.addTab(make_table(self.metrics, sortable=False), "Metrics")
        params_table = make_table(self.params, sortable=False)
        params_table.setColumnWidth(0, 220)
        self.tabs.addTab(params_table, "Parameters")
        curves = QWidget()
        curves_layout = QVBoxLayout(curves)
        picker = QHBoxLayout()
        picker.addWidget(self.view)
        picker.addWidget(self.cls)
        picker.addStretch(1)
        save = icon_button("Save plot…", "image")
        save.clicked.connect(self.save_plot)
        picker.addWidget(save)
        curves_layout.addLayout(picker)
        curves_layout.addWidget(self.curves, 1)
        self.tabs.addTab(curves, "Curves")
        self.tabs.addTab(self.importance, "Feature importance")
        env_table = make_table(self.environment, sortable=False)
        env_table.setColumnWidth(0, 220)
        self.tabs.addTab(env_table, "Environment")
        self.tabs.addTab(self.log, "Log")
        # last, so the other tabs keep their places; shown (and chosen) for parent runs only
        self.ranking_tab = self.tabs.addTab(self.ranking, "Ranking")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)

    def _emit(self, signal: Signal) -> None:
        if self.run is not None:
            signal.emit(self.run.id)

    def set_cancellable(self, cancellable: bool) -> None:
        self.buttons["cancel"].setVisible(cancellable)

    def show_run(
        self, run: Run | None, cancellable: bool = False, ranking: tuple | None = None
    ) -> None:
        """Show ``run``; ``ranking`` (``ws.runs.ranked`` records) for a parent run's children."""
        another = run is None or self.run is None or run.id != self.run.id
        self.run = run
        self._show_ranking(run, ranking, another)
        self.tabs.setEnabled(run is not None)
        self.set_cancellable(cancellable)
        done = run is not None and run.status == "done"
        self.buttons["reproduce"].setEnabled(done and run.kind == "train")
        self.buttons["register"].setEnabled(done and run.model_sha256 is not None)
        if run is None:
            self.summary.setText("Select a run in the table to see its metrics, curves and log.")
            for model in (self.metrics, self.params, self.environment):
                model.set_items([])
            self.curves.show_message("Select a run to see its curves.")
            self.importance.show_message("Select a run to see which features mattered.")
            self.log.clear()
            return
        self.summary.setText(overview_text(run))
        self.metrics.set_items(metric_rows(run))
        self.params.set_items(_param_pairs(run))
        self.environment.set_items(_environment_pairs(run))
        self.log.setPlainText("\n\n".join(t for t in (run.log, run.traceback) if t))
        self._fill_views(run)
        self._draw_importance(run)

    def _show_ranking(self, run: Run | None, ranking: tuple | None, another: bool) -> None:
        """The Ranking tab, for a parent run only; first in sight when such a run is chosen."""
        parent = run is not None and run.kind == "search"
        self.tabs.setTabVisible(self.ranking_tab, parent)
        if not parent:
            if self.tabs.currentIndex() == self.ranking_tab:
                self.tabs.setCurrentIndex(0)
            return
        method = ((run.spec or {}).get("search") or {}).get("method")
        self.ranking.show_ranking(tuple(ranking or ()), method)
        if another:
            self.tabs.setCurrentIndex(self.ranking_tab)

    def _fill_views(self, run: Run) -> None:
        for combo, items in ((self.view, views_for(run.task)), (self.cls, classes_of(run.curves))):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(list(items))
            combo.blockSignals(False)
        self.cls.setVisible(False)  # one run: every class is drawn
        self._draw_curves()

    def _draw_curves(self) -> None:
        run = self.run
        if run is None:
            return
        if not run.finished:
            self.curves.show_message("The curves appear when the run finishes.")
        elif run.kind == "search" and not run.curves:
            self.curves.show_message(
                "A search keeps its curves in its trials: double-click one in the Ranking tab "
                f"to see its curves ({'; '.join(run.notes) or 'the winner is starred'})."
            )
        else:
            draw_view(self.curves, self.view.currentText(), [(f"#{run.id}", run.curves)], None)

    def _draw_importance(self, run: Run) -> None:
        values = (run.importance or {}).get("values") or {}
        if not run.finished:
            self.importance.show_message("Feature importance appears when the run finishes.")
            return
        if not values:
            self.importance.show_message("No feature importance was recorded for this run.")
            return
        ranked = sorted(values.items(), key=lambda kv: -abs(kv[1]))[:20]
        spread = run.importance.get("std")
        self.importance.draw(
            lambda p, c: importance_with_spread(p, c, ranked, spread),
            x_label=importance_label(run.importance),
        )

    def save_plot(self) -> None:
        if self.run is None or not self.curves.showing_plot:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Save plot", f"run-{self.run.id}.png", "PNG image (*.png);;SVG (*.svg)"
        )
        if path:
            self.curves.export(path)


def _param_pairs(run: Run) -> list[tuple[str, Any]]:
    spec = run.spec or {}
    split = spec.get("split", {})
    pairs: list[tuple[str, Any]] = [
        ("features", ", ".join(spec.get("features", []))),
        ("split", f"{split.get('kind')} (test part {split.get('test_size')})"),
        ("cross-validation folds", spec.get("cv_folds") or "off"),
        ("seed", spec.get("seed")),
    ]
    if spec.get("search"):
        pairs.append(("search", f"{spec['search']['method']} × {spec['search']['trials']}"))
    given = spec.get("params", {})
    pairs += [(f"{k} (set)", v) for k, v in given.items()]
    pairs += [(k, v) for k, v in sorted(run.params.items()) if k not in given]
    return pairs


def _environment_pairs(run: Run) -> list[tuple[str, Any]]:
    env = dict(run.environment or {})
    packages = env.pop("packages", {}) or {}
    pairs = [(k, v) for k, v in env.items()]
    pairs += [(f"package {k}", v) for k, v in sorted(packages.items())]
    pairs += [("executor", run.executor), ("dataset sha256", run.dataset_sha256)]
    pairs.append(("model sha256", run.model_sha256))
    return pairs
