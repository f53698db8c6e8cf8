"""The last two steps of the new-project wizard: the primary metric and the default gates.

The gates are shown as the ``[gates.production]`` table they become in shipway.toml, so what
the team agrees on here is what they will later review in version control.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from core import metrics
from desktop.widgets.monitoring_settings import THRESHOLD, MonitoringSettings
from desktop.wizard.pages import message_label, say

METRIC_HELP = {
    "accuracy": "share of rows predicted right; misleading when classes are unbalanced",
    "balanced_accuracy": "accuracy averaged over classes; fair to rare classes",
    "precision": "of the rows predicted as a class, the share that were (macro average)",
    "recall": "of the rows of a class, the share found (macro average)",
    "f1": "balance of precision and recall (macro average); a good default",
    "roc_auc": "how well probabilities rank the classes, threshold-free",
    "log_loss": "how confident and right the probabilities are; lower is better",
    "mae": "mean absolute error, in the target's unit; robust to outliers",
    "rmse": "root mean squared error, in the target's unit; punishes large errors; a good default",
    "r2": "share of the target's variance explained; 1 is perfect",
    "mape": "mean absolute percentage error; unusable when the target can be 0",
}


class MetricPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Agree on the primary metric")
        self.setSubTitle(
            "The primary metric ranks runs, picks the best trial of a search, and is the metric "
            "the no-regression gate guards. It is written to shipway.toml as primary_metric."
        )
        self.group = QButtonGroup(self)
        self.box = QVBoxLayout(self)
        self.buttons: dict[str, QRadioButton] = {}
        self.task = ""

    def set_task(self, task: str) -> None:
        if task == self.task:
            return
        self.task = task
        for button in self.buttons.values():
            self.group.removeButton(button)
            button.deleteLater()
        while self.box.count():
            item = self.box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = {}
        for name in metrics.metrics_for(task):
            better = "higher" if metrics.GREATER_IS_BETTER[name] else "lower"
            button = QRadioButton(f"{name} — {METRIC_HELP.get(name, '')} ({better} is better)")
            self.group.addButton(button)
            self.buttons[name] = button
            self.box.addWidget(button)
        self.box.addStretch(1)
        self.buttons[metrics.DEFAULT_PRIMARY[task]].setChecked(True)

    @property
    def chosen_metric(self) -> str:
        return next((n for n, b in self.buttons.items() if b.isChecked()), "")

    def isComplete(self) -> bool:
        return bool(self.chosen_metric)


class MonitoringPage(QWizardPage):
    """When a deployed model's monitoring should raise an alert (``[drift]``, ``[triggers]``)."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Watch the deployed model")
        self.setSubTitle(
            "A deployed model's requests are compared with its training data in buckets of "
            "time. Choose when that raises an alert (Project → Settings changes it later)."
        )
        self.form = MonitoringSettings()
        self.form.use_drift.setChecked(True)
        self.form.changed.connect(self.completeChanged.emit)
        self.message = message_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.message)
        layout.addStretch(1)

    def set_task(self, task: str, metric: str) -> None:
        """Offer the task's live metrics, the primary one first choice (when feedback gives
        it); a rule is proposed only where higher is better (0.8), an error's scale unknown."""
        self.form.set_task(task)
        if self.form.use_live.isChecked() or self.form.live_metric.findText(metric) < 0:
            return
        self.form.live_metric.setCurrentText(metric)
        self.form.live_rule.setText(">= 0.8" if metrics.GREATER_IS_BETTER[metric] else "")

    def tables(self) -> dict[str, dict[str, Any]]:
        return self.form.tables()

    def isComplete(self) -> bool:
        problem = self.form.problem()
        say(self.message, problem)
        return not problem


class GatesPage(QWizardPage):
    """Default gates for ``production``; Finish creates the project (progress shown here)."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Default validation gates")
        self.setSubTitle(
            "A model version must pass these before the production alias moves to it. They "
            "are written to shipway.toml as [gates.production]; edit them there later."
        )
        self.chosen_metric = ""
        self.use_threshold = QCheckBox("Minimum quality on the test split")
        self.threshold = QLineEdit()
        self.regression = QCheckBox("No regression against the current production version")
        self.max_drop = QDoubleSpinBox(decimals=3, minimum=0, maximum=1, singleStep=0.005)
        self.latency = QCheckBox("Single-row predict, p95 at most (ms)")
        self.latency.setToolTip(
            "Promotion times single-row predicts of the candidate (one row per call) and "
            "compares their p95 with this budget (max_latency_p95_ms)."
        )
        self.latency_ms = QDoubleSpinBox(decimals=0, minimum=1, maximum=60000, value=50)
        self.size = QCheckBox("Model size at most (MB)")
        self.size_mb = QDoubleSpinBox(decimals=0, minimum=1, maximum=100000, value=200)
        self.data_checks = QCheckBox("Data checks: import report clean, every class present")
        self.smoke = QCheckBox("Smoke test: loads and predicts in a fresh process")
        self.approval = QCheckBox("Approval by someone other than the trainer")
        self.max_drop.setValue(0.01)
        for box in (self.regression, self.latency, self.size, self.data_checks, self.smoke):
            box.setChecked(True)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setProperty("mono", True)
        self.preview.setFixedHeight(150)
        self.message = message_label()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress_label = QLabel()
        self.progress_label.setProperty("muted", True)
        self._layout()

    def _layout(self) -> None:
        grid = QGridLayout()
        rows = [
            (self.use_threshold, self.threshold),
            (self.regression, self.max_drop),
            (self.latency, self.latency_ms),
            (self.size, self.size_mb),
            (self.data_checks, None),
            (self.smoke, None),
            (self.approval, None),
        ]
        for row, (box, field) in enumerate(rows):
            grid.addWidget(box, row, 0)
            if field is not None:
                grid.addWidget(field, row, 1)
            for signal in (box.toggled,):
                signal.connect(self._changed)
        for field in (self.threshold, self.max_drop, self.latency_ms, self.size_mb):
            signal = field.textChanged if isinstance(field, QLineEdit) else field.valueChanged
            signal.connect(self._changed)
            field.setFixedWidth(150)
        grid.setColumnStretch(0, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(QLabel("In shipway.toml:"))
        layout.addWidget(self.preview)
        layout.addWidget(self.message)
        layout.addWidget(self.progress_label)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        self.progress.hide()
        self.progress_label.hide()

    def set_metric(self, metric: str) -> None:
        if metric == self.chosen_metric:
            return
        self.chosen_metric = metric
        op = ">=" if metrics.GREATER_IS_BETTER[metric] else "<="
        self.use_threshold.setText(f"Required {metric} on the test split")
        self.threshold.setPlaceholderText(f"e.g. {op} 0.8")
        self.threshold.setText(f"{op} 0.8" if metrics.GREATER_IS_BETTER[metric] else "")
        self.use_threshold.setChecked(False)
        self.regression.setText(f"No drop in {metric} against the current production version")
        self._changed()

    def gates(self) -> dict[str, Any]:
        """The [gates.production] table as a dict."""
        table: dict[str, Any] = {}
        if self.use_threshold.isChecked():
            table["metrics"] = {self.chosen_metric: self.threshold.text().strip()}
        if self.regression.isChecked():
            drop = self.max_drop.value()
            table["no_regression"] = {"metric": self.chosen_metric, "max_drop": drop}
        if self.latency.isChecked():
            table["max_latency_p95_ms"] = self.latency_ms.value()
        if self.size.isChecked():
            table["max_size_mb"] = self.size_mb.value()
        table["data_checks"] = self.data_checks.isChecked()
        table["smoke_test"] = self.smoke.isChecked()
        table["approval"] = self.approval.isChecked()
        return table

    def _changed(self) -> None:
        self.preview.setPlainText(gates_toml(self.gates()))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        problem = ""
        if self.use_threshold.isChecked() and not THRESHOLD.match(self.threshold.text()):
            problem = (
                f"Write the required {self.chosen_metric} as a comparison, e.g. >= 0.85 (or "
                "<= 12.5 for errors), or untick the rule."
            )
        say(self.message, problem)
        return not problem and not self.progress.isVisible()

    def show_progress(self, fraction: float | None, message: str) -> None:
        self.progress.show()
        self.progress_label.show()
        self.progress_label.setText(message)
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))


def gates_toml(table: dict[str, Any]) -> str:
    """A preview of the table as TOML (shipway.toml itself is written by the engine)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, str):
            return f'"{v}"'
        return f"{v:g}" if isinstance(v, float) else str(v)

    lines = ["[gates.production]"] + [f"{k} = {value(v)}" for k, v in table.items()]
    return "\n".join(lines)
