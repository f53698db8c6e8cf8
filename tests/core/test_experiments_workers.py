"""How runs use the local workers: thread limits per job, search trials recorded as they end,
workers that never outlive their executor, and the by-products' budgets."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from core.experiments import evaluation, runs
from core.experiments.executors import LocalExecutor, RunHandle
from core.experiments.jobs import RunJob, RunResult
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
CORES = os.cpu_count() or 1


@pytest.fixture
def penguins(workspace: Workspace) -> Workspace:
    workspace.data.import_file(PENGUINS)
    return workspace


def _request(estimator: str = "dummy") -> TrainRequest:
    return TrainRequest(data="penguins", target="species", estimator=estimator)


def test_a_lone_run_gets_every_core(penguins: Workspace) -> None:
    run = penguins.runs.train(_request()).result()  # two workers configured, one job running
    assert run.status == "done", run.error
    assert run.environment["threads"] == CORES


def test_search_trials_share_the_cores_and_a_reproduction_keeps_its_trials_limit(
    penguins: Workspace,
) -> None:
    parent = penguins.runs.search(_request("decision_tree"), "grid", 4).result()
    trials = penguins.runs.list(parent=parent.id)
    # the two sent first run together; a later one that finds itself alone gets every core
    share = max(1, CORES // 2)
    by_threads = sorted(trials, key=lambda trial: trial.environment["threads"])
    assert [trial.environment["threads"] for trial in by_threads[:2]] == [share, share]
    again = penguins.runs.reproduce(by_threads[0].id)
    assert again.identical, again.differences
    assert penguins.runs.get(again.run).environment["threads"] == share


def test_threads_per_job_divides_the_cores_among_the_jobs_at_once() -> None:
    executor = LocalExecutor(workers=2)
    try:
        assert executor.threads_per_job() == CORES
        executor._in_flight = 1
        assert executor.threads_per_job() == CORES
        executor._in_flight = 5  # more jobs than workers: one per worker runs at once
        assert executor.threads_per_job() == max(1, CORES // 2)
    finally:
        executor._in_flight = 0
        executor.shutdown()


class _ReverseOrderExecutor:
    """Finishes the *last* submitted job first, and each earlier one only once the later one
    is recorded: a search that waited in submission order would never finish."""

    name = "local"
    stores_models = True

    def __init__(self, workspace: Workspace) -> None:
        self._runs = workspace._project.runs

    def submit(self, job: RunJob, progress) -> RunHandle:
        raise AssertionError("a search submits its trials as one batch")

    def submit_many(self, jobs: list[tuple[RunJob, object]]) -> list[RunHandle]:
        futures = [Future() for _ in jobs]
        threading.Thread(target=self._finish, args=(jobs, futures), daemon=True).start()
        return [RunHandle(future, lambda: None) for future in futures]

    def _finish(self, jobs, futures) -> None:
        for (job, progress), future in reversed(list(zip(jobs, futures, strict=True))):
            progress(0.0, "started")
            future.set_result(RunResult(job.run_id, False, error="stopped on purpose"))
            deadline = time.monotonic() + 30
            while self._runs.get(job.run_id).status == "running":
                if time.monotonic() > deadline:
                    return
                time.sleep(0.01)

    def shutdown(self) -> None:
        pass


def test_search_trials_are_recorded_as_they_end(penguins: Workspace) -> None:
    project = penguins._project
    spec, version = penguins.runs.prepare(_request("decision_tree"))
    executor = _ReverseOrderExecutor(penguins)
    parent = runs.start_search(project, spec, version, executor, "grid", 3).result()
    trials = penguins.runs.list(parent=parent.id)
    assert [trial.status for trial in trials] == ["failed"] * 3
    finished = [trial.finished_at for trial in trials]
    assert finished == sorted(finished, reverse=True)  # the last submitted ended first


def test_workers_that_never_ran_a_job_are_terminated_at_shutdown() -> None:
    executor = LocalExecutor(workers=2)
    executor.warm(2)
    workers = list(executor._all)
    executor.shutdown()
    for worker in workers:  # never ran a job: terminated, not left running
        assert not worker.process.is_alive()


def test_a_worker_that_ran_jobs_exits_by_itself(penguins: Workspace) -> None:
    assert penguins.runs.train(_request()).result().status == "done"
    executor = penguins.runs.executor()
    (worker,) = executor._all
    penguins.runs.close()
    assert worker.process.exitcode == 0  # it exited on request, no kill was needed


def test_the_permutation_budget_follows_the_fit() -> None:
    assert evaluation.permutation_budget_s(0.0) == evaluation.PERMUTATION_MIN_S
    assert evaluation.permutation_budget_s(10.0) == pytest.approx(
        evaluation.PERMUTATION_SHARE * 10.0
    )
    assert evaluation.permutation_budget_s(1e6) == evaluation.PERMUTATION_MAX_S


def test_a_run_without_native_importances_records_its_permutation_budget(
    penguins: Workspace,
) -> None:
    run = penguins.runs.train(_request("knn")).result()
    assert run.status == "done", run.error
    importance = run.importance
    assert importance["method"] == "permutation"
    assert set(importance["values"]) == set(run.spec["features"])
    assert importance["rows"] >= 1 and importance["repeats"] >= 1
    assert 0 < run.timings["predict_p50_ms"] <= run.timings["predict_p95_ms"]


def test_the_model_artifact_is_a_zlib_joblib_file_that_loads(penguins: Workspace) -> None:
    import joblib

    run = penguins.runs.train(_request("random_forest")).result()
    path = penguins._project.blobs.path_of(run.model_sha256)
    assert path.read_bytes()[:1] == b"\x78"  # a zlib stream, level 1 (as joblib writes it)
    model = joblib.load(path)
    frame = penguins.data.read("penguins")
    features = list(run.spec["features"])
    assert set(model.predict(frame[features].head(20))) <= set(run.io_schema["output"]["classes"])


def test_cancelling_a_search_with_queued_trials_ends_every_trial(penguins: Workspace) -> None:
    """More trials than workers: the queued ones end as cancelled without taking a worker."""
    from core.progress import CancelToken

    token = CancelToken()
    outcome: list[object] = []
    handle = penguins.runs.search(_request("random_forest"), "random", 8)

    def search() -> None:
        try:
            outcome.append(handle.result(cancel=token))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=search, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not any(r.status == "running" and r.parent_id for r in penguins.runs.list(all_runs=True)):
        assert time.monotonic() < deadline, "no trial started"  # a trial holds a worker
        time.sleep(0.05)
    token.cancel()
    thread.join(60)
    assert not thread.is_alive(), "the cancelled search never finished"
    (parent,) = outcome
    assert not isinstance(parent, BaseException) and parent.status in {"cancelled", "done"}
    assert penguins.runs.get(handle.run_id) == parent
    trials = [r for r in penguins.runs.list(all_runs=True) if r.parent_id is not None]
    assert len(trials) == 8 and {t.status for t in trials} <= {"cancelled", "done"}
    assert "cancelled" in {t.status for t in trials}
    assert len(penguins.runs.executor()._all) <= 2, "no worker beyond the pool's size"
    assert penguins.runs.train(_request()).result().status == "done", (
        "the pool still runs jobs afterwards"
    )


def test_the_last_progress_before_a_long_step_is_never_dropped() -> None:
    """Two messages in quick succession, then a long silent step: both still arrive."""
    import multiprocessing

    from core.experiments.worker import ThrottledProgress

    ours, theirs = multiprocessing.Pipe()
    progress = ThrottledProgress(theirs)
    progress(0.02, "loading data")
    progress(0.1, "fitting on 24,000 rows")  # within the throttle interval of the first
    received = []
    while ours.poll(10) and len(received) < 2:  # the worker would now sit in fit() for minutes
        received.append(ours.recv())
    assert [m[2] for m in received] == ["loading data", "fitting on 24,000 rows"]
    progress(0.5, "sent")
    progress(0.6, "held")
    progress.finish(("result", "done"))  # what is still held is dropped, the result sent
    assert ours.recv()[2] == "sent" and ours.recv() == ("result", "done")
    assert not ours.poll(0.5)
