"""A drift report as a table: per feature the test, its score against the threshold, PSI.

Used by "Check a file…" on the Monitoring page (``ws.monitoring.drift(ref, current=FILE)``) and
for the verdict of the latest rows a deployment answered.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout

from desktop.theme import current_colors
from desktop.widgets.common import format_metric, format_value, make_table, plural, set_widths
from desktop.widgets.dialogs import plain_buttons
from desktop.widgets.table_model import Column, ListTableModel


def _missing(f) -> str:
    after = "—" if f.missing_share_current is None else f"{f.missing_share_current:.0%}"
    return f"{f.missing_share_reference:.0%} → {after}"


FEATURE_COLUMNS = [
    Column("Feature", lambda f: f.name),
    Column("Role", lambda f: f.role),
    Column("Test", lambda f: f.test or f.status, tooltip="Chosen as Evidently chooses it"),
    Column("Score", lambda f: f.score, text=lambda f: format_value(f.score), numeric=True),
    Column("Rule", lambda f: f.rule or f.note),
    Column("Drift", lambda f: f.drifted, text=lambda f: "drift" if f.drifted else "—"),
    Column("PSI", lambda f: f.psi, text=lambda f: format_metric(f.psi), numeric=True),
    Column("Missing", lambda f: f.missing_share_current, text=_missing),
    Column("Rows", lambda f: f.current_rows, numeric=True),
]


def report_model(report) -> ListTableModel:
    model = ListTableModel(FEATURE_COLUMNS)
    rows = list(report.features) + [c for c in (report.prediction, report.target) if c]
    model.set_items(rows)
    model.set_emphasis(
        bold=lambda f, col: f.drifted and col in (0, 5),
        color=lambda f, col: current_colors().bad if f.drifted and col in (0, 5) else None,
    )
    return model


def report_verdict(report) -> str:
    """The dataset verdict in one sentence, with its source."""
    tested = report.tested_features
    verdict = "dataset drift" if report.dataset_drift else "no dataset drift"
    drifted = ", ".join(report.drifted) or "none"
    text = (
        f"<b>{verdict}</b>: {report.drifted_features} of {plural(tested, 'feature')} drift "
        f"({report.drift_share:.0%}; drifted: {drifted}). Current: {report.source}; reference: "
        f"the training rows of {report.model}@{report.version} "
        f"({plural(report.reference_rows, 'row')})."
    )
    if report.live is not None and report.live.rows:
        training = report.live.training
        pairs = ", ".join(
            f"{name} {format_metric(value)} (training {format_metric(training.get(name))})"
            for name, value in report.live.metrics.items()
            if value is not None
        )
        text += f"<br>Live metrics on {plural(report.live.rows, 'row')} with a true value: {pairs}."
    if report.problems:
        text += "<br>" + "; ".join(report.problems)
    return text


class DriftReportDialog(QDialog):
    """Non-modal: the report of one file, beside the page it came from."""

    def __init__(self, report, title: str, parent=None) -> None:
        super().__init__(parent)
        self.report = report
        self.setWindowTitle(title)
        self.resize(900, 520)
        self.verdict = QLabel(report_verdict(report))
        self.verdict.setWordWrap(True)
        self.model = report_model(report)
        table = make_table(self.model, sortable=True)
        set_widths(table, (150, 80, 100, 90, 240, 60, 70, 100))
        box = plain_buttons(QDialogButtonBox(QDialogButtonBox.StandardButton.Close))
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.verdict)
        layout.addWidget(table, 1)
        layout.addWidget(box)
