"""The deployments' part of the engine's front door (mixed into core.services.Workspace)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.deploy import foreground, manager, probe
from core.deploy.folders import folder_of
from core.entities import Deployment, ModelVersion
from core.errors import ProjectError
from core.project import Project
from core.registry.refs import parse_model_ref


def configured_workers(raw: dict[str, Any]) -> int | None:
    """``[serving] workers`` of shipway.toml (None when not set)."""
    serving = raw.get("serving", {})
    value = serving.get("workers") if isinstance(serving, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 64:
        raise ProjectError(
            f"[serving] workers must be a whole number from 1 to 64, not {value!r}",
            where="shipway.toml [serving]",
            hint="e.g. workers = 2 (server processes sharing a deployment's port)",
        )
    return value


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
        workers: int | None = None,
    ) -> Deployment:
        """Serve ``M@V`` (that version) or ``M@ALIAS`` (whatever holds the alias) in the
        background; returns once /health answers."""
        version = self.model_version(ref)
        alias = parse_model_ref(ref).alias
        return manager.deploy(
            self._project,
            version,
            alias,
            host=host,
            port=port,
            token=token,
            log_inputs=log_inputs,
            workers=workers or configured_workers(self._project.settings.raw),
        )

    def deployments(self, include_stopped: bool = True) -> list[Deployment]:
        return self._project.deployments.list(include_stopped)

    def deployment(self, deployment_id: str) -> Deployment:
        return self._project.deployments.get(deployment_id)

    def deployment_state(self, deployment: Deployment, token: str | None = None) -> probe.LiveState:
        """Alive? answering? which version, how many requests and errors (short probes).

        A running deployment found stale (its pid names another process) is recorded as
        stopped, with the reason as its stop note."""
        state = probe.probe(deployment, token)
        if state.state == "stale" and deployment.status != "stopped":
            manager.record_stale(self._project, deployment, state.note)
        return state

    def deployment_folder(self, deployment: Deployment) -> Path:
        """Where its logs and prediction log live (refused when the database names a folder
        outside the project's deployments/)."""
        return folder_of(self._project, deployment)

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
        """Serve ``M@V`` or ``M@ALIAS`` in the foreground until SIGINT/SIGTERM (or ``stop``);
        recorded like any deployment, so a served alias follows promotions too."""
        version = self.model_version(ref)
        manager.check_address(host, port, token)
        deployment_id, folder = manager.new_folder(self._project, version)
        what = foreground.Foreground(
            deployment_id,
            folder,
            folder / "models" / f"v{version.version}",
            version.model,
            version.version,
            alias=parse_model_ref(ref).alias,
            watch=folder / "current.json",
        )
        return foreground.run(
            self._project, what, host=host, port=port, token=token, on_ready=on_ready, stop=stop
        )
