"""Background work on a QThreadPool, told to the GUI through Qt signals.

Engine functions that take long accept ``progress`` (``callable(fraction | None, message)``)
and ``cancel`` (a :class:`core.progress.CancelToken`) and know nothing of Qt. This module is the
only place that turns them into signals: :meth:`TaskRunner.submit` runs ``fn(progress, cancel)``
on a pool thread and gives back a :class:`Task`, a QObject on the GUI thread whose signals say
how far it got (at most ten times a second), and whether it succeeded, failed or was cancelled.

Training does not run on these threads: ``ws.runs.train`` and ``ws.runs.search`` hand the run
to the engine's worker processes and return its ``TrainingRun`` handle; a task only waits for
it (``handle.result(progress, cancel)``), so Cancel really stops a run (its worker is killed)
and a crash in scikit-learn cannot take the window down.

Two pools keep the window responsive: visible jobs (imports, runs, exports) use one, quick
reads for the pages ("fetches") the other, so a list refresh never waits behind a long import.

The pool threads share the GIL with the GUI thread, and much of what they run is Python (the
drift of a deployment's log goes through pandas): measured with ``benchmarks/bench_gui.py``,
the GUI thread spent most of a 200–370 ms stall of the Monitoring page asleep, waiting for the
GIL, not working. So the interpreter switches threads every millisecond instead of every five
(a waiting GUI callback gets the GIL sooner), and each pool thread runs at a lower scheduling
priority where the system allows it (Linux: nice 10 for that thread only), so that on a busy
machine the GUI thread gets a core first when both are ready.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, QRunnable, QThreadPool, Signal

from core.errors import Cancelled
from core.progress import CancelToken, ProgressFn

PROGRESS_INTERVAL_S = 0.1  # at most ten progress signals a second per task
SWITCH_INTERVAL_S = 0.001  # the GIL changes hands at least this often (Python's default: 5 ms)
BACKGROUND_NICE = 10  # how much lower the pool threads' scheduling priority is
_lowered = threading.local()
_ids = itertools.count(1)

Work = Callable[[ProgressFn, CancelToken], Any]


class Task(QObject):
    """One piece of background work as the GUI sees it.

    ``state`` is "running", "done", "failed" or "cancelled"; ``fraction`` (0–1, or None while
    unknown) and ``message`` are the latest progress. ``quiet`` tasks are page reads that the
    status bar does not list.
    """

    progressed = Signal(object, str)
    succeeded = Signal(object)
    failed = Signal(object, str)  # the exception and its formatted traceback
    cancelled = Signal()
    ended = Signal(object)  # this task, whatever the outcome

    def __init__(self, title: str, quiet: bool = False) -> None:
        super().__init__()
        self.id = next(_ids)
        self.title = title
        self.quiet = quiet
        self.token = CancelToken()
        self.state = "running"
        self.fraction: float | None = None
        self.message = "waiting to start"
        self.result: Any = None
        self.error: BaseException | None = None
        self.started_at = time.monotonic()

    @property
    def running(self) -> bool:
        return self.state == "running"

    def cancel(self) -> None:
        """Ask the work to stop; it ends as cancelled at its next check."""
        if self.running and not self.token.cancelled:
            self.token.cancel()
            self.message = "cancelling…"
            self.progressed.emit(self.fraction, self.message)

    # -- called on the GUI thread through the relay ----------------------------------------

    def _on_progress(self, fraction: float | None, message: str) -> None:
        if not self.running:
            return
        self.fraction = fraction
        self.message = "cancelling…" if self.token.cancelled else message
        self.progressed.emit(fraction, self.message)

    def _on_done(self, result: Any) -> None:
        self.result = result
        if self.token.cancelled:
            self._end("cancelled", self.cancelled.emit)
        else:
            self._end("done", lambda: self.succeeded.emit(result))

    def _on_error(self, error: BaseException, trace: str) -> None:
        self.error = error
        self._end("failed", lambda: self.failed.emit(error, trace))

    def _on_cancelled(self) -> None:
        self._end("cancelled", self.cancelled.emit)

    def _end(self, state: str, emit: Callable[[], None]) -> None:
        self.state = state
        self.message = state
        try:
            emit()
        finally:
            self.ended.emit(self)


class _Relay(QObject):
    """Lives on the GUI thread; the pool thread emits these, Qt queues them across."""

    progress = Signal(object, str)
    done = Signal(object)
    error = Signal(object, str)
    stopped = Signal()


class _Throttle:
    """A progress callback that forwards at most one message per interval (and every 100 %)."""

    def __init__(self, emit: Callable[[float | None, str], None], interval: float) -> None:
        self._emit = emit
        self._interval = interval
        self._last = 0.0

    def __call__(self, fraction: float | None, message: str) -> None:
        now = time.monotonic()
        if now - self._last >= self._interval or (fraction is not None and fraction >= 1.0):
            self._last = now
            self._emit(fraction, message)


class _Runnable(QRunnable):
    def __init__(self, fn: Work, relay: _Relay, token: CancelToken) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._relay = relay
        self._token = token

    def run(self) -> None:
        _lower_priority()
        relay = self._relay
        try:
            result = self._fn(_Throttle(relay.progress.emit, PROGRESS_INTERVAL_S), self._token)
        except Cancelled:
            relay.stopped.emit()
        except BaseException as exc:  # every failure reaches the GUI, never a silent death
            relay.error.emit(exc, traceback.format_exc())
        else:
            relay.done.emit(result)
        finally:
            self._fn = None  # type: ignore[assignment]  # let go of captured objects now


def _lower_priority() -> None:
    """Give this pool thread a lower priority than the GUI thread, once (Linux threads have
    their own nice value; elsewhere this does nothing)."""
    if getattr(_lowered, "done", False):
        return
    _lowered.done = True
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)


class TaskRunner(QObject):
    """Starts tasks, keeps them alive until they end, and reports failures.

    Parameters
    ----------
    report_error
        ``callable(error, context, traceback)`` for failures that no ``on_failure`` handles
        (normally :meth:`desktop.errors.ErrorChannel.report`).
    """

    started = Signal(object)  # Task
    ended = Signal(object)  # Task

    def __init__(
        self,
        report_error: Callable[[BaseException, str, str], None] | None = None,
        max_jobs: int = 4,
        max_fetches: int = 2,
    ) -> None:
        super().__init__()
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._report_error = report_error
        self._jobs = QThreadPool()
        self._jobs.setMaxThreadCount(max_jobs)
        self._fetches = QThreadPool()
        self._fetches.setMaxThreadCount(max_fetches)
        self._live: dict[int, tuple[Task, _Relay]] = {}
        self.closed = False

    def submit(
        self,
        title: str,
        fn: Work,
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException, str], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
        quiet: bool = False,
        owner: QObject | None = None,
    ) -> Task:
        """Run ``fn(progress, cancel)`` in the background.

        Callbacks run on the GUI thread; they are skipped when ``owner`` (a widget, say) has
        been deleted meanwhile. A failure without ``on_failure`` goes to the error channel.
        """
        if self.closed:
            raise RuntimeError("the task runner is shut down")
        task = Task(title, quiet)
        relay = _Relay()
        relay.progress.connect(task._on_progress)
        relay.done.connect(task._on_done)
        relay.error.connect(task._on_error)
        relay.stopped.connect(task._on_cancelled)
        self._connect_callbacks(task, owner, on_success, on_failure, on_cancel)
        task.ended.connect(self._forget)
        self._live[task.id] = (task, relay)
        pool = self._fetches if quiet else self._jobs
        pool.start(_Runnable(fn, relay, task.token))
        self.started.emit(task)
        return task

    def fetch(
        self,
        fn: Callable[[], Any],
        on_success: Callable[[Any], None],
        *,
        owner: QObject | None = None,
        on_failure: Callable[[BaseException, str], None] | None = None,
        title: str = "reading",
    ) -> Task:
        """A quiet read for a page: ``fn()`` in the background, ``on_success(result)`` after."""
        return self.submit(
            title,
            lambda _progress, _cancel: fn(),
            on_success=on_success,
            on_failure=on_failure,
            quiet=True,
            owner=owner,
        )

    def _connect_callbacks(self, task, owner, on_success, on_failure, on_cancel) -> None:
        def alive() -> bool:
            return owner is None or shiboken6.isValid(owner)

        if on_success is not None:
            task.succeeded.connect(lambda result: alive() and on_success(result))
        if on_cancel is not None:
            task.cancelled.connect(lambda: alive() and on_cancel())

        def failed(error: BaseException, trace: str) -> None:
            if on_failure is not None and alive():
                on_failure(error, trace)
            elif on_failure is None and self._report_error is not None:
                self._report_error(error, task.title, trace)

        task.failed.connect(failed)

    def _forget(self, task: Task) -> None:
        self._live.pop(task.id, None)
        self.ended.emit(task)

    # -- what is running, and stopping it ---------------------------------------------------

    def tasks(self, include_quiet: bool = False) -> list[Task]:
        return [t for t, _ in self._live.values() if include_quiet or not t.quiet]

    def cancel_all(self) -> None:
        for task, _ in list(self._live.values()):
            task.cancel()

    def wait(self, timeout_s: float = 15.0) -> bool:
        """Process events until every task has ended (or the time is up); True when all did."""
        deadline = time.monotonic() + timeout_s
        while self._live and time.monotonic() < deadline:
            self._jobs.waitForDone(20)
            self._fetches.waitForDone(20)
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        return not self._live

    def shutdown(self, timeout_s: float = 15.0) -> bool:
        """Cancel everything, wait for it to end, and accept no more tasks."""
        self.cancel_all()
        done = self.wait(timeout_s)
        self.closed = True
        return done
