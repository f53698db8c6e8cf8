"""One click Deploy, from the Models page or the Deployments page.

``ws.deployments.deploy`` starts a waitress process and returns once /health answers (seconds),
so it runs as a visible background job. A deployment started here is remembered in
``context.started_deployments``: when the project closes, the window asks whether these keep
running (see :mod:`desktop.session`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

from core.entities import Deployment
from core.services import Workspace
from desktop.context import AppContext
from desktop.tasks import Task


def start_deployment(
    context: AppContext,
    workspace: Workspace,
    ref: str,
    owner: QWidget,
    on_done: Callable[[Deployment], None] | None = None,
) -> Task:
    """Deploy ``ref`` (``M@V`` or ``M@ALIAS``) in the background, then show it."""

    def deployed(deployment: Deployment) -> None:
        context.started_deployments.add(deployment.id)
        context.events.status.emit(
            f"{deployment.target} is served at {deployment.url} (deployment {deployment.id})"
        )
        context.events.deployments_changed.emit()
        context.events.deployment_requested.emit(deployment.id)
        if on_done is not None:
            on_done(deployment)

    return context.runner.submit(
        f"Deploying {ref}",
        lambda _progress, _cancel: workspace.deployments.deploy(ref),
        on_success=deployed,
        owner=owner,
    )


def deploy_choices(model: str, version: int, aliases: tuple[str, ...]) -> list[tuple[str, str]]:
    """What a version can be deployed as: each alias it holds (the deployment follows the
    alias when it moves), then the version itself. (ref, label) pairs, the default first."""
    ranked = sorted(aliases, key=lambda a: (a != "production", a != "staging", a))
    choices = [
        (f"{model}@{alias}", f"Deploy {model}@{alias} (follows the alias)") for alias in ranked
    ]
    choices.append((f"{model}@{version}", f"Deploy {model}@{version} (this version only)"))
    return choices
