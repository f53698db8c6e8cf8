"""The body of a local worker process: pre-warm the heavy imports, then run jobs until told to
stop. Progress messages are throttled so a chatty run cannot flood the pipe."""

from __future__ import annotations

import time
from typing import Any

THROTTLE_S = 0.1


def main(conn: Any, threads: int = 1) -> None:
    """Serve jobs from ``conn``; native thread pools are capped at ``threads`` so that several
    workers on one machine do not fight over its cores."""
    import sklearn.ensemble  # noqa: F401  pre-warm: the first job should not pay for imports
    from threadpoolctl import threadpool_limits

    from core.experiments.training import execute_run

    threadpool_limits(limits=max(1, threads))

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            break
        if job is None:
            break
        result = execute_run(job, _throttled(conn))
        conn.send(("result", result))
    _shutdown_loky()


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
            executor.shutdown(wait=True)
    except Exception:  # best effort at exit
        pass
