"""The demo project: the bundled penguins data set, imported into a project of its own.

:func:`prepare_demo` is plain Python (no Qt) and idempotent: it creates the project the first
time, and later only checks that it is still there. Extend it here to ship more (sample runs, a
registered model) without touching the window.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from core.errors import ProjectError
from core.progress import CancelToken, ProgressFn, no_progress
from core.services import ImportOptions, Workspace
from desktop.theme import resource

DEMO_NAME = "Penguins demo"
DEMO_DATASET = "penguins"
DEMO_SETTINGS = {"task": "classification", "target": "species", "primary_metric": "f1"}


def demo_folder() -> Path:
    """Where the demo lives: the user's application data folder, else the temp folder."""
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    root = Path(base) if base else Path(tempfile.gettempdir()) / "shipway"
    return root / "demo-penguins"


def demo_data() -> Path:
    return resource("demo", "penguins.csv")


def prepare_demo(
    folder: Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    source: Path | None = None,
) -> Path:
    """Create (or find) the demo project in ``folder`` and return its path.

    ``source`` replaces the bundled CSV (the screenshots import a copy of it).
    """
    cancel = cancel or CancelToken()
    source = source or demo_data()
    if not source.is_file():
        raise ProjectError(
            "the bundled demo data set is missing",
            where=str(source),
            hint="reinstall Shipway, or open a project of your own",
        )
    if (folder / "shipway.toml").is_file():
        workspace = Workspace.open(folder)
    else:
        progress(0.1, "creating the project")
        workspace = Workspace.create(folder, name=DEMO_NAME)
    with workspace:
        if not any(d.name == DEMO_DATASET for d in workspace.datasets()):
            workspace.import_file(source, ImportOptions(name=DEMO_DATASET), progress, cancel)
            workspace.save_settings(project=DEMO_SETTINGS)
    progress(1.0, "ready")
    return folder
