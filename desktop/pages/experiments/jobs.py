"""Runs this window started: each known by its run id from the moment it is recorded.

Starting a run is two steps. ``ws.runs.train(request)`` (or ``ws.runs.search``) records the run,
hands it to the engine's worker processes and returns a ``TrainingRun`` handle at once; it runs
as a quick background read, never on the GUI thread (it reads the data version to check the
request). The handle's ``run_id`` names the run's row. Then a visible task waits for the run,
``handle.result(progress, cancel)``: its progress is painted into that row, and its Cancel
cancels the run (the worker is killed). Nothing is guessed from the runs table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.services import TrainRequest, Workspace
from desktop.tasks import Task


@dataclass(frozen=True)
class RunJob:
    """A run this window started: its id and the task that waits for it."""

    run_id: int
    kind: str  # "train" or "search"
    task: Task


def start_training(
    workspace: Workspace, request: TrainRequest, search: tuple[str, int] | None
) -> Any:
    """Record and start the run (a search when ``search`` is (method, trials)); the handle."""
    if search:
        method, trials = search
        return workspace.runs.search(request, method, trials)
    return workspace.runs.train(request)


def title_of(request: TrainRequest, search: tuple[str, int] | None) -> str:
    return f"{'Searching' if search else 'Training'} {request.estimator} on {request.data}"
