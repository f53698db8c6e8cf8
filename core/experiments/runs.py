"""Starting, recording, searching, reproducing and comparing runs (the calling process's side).

A run is validated against the data's schema and profile before anything is recorded; then it
is recorded QUEUED, RUNNING when its worker starts, and DONE, FAILED (with the error and
traceback) or CANCELLED when it ends. Searches record a parent run whose children are the trials;
the best child (on the project's primary metric) is marked.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core import metrics
from core.data.versions import resolve
from core.entities import DatasetVersion, Run
from core.errors import Cancelled, InvalidInput
from core.experiments import bayes, catalog, thresholds
from core.experiments.executors import Executor, RunHandle, wait_any
from core.experiments.handles import ProgressBox, TrainingRun, waiter
from core.experiments.jobs import RunJob, RunResult
from core.experiments.spec import Preprocessing, RunSpec, Split, TrainRequest
from core.experiments.timesplit import check_time_options, random_split_notes
from core.experiments.validation import check_spec, default_features, infer_task, left_out_notes
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project


def build_spec(project: Project, request: TrainRequest) -> tuple[RunSpec, DatasetVersion]:
    version = resolve(project, request.data)
    if request.target not in version.schema:
        check_spec(_draft(request, version, "classification", ()), version)  # raises, names it
    task = request.task or infer_task(
        version.schema[request.target], version.profile.get(request.target, {})
    )
    params: dict = {}
    if request.estimator == ALL_ESTIMATORS:
        if request.params:
            raise InvalidInput(
                "--param cannot go with --model all: each estimator has its own parameters",
                where="estimator all",
                hint="leave out --param, or train one estimator with its parameters",
            )
    else:
        estimator = catalog.get_estimator(request.estimator, task)
        params = catalog.parse_params(estimator, request.params)
    features = (
        tuple(request.features) if request.features else default_features(version, request.target)
    )
    spec = replace(_draft(request, version, task, features), params=params)
    check_spec(spec, version)
    spec = _with_threshold(project, request, spec, version)
    check_time_options(spec, version, str(project.blobs.path_of(version.sha256)))
    return spec, version


#: ``--model all``: every catalog estimator that fits the task, as child runs of one parent.
ALL_ESTIMATORS = "all"


def run_notes(version: DatasetVersion, spec: RunSpec) -> list[str]:
    """What the run's notes say before it runs: left-out columns, a random split on dates."""
    return [*random_split_notes(spec, version), *left_out_notes(version, spec)]


def _with_threshold(
    project: Project, request: TrainRequest, spec: RunSpec, version: DatasetVersion
) -> RunSpec:
    """The spec with its threshold rule: the request's (refused for a task that has no
    threshold), else shipway.toml's [evaluation] threshold where the task is binary."""
    from core.settings_rules import settings_text

    if request.threshold:
        spec = replace(spec, threshold=thresholds.parse_rule(request.threshold))
        thresholds.check_task(spec, version)
        return spec
    rule = thresholds.settings_rule(project.settings.raw, settings_text(project.root))
    if rule is None or not thresholds.is_binary(spec, version):
        return spec
    return replace(spec, threshold=rule)


def _draft(request: TrainRequest, version: DatasetVersion, task: str, features: tuple) -> RunSpec:
    return RunSpec(
        dataset=version.dataset,
        dataset_version=version.version,
        target=request.target,
        features=features,
        task=task,
        estimator=request.estimator,
        preprocessing=Preprocessing(infinite="missing" if request.inf_as_missing else "error"),
        split=Split(
            kind=request.split,
            test_size=request.test_size,
            stratify=request.split != "time",
            time_column=request.time_column or None,
        ),
        cv_folds=request.cv_folds,
        seed=request.seed,
        backtest=request.backtest,
    )


def primary_metric(project: Project, task: str) -> str:
    chosen = project.settings.primary_metric
    allowed = (
        metrics.CLASSIFICATION_METRICS if task == "classification" else metrics.REGRESSION_METRICS
    )
    return chosen if chosen in allowed else metrics.DEFAULT_PRIMARY[task]


# -- one run -------------------------------------------------------------------------------


def _job(
    project: Project,
    run_id: int,
    spec: RunSpec,
    version: DatasetVersion,
    executor: Executor,
    threads: int | None = None,
) -> RunJob:
    return RunJob(
        run_id=run_id,
        spec=spec,
        schema=dict(version.schema),
        data_path=str(project.blobs.path_of(version.sha256)),
        data_sha256=version.sha256,
        objects_root=str(project.blobs.root) if executor.stores_models else None,
        threads=threads,
    )


def _marking_running(project: Project, run_id: int, progress: ProgressFn) -> ProgressFn:
    """``progress`` that first marks the run RUNNING (its worker's first message)."""
    started = [False]

    def forward(fraction: float | None, message: str) -> None:
        if not started[0]:
            started[0] = True
            project.runs.mark_running(run_id)
        progress(fraction, message)

    return forward


def _submit(
    project: Project, run_id: int, job: RunJob, executor: Executor, progress: ProgressFn
) -> RunHandle:
    return executor.submit(job, _marking_running(project, run_id, progress))


#: What a finished run records of its outcome as the worker measured it (same names).
_RECORDED_AS_IS = (
    "metrics",
    "validation_metrics",
    "cv",
    "curves",
    "importance",
    "io_schema",
    "params",
    "environment",
    "timings",
)


def _record(
    project: Project,
    run_id: int,
    outcome: RunResult | BaseException,
    notes: list[str] | None = None,
) -> Run:
    runs = project.runs
    if isinstance(outcome, Cancelled):
        runs.finish(run_id, "cancelled", error="cancelled by the user")
    elif isinstance(outcome, BaseException):
        runs.finish(run_id, "failed", error=f"{type(outcome).__name__}: {outcome}")
    elif not outcome.ok:
        runs.finish(
            run_id,
            "failed",
            error=outcome.error,
            traceback=outcome.traceback,
            log="\n".join(outcome.log),
        )
    else:
        sha, size = outcome.model_sha256, outcome.model_size
        if outcome.model_bytes is not None:
            blob = project.blobs.put_bytes(outcome.model_bytes, ".joblib")
            sha, size = blob.sha256, blob.size_bytes
        runs.finish(
            run_id,
            "done",
            **{name: getattr(outcome, name) for name in _RECORDED_AS_IS},
            notes=[*(notes or []), *outcome.notes],
            model_sha256=sha,
            model_size=size,
            log="\n".join(outcome.log),
        )
    return runs.get(run_id)


def _record_run(
    project: Project,
    spec: dict[str, Any],
    version: DatasetVersion,
    executor: Executor,
    **more: Any,
) -> int:
    """Record a queued run of ``spec`` on ``version`` (``more``: kind, parent, reproduced run)."""
    return project.runs.create(
        spec=spec,
        dataset_version_id=version.id,
        dataset_sha256=version.sha256,
        executor=executor.name,
        **more,
    )


def start_train(
    project: Project,
    spec: RunSpec,
    version: DatasetVersion,
    executor: Executor,
    *,
    parent_id: int | None = None,
    reproduces_id: int | None = None,
    threads: int | None = None,
) -> TrainingRun:
    """Record a run, hand it to ``executor`` and return at once (see :mod:`.handles`).

    ``threads`` fixes the native thread limit (a reproduction uses the original's, since a
    different count can change the last digits of some metrics); None lets the executor give
    the run its share of the cores.
    """
    run_id = _record_run(
        project, spec.to_dict(), version, executor, parent_id=parent_id, reproduces_id=reproduces_id
    )
    box = ProgressBox()
    job = _job(project, run_id, spec, version, executor, threads)
    handle = _submit(project, run_id, job, executor, box)
    notes = run_notes(version, spec)
    future = waiter(lambda: _finish(project, run_id, handle, notes), f"run-{run_id}-waiter")
    return TrainingRun(run_id, "train", future, box, handle.cancel)


def _finish(project: Project, run_id: int, handle: RunHandle, notes: list[str]) -> Run:
    """Wait for the executor's outcome and record it; a cancellation is recorded, then raised."""
    try:
        outcome: RunResult | BaseException = handle.result()
    except BaseException as exc:  # cancelled (its worker killed), or the executor shut down
        outcome = exc if isinstance(exc, Cancelled) else Cancelled("interrupted")
        _record(project, run_id, outcome)
        raise outcome from None
    return _record(project, run_id, outcome, notes)


# -- search ------------------------------------------------------------------------------


def start_search(
    project: Project,
    spec: RunSpec,
    version: DatasetVersion,
    executor: Executor,
    method: str,
    trials: int,
) -> TrainingRun:
    """Grid or random search as trial runs under a parent run; the best trial is marked.

    The parent run is recorded before this returns; the trials run in the background.
    """
    if method not in ("grid", "random", "bayes") or trials < 1:
        raise InvalidInput(
            f"search {method!r} × {trials} is not usable",
            hint="use --search grid|random|bayes --trials K (K ≥ 1)",
        )
    if method == "bayes":
        return start_bayes(project, spec, version, executor, trials)
    estimator = catalog.get_estimator(spec.estimator, spec.task)
    candidates = (
        catalog.grid_candidates(estimator, spec.params, trials)
        if method == "grid"
        else catalog.random_candidates(estimator, spec.params, trials, spec.seed)
    )
    search = {"method": method, "trials": len(candidates)}
    return _start_children(project, spec, version, executor, candidates, search)


def start_all(
    project: Project, spec: RunSpec, version: DatasetVersion, executor: Executor
) -> TrainingRun:
    """Every catalog estimator that fits the task, with the same split, CV and seed, as child
    runs of one parent (kind ``search``, method ``all``) ranked on the primary metric."""
    specs = [replace(spec, estimator=e.key, params={}) for e in catalog.estimators(spec.task)]
    search = {
        "method": ALL_ESTIMATORS,
        "trials": len(specs),
        "estimators": [s.estimator for s in specs],
    }
    return _start_children(project, spec, version, executor, specs, search)


def start_bayes(
    project: Project, spec: RunSpec, version: DatasetVersion, executor: Executor, trials: int
) -> TrainingRun:
    """A Bayesian search (:mod:`core.experiments.bayes`): its study resumes where a search
    with the same spec stopped; ``trials`` counts the trials finished before."""
    metric = primary_metric(project, spec.task)
    study, before = bayes.open_study(project.root, spec, metric)
    if before >= trials:
        raise InvalidInput(
            f"the study of this search already has {before} finished trials",
            where=f"study {study.study_name}",
            hint=f"ask for more than {before} --trials to go on with it",
        )
    search = {"method": "bayes", "trials": trials, "study": study.study_name, "resumed": before}
    parallel = max(1, project.settings.executor.workers)

    def run_children(parent: int, progress: ProgressFn, cancel: CancelToken) -> list[Run]:
        children: list[Run] = []
        while len(children) < trials - before and not cancel.cancelled:
            count = min(parallel, trials - before - len(children))
            asked, specs = _ask(study, spec, count)
            prunes = [bayes.prune_target(project.root, study, t, metric) for t in asked]
            ran = _run_trials(
                project, spec, version, executor, specs, parent, progress, cancel, prunes
            )
            for trial, run in zip(asked, ran, strict=True):
                bayes.tell(study, trial, run, metric)
            children += ran
        return children

    return _start_children(project, spec, version, executor, [], search, run_children)


def _ask(study, spec: RunSpec, count: int) -> tuple[list, list[RunSpec]]:
    """``count`` trials of ``study`` and their specs; combinations scikit-learn would refuse
    are told failed and asked again."""
    estimator = catalog.get_estimator(spec.estimator, spec.task)
    asked, specs = [], []
    for _ in range(count * 20):
        trial = study.ask()
        params = bayes.suggest(trial, estimator, spec.params)
        if catalog.incompatibility(estimator, params) is not None:
            bayes.tell_failed(study, trial)
            continue
        asked.append(trial)
        specs.append(spec.with_params(params))
        if len(asked) == count:
            break
    return asked, specs


def _start_children(
    project, spec, version, executor, candidates, search, run_children=None
) -> TrainingRun:
    """Record the parent run, then run ``candidates`` as its children in the background
    (or ``run_children(parent, progress, cancel)``, which returns the children it ran)."""
    parent = _record_run(
        project, spec.to_dict() | {"search": search}, version, executor, kind="search"
    )
    project.runs.mark_running(parent)
    box, stop = ProgressBox(), CancelToken()
    notes = run_notes(version, spec)

    def run_all() -> Run:
        try:
            if run_children is not None:
                children = run_children(parent, box, stop)
            else:
                children = _run_trials(
                    project, spec, version, executor, candidates, parent, box, stop
                )
        except BaseException as exc:  # the executor failed: the parent must not stay RUNNING
            project.runs.finish(parent, "failed", error=f"{type(exc).__name__}: {exc}")
            raise
        return _finish_search(project, parent, children, spec.task, notes)

    future = waiter(run_all, f"search-{parent}-waiter")
    return TrainingRun(parent, "search", future, box, stop.cancel)


def _run_trials(
    project, spec, version, executor, candidates, parent, progress, cancel, prunes=None
) -> list[Run]:
    """Submit every trial at once and record each as soon as it ends (not in submission order,
    so that a trial's recorded duration is its own); the runs come back in submission order.
    A candidate is a trial's params, or its whole spec (``--model all``)."""
    jobs: list[tuple[RunJob, ProgressFn]] = []
    for candidate in candidates:
        child_spec = candidate if isinstance(candidate, RunSpec) else spec.with_params(candidate)
        run_id = _record_run(project, child_spec.to_dict(), version, executor, parent_id=parent)
        job = _job(project, run_id, child_spec, version, executor)
        if prunes:
            job = replace(job, prune=prunes[len(jobs)])
        jobs.append((job, _marking_running(project, run_id, no_progress)))
    handles = executor.submit_many(jobs)
    pending = {id(h): (job.run_id, h) for (job, _), h in zip(jobs, handles, strict=True)}
    finished: dict[int, Run] = {}
    try:
        while pending:
            if cancel.cancelled:
                for _, handle in pending.values():
                    handle.cancel()
            for key, (run_id, handle) in list(pending.items()):
                if handle.done():
                    del pending[key]
                    finished[run_id] = _record(project, run_id, _outcome(handle))
                    done = len(finished)
                    progress(done / len(jobs), f"trial {done} of {len(jobs)} finished")
            if pending:
                wait_any([handle for _, handle in pending.values()], timeout=0.1)
    except BaseException:
        for _, handle in pending.values():
            handle.cancel()
        raise
    return [finished[job.run_id] for job, _ in jobs]


def _outcome(handle: RunHandle) -> RunResult | BaseException:
    """A finished handle's result, or the exception it ended with (e.g. Cancelled)."""
    try:
        return handle.result(timeout=0)
    except BaseException as exc:
        return exc


def _finish_search(
    project: Project, parent: int, children: list[Run], task: str, notes: list[str]
) -> Run:
    metric = primary_metric(project, task)
    done = [run for run in children if run.status == "done"]
    best = None
    for run in done:
        if best is None or metrics.is_better(
            metric, run.metrics.get(metric), best.metrics.get(metric)
        ):
            best = run
    project.runs.mark_best(parent, best.id if best else None)
    if any(run.status == "cancelled" for run in children) and best is None:
        project.runs.finish(parent, "cancelled", error="cancelled by the user")
    elif best is None:
        project.runs.finish(parent, "failed", error="every trial failed; see the trial runs")
    else:
        project.runs.finish(
            parent,
            "done",
            metrics=best.metrics,
            params=best.params,
            notes=[f"best trial: run {best.id} on {metric}", *notes],
            model_sha256=best.model_sha256,
            model_size=best.model_size,
            io_schema=best.io_schema,
            environment=best.environment,
        )
    return project.runs.get(parent)
