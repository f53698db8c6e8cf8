"""Training runs on real data sets, in real worker processes, recorded in a real project."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from core.errors import Cancelled
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
CLASSIFICATION_METRICS = {
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
}


@pytest.fixture
def penguins(workspace: Workspace) -> Workspace:
    workspace.data.import_file(PENGUINS)
    return workspace


@pytest.fixture
def diabetes(workspace: Workspace, tmp_path: Path) -> Workspace:
    frame = load_diabetes(as_frame=True).frame
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    workspace.data.import_file(path)
    return workspace


def test_a_classification_run_records_everything(penguins: Workspace) -> None:
    run = penguins.runs.train(
        TrainRequest(data="penguins", target="species", cv_folds=3, params={"n_estimators": 50})
    ).result()
    assert run.status == "done", run.error
    assert run.task == "classification"
    assert set(run.metrics) == CLASSIFICATION_METRICS
    assert run.metrics["accuracy"] > 0.9
    assert len(run.cv["folds"]) == 3 and run.cv["summary"]["f1"]["std"] is not None
    assert set(run.curves) >= {"roc", "pr", "confusion_matrix"}
    assert set(run.curves["roc"]) == {"Adelie", "Chinstrap", "Gentoo"}
    assert run.importance["values"] and set(run.importance["values"]) <= set(run.spec["features"])
    assert run.spec["params"] == {"n_estimators": 50}
    assert run.params["n_estimators"] == "50" and "random_state" in run.params
    assert run.timings["fit"] > 0 and run.timings["predict_p95_ms"] >= run.timings["predict_p50_ms"]
    assert run.environment["packages"]["scikit-learn"] and run.environment["cpu_count"]
    assert run.model_size and penguins.runs.verify_model(run) is None
    island = next(i for i in run.io_schema["inputs"] if i["name"] == "island")
    assert island["categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert run.io_schema["output"]["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert run.dataset_sha256 == penguins.data.version("penguins@1").sha256
    actions = [entry.action for entry in penguins.project.audit()]
    assert actions[:2] == ["run.done", "run.create"]


def test_a_regression_run_on_diabetes(diabetes: Workspace) -> None:
    run = diabetes.runs.train(
        TrainRequest(data="diabetes", target="target", estimator="ridge")
    ).result()
    assert run.status == "done", run.error
    assert run.task == "regression"
    assert set(run.metrics) == {"mae", "rmse", "r2", "mape"}
    assert 0.2 < run.metrics["r2"] < 0.8
    assert "residuals" in run.curves and "predicted_vs_actual" in run.curves


def test_reproduce_gives_identical_metrics(penguins: Workspace) -> None:
    first = penguins.runs.train(
        TrainRequest(data="penguins", target="species", estimator="hist_gradient_boosting")
    ).result()
    result = penguins.runs.reproduce(first.id)
    assert result.identical, result.differences
    assert result.of == first.id and result.run != first.id
    assert penguins.runs.get(result.run).reproduces_id == first.id


def test_compare_names_the_best_run_and_lists_sort(penguins: Workspace, tmp_path: Path) -> None:
    dummy = penguins.runs.train(
        TrainRequest(data="penguins", target="species", estimator="dummy")
    ).result()
    forest = penguins.runs.train(
        TrainRequest(data="penguins", target="species", params={"n_estimators": 30})
    ).result()
    result = penguins.runs.compare([dummy.id, forest.id])
    assert result.best == forest.id and result.primary_metric == "f1"
    assert "estimator" in result.differences
    assert result.metrics["f1"][str(forest.id)] > result.metrics["f1"][str(dummy.id)]
    assert [r.id for r in penguins.runs.list(sort="f1")] == [forest.id, dummy.id]
    assert penguins.runs.list(sort="log_loss")[0].id == forest.id
    csv = penguins.runs.export(tmp_path / "runs.csv", sort="f1")
    exported = pd.read_csv(csv)
    assert list(exported["run"]) == [forest.id, dummy.id] and "f1" in exported


def test_random_search_marks_the_best_trial(penguins: Workspace) -> None:
    parent = penguins.runs.search(
        TrainRequest(data="penguins", target="species", estimator="knn"), "random", 4
    ).result()
    assert parent.status == "done" and parent.kind == "search"
    trials = penguins.runs.list(parent=parent.id)
    assert len(trials) == 4 and all(t.status == "done" for t in trials)
    best = [t for t in trials if t.is_best]
    assert len(best) == 1
    assert best[0].metrics["f1"] == max(t.metrics["f1"] for t in trials)
    assert parent.metrics == best[0].metrics
    assert len({repr(t.spec["params"]) for t in trials}) == 4


def test_a_run_whose_fit_raises_is_failed_with_its_traceback(penguins: Workspace) -> None:
    run = penguins.runs.train(
        TrainRequest(
            data="penguins",
            target="species",
            estimator="logistic_regression",
            params=FAILING_LOGISTIC_PARAMS,
        )
    ).result()
    assert run.status == "failed"
    assert "Traceback" in (run.traceback or "") and run.error
    assert run.model_sha256 is None


FAILING_LOGISTIC_PARAMS = {"l1_ratio": 0.5, "solver": "lbfgs"}


def _wait_until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _big_data(workspace: Workspace, tmp_path: Path, rows: int = 30_000) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"x{i}" for i in range(8)])
    frame["label"] = (frame["x0"] + rng.normal(size=rows) > 0).map({True: "yes", False: "no"})
    frame.to_csv(tmp_path / "big.csv", index=False)
    workspace.data.import_file(tmp_path / "big.csv")


def test_a_worker_killed_mid_run_leaves_the_run_failed(
    workspace: Workspace, tmp_path: Path
) -> None:
    _big_data(workspace, tmp_path)
    started = threading.Event()
    result: dict = {}

    def progress(fraction, message) -> None:
        if "fitting" in message:
            started.set()

    request = TrainRequest(data="big", target="label", params={"n_estimators": 400})
    thread = threading.Thread(
        target=lambda: result.update(run=workspace.runs.train(request).result(progress))
    )
    thread.start()
    assert started.wait(120)
    executor = workspace.runs.executor()
    os.kill(executor._all[0].process.pid, signal.SIGKILL)
    thread.join(60)
    run = result["run"]
    assert run.status == "failed" and "ended unexpectedly" in run.error
    again = workspace.runs.train(
        TrainRequest(data="big", target="label", estimator="dummy")
    ).result()
    assert again.status == "done"  # the pool replaced the dead worker


def test_cancel_during_cross_validation(workspace: Workspace, tmp_path: Path) -> None:
    from core.progress import CancelToken

    _big_data(workspace, tmp_path)
    token = CancelToken()

    def progress(fraction, message) -> None:
        if "fold 2" in message:
            token.cancel()

    request = TrainRequest(data="big", target="label", cv_folds=5, params={"n_estimators": 200})
    with pytest.raises(Cancelled):
        workspace.runs.train(request).result(progress, token)
    (run,) = workspace.runs.list()
    assert run.status == "cancelled" and run.model_sha256 is None


def test_a_run_left_running_by_a_crash_is_failed_at_next_start(penguins: Workspace) -> None:
    project = penguins._project
    version = penguins.data.version("penguins")
    run_id = project.runs.create(
        spec={
            "task": "classification",
            "estimator": "dummy",
            "target": "species",
            "dataset": "penguins",
            "dataset_version": 1,
        },
        dataset_version_id=version.id,
        dataset_sha256=version.sha256,
        executor="local",
    )
    project.runs.mark_running(run_id)
    with project.database.session(write=True) as session:
        from core.store.orm import RunRow

        session.get(RunRow, run_id).pid = _dead_pid()
    reopened = Workspace.open(penguins.root)
    try:
        assert reopened.runs.get(run_id).status == "failed"
        assert "ended before it finished" in reopened.runs.get(run_id).error
    finally:
        reopened.close()


def _dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_dask_executor_runs_a_search_on_a_local_cluster(penguins: Workspace) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        penguins.runs.executor("dask", cluster.scheduler_address)
        parent = penguins.runs.search(
            TrainRequest(data="penguins", target="species", estimator="decision_tree"), "grid", 3
        ).result()
        penguins.runs.close()
    assert parent.status == "done"
    trials = penguins.runs.list(parent=parent.id)
    assert len(trials) == 3 and all(t.executor == "dask" and t.status == "done" for t in trials)
    assert sum(t.is_best for t in trials) == 1
    assert all(penguins.runs.verify_model(t) is None for t in trials)
