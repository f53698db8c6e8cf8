"""Listing, comparing and reproducing recorded runs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from core import metrics
from core.entities import Run
from core.errors import CorruptObject, InvalidInput
from core.experiments.executors import Executor
from core.experiments.runs import primary_metric, start_train
from core.experiments.spec import RunSpec
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project

SPEC_FIELDS = (
    "dataset",
    "dataset_version",
    "target",
    "task",
    "estimator",
    "features",
    "preprocessing",
    "split",
    "cv_folds",
    "seed",
)


def sort_runs(runs: list[Run], metric: str | None) -> list[Run]:
    """Best first on ``metric`` (respecting its direction); runs without it last."""
    if not metric:
        return list(runs)
    known = set(metrics.CLASSIFICATION_METRICS) | set(metrics.REGRESSION_METRICS)
    if metric not in known:
        raise InvalidInput(
            f"unknown metric {metric!r}", hint=f"use one of {', '.join(sorted(known))}"
        )
    sign = -1.0 if metrics.GREATER_IS_BETTER[metric] else 1.0

    def key(run: Run) -> tuple[int, float]:
        value = run.metrics.get(metric)
        return (1, 0.0) if value is None else (0, sign * value)

    return sorted(runs, key=key)


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side: each run's summary and costs, every metric, what differs, the best.

    ``metrics`` and ``cv`` map a metric to ``{run id (text): value}``; ``differences`` maps a
    spec field or ``param.NAME`` whose values differ to ``{run id: value}``.
    """

    runs: tuple[dict[str, Any], ...]
    metrics: dict[str, dict[str, float | None]]
    cv: dict[str, dict[str, Any]]
    differences: dict[str, dict[str, Any]]
    primary_metric: str
    best: int | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "runs": list(self.runs)}


@dataclass(frozen=True)
class Reproduction:
    """A run trained again from its spec: are its metrics identical to the original's?"""

    run: int
    of: int
    status: str
    identical: bool
    differences: tuple[dict[str, Any], ...]
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "differences": list(self.differences)}


def compare_runs(project: Project, run_ids: list[int]) -> RunComparison:
    if len(run_ids) < 2:
        raise InvalidInput("compare needs at least two runs", hint="e.g. shipway runs compare 3 4")
    runs = [project.runs.get(run_id) for run_id in run_ids]
    tasks = {run.task for run in runs}
    if len(tasks) > 1:
        raise InvalidInput("these runs solve different tasks", hint="compare runs of one task")
    task = tasks.pop()
    metric = primary_metric(project, task)
    names = (
        metrics.CLASSIFICATION_METRICS if task == "classification" else metrics.REGRESSION_METRICS
    )
    best = None
    for run in runs:
        if run.status == "done" and (
            best is None
            or metrics.is_better(metric, run.metrics.get(metric), best.metrics.get(metric))
        ):
            best = run
    return RunComparison(
        runs=tuple(run.summary() | _costs(run) for run in runs),
        metrics={name: {str(run.id): run.metrics.get(name) for run in runs} for name in names},
        cv={str(run.id): run.cv.get("summary", {}) for run in runs},
        differences=_differences(runs),
        primary_metric=metric,
        best=best.id if best else None,
    )


def _costs(run: Run) -> dict[str, Any]:
    return {
        "fit_s": run.timings.get("fit"),
        "predict_p50_ms": run.timings.get("predict_p50_ms"),
        "predict_p95_ms": run.timings.get("predict_p95_ms"),
        "model_size": run.model_size,
    }


def _differences(runs: list[Run]) -> dict[str, dict[str, Any]]:
    """Spec fields and estimator parameters whose values are not the same in every run."""
    rows: dict[str, dict[str, Any]] = {}
    for name in SPEC_FIELDS:
        values = {str(run.id): run.spec.get(name) for run in runs}
        if len({repr(v) for v in values.values()}) > 1:
            rows[name] = values
    keys = sorted({key for run in runs for key in run.params})
    for key in keys:
        values = {str(run.id): run.params.get(key) for run in runs}
        if len({repr(v) for v in values.values()}) > 1:
            rows[f"param.{key}"] = values
    return rows


def reproduce(
    project: Project,
    run_id: int,
    executor: Executor,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> Reproduction:
    """Re-run a finished run's spec on the same data version; are the metrics identical?"""
    original = project.runs.get(run_id)
    if original.kind != "train" or original.status != "done":
        raise InvalidInput(
            f"run {run_id} is a {original.status} {original.kind} run; only finished training "
            "runs can be reproduced",
            hint="choose a run with status done (a search's trials are training runs)",
        )
    spec = RunSpec.from_dict(original.spec)
    version = project.repo.get_version(spec.dataset, spec.dataset_version)
    if version.sha256 != original.dataset_sha256:
        raise CorruptObject(
            f"{version.ref} no longer has the content run {run_id} was trained on",
            where=version.ref,
            hint="restore the project from a backup",
        )
    threads = original.environment.get("threads")  # same thread count, same last digits
    started = start_train(project, spec, version, executor, reproduces_id=run_id, threads=threads)
    again = started.result(progress, cancel)
    differences = tuple(
        {
            "metric": name,
            "original": original.metrics.get(name),
            "reproduced": again.metrics.get(name),
        }
        for name in sorted(set(original.metrics) | set(again.metrics))
        if original.metrics.get(name) != again.metrics.get(name)
    )
    return Reproduction(
        run=again.id,
        of=run_id,
        status=again.status,
        identical=again.status == "done" and not differences,
        differences=differences,
        error=again.error,
    )
