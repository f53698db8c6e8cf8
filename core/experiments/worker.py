"""The body of a local worker process: pre-warm the heavy imports, then run jobs until told to
stop. Progress messages are throttled so a chatty run cannot flood the pipe.

The throttle delays, it never drops: a message that comes too soon after the previous one is
held and sent by a timer once the interval has passed, unless a newer one replaced it first.
The last message before a long step ("fitting on N rows", then minutes inside scikit-learn
without a word) therefore always arrives, a quarter of a second late at worst.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import threading
import time
from typing import Any

THROTTLE_S = 0.1


def main(conn: Any) -> None:
    """Serve ``("run", job, threads)`` messages from ``conn`` until ``None`` or a closed pipe.

    Each job runs with the native thread pools (OpenMP, BLAS) capped at the ``threads`` the
    executor chose for it, so that parallel jobs do not fight over the cores while a lone one
    uses them all. The job carries the same number to the run, whose estimator takes it as
    ``n_jobs`` where that changes nothing but the speed (:mod:`core.experiments.threads`); the
    run's environment records both.
    """
    import sklearn.ensemble  # noqa: F401  pre-warm: the first job should not pay for imports
    from threadpoolctl import threadpool_limits

    from core.experiments.training import execute_run

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        _, job, threads = message
        threads = max(1, threads)
        progress = ThrottledProgress(conn)
        with threadpool_limits(limits=threads):
            result = execute_run(dataclasses.replace(job, threads=threads), progress)
        progress.finish(("result", result))
    _exit_now()


def _exit_now() -> None:
    """End the process without the interpreter's teardown (with scikit-learn loaded it takes
    about half a second, which a command would otherwise wait for): stop the joblib pool a run
    may have started, flush the standard streams, then exit."""
    _shutdown_loky()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing to lose
            stream.flush()
    os._exit(0)


class ThrottledProgress:
    """A progress callback that sends at most ten messages a second and loses none that count.

    A message within :data:`THROTTLE_S` of the last one sent is held; a timer sends the newest
    held message when the interval has passed. :meth:`finish` drops what is still held (the
    result says more) and sends the final message; one lock keeps the pipe's writes whole.
    """

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._last = 0.0
        self._held: tuple | None = None
        self._timer: threading.Timer | None = None

    def __call__(self, fraction: float | None, message: str) -> None:
        with self._lock:
            wait = self._last + THROTTLE_S - time.monotonic()
            if wait <= 0 or fraction in (0.0, 1.0):
                self._held = None
                self._send(("progress", fraction, message))
                return
            self._held = ("progress", fraction, message)
            if self._timer is None:
                self._timer = threading.Timer(wait, self._flush)
                self._timer.daemon = True
                self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            if self._held is not None:
                held, self._held = self._held, None
                self._send(held)

    def _send(self, item: tuple) -> None:
        self._last = time.monotonic()
        with contextlib.suppress(OSError, BrokenPipeError):  # the caller is gone: nothing to tell
            self._conn.send(item)

    def finish(self, item: tuple) -> None:
        """Send ``item`` (the result) after anything already sent; what is held is dropped."""
        with self._lock:
            self._held = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._conn.send(item)


def _shutdown_loky() -> None:
    """Stop joblib's process pool if a run started one (never create one just to stop it)."""
    try:
        from joblib.externals.loky import reusable_executor

        executor = getattr(reusable_executor, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)
    except Exception:  # best effort at exit
        pass
