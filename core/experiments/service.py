"""The experiments floor's service: training, searching, reproducing and comparing runs.

Reached as ``workspace.runs``. Runs execute on an executor (local worker processes, or a Dask
cluster) that this service creates on first use and shuts down on :meth:`RunsService.close`.
:meth:`~RunsService.train` and :meth:`~RunsService.search` return a
:class:`~core.experiments.handles.TrainingRun` as soon as the run is recorded, so a caller
knows the run's id while it trains. scikit-learn is imported only when a method needs it.

:meth:`~RunsService.ranked` is the ranking of a parent run's children as frozen
:class:`RankedRun` records (the desktop's ranking view reads it); :meth:`~RunsService.ranking`
is the same as plain dicts, for the CLI's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.entities import DatasetVersion, Run
from core.errors import UsageError
from core.experiments.compare import Reproduction, RunComparison
from core.experiments.executors import DaskExecutor, Executor, LocalExecutor
from core.experiments.handles import TrainingRun
from core.experiments.spec import RunSpec, TrainRequest
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project


@dataclass(frozen=True)
class RankedRun:
    """One child of a parent run, in ranking order (see :meth:`RunsService.ranked`).

    ``value`` is the primary metric ``metric`` on the test rows; ``cv_mean`` and ``cv_std`` are
    its cross-validation summary when the run had folds. None where there is no value (a failed
    or cancelled child, or a metric that could not be computed)."""

    rank: int
    run_id: int
    estimator: str
    status: str
    metric: str
    value: float | None
    cv_mean: float | None
    cv_std: float | None
    fit_s: float | None
    predict_p50_ms: float | None
    predict_p95_ms: float | None
    is_best: bool
    error: str | None


class RunsService:
    """The runs of one project, and the executor they run on."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self._executor: Executor | None = None

    # -- the executor ---------------------------------------------------------------------------

    def executor_kind(self) -> str:
        """``local`` or ``dask``, as shipway.toml's [executor] says."""
        return self._project.settings.executor.kind

    def use_executor(self, executor: Executor) -> None:
        """Run on an executor made (and perhaps warmed) by the caller; close() shuts it down."""
        self.close()
        self._executor = executor

    def executor(self, kind: str | None = None, address: str | None = None) -> Executor:
        """The executor runs go to (created on first use, shut down by close())."""
        if self._executor is not None and kind is None and address is None:
            return self._executor
        settings = self._project.settings.executor
        kind = kind or settings.kind
        if kind == "dask":
            made: Executor = DaskExecutor(address or settings.address)
        elif kind == "local":
            made = LocalExecutor(workers=settings.workers)
        else:
            raise UsageError(f"unknown executor {kind!r}", hint="use local or dask")
        self.close()
        self._executor = made
        return made

    def close(self) -> None:
        """Shut the executor down (its worker processes end)."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    # -- starting runs --------------------------------------------------------------------------

    def prepare(self, request: TrainRequest) -> tuple[RunSpec, DatasetVersion]:
        """Validate a request against the data; raises InvalidInput naming the problem."""
        from core.experiments import runs

        return runs.build_spec(self._project, request)

    def train(self, request: TrainRequest) -> TrainingRun:
        """Record a run of ``request`` and start it; wait with ``.result(progress, cancel)``.

        ``estimator="all"`` runs every catalog estimator that fits the task as children of one
        parent run (see :meth:`ranking`)."""
        from core.experiments import runs

        spec, version = self.prepare(request)
        if spec.estimator == runs.ALL_ESTIMATORS:
            return runs.start_all(self._project, spec, version, self.executor())
        return runs.start_train(self._project, spec, version, self.executor())

    def search(self, request: TrainRequest, method: str, trials: int) -> TrainingRun:
        """Record a grid or random search of ``trials`` trials and start it."""
        from core.experiments import runs

        spec, version = self.prepare(request)
        return runs.start_search(self._project, spec, version, self.executor(), method, trials)

    def reproduce(
        self, run_id: int, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
    ) -> Reproduction:
        from core.experiments.compare import reproduce

        return reproduce(self._project, run_id, self.executor(), progress, cancel)

    # -- reading runs ---------------------------------------------------------------------------

    def list(
        self, sort: str | None = None, parent: int | None = None, all_runs: bool = False
    ) -> list[Run]:
        from core.experiments.compare import sort_runs

        found = self._project.runs.list(parent_id=parent, include_children=all_runs)
        return sort_runs(found, sort)

    def get(self, run_id: int) -> Run:
        return self._project.runs.get(run_id)

    def ranking(self, parent_id: int) -> list[dict[str, Any]]:
        """The children of a search or a ``--model all`` run, best first on the primary metric,
        each with its fit time and single-row predict latency."""
        from core.experiments.ranking import rank

        parent = self.get(parent_id)
        children = self._project.runs.list(parent_id=parent_id, include_children=True)
        return rank(children, self.primary_metric(parent.task))

    def ranked(self, parent_id: int) -> tuple[RankedRun, ...]:
        """:meth:`ranking` as frozen records, each with its cross-validation mean and std."""
        from core.experiments.ranking import rank

        parent = self.get(parent_id)
        children = self._project.runs.list(parent_id=parent_id, include_children=True)
        if (parent.spec or {}).get("cv_folds"):  # a listed run leaves its folds out: read them
            children = [self.get(child.id) for child in children]
        by_id = {child.id: child for child in children}
        rows = rank(children, self.primary_metric(parent.task))
        return tuple(_ranked(row, by_id[row["run"]]) for row in rows)

    def verify_model(self, run: Run) -> str | None:
        """None when the run's model blob is intact, else what is wrong with it."""
        if run.model_sha256 is None:
            return "this run has no model"
        return self._project.blobs.verify(run.model_sha256)

    def compare(self, run_ids: list[int]) -> RunComparison:
        from core.experiments.compare import compare_runs

        return compare_runs(self._project, run_ids)

    def primary_metric(self, task: str) -> str:
        from core.experiments.runs import primary_metric

        return primary_metric(self._project, task)

    def export(self, target: Path | str, sort: str | None = None) -> Path:
        from core.experiments.export import export_runs_csv

        return export_runs_csv(self.list(sort=sort, all_runs=True), Path(target))

    @staticmethod
    def catalog(task: str | None = None) -> tuple[Any, ...]:
        """Every estimator (or those for ``task``) as frozen ``EstimatorSpec`` records."""
        from core.experiments.catalog import estimators

        return estimators(task)

    @staticmethod
    def threshold_rule(text: str, where: str = "--threshold") -> dict[str, float] | None:
        """A decision threshold rule from text (``min_precision=0.9``, ``cost_fp=1,cost_fn=5``);
        None for empty text. InvalidInput says what is wrong, ``where`` and the accepted forms."""
        from core.experiments.thresholds import parse_rule

        return parse_rule(text, where)

    @staticmethod
    def suggest_task(column_type: str, stats: dict[str, Any]) -> str:
        """The task a target column suggests (the rule training uses when no task is given)."""
        from core.experiments.validation import infer_task

        return infer_task(column_type, stats)


def _ranked(row: dict[str, Any], run: Run) -> RankedRun:
    from core import metrics

    summary = ((run.cv or {}).get("summary") or {}).get(row["metric"]) or {}
    return RankedRun(
        rank=row["rank"],
        run_id=row["run"],
        estimator=row["estimator"],
        status=row["status"],
        metric=row["metric"],
        value=row["value"],
        cv_mean=metrics.finite(summary.get("mean")),
        cv_std=metrics.finite(summary.get("std")),
        fit_s=row["fit_s"],
        predict_p50_ms=row["predict_p50_ms"],
        predict_p95_ms=row["predict_p95_ms"],
        is_best=bool(row["is_best"]),
        error=row["error"],
    )
