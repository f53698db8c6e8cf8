"""Where runs execute: local worker processes, or a dask.distributed cluster.

The local executor keeps a small pool of long-lived, pre-warmed worker processes started with
the ``spawn`` method (never ``fork`` from a process that may hold Qt and threads). Each worker
runs one job at a time and streams progress back through its pipe. Cancel kills the worker, so a
run really stops; a worker that dies (cancelled, killed, crashed) is replaced by a fresh one, and
its run ends as CANCELLED or FAILED, never stuck RUNNING.

Each job is given its share of the cores when it is sent: the machine's cores divided by the
jobs that run at once (those submitted and not finished, at most one per worker). The worker caps
the native thread pools (OpenMP, BLAS) at that number and the run gives it to its estimator as
``n_jobs`` where that changes nothing but the speed (:mod:`core.experiments.threads`). A lone run
uses every core; the trials of a search on two workers get half each. ``submit_many`` sends a
batch so that its first job already counts the others.

The Dask executor sends the same :class:`~core.experiments.training.RunJob` to a scheduler
address; its workers must see the project's ``objects/`` folder at the same path (a shared
folder), and return the model's bytes for the caller to store.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import threading
from concurrent import futures
from concurrent.futures import Future
from typing import Any, Protocol

from core.errors import Cancelled, ShipwayError
from core.experiments.jobs import RunJob, RunResult
from core.progress import ProgressFn

SHUTDOWN_GRACE_S = 5.0


class RunHandle:
    """A submitted run: wait for its result or cancel it."""

    def __init__(self, future: Future, cancel: Any) -> None:
        self._future = future
        self._cancel = cancel

    def result(self, timeout: float | None = None) -> RunResult:
        return self._future.result(timeout)

    def cancel(self) -> None:
        self._cancel()

    def done(self) -> bool:
        return self._future.done()


class Executor(Protocol):
    name: str
    stores_models: bool

    def submit(self, job: RunJob, progress: ProgressFn) -> RunHandle: ...

    def submit_many(self, jobs: list[tuple[RunJob, ProgressFn]]) -> list[RunHandle]: ...

    def shutdown(self) -> None: ...


class _Worker:
    def __init__(self, context: Any) -> None:
        from core.experiments import worker

        self.conn, child = context.Pipe(duplex=True)
        self.process = context.Process(target=worker.main, args=(child,), daemon=True)
        self.process.start()
        child.close()
        self.cancelled = False
        self.jobs = 0  # jobs sent to it
        self.busy = False

    def request_exit(self) -> None:
        """Make the worker exit without waiting for its interpreter's teardown.

        One that never ran a job is terminated at once (it may still be importing and has no
        child processes). An idle one is told to exit: it stops any joblib pool a job started,
        then ends at once. A busy one reads the same message after its job.
        """
        if self.jobs == 0 and not self.busy:
            self.process.terminate()
            return
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(None)

    def wait_exit(self, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Wait for the worker to end; kill it if it is still running after ``grace_s``."""
        self.process.join(grace_s)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(SHUTDOWN_GRACE_S)
        self.conn.close()

    def kill(self) -> None:
        self.cancelled = True
        if self.process.is_alive():
            self.process.kill()


class LocalExecutor:
    """Runs in pre-warmed worker processes on this machine (spawn start method)."""

    name = "local"
    stores_models = True

    def __init__(self, workers: int = 1) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._max = max(1, workers)
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a worker freed or ended, a cancel
        self._closed = False
        self._cores = os.cpu_count() or 1
        self._in_flight = 0  # jobs submitted and not finished
        self._dispatch = threading.Lock()  # held by submit_many while it submits a batch
        atexit.register(self.shutdown)

    def warm(self, count: int = 1) -> None:
        """Start workers now (their imports then overlap with the caller's own work)."""
        with self._lock:
            while len(self._all) < min(count, self._max):
                worker = _Worker(self._context)
                self._all.append(worker)
                self._idle.append(worker)

    def _acquire(self, cancelled: Any) -> _Worker | None:
        """An idle worker, a new one if the pool has room, or ``None`` once ``cancelled()``.

        Waits while every worker is busy; a worker that ends (killed by a cancel, crashed) frees
        room for a new one, so a queued job never waits for a worker that will not come back.
        """
        with self._changed:
            while True:
                if self._closed:
                    raise ShipwayError("the executor is shut down", hint="start a new one")
                if cancelled():
                    return None
                if self._idle:
                    worker = self._idle.pop()
                    break
                if len(self._all) < self._max:
                    worker = _Worker(self._context)
                    self._all.append(worker)
                    break
                self._changed.wait()
            worker.busy = True
            return worker

    def _release(self, worker: _Worker) -> None:
        with self._changed:
            worker.busy = False
            self._idle.append(worker)
            self._changed.notify_all()

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _discard(self, worker: _Worker) -> None:
        with self._changed:
            if worker in self._all:
                self._all.remove(worker)
            self._changed.notify_all()
        with contextlib.suppress(Exception):
            worker.process.join(SHUTDOWN_GRACE_S)
            worker.conn.close()

    def threads_per_job(self) -> int:
        """The thread limit a job sent now gets: cores ÷ jobs running at once (at least 1)."""
        with self._lock:
            at_once = min(self._max, max(1, self._in_flight))
        return max(1, self._cores // at_once)

    def _finished(self, _: Future) -> None:
        with self._lock:
            self._in_flight -= 1

    def submit_many(self, jobs: list[tuple[RunJob, ProgressFn]]) -> list[RunHandle]:
        """Submit a batch; none of its jobs is sent before all of them are counted."""
        with self._dispatch:
            return [self.submit(job, progress) for job, progress in jobs]

    def submit(self, job: RunJob, progress: ProgressFn) -> RunHandle:
        future: Future = Future()
        with self._lock:
            self._in_flight += 1
        future.add_done_callback(self._finished)
        state: dict[str, Any] = {"worker": None, "cancelled": False}
        guard = threading.Lock()  # a cancel and the worker's assignment never interleave

        def cancel() -> None:
            with guard:
                state["cancelled"] = True
                worker = state["worker"]
            if worker is not None:
                worker.kill()
            else:
                self._wake()  # a queued job stops waiting for a worker

        def drive() -> None:
            try:
                worker = self._acquire(lambda: state["cancelled"])
            except BaseException as exc:  # shut down meanwhile: never leave the future open
                future.set_exception(exc)
                return
            if worker is None:  # cancelled while queued: no worker was taken or killed
                future.set_exception(Cancelled("the run was cancelled", hint="nothing was kept"))
                return
            with guard:
                if state["cancelled"]:
                    self._release(worker)  # cancelled as it was handed a worker: keep it
                    future.set_exception(
                        Cancelled("the run was cancelled", hint="nothing was kept")
                    )
                    return
                state["worker"] = worker
            self._drive(worker, job, progress, future)

        threading.Thread(target=drive, name=f"run-{job.run_id}", daemon=True).start()
        return RunHandle(future, cancel)

    def _drive(self, worker: _Worker, job: RunJob, progress: ProgressFn, future: Future) -> None:
        try:
            worker.jobs += 1
            with self._dispatch:  # a batch being submitted is counted in full first
                threads = job.threads or self.threads_per_job()
            worker.conn.send(("run", job, threads))
            while True:
                message = worker.conn.recv()
                if message[0] == "progress":
                    progress(message[1], message[2])
                elif message[0] == "result":
                    self._release(worker)
                    future.set_result(message[1])
                    return
        except (EOFError, OSError, BrokenPipeError):
            self._worker_ended(worker, job, future)
        except BaseException as exc:  # never leave the future unresolved
            self._discard(worker)
            future.set_exception(exc)

    def _worker_ended(self, worker: _Worker, job: RunJob, future: Future) -> None:
        worker.process.join(SHUTDOWN_GRACE_S)
        code = worker.process.exitcode
        self._discard(worker)
        if worker.cancelled:
            future.set_exception(Cancelled("the run was cancelled", hint="nothing was kept"))
            return
        future.set_result(
            RunResult(
                job.run_id,
                False,
                error=f"the worker process running this run ended unexpectedly (exit code {code})",
                error_code="worker_died",
            )
        )

    def shutdown(self) -> None:
        """Stop every worker: idle ones exit at once; a busy one is killed after the grace time
        (its run was abandoned). No worker process outlives this call."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._changed.notify_all()
        for worker in workers:
            worker.request_exit()  # all first, so that they exit in parallel
        for worker in workers:
            worker.wait_exit()


class DaskExecutor:
    """Runs on a dask.distributed cluster (install the ``team`` extra)."""

    name = "dask"
    stores_models = False

    def __init__(self, address: Any) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ShipwayError(
                "the Dask executor needs dask.distributed",
                hint="pip install 'shipway[team]'",
            ) from None
        self._client = address if hasattr(address, "submit") else Client(address, timeout="20s")
        self._owns_client = not hasattr(address, "submit")

    def submit(self, job: RunJob, progress: ProgressFn) -> RunHandle:
        from core.experiments.training import execute_run

        progress(None, "sent to the Dask cluster")
        dask_future = self._client.submit(execute_run, job, pure=False)
        future: Future = Future()
        cancelled = threading.Event()

        def wait() -> None:
            try:
                future.set_result(dask_future.result())
            except BaseException as exc:
                if cancelled.is_set():
                    future.set_exception(
                        Cancelled("the run was cancelled", hint="nothing was kept")
                    )
                else:
                    future.set_exception(exc)

        def cancel() -> None:
            cancelled.set()
            dask_future.cancel()

        threading.Thread(target=wait, name=f"dask-run-{job.run_id}", daemon=True).start()
        return RunHandle(future, cancel)

    def submit_many(self, jobs: list[tuple[RunJob, ProgressFn]]) -> list[RunHandle]:
        return [self.submit(job, progress) for job, progress in jobs]

    def shutdown(self) -> None:
        if self._owns_client:
            self._client.close()


def wait_any(handles: list[RunHandle], timeout: float | None = None) -> None:
    """Return as soon as one of ``handles`` is done, or after ``timeout`` seconds."""
    futures.wait([h._future for h in handles], timeout=timeout, return_when=futures.FIRST_COMPLETED)
