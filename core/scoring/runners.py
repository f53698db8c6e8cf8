"""Where chunks are scored, and the loop that keeps a bounded number of them in flight.

- :class:`InlineRunner`: in this process (one chunk, or ``workers=1``): no start-up cost.
- :class:`PoolRunner`: local worker processes (``spawn``; the model loaded once per worker by
  the pool's initializer), one fewer than the cores, and this process scoring whenever the
  workers have enough to do. Runs use the engine's executors; a scoring job is a stream of
  short tasks whose order matters, which a plain ``ProcessPoolExecutor`` serves best. The pool
  is shut down when the job ends, however it ends (no worker outlives the job).
- :class:`DaskRunner`: a ``dask.distributed`` cluster (``--executor dask --scheduler ADDRESS``):
  the spec (model bytes included) is scattered to every worker once, then each chunk is a task.

:func:`run_chunks` reads chunk after chunk and hands each to the runner while earlier ones are
being scored; once ``in_flight`` chunks are read and not yet written it waits for the oldest,
so memory is bounded by ``in_flight`` chunks whatever the input's length, and chunks are
written in input order. A cancel is noticed within a quarter of a second, even while waiting.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from core.errors import ShipwayError
from core.progress import CancelToken
from core.scoring.spec import Chunk, ChunkResult, ScorerSpec
from core.scoring.worker import (
    forget,
    init_process,
    score_chunk,
    score_in_process,
    score_on_dask,
)

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
    """``processes - 1`` worker processes, and this process as the last scorer.

    A chunk goes to the pool while fewer than two of the pool's chunks per worker are waiting
    or running; otherwise this process scores it itself, between reading and writing. So every
    core scores, and a job pays one worker's start-up (Python, pandas, scikit-learn, the model)
    less than with a worker per core, and one worker's memory.
    """

    name = "local"

    def __init__(self, spec: ScorerSpec, processes: int) -> None:
        self.workers = processes  # the scorers, this process included
        self._spawned = processes - 1
        self._inline = InlineRunner(spec)
        self._busy: list[Future] = []
        self._pool = ProcessPoolExecutor(
            max_workers=self._spawned,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_process,
            initargs=(spec,),
        )

    def submit(self, chunk: Chunk) -> Future:
        self._busy = [future for future in self._busy if not future.done()]
        if len(self._busy) >= 2 * self._spawned:
            return self._inline.submit(chunk)
        future = self._pool.submit(score_in_process, chunk)
        self._busy.append(future)
        return future

    def close(self) -> None:
        try:
            self._pool.shutdown(wait=True, cancel_futures=True)
        finally:
            self._inline.close()


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
