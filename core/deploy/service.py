"""The deployments' part of the engine's front door (mixed into core.services.Workspace)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.deploy import manager, probe
from core.entities import Deployment, ModelVersion
from core.project import DEPLOYMENTS_DIR, Project
from core.registry.refs import parse_model_ref
from core.store.deployment_repository import NewDeployment


class DeploymentsMixin:
    """Deploying, listing, probing and stopping local REST servers."""

    _project: Project
    model_version: Callable[[str], ModelVersion]

    def deploy(
        self,
        ref: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        log_inputs: bool = True,
    ) -> Deployment:
        """Serve ``M@V`` (that version) or ``M@ALIAS`` (whatever holds the alias) in the
        background; returns once /health answers."""
        version = self.model_version(ref)
        alias = parse_model_ref(ref).alias
        return manager.deploy(
            self._project, version, alias, host=host, port=port, token=token, log_inputs=log_inputs
        )

    def deployments(self, include_stopped: bool = True) -> list[Deployment]:
        return self._project.deployments.list(include_stopped)

    def deployment(self, deployment_id: str) -> Deployment:
        return self._project.deployments.get(deployment_id)

    def deployment_state(self, deployment: Deployment, token: str | None = None) -> probe.LiveState:
        """Alive? answering? which version, how many requests and errors (short probes)."""
        return probe.probe(deployment, token)

    def deployment_folder(self, deployment: Deployment) -> Path:
        """Where its logs and prediction log live."""
        return self._project.root / deployment.folder

    def undeploy(self, deployment_id: str) -> Deployment:
        return manager.undeploy(self._project, deployment_id)

    def serve(
        self,
        ref: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        on_ready: Callable[[Deployment], Any] | None = None,
        stop: threading.Event | None = None,
    ) -> Deployment:
        """Serve in the foreground until SIGINT/SIGTERM (or ``stop``); recorded like any
        deployment, so a served alias follows promotions too."""
        from core.serving import server as serving
        from core.serving.settings import ServingConfig
        from core.serving.watch import PointerWatcher

        version = self.model_version(ref)
        manager.check_address(host, port, token)
        deployment_id, folder = manager.new_folder(self._project, version)
        stop = stop or threading.Event()
        restore = serving._install_signal_handlers(stop)
        config = ServingConfig(token=token, log_dir=str(folder))
        try:
            running = serving.start_server(
                folder / "models" / f"v{version.version}", host=host, port=port, config=config
            )
        except BaseException:
            restore()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        watcher = PointerWatcher(folder / "current.json", running.slot).start()
        try:
            recorded = self._record_foreground(deployment_id, version, ref, host, running, token)
            if on_ready is not None:
                on_ready(recorded)
            serving.wait_until_stopped(stop)
        finally:
            watcher.stop()
            running.stop()
            restore()
        return self._project.deployments.stopped(deployment_id, "the foreground server stopped")

    def _record_foreground(self, deployment_id, version, ref, host, running, token) -> Deployment:
        return self._project.deployments.record(
            NewDeployment(
                id=deployment_id,
                model=version.model,
                alias=parse_model_ref(ref).alias,
                version=version.version,
                kind="foreground",
                host=host,
                port=running.port,
                pid=os.getpid(),
                machine=socket.gethostname(),
                token=token is not None,
                folder=str(
                    (self._project.root / DEPLOYMENTS_DIR / deployment_id).relative_to(
                        self._project.root
                    )
                ),
            )
        )
