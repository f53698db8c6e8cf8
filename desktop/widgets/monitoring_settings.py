"""The monitoring settings of shipway.toml as a form: the drift bucket and the triggers.

Used by the new-project wizard (its Monitoring step) and by the Project settings dialog. The
form reads and gives plain values; the engine writes them (``ws.project.save_settings(tables=
...)``, comments kept) and checks them as the monitoring reads them. What the form gives::

    [drift]
    bucket_seconds = 3600                 # drift over time is computed per bucket this long

    [triggers]
    drift_buckets = 3                     # the data drifts in 3 buckets in a row: an alert
    live_metrics = { f1 = ">= 0.8" }      # a bucket's live f1 below 0.8: an alert
    min_feedback = 30                     # rows with feedback a bucket needs for that
    retrain = false                       # on an alert: train, register, evaluate the gates

A rule that is not ticked is removed from the table (``None``), so the engine's default holds.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core import metrics

THRESHOLD = re.compile(r"^\s*(>=|<=|>|<)?\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")
BUCKETS = (
    ("10 seconds", 10),
    ("1 minute", 60),
    ("5 minutes", 300),
    ("30 minutes", 1800),
    ("1 hour", 3600),
    ("6 hours", 21600),
    ("1 day", 86400),
)
DEFAULT_BUCKET_S = 3600


def bucket_label(seconds: int) -> str:
    named = dict((value, label) for label, value in BUCKETS)
    return named.get(seconds, f"{seconds:,} seconds")


class MonitoringSettings(QWidget):
    """Drift bucket length, the drift and live-metric triggers, min_feedback and retrain."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.task = "classification"
        self.bucket = QComboBox()
        for label, seconds in BUCKETS:
            self.bucket.addItem(label, seconds)
        self.bucket.setCurrentIndex(self.bucket.findData(DEFAULT_BUCKET_S))
        self.bucket.setToolTip(
            "Drift over time, the Monitoring page's heat strip and the triggers count in "
            "buckets of this length ([drift] bucket_seconds)."
        )
        self.use_drift = QCheckBox("Alert when the data drifts in this many buckets in a row")
        self.drift_buckets = QSpinBox(minimum=1, maximum=1000, value=3)
        self.use_live = QCheckBox("Alert when a bucket's live metric breaks the rule")
        self.live_metric = QComboBox()
        self.live_rule = QLineEdit(">= 0.8")
        self.live_rule.setPlaceholderText("e.g. >= 0.8")
        self.min_feedback = QSpinBox(minimum=1, maximum=1_000_000, value=30)
        self.min_feedback.setToolTip(
            "A bucket's live metric counts only with at least this many rows whose true value "
            "was sent to POST /feedback ([triggers] min_feedback)."
        )
        self.retrain = QCheckBox("Retrain on an alert (nothing is promoted)")
        self.retrain.setToolTip(
            "On an alert, train the served version's spec on the newest version of its data "
            "set, register it and evaluate its production gates; a person promotes it "
            "([triggers] retrain)."
        )
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setProperty("mono", True)
        lines = 10  # the longest preview: two headers, six keys, a blank line between
        self.preview.setFixedHeight(lines * self.preview.fontMetrics().lineSpacing() + 24)
        self._layout()
        self.set_task("classification")
        self._connect()
        self._changed()

    def _layout(self) -> None:
        grid = QGridLayout()
        grid.addWidget(QLabel("Drift bucket length"), 0, 0)
        grid.addWidget(self.bucket, 0, 1)
        grid.addWidget(self.use_drift, 1, 0)
        grid.addWidget(self.drift_buckets, 1, 1)
        grid.addWidget(self.use_live, 2, 0)
        grid.addWidget(self.live_metric, 2, 1)
        grid.addWidget(QLabel("Live metric rule"), 3, 0)
        grid.addWidget(self.live_rule, 3, 1)
        grid.addWidget(QLabel("Rows with feedback a bucket needs"), 4, 0)
        grid.addWidget(self.min_feedback, 4, 1)
        grid.addWidget(self.retrain, 5, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        for field in (self.bucket, self.drift_buckets, self.live_metric, self.live_rule):
            field.setFixedWidth(150)
        self.min_feedback.setFixedWidth(150)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(grid)
        layout.addWidget(QLabel("In shipway.toml:"))
        layout.addWidget(self.preview)

    def _connect(self) -> None:
        for box in (self.use_drift, self.use_live, self.retrain):
            box.toggled.connect(self._changed)
        for spin in (self.drift_buckets, self.min_feedback):
            spin.valueChanged.connect(self._changed)
        self.bucket.currentIndexChanged.connect(self._changed)
        self.live_metric.currentIndexChanged.connect(self._changed)
        self.live_rule.textChanged.connect(self._changed)

    # -- values --------------------------------------------------------------------------------

    def set_task(self, task: str) -> None:
        """Offer the live metrics of ``task`` (those feedback can give: no roc_auc, log_loss)."""
        self.task = task
        current = self.live_metric.currentText()
        names = [m for m in metrics.metrics_for(task) if m not in ("roc_auc", "log_loss")]
        self.live_metric.blockSignals(True)
        self.live_metric.clear()
        self.live_metric.addItems(names)
        default = "f1" if task == "classification" else "rmse"
        self.live_metric.setCurrentText(current if current in names else default)
        self.live_metric.blockSignals(False)
        self._changed()

    def set_values(self, bucket_seconds: int, triggers: Any) -> None:
        """Show the settings in force (``triggers``: the engine's TriggerConfig)."""
        index = self.bucket.findData(bucket_seconds)
        if index < 0:
            self.bucket.addItem(bucket_label(bucket_seconds), bucket_seconds)
            index = self.bucket.count() - 1
        self.bucket.setCurrentIndex(index)
        self.use_drift.setChecked(triggers.drift_buckets > 0)
        self.drift_buckets.setValue(max(1, triggers.drift_buckets or 3))
        rules = list(triggers.live_metrics)
        self.use_live.setChecked(bool(rules))
        if rules:
            rule = rules[0]
            if self.live_metric.findText(rule.metric) < 0:
                self.live_metric.addItem(rule.metric)
            self.live_metric.setCurrentText(rule.metric)
            self.live_rule.setText(f"{rule.op} {rule.threshold:g}")
        self.min_feedback.setValue(triggers.min_feedback)
        self.retrain.setChecked(triggers.retrain)
        self._changed()

    def tables(self) -> dict[str, dict[str, Any]]:
        """``{"drift": {...}, "triggers": {...}}`` for ``save_settings(tables=...)``."""
        live = self.use_live.isChecked()
        return {
            "drift": {"bucket_seconds": int(self.bucket.currentData())},
            "triggers": {
                "drift_buckets": self.drift_buckets.value() if self.use_drift.isChecked() else None,
                "live_metrics": (
                    {self.live_metric.currentText(): self.live_rule.text().strip()}
                    if live
                    else None
                ),
                "min_feedback": self.min_feedback.value() if live else None,
                "retrain": self.retrain.isChecked(),
            },
        }

    def problem(self) -> str:
        """What must be fixed before the settings can be written ("" when nothing)."""
        if self.use_live.isChecked() and not THRESHOLD.match(self.live_rule.text()):
            return (
                f"Write the live {self.live_metric.currentText()} rule as a comparison, e.g. "
                ">= 0.8 (or <= 12.5 for errors), or untick it."
            )
        return ""

    def _changed(self, *_: object) -> None:
        self.drift_buckets.setEnabled(self.use_drift.isChecked())
        for field in (self.live_metric, self.live_rule, self.min_feedback):
            field.setEnabled(self.use_live.isChecked())
        self.preview.setPlainText(tables_toml(self.tables()))
        self.changed.emit()


def tables_toml(tables: dict[str, dict[str, Any]]) -> str:
    """A preview of the tables as TOML (shipway.toml itself is written by the engine)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{ " + ", ".join(f'{k} = "{x}"' for k, x in v.items()) + " }"
        return str(v)

    lines: list[str] = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value(v)}" for key, v in table.items() if v is not None]
        lines.append("")
    return "\n".join(lines).strip()
