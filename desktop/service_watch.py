"""The always-on service in the status bar: whether it runs for the open project, Start, and
(Linux) Install; its jobs in the jobs bar.

Every :data:`POLL_MS` one background read (:func:`read_service`) asks ``ws.service.state()``
(the verdict ``shipway service status`` prints: the lock, the heartbeat) and ``ws.jobs.list``
(the service's queued and running jobs), never two at once (:class:`~desktop.polling.Poller`).
The label says "Service running since 08:12 · last heartbeat 3 s ago" or "Service not
running"; its tooltip holds the engine's sentence and the last error.

**Start** runs ``ws.service.start()`` as a job: ``shipway service run`` for this project as a
detached process of its own (it outlives the app, as a deployment does), waited for until it
holds the project's lock. The engine never starts a second service: one already running is
refused before anything starts, and one started elsewhere at the same instant is refused by
the lock. Either refusal is said in the label and in the error dialog ("nothing was started:
a Shipway service already runs for this project…").

**Install…** (Linux, while the user's systemd unit is not installed) runs ``ws.service.install()``
(``shipway service install``) after a question; what is left to run where no user service
manager answers (a container) is said in a dialog.

A service job's Cancel asks the service to stop it (``ws.jobs.cancel``): the service reads the
request within a second.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from core.entities import Job
from core.services import Workspace
from desktop.context import AppContext
from desktop.errors import describe
from desktop.jobs_bar import JobsBar
from desktop.polling import Poller
from desktop.theme import set_style_property
from desktop.widgets.dialogs import ask, message_box

POLL_MS = 3000
JOBS_SHOWN = 20


@dataclass(frozen=True)
class ServiceView:
    """One look at the service: its state, whether Install is offered, its unfinished jobs."""

    state: object  # the engine's ProjectServiceState
    installable: bool
    jobs: tuple[Job, ...]


def read_service(workspace: Workspace) -> ServiceView:
    """On a pool thread: the service's state and unfinished jobs (short reads)."""
    state = workspace.service.state()
    installable = sys.platform.startswith("linux") and not workspace.service.installed()
    jobs = tuple(j for j in workspace.jobs.list(JOBS_SHOWN) if not j.finished)
    return ServiceView(state, installable, jobs)


def since_text(started_at: str | None) -> str:
    """ "since 08:12" (today) or "since 3 Dec 08:12", in local time."""
    if not started_at:
        return ""
    try:
        instant = datetime.fromisoformat(started_at).astimezone()
    except ValueError:
        return ""
    today = datetime.now().astimezone().date()
    shown = instant.strftime("%H:%M" if instant.date() == today else "%d %b %H:%M")
    return f" since {shown}"


def state_text(state) -> str:
    """The label's words for the engine's ProjectServiceState."""
    if not state.running:
        return "Service not running"
    age = state.heartbeat_age_s
    beat = "" if age is None else f" · last heartbeat {age:.0f} s ago"
    return f"Service running{since_text(state.started_at)}{beat}"


class ServiceIndicator(QWidget):
    """The status bar's service label with Start and Install…; feeds the jobs bar."""

    def __init__(self, context: AppContext, jobs_bar: JobsBar) -> None:
        super().__init__()
        self.context = context
        self.jobs_bar = jobs_bar
        jobs_bar.cancel_service_job = self.cancel_job
        self.workspace: Workspace | None = None
        self.view: ServiceView | None = None
        self.start_task = None
        self.refusal = ""  # why the last Start started nothing
        self.label = QLabel()
        self.start_button = QPushButton("Start service")
        self.start_button.setToolTip(
            "Start `shipway service run` for this project in the background: it keeps kept "
            "deployments up, checks drift and retrains as shipway.toml says, after this app "
            "closes too"
        )
        self.install_button = QPushButton("Install…")
        self.install_button.setToolTip(
            "Install the service for your user (shipway service install): a systemd user unit "
            "that starts it at every log-in and restarts it after a crash"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        for widget in (self.label, self.start_button, self.install_button):
            layout.addWidget(widget)
        self.start_button.clicked.connect(lambda: self.start())
        self.install_button.clicked.connect(lambda: self.install())
        self.poller = Poller(self, POLL_MS, self.read, always=True)
        self.hide()

    def set_workspace(self, workspace: Workspace | None) -> None:
        self.workspace, self.view = workspace, None
        self.jobs_bar.show_service_jobs([])
        if workspace is None:
            self.poller.stop()
            self.hide()
            return
        self.label.setText("Service: looking…")
        self.start_button.hide()
        self.install_button.hide()
        self.show()
        self.poller.start()

    def read(self):
        workspace = self.workspace
        if workspace is None:
            return None
        return self.context.runner.fetch(
            lambda: read_service(workspace),
            lambda view: self._show(view, workspace),
            owner=self,
            on_failure=self._read_failed,
            title="reading the service's state",
        )

    def _show(self, view: ServiceView, workspace: Workspace) -> None:
        if workspace is not self.workspace:
            return
        self.view = view
        state = view.state
        starting = self.start_task is not None and self.start_task.running
        if not (starting and not state.running):
            self._say(state_text(state), "ok" if state.running else "")
        tip = state.text + (f"\nLast error: {state.last_error}" if state.last_error else "")
        self.label.setToolTip(tip)
        self.start_button.setVisible(not state.running)
        self.start_button.setEnabled(not starting)
        self.install_button.setVisible(view.installable)
        self.jobs_bar.show_service_jobs(list(view.jobs))

    def _read_failed(self, error: BaseException, _trace: str) -> None:
        self._say("Service: its state could not be read", "error")
        self.label.setToolTip(describe(error).text)

    def _say(self, text: str, role: str) -> None:
        self.label.setText(text)
        set_style_property(self.label, "role", role)

    # -- acts ------------------------------------------------------------------------------------

    def start(self):
        """Start the service for this project (a job); a second one is refused, clearly."""
        workspace = self.workspace
        if workspace is None or (self.start_task is not None and self.start_task.running):
            return None
        self.start_button.setEnabled(False)
        self._say("Service starting…", "")
        self.start_task = self.context.runner.submit(
            "Starting the always-on service",
            lambda _p, _c: workspace.service.start(),
            on_success=self._started,
            on_failure=self._refused,
            owner=self,
        )
        return self.start_task

    def _started(self, state) -> None:
        self.context.events.status.emit(
            f"The always-on service runs for this project: {state.text}"
        )
        self.poller.poll()

    def _refused(self, error: BaseException, trace: str) -> None:
        self.refusal = describe(error).text.splitlines()[0]  # "Nothing was started: …"
        self._say(self.refusal, "error")
        self.context.events.status.emit(self.refusal)
        self.start_button.setEnabled(True)
        self.context.errors.report(error, "Starting the always-on service", trace)
        self.poller.poll()

    def confirm_install(self) -> bool:
        """Ask before installing (the tests replace this method)."""
        return ask(
            self.window(),
            "Install the always-on service",
            "Install Shipway's service for your user? It starts at every log-in, restarts "
            "after a crash and serves this project (and the others you install). "
            "`shipway service uninstall` removes it.",
            yes="Install it",
            no="Not now",
        )

    def install(self):
        workspace = self.workspace
        if workspace is None or not self.confirm_install():
            return None
        return self.context.runner.submit(
            "Installing the always-on service",
            lambda _p, _c: workspace.service.install(),
            on_success=self._installed,
            owner=self,
        )

    def _installed(self, outcome) -> None:
        self.poller.poll()
        lines = [f"Service file: {outcome.unit_file}", f"Projects: {outcome.config}"]
        lines += list(outcome.warnings)
        if outcome.to_run:
            lines += ["", "Run this once your user's service manager runs:"]
            lines += [f"    {step}" for step in outcome.to_run]
        box = message_box(
            self.window(), "The service is installed", "\n".join(lines), "deployments"
        )
        box.open()
        self.install_box = box

    def cancel_job(self, job_id: int):
        workspace = self.workspace
        if workspace is None:
            return None
        return self.context.runner.submit(
            f"Asking the service to stop job {job_id}",
            lambda _p, _c: workspace.jobs.cancel(job_id),
            on_success=lambda _job: self.poller.poll(),
            owner=self,
        )
