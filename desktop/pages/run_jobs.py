"""Runs this window started, and finding their rows in the runs table.

The engine records a run before it starts, but the caller learns its id only when it ends. A
job therefore claims the first unfinished run of its kind, estimator and data that appeared
after it was started; until then its progress shows in the status bar only.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.entities import Run
from desktop.tasks import Task


@dataclass
class RunJob:
    """A run this window started: its task, and its run's id once the table shows it."""

    task: Task
    kind: str
    estimator: str
    data: str
    after_id: int  # the highest run id in the table when the job started
    run_id: int | None = None


def claim_runs(jobs: list[RunJob], runs: list[Run]) -> None:
    claimed = {job.run_id for job in jobs if job.run_id is not None}
    for job in sorted(jobs, key=lambda j: j.task.id):
        if job.run_id is not None or not job.task.running:
            continue
        for run in runs:
            if (
                run.id > job.after_id
                and run.id not in claimed
                and not run.finished
                and run.kind == job.kind
                and run.estimator == job.estimator
                and f"{run.dataset}@{run.dataset_version}" == job.data
            ):
                job.run_id = run.id
                claimed.add(run.id)
                break
