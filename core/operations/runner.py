"""Jobs of the service, run one at a time on a thread of their own, seen by everyone.

Each job is recorded before it runs (``shipway jobs list`` shows it queued), its progress is
written at most once a second, and a cancel requested by any process (``shipway jobs cancel``,
the app) is read within a second and stops the work through its cancel token. A job that raises
ends FAILED with the error's one line; the thread goes on with the next. The thread's death, or a
job that runs past its time, shows in :meth:`JobRunner.health`, which the service's heartbeat
carries.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.entities import Job
from core.errors import Cancelled, ShipwayError
from core.progress import CancelToken
from core.store.job_repository import JobRepository

log = logging.getLogger("shipway.service")
PROGRESS_EVERY_S = 1.0

Work = Callable[[Callable[[float | None, str], None], CancelToken], dict[str, Any]]


@dataclass(frozen=True)
class Queued:
    job: Job
    work: Work
    on_end: Callable[[Job], None] | None


class JobRunner:
    """A queue of recorded jobs and the one thread that runs them."""

    def __init__(self, jobs: JobRepository) -> None:
        self._jobs = jobs
        self._queue: queue.Queue[Queued | None] = queue.Queue()
        self._current: Job | None = None
        self._lock = threading.Lock()
        self.failures = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="shipway-jobs", daemon=True)
        self._thread.start()

    def submit(
        self, kind: str, title: str, target: str, work: Work,
        on_end: Callable[[Job], None] | None = None, **detail: Any,
    ) -> Job:  # fmt: skip
        """Record a job (queued) and run ``work(progress, cancel)`` when its turn comes."""
        job = self._jobs.create(kind, title, target, **detail)
        self._queue.put(Queued(job, work, on_end))
        return job

    def pending(self, kind: str | None = None, target: str | None = None) -> bool:
        """Whether a job of ``kind`` for ``target`` waits or runs (so none is queued twice)."""
        with self._lock:
            items = [q.job for q in list(self._queue.queue) if q is not None]
            if self._current is not None:
                items.append(self._current)
        return any((kind is None or j.kind == kind) and (target is None or j.target == target)
                   for j in items)  # fmt: skip

    def health(self) -> dict[str, Any]:
        current = self._current
        return {
            "alive": self._thread.is_alive(),
            "queued": self._queue.qsize(),
            "running": None if current is None else {"id": current.id, "title": current.title},
            "failures": self.failures,
            "last_error": self.last_error,
        }

    def stop(self, timeout: float = 30.0) -> None:
        """Let the running job finish (or see its cancel), then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def cancel_running(self) -> None:
        current = self._current
        if current is not None:
            self._jobs.request_cancel(current.id)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            with self._lock:
                self._current = item.job
            try:
                ended = self._execute(item)
            except BaseException as exc:  # never let one job end the thread
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("job %s could not be recorded", item.job.id)
                ended = self._record_failure(item.job.id, self.last_error)
            finally:
                with self._lock:
                    self._current = None
            if ended is not None and item.on_end is not None:
                try:
                    item.on_end(ended)
                except Exception:
                    log.exception("after job %s", item.job.id)

    def _record_failure(self, job_id: int, message: str) -> Job | None:
        try:
            return self._jobs.finish(job_id, "failed", error=message)
        except Exception:  # the database itself is unusable now: the heartbeat says so
            log.exception("job %s: its failure could not be recorded either", job_id)
            return None

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _execute(self, item: Queued) -> Job:
        job = self._jobs.start(item.job.id)
        token = CancelToken()
        progress = _Progress(self._jobs, job.id, token)
        log.info("job %s started: %s", job.id, job.title)
        try:
            if self._jobs.get(job.id).cancel_requested:
                raise Cancelled("cancelled before it started")
            detail = item.work(progress, token) or {}
        except Cancelled:
            return self._jobs.finish(job.id, "cancelled", error="cancelled")
        except ShipwayError as error:
            return self._failed(job, error.one_line())
        except Exception as error:
            log.exception("job %s failed", job.id)
            return self._failed(job, f"{type(error).__name__}: {error}")
        log.info("job %s done", job.id)
        return self._jobs.finish(job.id, "done", outcome=detail)

    def _failed(self, job: Job, message: str) -> Job:
        self.failures += 1
        self.last_error = message
        log.warning("job %s failed: %s", job.id, message)
        return self._jobs.finish(job.id, "failed", error=message)


class _Progress:
    """Writes a job's progress at most once a second, and turns a requested cancel into the
    token's cancel (checked on each message and at least once a second by a watcher)."""

    def __init__(self, jobs: JobRepository, job_id: int, token: CancelToken) -> None:
        self._jobs, self._id, self._token = jobs, job_id, token
        self._last = 0.0
        watcher = threading.Thread(target=self._watch, name=f"job-{job_id}-cancel", daemon=True)
        watcher.start()

    def __call__(self, fraction: float | None, message: str) -> None:
        now = time.monotonic()
        if now - self._last >= PROGRESS_EVERY_S or fraction == 1.0:
            self._last = now
            with contextlib.suppress(ShipwayError):  # progress is a courtesy; the job goes on
                self._jobs.progress(self._id, fraction, message)

    def _watch(self) -> None:
        while not self._token.cancelled:
            time.sleep(PROGRESS_EVERY_S)
            try:
                job = self._jobs.get(self._id)
            except ShipwayError:
                continue
            if job.finished:
                return
            if job.cancel_requested:
                self._token.cancel()
                return
