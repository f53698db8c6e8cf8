"""A deployment's folder, as the shared database records it, checked before use.

The deployments table holds each deployment's folder relative to the project
(``deployments/ID``). Everyone who opens the project can write that table, so the recorded
path is resolved (symbolic links followed) and must lie inside the project's ``deployments/``
folder before anything reads from, writes to or deletes in it; a path outside (absolute, with
``..``, or through a link that leaves) is refused with a :class:`ProjectError`, and nothing is
touched there.
"""

from __future__ import annotations

from pathlib import Path

from core.entities import Deployment
from core.errors import ProjectError
from core.project import DEPLOYMENTS_DIR, Project


def folder_of(project: Project, deployment: Deployment) -> Path:
    """The deployment's folder, resolved; refused when it is not inside deployments/."""
    inside = (project.root / DEPLOYMENTS_DIR).resolve()
    folder = (project.root / deployment.folder).resolve()
    if folder == inside or not folder.is_relative_to(inside):
        raise ProjectError(
            f"deployment {deployment.id}'s folder {deployment.folder!r} resolves to {folder}, "
            f"outside the project's {DEPLOYMENTS_DIR}/ folder: the project's database holds a "
            "path outside the project",
            where=f"deployment {deployment.id}",
            hint=f"only a folder inside {inside} is used; the database may have been edited "
            "by hand or damaged: ask whoever shares the project, and undeploy it",
        )
    return folder
