"""The body of a local worker process: pre-warm the heavy imports, then run jobs until told to
stop. Progress messages are throttled so a chatty run cannot flood the pipe."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
from typing import Any

THROTTLE_S = 0.1


def main(conn: Any) -> None:
    """Serve ``("run", job, threads)`` messages from ``conn`` until ``None`` or a closed pipe.

    Each job runs with the native thread pools (OpenMP, BLAS) capped at the ``threads`` the
    executor chose for it, so that parallel jobs do not fight over the cores while a lone one
    uses them all; the limit is recorded in the run's environment.
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
        with threadpool_limits(limits=max(1, threads)):
            result = execute_run(job, _throttled(conn))
        if result.ok:
            environment = {**result.environment, "threads": threads}
            result = dataclasses.replace(result, environment=environment)
        conn.send(("result", result))
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


def _throttled(conn: Any) -> Any:
    """A progress callback sending at most ten messages a second (first and last always)."""
    last = [0.0]

    def progress(fraction: float | None, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= THROTTLE_S or fraction in (0.0, 1.0):
            last[0] = now
            conn.send(("progress", fraction, message))

    return progress


def _shutdown_loky() -> None:
    """Stop joblib's process pool if a run started one (never create one just to stop it)."""
    try:
        from joblib.externals.loky import reusable_executor

        executor = getattr(reusable_executor, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)
    except Exception:  # best effort at exit
        pass
