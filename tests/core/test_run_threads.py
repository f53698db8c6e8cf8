"""A run uses the cores its executor gave it: a lone run's estimator gets every core as
``n_jobs``, the trials of a search one core each, and the thread count changes nothing but the
speed (same metrics, same predictions, same artifact, same recorded params)."""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import numpy as np
import pytest

from core.experiments import runs
from core.experiments.executors import LocalExecutor
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
CORES = os.cpu_count() or 1
# leaves with several rows: probabilities are fractions, whose sums depend on their order
FOREST = {"n_estimators": 40, "min_samples_leaf": 3}


@pytest.fixture
def penguins(workspace: Workspace) -> Workspace:
    workspace.data.import_file(PENGUINS)
    return workspace


def _request(estimator: str, params: dict | None = None, cv: int = 0) -> TrainRequest:
    return TrainRequest(
        data="penguins", target="species", estimator=estimator, params=params or {}, cv_folds=cv
    )


def _train_with(workspace: Workspace, request: TrainRequest, threads: int):
    """A run on the workspace's real worker pool with a fixed thread count."""
    spec, version = workspace.runs.prepare(request)
    executor = workspace.runs.executor()
    run = runs.start_train(workspace._project, spec, version, executor, threads=threads).result()
    assert run.status == "done", run.error
    return run


def _predictions(workspace: Workspace, run) -> tuple[np.ndarray, np.ndarray]:
    model = joblib.load(workspace._project.blobs.path_of(run.model_sha256))
    frame = workspace.data.read("penguins")[list(run.spec["features"])]
    return model.predict(frame), model.predict_proba(frame)


def test_a_lone_forest_run_gets_every_core_as_n_jobs(penguins: Workspace) -> None:
    run = penguins.runs.train(_request("random_forest", FOREST)).result()
    assert run.status == "done", run.error
    assert run.environment["threads"] == CORES
    assert run.environment["n_jobs"] == CORES
    assert run.params["n_jobs"] == "None"  # an execution detail, not a hyperparameter


def test_the_trials_of_a_search_on_two_workers_share_the_cores(penguins: Workspace) -> None:
    """Two workers busy at once: each trial gets half the cores (one on a two-core machine),
    as its native thread limit and as its forest's n_jobs.

    The two trials sent first run together; a later one may find itself alone (the others
    ended before it was sent) and then rightly gets every core, so only those two are pinned.
    """
    penguins.runs.use_executor(LocalExecutor(workers=2))
    parent = penguins.runs.search(_request("random_forest", FOREST), "grid", 4).result()
    trials = penguins.runs.list(parent=parent.id)
    assert [trial.status for trial in trials] == ["done"] * 4
    share = max(1, CORES // 2)
    threads = sorted(trial.environment["threads"] for trial in trials)
    assert threads[:2] == [share, share] and threads[-1] <= CORES
    assert all(trial.environment["n_jobs"] == trial.environment["threads"] for trial in trials)
    assert {trial.params["n_jobs"] for trial in trials} == {"None"}


def test_a_forest_is_the_same_model_for_one_and_two_threads(penguins: Workspace) -> None:
    request = _request("random_forest", FOREST, cv=3)
    one = _train_with(penguins, request, threads=1)
    two = _train_with(penguins, request, threads=2)
    assert (one.environment["n_jobs"], two.environment["n_jobs"]) == (1, 2)
    assert one.metrics == two.metrics
    assert one.cv["folds"] == two.cv["folds"]
    assert one.importance["values"] == two.importance["values"]
    assert one.model_sha256 == two.model_sha256  # the artifact does not carry n_jobs
    (labels_1, proba_1), (labels_2, proba_2) = (
        _predictions(penguins, one),
        _predictions(penguins, two),
    )
    assert (labels_1 == labels_2).all()
    assert np.array_equal(proba_1, proba_2)
    compared = penguins.runs.compare([one.id, two.id])
    assert compared.differences == {}  # two identical runs look identical


def test_k_nearest_neighbours_predict_the_same_with_two_threads(penguins: Workspace) -> None:
    request = _request("knn", {"n_neighbors": 7, "weights": "distance"})
    one = _train_with(penguins, request, threads=1)
    two = _train_with(penguins, request, threads=2)
    assert two.environment["n_jobs"] == 2
    assert one.metrics == two.metrics
    assert one.model_sha256 == two.model_sha256


def test_a_model_without_n_jobs_records_none(penguins: Workspace) -> None:
    run = _train_with(penguins, _request("hist_gradient_boosting"), threads=2)
    assert run.environment["threads"] == 2
    assert run.environment["n_jobs"] is None


def test_a_reproduction_of_a_lone_forest_run_is_identical(penguins: Workspace) -> None:
    original = penguins.runs.train(_request("random_forest", FOREST)).result()
    again = penguins.runs.reproduce(original.id)
    assert again.identical, again.differences
    reproduced = penguins.runs.get(again.run)
    assert reproduced.environment["n_jobs"] == original.environment["n_jobs"] == CORES
    assert reproduced.model_sha256 == original.model_sha256


def test_an_svm_fits_its_calibration_folds_in_threads_to_the_same_model(
    penguins: Workspace,
) -> None:
    one = _train_with(penguins, _request("svm"), threads=1)
    two = _train_with(penguins, _request("svm"), threads=2)
    assert two.environment["n_jobs"] == 2
    assert one.metrics == two.metrics
    assert one.model_sha256 == two.model_sha256


def test_the_plan_sets_n_jobs_only_inside_its_blocks() -> None:
    from joblib._parallel_backends import ThreadingBackend
    from joblib.parallel import get_active_backend
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import Pipeline

    from core.experiments import threads

    forest = threads.plan(RandomForestClassifier(), 3)
    assert (forest.fit, forest.predict) == ({"n_jobs": 3}, {"n_jobs": None})
    knn = threads.plan(KNeighborsRegressor(), 3)
    assert (knn.fit, knn.predict) == ({"n_jobs": 3}, {"n_jobs": 3})
    for other in (LogisticRegression(), HistGradientBoostingClassifier()):
        assert (threads.plan(other, 3).fit, threads.plan(other, 3).predict) == ({}, {})
    assert threads.plan(RandomForestClassifier(), None).fit == {}
    pipeline = Pipeline([("model", RandomForestClassifier())])
    with forest.fitting(pipeline):
        assert pipeline.named_steps["model"].n_jobs == 3
        # threads, never joblib's process pool: a worker is a daemon process, where that pool
        # falls back to one job (with a warning), and processes would take more cores
        assert isinstance(get_active_backend()[0], ThreadingBackend)
    assert pipeline.named_steps["model"].n_jobs is None
