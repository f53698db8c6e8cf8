"""What the Monitoring page starts: retraining on the newest data, and drift of a file.

Retraining repeats the served version's spec (estimator, parameters, features, split, seed) on
the newest version of its data set (``Workspace.retrain_request``), registers the run as the
model's next version and evaluates its ``production`` gates. Nothing is promoted: the new
version waits at the gates for a person, as a drift trigger's retraining does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from core.entities import GateReport, ModelVersion, Run
from desktop.pages.drift_report_view import DriftReportDialog
from desktop.pages.gate_table import rule_name

FILE_FILTER = "Data files (*.csv *.tsv *.txt *.parquet *.pq *.jsonl *.ndjson);;All files (*)"


@dataclass(frozen=True)
class Retrained:
    run: Run
    version: ModelVersion | None
    report: GateReport | None


def retrain(workspace, ref: str, progress, cancel) -> Retrained:
    """Train ``ref``'s spec on the newest data, register it, evaluate its production gates."""
    request = workspace.retrain_request(ref)
    progress(0.0, f"training {request.estimator} on the newest {request.data}")
    run = workspace.train(request, lambda f, m: progress((f or 0) * 0.7, m), cancel)
    if run.status != "done":
        return Retrained(run, None, None)
    name = ref.split("@", 1)[0]
    note = f"retrained from {ref} on the Monitoring page"
    version = workspace.register_model(run.id, name, note, {"retrained_from": ref})
    progress(0.75, f"evaluating the production gates of {version.ref}")
    workspace.reload_settings()
    report = workspace.evaluate_gates(version.ref, "production", cancel=cancel)
    progress(1.0, "waiting at the gates")
    return Retrained(run, version, report)


def retrain_message(outcome: Retrained) -> tuple[str, str]:
    """(text, banner kind) telling where the retrained version stands."""
    run = outcome.run
    if outcome.version is None or outcome.report is None:
        return f"Retraining run #{run.id} ended {run.status}: {run.error or 'no model'}.", "error"
    version, report = outcome.version, outcome.report
    passed = sum(1 for result in report.results if result.passed)
    failing = ", ".join(rule_name(result.rule) for result in report.failures)
    state = (
        "all its production gates pass"
        if report.passed
        else f"{passed} of {len(report.results)} production gates pass (blocked by {failing})"
    )
    link = f"<a href='{version.ref}'>open {version.ref} on the Models page</a>"
    return (
        f"Run #{run.id} retrained the spec and is registered as <b>{version.ref}</b>; it waits "
        f"at the gates: {state}. Nothing was promoted — {link} to promote it.",
        "info" if report.passed else "warning",
    )


class MonitoringActionsMixin:
    """Mixed into MonitoringPage (workspace, context, status, banner, served_ref)."""

    def confirm(self, title: str, text: str) -> bool:
        """Ask before retraining (the tests replace this method)."""
        return QMessageBox.question(self, title, text) == QMessageBox.StandardButton.Yes

    def retrain(self):
        ref, workspace = self.served_ref(), self.workspace
        if ref is None or workspace is None:
            return None
        question = (
            f"Train the spec of {ref} again on the newest version of its data set, register "
            "the run as the next version and evaluate its production gates? Nothing is promoted."
        )
        if not self.confirm("Retrain", question):
            return None

        def done(outcome: Retrained) -> None:
            self.retrained = outcome
            text, kind = retrain_message(outcome)
            self.banner.show_message(text, kind)
            self.context.events.runs_changed.emit()
            self.context.events.models_changed.emit()

        return self.context.runner.submit(
            f"Retraining {ref}",
            lambda progress, cancel: retrain(workspace, ref, progress, cancel),
            on_success=done,
            owner=self,
        )

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Check a file for drift", "", FILE_FILTER)
        if path:
            self.check_file(path)

    def check_file(self, path: str | Path):
        ref, workspace = self.served_ref(), self.workspace
        if ref is None or workspace is None:
            return None
        name = Path(path).name

        def done(report) -> None:
            dialog = DriftReportDialog(report, f"Drift of {name} against {ref}", self)
            dialog.open()
            self.file_report = dialog
            verdict = "dataset drift" if report.dataset_drift else "no dataset drift"
            self.status(
                f"{name}: {verdict} ({report.drifted_features} of "
                f"{report.tested_features} features)"
            )

        return self.context.runner.submit(
            f"Checking {name} for drift against {ref}",
            lambda progress, cancel: workspace.drift(
                ref, current=path, progress=progress, cancel=cancel
            ),
            on_success=done,
            owner=self,
        )
