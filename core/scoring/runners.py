"""Where chunks are scored, and the loop that keeps a bounded number of them in flight.

- :class:`InlineRunner`: in the calling thread (one chunk, or ``workers=1``).
- :class:`PoolRunner`: threads of this process, one per core (``workers``), while the calling
  thread reads and writes. A chunk's heavy parts run outside the GIL (the CSV reader and the
  typing in pyarrow, numpy's copies and arithmetic, the tree walks of a forest, the Parquet
  writer), so threads use every core as worker processes did, without their start-up (a
  Python with pandas, pyarrow and scikit-learn, and the model unpickled again: about 3 s of
  CPU and 0.3 GB a process, a seventh of a million-row job's CPU) and without sending every
  chunk and its answer through a pipe. The model is loaded once and shared, read-only; native
  thread pools (BLAS, OpenMP) are held to one thread each while the job runs, as the threads
  are the parallelism. The pool is shut down when the job ends, however it ends.
- :class:`DaskRunner`: a ``dask.distributed`` cluster (``--executor dask --scheduler ADDRESS``):
  the spec (model bytes included) is scattered to every worker once, then each chunk is a task.

:func:`run_chunks` reads chunk after chunk and hands each to the runner while earlier ones are
being scored; once ``in_flight`` chunks are read and not yet written it waits for the oldest,
so memory is bounded by ``in_flight`` chunks whatever the input's length, and chunks are
written in input order. A cancel is noticed within a quarter of a second, even while waiting
(a chunk being scored then finishes, in a fraction of a second, before the job ends).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from core.errors import ShipwayError
from core.progress import CancelToken
from core.scoring.spec import Chunk, ChunkResult, ScorerSpec
from core.scoring.worker import forget, load_pipeline, score_chunk, score_on_dask

POLL_S = 0.25


class InlineRunner:
    name = "inline"

    def __init__(self, spec: ScorerSpec) -> None:
        self._spec = spec

    def submit(self, chunk: Chunk) -> Future:
        future: Future = Future()
        try:
            future.set_result(score_chunk(self._spec, chunk))
        except Exception as exc:  # reported by run_chunks like a worker's failure
            future.set_exception(exc)
        return future

    def close(self) -> None:
        forget()  # a long-lived process (the app) does not keep the model


class PoolRunner:
    """``workers`` threads scoring chunks; the calling thread reads and writes."""

    name = "local"

    def __init__(self, spec: ScorerSpec, workers: int) -> None:
        from threadpoolctl import threadpool_limits

        self.workers = workers
        self._spec = spec
        load_pipeline(spec)  # once, before the threads share it
        self._limits = threadpool_limits(limits=1)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="shipway-score")

    def submit(self, chunk: Chunk) -> Future:
        return self._pool.submit(score_chunk, self._spec, chunk)

    def close(self) -> None:
        try:
            self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._limits.restore_original_limits()
            forget()


class DaskRunner:
    name = "dask"

    def __init__(self, spec: ScorerSpec, scheduler: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ShipwayError(
                "the dask executor needs dask.distributed", hint="install Shipway's team extra"
            ) from None
        try:
            self._client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise ShipwayError(
                f"no Dask scheduler answers at {scheduler}: {exc}",
                where=scheduler,
                hint="check the address",
            ) from None
        self.workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        self._spec = self._client.scatter(spec, broadcast=True, hash=False)
        self._futures: list[Any] = []

    def submit(self, chunk: Chunk) -> Any:
        future = self._client.submit(score_on_dask, self._spec, chunk, pure=False)
        self._futures.append(future)
        if len(self._futures) > 64:
            self._futures = [f for f in self._futures if not f.done()]
        return future

    def close(self) -> None:
        try:
            self._client.cancel([f for f in self._futures if not f.done()])
        finally:
            self._client.close()


def make_runner(
    spec: ScorerSpec, executor: str, scheduler: str | None, workers: int | None, single_chunk: bool
) -> Any:
    """The runner a job asked for; a small job (about one chunk) is scored in this process,
    unless ``workers`` was given."""
    if executor == "dask":
        assert scheduler is not None
        return DaskRunner(spec, scheduler)
    count = workers or os.cpu_count() or 1
    if count == 1 or (single_chunk and workers is None):
        return InlineRunner(spec)
    return PoolRunner(spec, count)


@dataclass(frozen=True)
class RunStats:
    chunks: int
    max_in_flight: int


def _wait(future: Any, cancel: CancelToken) -> ChunkResult:
    while True:
        cancel.raise_if_cancelled()
        try:
            return future.result(timeout=POLL_S)
        except (FutureTimeout, TimeoutError):
            continue
        except ShipwayError:
            raise
        except Exception as exc:
            raise ShipwayError(
                f"scoring failed: {type(exc).__name__}: {exc}",
                hint="nothing was stored; the model could not predict these rows",
            ) from exc


def run_chunks(
    chunks: Iterable[Chunk],
    runner: Any,
    in_flight: int,
    write: Callable[[ChunkResult], None],
    cancel: CancelToken,
) -> RunStats:
    """Score every chunk with ``runner``, at most ``in_flight`` read and not yet written, and
    ``write`` the results in input order."""
    pending: deque[Any] = deque()
    count = peak = 0
    for chunk in chunks:
        cancel.raise_if_cancelled()
        pending.append(runner.submit(chunk))
        count += 1
        peak = max(peak, len(pending))
        while pending and (len(pending) >= in_flight or pending[0].done()):
            write(_wait(pending.popleft(), cancel))
    while pending:
        write(_wait(pending.popleft(), cancel))
    return RunStats(count, peak)
