"""One training run, start to finish, as a pure function of a job (run inside a worker).

:func:`execute_run` loads the data version (hash-checked), validates it against the spec, splits
it, cross-validates on the training part if asked, fits the pipeline on the training part only,
evaluates it on the held-out test rows, and returns everything a run records. It stores the
fitted pipeline as a blob when given the project's object folder, else returns its bytes.

The job's ``threads`` (the cores its executor gave it) also reach the estimator's ``n_jobs``
where that gives the same model for any thread count (:mod:`core.experiments.threads`): only
while it fits, cross-validates and is evaluated, never in the recorded params, the stored
artifact or the single-row latency, which measures the model as it is served. The run's
environment records ``threads`` and the ``n_jobs`` the model was fitted with.
"""

from __future__ import annotations

import io
import os
import platform
import time
import traceback
import zlib
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit, train_test_split

from core.data.parquet_bytes import read_parquet_bytes
from core.errors import InvalidInput, ShipwayError
from core.experiments import catalog, evaluation, threads, thresholds, timesplit
from core.experiments.jobs import RunJob, RunResult
from core.experiments.preprocess import build_pipeline
from core.experiments.spec import RunSpec
from core.experiments.threads import ThreadPlan
from core.experiments.validation import check_training_data
from core.progress import CancelToken, ProgressFn, Stage, no_progress
from core.serving.frames import model_frame
from core.store.blobs import BlobStore

ARTIFACT_ZLIB_LEVEL = 1
PACKAGES = ("scikit-learn", "numpy", "pandas", "scipy", "pyarrow", "joblib", "shipway")


def environment() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }


def load_frame(job: RunJob) -> pd.DataFrame:
    data = Path(job.data_path).read_bytes()
    import hashlib

    if hashlib.sha256(data).hexdigest() != job.data_sha256:
        raise ShipwayError(
            f"the data of {job.spec.dataset_ref} is corrupt (hash mismatch)",
            where=job.data_path,
            hint="restore objects/ from a backup or re-import the data",
        )
    columns = [*job.spec.features, job.spec.target]
    time_column = job.spec.split.time_column
    if job.spec.split.kind == "time" and time_column and time_column not in columns:
        columns.append(time_column)
    return read_parquet_bytes(data, columns).to_pandas()


def _target(frame: pd.DataFrame, spec: RunSpec) -> pd.Series:
    y = frame[spec.target]
    if spec.task == "classification":
        return y.astype(object).where(y.notna(), None).map(lambda v: v if v is None else _label(v))
    return pd.to_numeric(y, errors="coerce").astype(float)


def _label(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return value if isinstance(value, str | int | bool) else str(value)


def prepare(job: RunJob) -> tuple[pd.DataFrame, pd.Series, list[str], np.ndarray | None]:
    """Features and target as the pipeline sees them; rows without a target are dropped.

    For a time split the rows come in time order (rows without a time are dropped too), with
    their times (nanoseconds since 1970 UTC); otherwise in the data's order, with None.
    """
    spec = job.spec
    frame = load_frame(job)
    notes: list[str] = []
    y = _target(frame, spec)
    keep = y.notna().to_numpy()
    if not keep.all():
        notes.append(f"{int((~keep).sum())} rows without a {spec.target!r} value were left out")
    frame, y = frame.loc[keep], y.loc[keep]
    times = None
    if spec.split.kind == "time":
        frame, y, times, dropped = timesplit.in_time_order(frame, y, spec.split.time_column)
        if dropped:
            notes.append(
                f"{dropped} rows without a {spec.split.time_column!r} value were left out of "
                "the time split"
            )
    X = model_frame(frame, job.schema, list(spec.features)).reset_index(drop=True)
    y = y.reset_index(drop=True)
    check_training_data(spec, X, y)
    if spec.preprocessing.infinite == "missing":
        X = X.replace([np.inf, -np.inf], np.nan)
    return X, y, notes, times


def split(
    X: pd.DataFrame, y: pd.Series, spec: RunSpec, times: np.ndarray | None = None
) -> dict[str, tuple]:
    """The parts: train, test and perhaps validation. A time split needs the rows in time
    order and their ``times`` (:func:`core.experiments.timesplit.in_time_order`)."""
    if spec.split.kind == "time":
        cut, _ = timesplit.time_cut(times, spec.split.test_size)
        return {"test": (X.iloc[cut:], y.iloc[cut:]), "train": (X.iloc[:cut], y.iloc[:cut])}
    return _random_split(X, y, spec)


def _random_split(X: pd.DataFrame, y: pd.Series, spec: RunSpec) -> dict[str, tuple]:
    stratify = spec.task == "classification" and spec.split.stratify
    parts: dict[str, tuple] = {}
    test = (
        spec.split.validation_size if spec.split.kind == "train_val_test" else spec.split.test_size
    )
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test, random_state=spec.seed, stratify=y if stratify else None
    )
    parts["test"] = (X_test, y_test)
    if spec.split.kind == "train_val_test":
        share = spec.split.validation_size / (1 - test)
        X_rest, X_val, y_rest, y_val = train_test_split(
            X_rest,
            y_rest,
            test_size=share,
            random_state=spec.seed,
            stratify=y_rest if stratify else None,
        )
        parts["validation"] = (X_val, y_val)
    parts["train"] = (X_rest, y_rest)
    return parts


def evaluate(
    pipeline: Any, X: pd.DataFrame, y: pd.Series, task: str
) -> tuple[dict, list[str], Any, Any]:
    predicted = pipeline.predict(X)
    if task == "regression":
        metrics, notes = evaluation.regression_metrics(y.to_numpy(), predicted)
        return metrics, notes, predicted, None
    classes = list(pipeline.classes_)
    proba = pipeline.predict_proba(X) if hasattr(pipeline, "predict_proba") else None
    metrics, notes = evaluation.classification_metrics(y.to_numpy(), predicted, proba, classes)
    return metrics, notes, predicted, proba


def cross_validate(
    pipeline: Any,
    X: pd.DataFrame,
    y: pd.Series,
    spec: RunSpec,
    stage: ProgressFn,
    cancel: CancelToken,
    plan: ThreadPlan | None = None,
    on_fold: Any = None,
) -> dict[str, Any]:
    """K-fold metrics on the training part; each fold fits and predicts as ``plan`` says.

    ``on_fold(number, k, metrics)`` hears each fold's metrics (a Bayesian trial reports them
    to its study, and may stop the run there: :mod:`core.experiments.bayes`)."""
    plan = plan or ThreadPlan()
    if spec.split.kind == "time":  # forward folds: each tests on rows later than it learned from
        folds: Any = TimeSeriesSplit(n_splits=spec.cv_folds)
    else:
        kind = StratifiedKFold if spec.task == "classification" else KFold
        folds = kind(n_splits=spec.cv_folds, shuffle=True, random_state=spec.seed)
    results: list[dict[str, Any]] = []
    for number, (train_idx, test_idx) in enumerate(folds.split(X, y), start=1):
        cancel.raise_if_cancelled()
        stage((number - 1) / spec.cv_folds, f"fold {number} of {spec.cv_folds}")
        with plan.fitting(pipeline):
            model = clone(pipeline).fit(X.iloc[train_idx], y.iloc[train_idx])
        with plan.predicting(model):
            metrics, _, _, _ = evaluate(model, X.iloc[test_idx], y.iloc[test_idx], spec.task)
        results.append(metrics)
        if on_fold is not None:
            on_fold(number, spec.cv_folds, metrics)
    return {"folds": results, "summary": summarize(results), "k": spec.cv_folds}


def summarize(results: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Mean and standard deviation (ddof 1) of each metric over folds or windows."""
    names = results[0].keys() if results else []
    summary = {}
    for name in names:
        values = [r[name] for r in results if r.get(name) is not None]
        summary[name] = {
            "mean": float(np.mean(values)) if values else None,
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
        }
    return summary


def backtest(
    pipeline: Any,
    X: pd.DataFrame,
    y: pd.Series,
    times: np.ndarray,
    spec: RunSpec,
    stage: ProgressFn,
    cancel: CancelToken,
    plan: ThreadPlan,
) -> dict[str, Any]:
    """Walk-forward windows over all the rows (see :mod:`core.experiments.timesplit`)."""
    windows = []
    cuts = timesplit.backtest_windows(times, spec.backtest)
    for number, (start, end) in enumerate(cuts, start=1):
        cancel.raise_if_cancelled()
        stage((number - 1) / len(cuts), f"backtest window {number} of {len(cuts)}")
        with plan.fitting(pipeline):
            model = clone(pipeline).fit(X.iloc[:start], y.iloc[:start])
        with plan.predicting(model):
            metrics = evaluate(model, X.iloc[start:end], y.iloc[start:end], spec.task)[0]
        windows.append(timesplit.window_record(times, start, end) | {"metrics": metrics})
    summary = summarize([window["metrics"] for window in windows])
    return {"k": len(windows), "windows": windows, "summary": summary}


def io_schema(job: RunJob, pipeline: Any, X: pd.DataFrame, y: pd.Series) -> dict[str, Any]:
    """The model's input and output as serving needs them (types, categories, nullability)."""
    inputs = []
    for name in job.spec.features:
        column = X[name]
        entry: dict[str, Any] = {
            "name": name,
            "type": job.schema[name],
            "nullable": bool(column.isna().any()),
        }
        if job.schema[name] == "string":
            entry["categories"] = sorted(map(str, column.dropna().unique()))[:1000]
        else:
            finite = column[np.isfinite(column.to_numpy(dtype=float))]
            if len(finite):
                entry["min"], entry["max"] = float(finite.min()), float(finite.max())
        inputs.append(entry)
    output: dict[str, Any] = {"name": job.spec.target, "task": job.spec.task}
    if job.spec.task == "classification":
        output["classes"] = [_label(c) for c in pipeline.classes_]
    return {"inputs": inputs, "output": output}


def _model_params(pipeline: Any) -> dict[str, str]:
    params = pipeline.named_steps["model"].get_params(deep=True)
    return {name: repr(value) for name, value in sorted(params.items())}


def _pickled(pipeline: Any) -> memoryview:
    """The fitted pipeline as an uncompressed joblib pickle.

    The artifact is this, zlib-compressed at level 1: a zlib stream of a joblib pickle, which
    :func:`joblib.load` reads as it reads ``joblib.dump(..., compress=("zlib", 1))`` files, but
    compressed in one call that runs in a thread without holding the GIL.
    """
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    return buffer.getbuffer()


def _store_model(job: RunJob, data: bytes) -> tuple[str | None, int, bytes | None]:
    if job.objects_root is None:
        import hashlib

        return hashlib.sha256(data).hexdigest(), len(data), data
    blob = BlobStore(Path(job.objects_root)).put_bytes(data, ".joblib")
    return blob.sha256, blob.size_bytes, None


def execute_run(
    job: RunJob, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
) -> RunResult:
    """Run one job; any error becomes a failed RunResult with its traceback."""
    cancel = cancel or CancelToken()
    log: list[str] = []

    def report(fraction: float | None, message: str) -> None:
        log.append(f"{time.strftime('%H:%M:%S')} {message}")
        progress(fraction, message)

    try:
        return _execute(job, report, cancel, log)
    except ShipwayError as exc:
        if exc.code == "cancelled":
            raise
        return RunResult(
            job.run_id,
            False,
            error=exc.one_line(),
            error_code=exc.code,
            traceback=traceback.format_exc(),
            log=log,
        )
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        return RunResult(
            job.run_id,
            False,
            error=message,
            error_code="run_failed",
            traceback=traceback.format_exc(),
            log=log,
        )


def _execute(job: RunJob, report: ProgressFn, cancel: CancelToken, log: list[str]) -> RunResult:
    spec = job.spec
    timings: dict[str, float] = {}
    started = time.perf_counter()
    report(0.02, "loading data")
    X, y, notes, times = prepare(job)
    parts = split(X, y, spec, times)
    if times is not None:
        notes += timesplit.time_cut(times, spec.split.test_size)[1]
    X_train, y_train = parts["train"]
    estimator_spec = catalog.get_estimator(spec.estimator, spec.task)
    estimator = catalog.make_estimator(estimator_spec, spec.task, spec.params, spec.seed)
    pipeline = build_pipeline(list(spec.features), job.schema, spec.preprocessing, estimator)
    plan = threads.plan(estimator, job.threads)
    timings["prepare"] = time.perf_counter() - started
    cv: dict[str, Any] = {}
    if spec.cv_folds:
        mark = time.perf_counter()
        stage = Stage(report, 0.05, 0.6, "cross-validation")
        on_fold = None
        if job.prune:
            from core.experiments import bayes

            on_fold = bayes.fold_reporter(job.prune)
        cv = cross_validate(pipeline, X_train, y_train, spec, stage, cancel, plan, on_fold)
        timings["cv"] = time.perf_counter() - mark
    if spec.backtest:
        mark = time.perf_counter()
        stage = Stage(report, 0.05, 0.6, "backtest")
        cv["backtest"] = backtest(pipeline, X, y, times, spec, stage, cancel, plan)
        timings["backtest"] = time.perf_counter() - mark
    cancel.raise_if_cancelled()
    report(0.6 if spec.cv_folds or spec.backtest else 0.1, f"fitting on {len(y_train):,} rows")
    mark = time.perf_counter()
    with plan.fitting(pipeline):
        pipeline.fit(X_train, y_train)
        n_jobs = pipeline.named_steps["model"].get_params(deep=False).get("n_jobs")
    timings["fit"] = time.perf_counter() - mark
    cancel.raise_if_cancelled()
    report(0.8, "evaluating")
    measured, data = _evaluate_and_serialize(pipeline, parts, spec, timings, plan)
    report(0.95, "saving the model")
    sha, size, data = _store_model(job, data)
    timings["total"] = time.perf_counter() - started
    timings["predict_p50_ms"] = measured["latency"]["p50"]
    timings["predict_p95_ms"] = measured["latency"]["p95"]
    report(1.0, "done")
    schema = io_schema(job, pipeline, X_train, y_train)
    if "threshold" in measured["curves"]:  # the served labels use it (core.serving.scoring)
        schema["output"]["threshold"] = measured["curves"]["threshold"]["threshold"]
    return RunResult(
        job.run_id,
        True,
        metrics=measured["metrics"],
        validation_metrics=measured["validation"],
        cv=cv,
        curves=measured["curves"],
        importance=measured["importance"],
        io_schema=schema,
        params=_model_params(pipeline),
        environment=_run_environment(plan.threads, n_jobs),
        notes=notes + measured["notes"],
        timings={k: round(v, 6) for k, v in timings.items()},
        model_sha256=sha,
        model_size=size,
        model_bytes=data,
        log=log,
    )


def _run_environment(threads: int | None, n_jobs: Any) -> dict[str, Any]:
    """The environment, with the cores the run was given and the ``n_jobs`` its model was
    fitted with (None: it has none, or ran on one core)."""
    if threads is None:  # not limited by a local executor (e.g. on a Dask worker)
        return environment()
    return {**environment(), "threads": threads, "n_jobs": n_jobs}


def _evaluate_and_serialize(
    pipeline: Any,
    parts: dict[str, tuple],
    spec: RunSpec,
    timings: dict[str, float],
    plan: ThreadPlan,
) -> tuple[dict[str, Any], bytes]:
    """Everything measured on the fitted pipeline, and the model artifact's bytes.

    The artifact is pickled first (uncompressed: fast), then compressed in a thread while the
    metrics, curves and importance are computed (zlib releases the GIL for the whole buffer;
    pickling in the thread would contend for it). Single-row latency is measured afterwards,
    with nothing else running. ``timings["evaluate"]`` is the evaluation's own time, without
    the pickling or the wait for the compression. The uncompressed pickle is held until the
    compression ends (about the fitted model's own size in memory, briefly). The evaluation
    predicts as ``plan`` says; the pickle and the latency see the model without ``n_jobs``.
    """
    X_test = parts["test"][0]
    raw = _pickled(pipeline)
    with ThreadPoolExecutor(1, thread_name_prefix="compress-model") as pool:
        compressed = pool.submit(zlib.compress, raw, ARTIFACT_ZLIB_LEVEL)
        mark = time.perf_counter()
        with plan.predicting(pipeline):
            measured = _measure(pipeline, parts, spec, timings["fit"])
        evaluated = time.perf_counter() - mark
        data = compressed.result()
    raw.release()
    mark = time.perf_counter()
    measured["latency"] = evaluation.predict_latency_ms(pipeline, X_test)
    timings["evaluate"] = evaluated + time.perf_counter() - mark
    return measured, data


def _measure(pipeline: Any, parts: dict[str, tuple], spec: RunSpec, fit_s: float) -> dict[str, Any]:
    """Test metrics, validation metrics, curves and importance of the fitted pipeline."""
    X_test, y_test = parts["test"]
    metrics, notes, predicted, proba = evaluate(pipeline, X_test, y_test, spec.task)
    validation = {}
    if "validation" in parts:
        validation = evaluate(pipeline, *parts["validation"], spec.task)[0]
    importance = evaluation.feature_importance(
        pipeline,
        X_test,
        y_test,
        list(spec.features),
        seed=spec.seed,
        budget_s=evaluation.permutation_budget_s(fit_s),
    )
    curves = _curves(spec, y_test, predicted, proba, pipeline)
    if spec.threshold:
        curves["threshold"] = _threshold(pipeline, y_test, proba, spec)
    return {
        "metrics": metrics,
        "notes": notes,
        "validation": validation,
        "curves": curves,
        "importance": importance,
    }


def _threshold(pipeline: Any, y_test: pd.Series, proba: Any, spec: RunSpec) -> dict[str, Any]:
    """The operating threshold the spec's rule picks on the test rows (binary classifiers)."""
    classes = [_label(c) for c in pipeline.classes_]
    if len(classes) != 2 or proba is None:
        raise InvalidInput(
            f"a decision threshold was asked of {spec.target!r}, which has {len(classes)} "
            "classes in the training rows; only a binary classifier with probabilities has one",
            where=spec.dataset_ref,
            hint="leave out --threshold for this target",
        )
    positive = y_test.to_numpy() == classes[1]
    chosen = thresholds.choose(positive, np.asarray(proba)[:, 1], spec.threshold)
    return chosen | {"positive": classes[1]}


def _curves(spec: RunSpec, y_test: pd.Series, predicted: Any, proba: Any, pipeline: Any) -> dict:
    if spec.task == "regression":
        return evaluation.regression_curves(y_test.to_numpy(), predicted, seed=spec.seed)
    return evaluation.classification_curves(
        y_test.to_numpy(), predicted, proba, list(pipeline.classes_)
    )
