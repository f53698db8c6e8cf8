"""The deployments floor's service: local REST servers of model versions.

Reached as ``workspace.deployments``. It resolves model references through the registry it is
given; what happens to deployments when an alias moves is :mod:`core.lifecycle`'s to decide
(it calls :meth:`DeploymentsService.follow_alias`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Unpack

from core.deploy import challenger as challengers
from core.deploy import foreground, manager, probe
from core.deploy.challenger import ChallengerConfig, ChallengerInfo
from core.deploy.folders import folder_of
from core.entities import Deployment, ModelVersion
from core.errors import ProjectError
from core.registry.refs import parse_model_ref
from core.registry.service import ModelVersionsService

LOG_TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class Swap:
    """A deployment pointed at a new version; ``confirmed`` once it answers with it."""

    id: str
    version: int
    confirmed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


SERVING_KEYS = frozenset({"workers", "contract"})  # the [serving] keys of shipway.toml


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


class DeploymentsService(ModelVersionsService):
    """Deploying, listing, probing and stopping the local REST servers of one project."""

    def deploy(
        self,
        ref: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        log_inputs: bool = True,
        workers: int | None = None,
        keep: bool = False,
        challenger: ChallengerConfig | None = None,
    ) -> Deployment:
        """Serve ``M@V`` (that version) or ``M@ALIAS`` (whatever holds the alias) in the
        background; returns once /health answers. ``keep``: the always-on service keeps it up
        (restarts it when it dies, brings it back after a reboot). ``challenger``: another
        version in shadow or split mode beside it (refused unless it answers the same
        question: :mod:`core.deploy.challenger`)."""
        version = self._registry.version(ref)
        alias = parse_model_ref(ref).alias
        beside = None
        if challenger is not None:
            beside = (self._registry.version(challenger.ref), challenger)
            challengers.check(version, beside[0])
        deployment = manager.deploy(
            self._project,
            version,
            alias,
            host=host,
            port=port,
            token=token,
            log_inputs=log_inputs,
            workers=workers or configured_workers(self._project.settings.raw),
            challenger=beside,
        )
        return self._project.deployments.set_keep(deployment.id, True) if keep else deployment

    def list(self, include_stopped: bool = True) -> list[Deployment]:
        return self._project.deployments.list(include_stopped)

    def get(self, deployment_id: str) -> Deployment:
        return self._project.deployments.get(deployment_id)

    def challenger(self, deployment_id: str) -> ChallengerInfo | None:
        """The challenger beside a deployment's model, or None."""
        return challengers.read(self.folder(self.get(deployment_id)))

    def set_challenger(self, deployment_id: str, config: ChallengerConfig) -> ChallengerInfo:
        """Set (or replace) a running deployment's challenger; its servers follow within a
        second."""
        deployment = self.get(deployment_id)
        champion = self._registry.version(f"{deployment.model}@{deployment.version}")
        version = self._registry.version(config.ref)
        challengers.check(champion, version)
        return challengers.write(self._project, self.folder(deployment), version, config)

    def remove_challenger(self, deployment_id: str) -> None:
        """No challenger beside this deployment any more."""
        challengers.remove(self.folder(self.get(deployment_id)))

    def challenged_by(self, version: ModelVersion) -> list[tuple[Deployment, ChallengerInfo]]:
        """Running deployments where ``version`` is the challenger."""
        found = []
        for deployment in self.list(include_stopped=False):
            if deployment.model != version.model:
                continue
            info = challengers.read(self.folder(deployment))
            if info is not None and info.version == version.version:
                found.append((deployment, info))
        return found

    def kept(self) -> list[Deployment]:
        """The deployments the always-on service keeps up, running or not."""
        return self._project.deployments.kept()

    def states(self, include_stopped: bool = True) -> list[probe.LiveState]:
        """Every deployment with what it is doing now (short probes, one after another)."""
        return [self.state(d) for d in self.list(include_stopped)]

    def state(self, deployment: Deployment, token: str | None = None) -> probe.LiveState:
        """Alive? answering? which version, how many requests and errors (short probes).

        A read: a deployment found stale (its pid names another process) is reported so, with
        the reason in ``note``; it is recorded as stopped when someone undeploys it (or a
        promotion finds it), never by looking."""
        return probe.probe(deployment, token)

    def folder(self, deployment: Deployment) -> Path:
        """Where its logs and prediction log live (refused when the database names a folder
        outside the project's deployments/)."""
        return folder_of(self._project, deployment)

    def undeploy(self, deployment_id: str) -> Deployment:
        """Stop a deployment; a kept one is no longer kept (the service leaves it stopped)."""
        if self.get(deployment_id).keep:
            self._project.deployments.set_keep(deployment_id, False)
        return manager.undeploy(self._project, deployment_id)

    def keep(self, deployment_id: str, keep: bool = True) -> Deployment:
        """Mark a deployment to be kept up by the always-on service (or no longer)."""
        deployment = self.get(deployment_id)
        if keep and deployment.status == "stopped":
            raise ProjectError(
                f"deployment {deployment_id} is stopped",
                where=deployment_id,
                hint="deploy the model again with --keep",
            )
        return self._project.deployments.set_keep(deployment_id, keep)

    def restart(self, deployment_id: str) -> Deployment:
        """Start again the server of a deployment whose process ended (same folder and port)."""
        return manager.restart(self._project, self.get(deployment_id))

    def server_log(self, deployment_id: str, max_bytes: int = LOG_TAIL_BYTES) -> str:
        """The end of the deployment's server.log (its process output when there is no log),
        from a whole line."""
        folder = self.folder(self.get(deployment_id))
        for name in ("server.log", "server.out"):
            path = folder / name
            size = path.stat().st_size if path.is_file() else 0
            if size:
                start = max(0, size - max_bytes)
                with open(path, "rb") as handle:
                    handle.seek(start)
                    text = handle.read().decode("utf-8", "replace")
                return text if start == 0 else text.split("\n", 1)[-1]
        return ""

    def follow_alias(self, version: ModelVersion, alias: str) -> tuple[Swap, ...]:
        """Point the running deployments of ``model@alias`` at ``version`` and wait until each
        says it serves it (``confirmed`` False means it has not, yet: see its server.log)."""
        swapped = manager.follow_alias(self._project, version, alias)
        return tuple(
            Swap(
                deployment_id,
                version.version,
                manager.await_version(self.get(deployment_id), version.version),
            )
            for deployment_id in swapped
        )

    def serve(self, ref: str, **options: Unpack[foreground.ServeOptions]) -> Deployment:
        """Serve ``M@V`` or ``M@ALIAS`` in the foreground until SIGINT/SIGTERM (or ``stop``);
        recorded like any deployment, so a served alias follows promotions too."""
        version = self._registry.version(ref)

        def prepare() -> foreground.Foreground:
            deployment_id, folder = manager.new_folder(self._project, version)
            return foreground.Foreground(
                deployment_id,
                folder,
                folder / "models" / f"v{version.version}",
                version.model,
                version.version,
                alias=parse_model_ref(ref).alias,
                watch=folder / "current.json",
            )

        return foreground.run(self._project, prepare, **options)
