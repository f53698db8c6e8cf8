"""The screenshots of the always-on service in the app: the status bar with the service running,
a kept deployment, a service job in the jobs bar and a notification; the Service and
Notifications tabs of Project settings.

Called by :mod:`desktop.screenshots` once the demo is open; on its own (a quicker look at these
views alone: it builds the demo in a temporary folder)::

    python -m desktop.screenshots_service OUT_DIR --theme light

The service it starts for the shots is stopped before it returns (and, on its own, the demo's
deployment too).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from desktop.main_window import MainWindow


def _stop_service(window: MainWindow) -> None:
    from desktop.screenshots import settle

    state = window.workspace.service.state()
    if state.running and state.pid:
        os.kill(state.pid, signal.SIGTERM)
        settle(until=lambda: not window.workspace.service.state().running)


def service_shots(window: MainWindow, out: Path, theme: str) -> None:
    from desktop.screenshots import settle, shoot

    workspace = window.workspace
    indicator = window.service
    settle(until=lambda: indicator.view is not None)
    if not indicator.view.state.running:
        indicator.start()
        settle(until=lambda: indicator.view is not None and indicator.view.state.running)
    page = window.show_page("deployments")
    settle(until=lambda: page.selected_row() is not None and page.detail.info is not None)
    deployment = page.selected_row().deployment
    if not deployment.keep:
        page.keep(True)
        settle(until=lambda: page.selected_row().deployment.keep)
    job = workspace.jobs.repository.create(
        "retrain", "retrain penguins@2 (alert 4: drift in 3 buckets)", "penguins@2"
    )
    workspace.project.record("monitoring.alert", "model_version", "penguins@2", kind="drift",
                             deployment=deployment.id,
                             message="3 buckets in a row drifted (body_mass_g, flipper_length_mm)",
                             )  # fmt: skip
    settle(until=lambda: window.jobs.service_jobs and window.notifier.shown)
    try:
        shoot(window, out / f"service-{theme}.png")
    finally:
        workspace.jobs.repository.finish(job.id, "cancelled", "a screenshot's example")
        _stop_service(window)
    window.notice_banner.hide()
    settings_shots(window, out, theme)


def settings_shots(window: MainWindow, out: Path, theme: str) -> None:
    from desktop.screenshots import settle, shoot

    dialog = window.project_settings()
    dialog.move(window.x() + 290, window.y() + 40)
    settle(until=lambda: dialog.loaded is not None)
    service, notify = dialog.service_form, dialog.notify_form
    service.keep.setText("90d")
    service.on_drift.setChecked(True)
    service.use_every.setChecked(True)
    service.promote.setText("staging")
    dialog.tabs.setCurrentIndex(1)
    shoot(dialog, out / f"settings-service-{theme}.png")
    notify.email.setChecked(True)
    notify.to.setText("team@example.org")
    notify.host.setText("smtp.example.org")
    notify.user.setText("shipway")
    notify.webhook.setChecked(True)
    dialog.tabs.setCurrentIndex(2)
    shoot(dialog, out / f"settings-notify-{theme}.png")
    dialog.reject()


def main(argv: list[str] | None = None) -> int:
    from core.services import Workspace
    from desktop import demo
    from desktop.screenshots import SIZE, settle, start

    args, app, scratch, context = start(
        "python -m desktop.screenshots_service", argv, warm_workers=False
    )
    folder = demo.prepare_demo(scratch / "Penguins demo")
    window = MainWindow(context, Workspace.open(folder))
    window.resize(*SIZE)
    window.move(40, 30)
    window.show()
    settle(1.0)
    try:
        service_shots(window, args.out, args.theme)
    finally:  # the demo's deployment was served for the shots: stop it
        workspace = window.workspace
        for deployment in workspace.deployments.list(include_stopped=False):
            workspace.deployments.undeploy(deployment.id)
    problems = [e.details for e in context.errors.history]
    window.close()
    app.processEvents()
    if problems:
        print("errors shown:", *problems, sep="\n", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
