"""The demo project: the bundled penguins data set taken through the whole loop.

:func:`build_demo` is plain Python (no Qt) and idempotent: it imports the data set, trains three
runs (logistic regression, random forest, gradient boosting), registers them as versions 1–3 of
the model ``penguins``, puts ``production`` on the random forest and ``staging`` on the gradient
boosting, and serves ``penguins@production`` locally. Run again on the same folder, it only does
what is missing (a deployment that stopped is started again). The window then starts
:mod:`desktop.traffic` against the deployment, so every page has something live to show.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.entities import Deployment
from core.errors import ProjectError
from core.progress import CancelToken, ProgressFn, no_progress
from core.services import ImportOptions, TrainRequest, Workspace
from desktop.theme import resource

DEMO_NAME = "Penguins demo"
DEMO_DATASET = "penguins"
DEMO_MODEL = "penguins"
DEMO_TARGET = "species"
DEMO_SETTINGS = {"task": "classification", "target": DEMO_TARGET, "primary_metric": "f1"}
DEMO_RUNS = ("logistic_regression", "random_forest", "gradient_boosting")
DEMO_ALIASES = {"production": 2, "staging": 3}  # alias → version (the runs' order)
FOLDER_VARIABLE = "SHIPWAY_DEMO_DIR"
# Alerts in the demo: dataset drift in three 10-second buckets in a row calls for an alert (no
# retraining); "Check triggers now" on the Monitoring page records it. The demo's traffic drifts
# within minutes, so its drift over time is read in 10 s buckets (the default is an hour).
DEMO_TRIGGERS = """
[drift]
bucket_seconds = 10

[triggers]
drift_buckets = 3
retrain = false
"""


@dataclass(frozen=True)
class DemoProject:
    folder: Path
    deployment: Deployment | None


def demo_folder() -> Path:
    """``$SHIPWAY_DEMO_DIR``, else ``demo`` in the user's application data folder."""
    chosen = os.environ.get(FOLDER_VARIABLE)
    if chosen:
        return Path(chosen).expanduser()
    from PySide6.QtCore import QStandardPaths

    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    root = Path(base) if base else Path(tempfile.gettempdir()) / "shipway"
    return root / "demo"


def demo_data() -> Path:
    return resource("demo", "penguins.csv")


def open_demo(
    folder: Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    source: Path | None = None,
    deploy: bool = True,
) -> tuple[Workspace, DemoProject]:
    """Create or reopen the demo in ``folder``, complete it, and hand back the open workspace."""
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
        progress(0.02, "creating the project")
        workspace = Workspace.create(folder, name=DEMO_NAME)
        with open(folder / "shipway.toml", "a", encoding="utf-8") as settings:
            settings.write(DEMO_TRIGGERS)
    try:
        deployment = build_demo(workspace, progress, cancel or CancelToken(), source, deploy)
    except BaseException:
        workspace.close()
        raise
    return workspace, DemoProject(folder, deployment)


def prepare_demo(
    folder: Path,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    source: Path | None = None,
    deploy: bool = True,
) -> Path:
    """:func:`open_demo`, closing the workspace again (scripts and the screenshots use it)."""
    workspace, _ = open_demo(folder, progress, cancel, source, deploy)
    workspace.close()
    return folder


def build_demo(
    workspace: Workspace,
    progress: ProgressFn,
    cancel: CancelToken,
    source: Path,
    deploy: bool = True,
) -> Deployment | None:
    """Do what the demo still misses; returns the running deployment (None without deploy)."""
    if not any(d.name == DEMO_DATASET for d in workspace.data.datasets()):
        progress(0.05, "importing the penguins")
        workspace.data.import_file(source, ImportOptions(name=DEMO_DATASET), cancel=cancel)
        workspace.project.save_settings(
            project=DEMO_SETTINGS
        )  # also reads the [triggers] added above
    runs = _train_runs(workspace, progress, cancel)
    _register(workspace, runs, progress, cancel)
    if not deploy:
        progress(1.0, "ready")
        return None
    deployment = _running_deployment(workspace)
    if deployment is None:
        progress(0.9, "starting the REST service of penguins@production")
        deployment = workspace.deployments.deploy(f"{DEMO_MODEL}@production")
    progress(1.0, "ready")
    return deployment


def _train_runs(workspace: Workspace, progress: ProgressFn, cancel: CancelToken) -> list[int]:
    done: dict[str, int] = {}  # the demo's own run of each estimator: the first one done
    for run in sorted(workspace.runs.list(), key=lambda r: r.id):
        if run.status == "done" and run.kind == "train":
            done.setdefault(run.estimator, run.id)
    ids = []
    for number, estimator in enumerate(DEMO_RUNS):
        if estimator not in done:
            start, label = 0.1 + 0.2 * number, f"run {number + 1} of 3, {estimator}"
            progress(start, label)
            request = TrainRequest(data=DEMO_DATASET, target=DEMO_TARGET, estimator=estimator)
            handle = workspace.runs.train(request)
            run = handle.result(_stage(progress, start, start + 0.2, label), cancel)
            done[estimator] = run.id
        ids.append(done[estimator])
    return ids


def _register(workspace: Workspace, runs: list[int], progress, cancel: CancelToken) -> None:
    versions = _versions(workspace)
    registered = {v.run_id for v in versions}
    for run_id in runs if len(versions) < len(DEMO_RUNS) else []:
        if run_id not in registered:
            progress(0.72, f"registering run #{run_id}")
            workspace.lifecycle.register(run_id, DEMO_MODEL, "The demo's penguin species model")
    holders = next((m.aliases for m in workspace.registry.models() if m.name == DEMO_MODEL), {})
    for alias, number in DEMO_ALIASES.items():
        if alias not in holders:
            progress(0.8, f"promoting penguins@{number} to {alias} (its gates run first)")
            workspace.lifecycle.promote(f"{DEMO_MODEL}@{number}", alias, cancel=cancel)


def _versions(workspace: Workspace):
    if not any(m.name == DEMO_MODEL for m in workspace.registry.models()):
        return []
    return workspace.registry.versions(DEMO_MODEL)


def _running_deployment(workspace: Workspace) -> Deployment | None:
    for deployment in workspace.deployments.list(include_stopped=False):
        ours = deployment.model == DEMO_MODEL and deployment.alias == "production"
        if ours and workspace.deployments.state(deployment).state == "running":
            return deployment
    return None


def _stage(progress: ProgressFn, start: float, end: float, label: str) -> ProgressFn:
    def scaled(fraction: float | None, message: str) -> None:
        share = None if fraction is None else start + (end - start) * fraction
        progress(share, f"{label}: {message}")

    return scaled
