"""What the Monitoring page starts: checking the triggers, retraining, drift of a file.

Each is an explicit act of the user and runs as a visible job in the jobs bar; the page's poll
only reads (:mod:`desktop.pages.monitoring.snapshot`).

- **Check triggers now** runs ``ws.lifecycle.check_triggers(deployment)``: the [triggers] of
  shipway.toml are evaluated over the deployment's drift series, the alerts that are due are
  recorded (once per streak) and, with ``retrain = true``, each starts a retraining (train,
  register, evaluate the ``production`` gates). The banner says what fired.
- **Retrain…** repeats the served version's spec (estimator, parameters, features, split, seed)
  on the newest version of its data set (``ws.lifecycle.retrain_request``), registers the run
  as the model's next version and evaluates its ``production`` gates.

Nothing is promoted: a new version waits at the gates for a person.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from core.services import Retraining
from desktop.pages.common.gate_table import rule_name
from desktop.pages.monitoring.drift_report import DriftReportDialog
from desktop.widgets.common import plural
from desktop.widgets.dialogs import ask

FILE_FILTER = "Data files (*.csv *.tsv *.txt *.parquet *.pq *.jsonl *.ndjson);;All files (*)"


def retrain(workspace, ref: str, progress, cancel) -> Retraining:
    """Train ``ref``'s spec on the newest data, register it, evaluate its production gates."""
    note = f"retrained from {ref} on the Monitoring page"
    return workspace.lifecycle.retrain(ref, note, progress=progress, cancel=cancel)


def retrain_message(outcome: Retraining) -> tuple[str, str]:
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


def trigger_message(check) -> tuple[str, str]:
    """(text, banner kind) telling what one check of the triggers (a ``TriggerCheck``) fired."""
    if not check.alerts:
        said = _escape("; ".join(check.problems)) or "no trigger of shipway.toml fired"
        where = ", ".join(check.deployments) or "no running deployment"
        return f"Checked the triggers on {where}: {said}.", "warning" if check.problems else "info"
    parts = [f"Alert: {_escape(alert.message)}{_retraining(alert)}" for alert in check.alerts]
    parts += [_escape(problem) for problem in check.problems]
    return "<br>".join(parts), "warning"


def _retraining(alert) -> str:
    ref = f"{alert.model}@{alert.retrain_version}"
    if alert.retrain_status == "at_gates":
        gates = "its production gates pass" if alert.gates_passed else "blocked by a gate"
        return (
            f". Retrained (run #{alert.retrain_run}) as <a href='{ref}'>{ref}</a>, which waits "
            f"at the gates ({gates}); nothing was promoted"
        )
    if alert.retrain_status == "failed":
        return f". The retraining failed: {_escape(alert.retrain_error or 'no reason given')}"
    return ""


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class MonitoringActionsMixin:
    """Mixed into MonitoringPage (workspace, context, status, banner, served_ref)."""

    def confirm(self, title: str, text: str) -> bool:
        """Ask before retraining (the tests replace this method)."""
        return ask(self, title, text, yes="Retrain", icon_name="reproduce")

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

        def done(outcome: Retraining) -> None:
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

    def check_triggers(self):
        """Evaluate the [triggers] of shipway.toml on the chosen deployment now (a visible job:
        it may record alerts and retrain)."""
        deployment_id, workspace = self.deployment_id(), self.workspace
        if deployment_id is None or workspace is None:
            return None

        def done(check) -> None:
            self.trigger_check = check
            text, kind = trigger_message(check)
            self.banner.show_message(text, kind)
            said = plural(len(check.alerts), "alert")
            self.status(f"Checked the triggers of {deployment_id}: {said}")
            if self._seen_alerts is not None:  # said in the banner: the poll need not again
                self._seen_alerts |= {alert.id for alert in check.alerts}
            if check.alerts:
                self.context.events.alerts_changed.emit()
            if any(alert.retrain_run for alert in check.alerts):
                self.context.events.runs_changed.emit()
                self.context.events.models_changed.emit()
            self.poller.poll()

        return self.context.runner.submit(
            f"Checking the triggers of {deployment_id}",
            lambda progress, cancel: workspace.lifecycle.check_triggers(
                deployment_id, progress=progress, cancel=cancel
            ),
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
                f"{plural(report.tested_features, 'feature')})"
            )

        return self.context.runner.submit(
            f"Checking {name} for drift against {ref}",
            lambda progress, cancel: workspace.monitoring.drift(
                ref, current=path, progress=progress, cancel=cancel
            ),
            on_success=done,
            owner=self,
        )
