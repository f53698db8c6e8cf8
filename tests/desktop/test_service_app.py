"""The always-on service in the app: its state and Start in the status bar (a real detached
process, never two), its jobs in the jobs bar with Cancel, Keep up on Deployments, its tables
in Project settings, and notifications read from the audit trail."""

from __future__ import annotations

import os
import signal
import time

import pytest

from core.config import SETTINGS_FILE
from core.entities import Deployment
from core.services import Workspace
from desktop.main_window import MainWindow
from desktop.pages.deployments.table import COLUMNS
from tests.desktop.conftest import wait_until

posix_only = pytest.mark.skipif(os.name != "posix", reason="the service lock is tested with flock")


def _stop_service(workspace: Workspace) -> None:
    state = workspace.service.state()
    if state.running and state.pid:
        os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while workspace.service.state().running and time.monotonic() < deadline:
            time.sleep(0.1)


@posix_only
def test_status_bar_starts_the_service_and_never_a_second(
    qtbot, window: MainWindow, workspace: Workspace
) -> None:
    indicator = window.service
    wait_until(qtbot, lambda: indicator.label.text() == "Service not running", 30)
    assert indicator.start_button.isVisible()
    try:
        indicator.start_button.click()
        wait_until(qtbot, lambda: indicator.label.text().startswith("Service running since"), 90)
        assert "last heartbeat" in indicator.label.text()
        # the poll can show the service before the start job has ended: a start while that
        # job runs is ignored (the button is disabled), so wait for it
        wait_until(qtbot, lambda: not indicator.start_task.running, 90)
        assert not indicator.start_button.isVisible()
        first = workspace.service.state().pid
        # a window that had not seen it yet (its last look said "not running") presses Start
        task = indicator.start()
        wait_until(qtbot, lambda: not task.running, 60)
        assert indicator.refusal.startswith(
            "Nothing was started: a Shipway service already runs for this project: running (pid"
        )
        errors = window.context.errors  # the dialog opens on a queued signal: wait for it
        wait_until(qtbot, lambda: any("already runs" in d.explanation.text for d in errors.dialogs))
        assert workspace.service.state().pid == first  # the first one serves, alone
    finally:
        _stop_service(workspace)
    wait_until(qtbot, lambda: indicator.label.text() == "Service not running", 30)


def test_jobs_bar_shows_service_jobs_and_cancels_them(
    qtbot, window: MainWindow, workspace: Workspace
) -> None:
    jobs = workspace.jobs.repository
    job = jobs.create("retrain", "retrain penguins@2 (alert 1: drift)", "penguins@2")
    bar = window.jobs
    wait_until(qtbot, lambda: bar.isVisible() and bar.service_jobs, 30)
    shown = lambda: bar.row.label.toolTip().splitlines()[0]  # noqa: E731  (the label may elide)
    assert shown() == "Service: retrain penguins@2 (alert 1: drift) — waiting"
    bar.row.cancel_button.click()
    wait_until(qtbot, lambda: workspace.jobs.get(job.id).cancel_requested, 30)
    wait_until(qtbot, lambda: bar.row is not None and shown().endswith("stopping"))
    assert not bar.row.cancel_button.isEnabled()
    jobs.finish(job.id, "cancelled")
    wait_until(qtbot, lambda: not bar.service_jobs and not bar.isVisible(), 30)


def test_notifications_of_alerts_retrainings_and_deployments_given_up(
    qtbot, window: MainWindow, workspace: Workspace
) -> None:
    wait_until(qtbot, lambda: window.session.watcher.cursor is not None, 30)
    record = workspace.project.record
    record("service.deployment_gave_up", "deployment", "d-7", message="5 failed starts.")
    record("monitoring.retrain", "model_version", "penguins@3", gates_passed=False,
           retrained_from="penguins@2")  # fmt: skip
    record("dataset.import", "dataset", "penguins@2")  # not worth a notification
    notifier = window.notifier
    wait_until(qtbot, lambda: len(notifier.shown) == 2, 30)
    assert [n.kind for n in notifier.shown] == ["deployment_down", "retrained"]
    text = window.notice_banner.label.text()
    assert "deployment d-7 is down: 5 failed starts." in text
    assert "penguins@3 retrained: Retrained from penguins@2; its production gates do not" in text
    assert window.notice_banner.isVisible()


def test_notifications_off_when_notify_desktop_is_false(
    qtbot, context, workspace: Workspace
) -> None:
    workspace.project.save_settings(tables={"notify": {"desktop": False}})
    made = MainWindow(context, workspace)
    qtbot.addWidget(made)
    made.show()
    wait_until(qtbot, lambda: not made.notifier.enabled, 30)
    wait_until(qtbot, lambda: made.session.watcher.cursor is not None, 30)
    workspace.project.record("service.deployment_gave_up", "deployment", "d-8", message="down")
    cursor = made.session.watcher.cursor
    wait_until(qtbot, lambda: made.session.watcher.cursor > cursor, 30)
    assert made.notifier.shown == [] and not made.notice_banner.isVisible()


def test_keep_up_toggle_marks_the_deployment_and_the_table_shows_it(
    qtbot, lab_window: MainWindow, lab: Workspace, served: Deployment
) -> None:
    page = lab_window.show_page("deployments")
    page.show_deployment(served.id)
    wait_until(qtbot, lambda: page.selected_row() is not None and page.detail.info is not None)
    assert not page.detail.keep_box.isChecked()
    page.detail.keep_box.click()
    wait_until(qtbot, lambda: lab.deployments.get(served.id).keep, 30)
    kept = [column.title for column in COLUMNS].index("Kept")
    row = page.model.row_of(lambda r: r.id == served.id)
    wait_until(qtbot, lambda: page.model.index(row, kept).data() == "kept", 30)
    assert page.detail.keep_box.isChecked()
    page.detail.keep_box.click()
    wait_until(qtbot, lambda: not lab.deployments.get(served.id).keep, 30)
    wait_until(qtbot, lambda: page.model.index(row, kept).data() == "", 30)


def test_settings_dialog_writes_the_service_tables_and_never_a_password(
    qtbot, window: MainWindow, workspace: Workspace
) -> None:
    path = workspace.root / SETTINGS_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\n# kept comment\n", encoding="utf-8")
    dialog = window.project_settings()
    wait_until(qtbot, lambda: dialog.loaded is not None, 30)
    service, notify = dialog.service_form, dialog.notify_form
    service.every.setText("10m")
    service.on_drift.setChecked(True)
    service.promote.setText("staging")
    notify.email.setChecked(True)
    notify.to.setText("team@example.org, ada@example.org")
    notify.host.setText("smtp.example.org")
    notify.user.setText("shipway")
    notify.webhook.setChecked(True)
    assert "keyring set shipway smtp.example.org/shipway" in notify.password_note.text()
    dialog.save()
    wait_until(qtbot, lambda: not dialog.isVisible(), 30)
    text = path.read_text(encoding="utf-8")
    assert "# kept comment" in text
    tables = workspace.project.tables("monitor", "retrain", "notify")
    assert tables["monitor"] == {"every": "10m"}
    assert tables["retrain"] == {"on_drift": True, "promote": "staging"}
    email = tables["notify"]["email"]
    assert email["to"] == ["team@example.org", "ada@example.org"]
    assert email["password_env"] == "SHIPWAY_SMTP_PASSWORD" and "password" not in email
    assert tables["notify"]["webhook"] == {"url_env": "SHIPWAY_WEBHOOK_URL"}

    again = window.project_settings()  # shows what was saved; a mistake saves nothing
    wait_until(qtbot, lambda: again.loaded is not None, 30)
    assert again.service_form.promote.text() == "staging" and again.notify_form.email.isChecked()
    again.service_form.use_every.setChecked(True)
    again.service_form.retrain_every.setText("soon")
    again.save()
    wait_until(qtbot, lambda: again.message.isVisible(), 30)
    assert "Every must be a duration, not 'soon'" in again.message.text()
    assert f"{SETTINGS_FILE} line" in again.message.text()
    assert path.read_text(encoding="utf-8") == text
    again.reject()
