"""A server in this process, recorded as a deployment while it runs (``shipway serve``).

The record names this process (its pid and identity, :mod:`core.deploy.identity`), so
``shipway undeploy`` from elsewhere stops it with SIGTERM as long as it still runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from core.deploy import identity
from core.deploy.manager import check_address
from core.entities import Deployment
from core.project import Project
from core.store.deployment_repository import NewDeployment


@dataclass(frozen=True)
class Foreground:
    """What to serve: ``model_dir``, and the pointer to follow when it serves an alias."""

    deployment_id: str
    folder: Path
    model_dir: Path
    model: str
    version: int
    alias: str | None = None
    watch: Path | None = None


class ServeOptions(TypedDict, total=False):
    """The keyword options of serving in the foreground (a version's or a bundle's model).

    ``host`` (default 127.0.0.1) and ``port`` (default 0: a free one) are where it listens;
    ``token`` the bearer token clients must send (default None: none); ``on_ready`` is called
    with the recorded deployment once the server answers; ``stop``, once set, ends it.
    """

    host: str
    port: int
    token: str | None
    on_ready: Callable[[Deployment], Any] | None
    stop: threading.Event | None


def run(
    project: Project,
    prepare: Callable[[], Foreground],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    on_ready: Callable[[Deployment], Any] | None = None,
    stop: threading.Event | None = None,
) -> Deployment:
    """Check the address, ``prepare`` what to serve (its folder), serve it until SIGINT/SIGTERM
    (or ``stop``), then stop cleanly and record it stopped."""
    from core.serving import server as serving
    from core.serving.settings import ServingConfig
    from core.serving.signals import install_signal_handlers
    from core.serving.watch import PointerWatcher

    check_address(host, port, token)
    what = prepare()
    stop = stop or threading.Event()
    restore = install_signal_handlers(stop)
    config = ServingConfig(token=token, log_dir=str(what.folder))
    try:
        running = serving.start_server(what.model_dir, host=host, port=port, config=config)
    except BaseException:  # nothing was recorded: leave no folder behind either
        restore()
        shutil.rmtree(what.folder, ignore_errors=True)
        raise
    watcher = PointerWatcher(what.watch, running.slot).start() if what.watch else None
    try:
        recorded = project.deployments.record(_new(project, what, host, running.port, token))
        if on_ready is not None:
            on_ready(recorded)
        serving.wait_until_stopped(stop)
    finally:
        if watcher is not None:
            watcher.stop()
        running.stop()
        restore()
    return project.deployments.stopped(what.deployment_id, "the foreground server stopped")


def _new(project: Project, what: Foreground, host: str, port: int, token: str | None):
    started, command = identity.of(os.getpid())
    return NewDeployment(
        id=what.deployment_id,
        model=what.model,
        alias=what.alias,
        version=what.version,
        kind="foreground",
        host=host,
        port=port,
        pid=os.getpid(),
        machine=socket.gethostname(),
        token=token is not None,
        folder=str(what.folder.relative_to(project.root)),
        process_started=started,
        process_command=command,
    )
