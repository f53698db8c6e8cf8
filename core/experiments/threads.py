"""How a run uses the cores its executor gave it: native thread pools and estimators' ``n_jobs``.

The executor decides how many cores a job may use (``RunJob.threads``: every core for a lone
run, cores ÷ jobs for the trials of a search); the worker caps the native thread pools (OpenMP,
BLAS) at that number, and :func:`plan` decides where the estimator's own ``n_jobs`` may follow
it. ``n_jobs`` is set only where it parallelises with threads and gives the same model and the
same predictions for any thread count:

- forests (random forest, extra trees) build their trees in threads, each from a seed drawn
  before the threads start, so the fitted trees do not depend on ``n_jobs``; their threaded
  *prediction* adds the trees' outputs in whatever order the threads finish, which can change
  the last digits of probabilities and averages, so they predict with ``n_jobs`` unset;
- k-nearest neighbours search the neighbours of blocks of rows in threads, each row on its own:
  fit and predict use ``n_jobs``;
- the SVM classifier (``CalibratedClassifierCV(SVC)``) fits its calibration folds in parallel,
  each fold on its own; libsvm releases the GIL, so threads are enough.

Everything else (linear models, boosting, naive Bayes, trees) gets no ``n_jobs``: either it has
none, it has no effect (``LogisticRegression``), or the native thread limit already covers it
(histogram gradient boosting uses OpenMP).

``n_jobs`` is an execution detail: it is set on the model only inside :meth:`ThreadPlan.fitting`
and :meth:`ThreadPlan.predicting` and restored afterwards, so the recorded params, the stored
artifact and the served model are the same for any thread count. Inside those blocks joblib uses
its threading backend: a job never starts a process pool of its own, which would take more cores
than the executor gave it, and which a worker (a daemon process) could not start anyway: joblib
would fall back to one job with a warning, as it does for the SVM's calibration folds otherwise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from joblib import parallel_config


@dataclass(frozen=True)
class ThreadPlan:
    """The ``n_jobs`` a model gets while it fits and while it predicts (empty: none)."""

    threads: int | None = None
    fit: dict[str, Any] = field(default_factory=dict)
    predict: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def fitting(self, pipeline: Any) -> Iterator[None]:
        """Inside: the pipeline's model fits (and its clones are made) with ``self.fit``."""
        with _set(pipeline, self.fit):
            yield

    @contextlib.contextmanager
    def predicting(self, pipeline: Any) -> Iterator[None]:
        """Inside: the pipeline's model predicts with ``self.predict``."""
        with _set(pipeline, self.predict):
            yield


def plan(estimator: Any, threads: int | None) -> ThreadPlan:
    """Where ``estimator`` may use ``threads`` cores (see the module docstring for why)."""
    if threads is None:
        return ThreadPlan()
    threaded = {"n_jobs": max(1, int(threads))}
    if isinstance(estimator, _fit_in_threads()):
        plain = {"n_jobs": estimator.get_params(deep=False)["n_jobs"]}
        # predicting sets n_jobs back even on a CV fold's clone, which was fitted with it
        return ThreadPlan(threads, fit=threaded, predict=plain)
    if isinstance(estimator, _fit_and_predict_in_threads()):
        return ThreadPlan(threads, fit=threaded, predict=threaded)
    return ThreadPlan(threads)


def _fit_in_threads() -> tuple[type, ...]:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    forests = (RandomForestClassifier, RandomForestRegressor)
    return (*forests, ExtraTreesClassifier, ExtraTreesRegressor, CalibratedClassifierCV)


def _fit_and_predict_in_threads() -> tuple[type, ...]:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    return (KNeighborsClassifier, KNeighborsRegressor)


@contextlib.contextmanager
def _set(pipeline: Any, params: dict[str, Any]) -> Iterator[None]:
    if not params:
        yield
        return
    model = pipeline.named_steps["model"]
    before = {name: value for name, value in model.get_params(deep=False).items() if name in params}
    model.set_params(**params)
    try:
        with parallel_config(backend="threading"):
            yield
    finally:
        model.set_params(**before)
