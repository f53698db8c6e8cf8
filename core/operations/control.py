"""The always-on service of one open project as the app sees it (``ws.service``): whether it
runs, start it as a detached background process, install it as a service of the user.

Whether it runs
    :meth:`ServiceControl.state` is the verdict ``shipway service status`` prints for the
    project (:func:`core.operations.service_status.project_state`: the lock, the heartbeat
    file, the clock). It is a read: nothing is locked for longer than an instant.

Starting it
    :meth:`ServiceControl.start` starts ``shipway --project ROOT service run`` (the program the
    installed service runs, :func:`core.operations.unit_files.service_command`) in a session of
    its own, detached from the caller: it outlives the app, as a deployment does. Its output
    before the service's own log opens goes to ``.shipway/service-start.log``. ``start`` then
    waits until the service holds the project's lock and wrote its heartbeat, or until the
    process ended, and says why. It never starts a second service: a service already running
    is refused before anything is started (:class:`~core.operations.lock.AlreadyRunning`), and
    a service started by someone else in the same instant is refused by the engine's lock; the
    new process then ends with that one line, which is raised here as the same error.

Installing it
    :meth:`ServiceControl.installed` says whether the user's service file exists (a systemd
    user unit on Linux); :meth:`ServiceControl.install` is ``shipway service install`` for the
    project (:func:`core.operations.install.install`).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from core.errors import ShipwayError
from core.operations import install as installer
from core.operations.lock import AlreadyRunning
from core.operations.service_status import (
    SERVICE_DIR,
    ProjectServiceState,
    project_state,
)
from core.operations.unit_files import RUN_ARGS, service_command

START_LOG = "service-start.log"
START_WAIT_S = 60.0


class ServiceStartError(ShipwayError, code="service_start"):
    """The service process ended (or never answered) instead of serving the project."""


class ServiceControl:
    """See the module's description. ``root``: the project's folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def state(self) -> ProjectServiceState:
        """Whether a service serves this project now (as ``shipway service status`` says it)."""
        return project_state(self.root)

    def command(self) -> tuple[str, ...]:
        """The command line :meth:`start` runs: the installed service's program, for this
        project alone."""
        program = service_command()[: -len(RUN_ARGS)]
        return (*program, "--project", str(self.root), "service", "run")

    def start(self, wait_s: float = START_WAIT_S, poll_s: float = 0.2) -> ProjectServiceState:
        """Start the service detached and wait until it runs (see the module's description)."""
        before = self.state()
        if before.running:
            raise _already(before, self.root)
        folder = self.root / SERVICE_DIR
        folder.mkdir(exist_ok=True)
        log_path = folder / START_LOG
        process = _spawn(self.command(), self.root, log_path)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            code = process.poll()
            now = self.state()
            if now.running and now.pid == process.pid:
                return now
            if code is not None:
                raise _ended(code, log_path, self.root)
            time.sleep(poll_s)
        raise ServiceStartError(
            f"the service (pid {process.pid}) did not report running within {wait_s:.0f} s",
            where=str(log_path),
            hint="it may still be starting on a busy machine: look again in a moment, or read "
            "`shipway service logs`",
        )

    def installed(self) -> bool:
        """Whether the service file of this user's service manager exists."""
        return installer.manager_for(installer.Context.current()).unit_file.is_file()

    def install(self) -> installer.Outcome:
        """``shipway service install`` for this project."""
        return installer.install(self.root)


def _spawn(command: tuple[str, ...], root: Path, log_path: Path) -> subprocess.Popen:
    """Start ``command`` in a session of its own, its output to ``log_path``."""
    options: dict = {"cwd": str(root), "stdin": subprocess.DEVNULL}
    if os.name == "nt":  # pragma: no cover - Windows
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        options["creationflags"] = flags | subprocess.CREATE_NO_WINDOW
    else:
        options["start_new_session"] = True
    with open(log_path, "wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, **options)


def _already(state: ProjectServiceState, root: Path) -> AlreadyRunning:
    return AlreadyRunning(
        f"nothing was started: a Shipway service already runs for this project: {state.text}",
        where=str(root),
        hint="one service per project: the one running serves it (`shipway service status`)",
    )


def _ended(code: int, log_path: Path, root: Path) -> ShipwayError:
    """The error of a service process that ended at once: its last line says why."""
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        lines = []
    last = lines[-1] if lines else f"it exited with status {code} and printed nothing"
    said = last.removeprefix("shipway: error: ").strip()
    if "already runs" in said:
        return AlreadyRunning(
            f"nothing was started: {said}",
            where=str(root),
            hint="one service per project: the one running serves it (`shipway service status`)",
        )
    return ServiceStartError(
        f"the service ended at once: {said}",
        where=str(log_path),
        hint="fix what it names, then start it again; `shipway service logs` has the rest",
    )
