"""What Finish does: create the project, write its settings, import the first data set.

Plain Python (no Qt), run as a background task. It may be run again after a failed import: an
existing project in the folder (the one the first attempt made) is opened instead of created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.progress import CancelToken, ProgressFn, Stage, no_progress
from core.services import ImportOptions, Workspace


@dataclass(frozen=True)
class ProjectPlan:
    folder: Path
    name: str
    data: Path
    options: ImportOptions
    task: str
    target: str
    primary_metric: str
    gates: dict[str, Any] = field(default_factory=dict)  # the [gates.production] table
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # [drift], [triggers]


def create_project(
    plan: ProjectPlan, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
) -> Path:
    """Carry out ``plan``; returns the project folder."""
    cancel = cancel or CancelToken()
    progress(0.0, "creating the project")
    if (plan.folder / "shipway.toml").is_file():
        workspace = Workspace.open(plan.folder)
    else:
        workspace = Workspace.create(plan.folder, name=plan.name)
    with workspace:
        workspace.project.save_settings(
            project={
                "task": plan.task,
                "target": plan.target,
                "primary_metric": plan.primary_metric,
            },
            gates={"production": plan.gates},
            tables=plan.tables or None,
        )
        cancel.raise_if_cancelled()
        stage = Stage(progress, 0.05, 1.0, "importing")
        workspace.data.import_file(plan.data, plan.options, stage, cancel)
    progress(1.0, "done")
    return plan.folder
