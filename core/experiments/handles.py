"""A started run (or search): its id at once, its progress as it goes, its run when it ends.

Starting records the run and hands it to the executor, then returns a :class:`TrainingRun`. A
waiter thread of the engine records the outcome whether or not anyone waits, so a run never
stays RUNNING because its caller went away. A caller that wants the outcome calls
:meth:`TrainingRun.result` with its own ``progress`` and ``cancel``: progress messages reach it
from the moment it waits (the newest one first), and cancelling its token cancels the run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from core.entities import Run
from core.progress import CancelToken, ProgressFn, no_progress

POLL_S = 0.1


class ProgressBox:
    """The progress of work nobody may be listening to: every message kept, in order.

    Messages are few (a worker sends at most ten a second), and keeping them all lets a caller
    that starts waiting late still see the stages it missed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[tuple[float | None, str]] = []

    def __call__(self, fraction: float | None, message: str) -> None:
        with self._lock:
            self._messages.append((fraction, message))

    def since(self, seen: int) -> list[tuple[float | None, str]]:
        with self._lock:
            return self._messages[seen:]


class TrainingRun:
    """A run that has started. ``run_id`` is its row (the parent row, for a search)."""

    def __init__(
        self,
        run_id: int,
        kind: str,
        future: Future[Run],
        box: ProgressBox,
        cancel: Callable[[], None],
    ) -> None:
        self.run_id = run_id
        self.kind = kind
        self._future = future
        self._box = box
        self._cancel = cancel

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> None:
        """Stop the run (its worker is killed); it is recorded as cancelled."""
        self._cancel()

    def result(
        self,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
        timeout: float | None = None,
    ) -> Run:
        """Wait for the run's end; its progress goes to ``progress`` meanwhile.

        Raises :class:`~core.errors.Cancelled` when a run was cancelled (it is recorded so; a
        cancelled search instead returns its parent run, recorded cancelled, beside the trials
        that finished), ``TimeoutError`` when ``timeout`` seconds pass first (the run goes on).
        """
        seen = 0
        waited = 0.0
        while True:
            if cancel is not None and cancel.cancelled:
                self._cancel()
            finished = self._future.done()
            for fraction, message in self._box.since(seen):  # the last ones too, once it ended
                seen += 1
                progress(fraction, message)
            if finished:
                return self._future.result()
            try:
                self._future.exception(timeout=POLL_S)  # wakes as soon as the run ends
            except FutureTimeout:
                waited += POLL_S
                if timeout is not None and waited >= timeout:
                    raise TimeoutError(f"run {self.run_id} is still running") from None


def waiter(target: Callable[[], Run], name: str) -> Future[Run]:
    """Run ``target`` on a daemon thread; its run (or exception) lands in the future."""
    future: Future[Run] = Future()

    def work() -> None:
        try:
            future.set_result(target())
        except BaseException as exc:  # Cancelled included: result() raises it
            future.set_exception(exc)

    threading.Thread(target=work, name=name, daemon=True).start()
    return future
