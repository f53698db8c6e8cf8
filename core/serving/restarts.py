"""How often a background thread that died may be started again: a few times a minute.

The prediction log's writer and the drift window's thread are restarted when they end; a thread
that dies at once on every start must not spin, so the restarts of the last minute are counted
and past :data:`RESTARTS_PER_MINUTE` none is allowed until the oldest is a minute old.
:class:`RestartingThread` is the one way both hold, start and start again their thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import ClassVar

RESTARTS_PER_MINUTE = 5
WINDOW_S = 60.0
log = logging.getLogger("shipway.serving")


class RestartBudget:
    """The restarts of the last minute; not thread-safe (callers hold their own lock)."""

    def __init__(self, per_minute: int = RESTARTS_PER_MINUTE) -> None:
        self.per_minute = per_minute
        self._times: deque[float] = deque()

    def take(self) -> bool:
        """Whether a restart is allowed now (and, if so, count it)."""
        now = time.monotonic()
        while self._times and now - self._times[0] > WINDOW_S:
            self._times.popleft()
        if len(self._times) >= self.per_minute:
            return False
        self._times.append(now)
        return True


def error_text(exc: BaseException) -> str:
    """How a failure is shown in ``last_error``: its type and the start of its message."""
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class RestartingThread:
    """A background thread (``self._run``, named :attr:`THREAD`) that is started again when it
    ended, within a :class:`RestartBudget`.

    The class that mixes it in sets ``_lock`` and ``_stop`` and calls :meth:`_init_thread` last
    in its constructor; :meth:`ensure_running` costs a liveness check while the thread runs.
    """

    THREAD: ClassVar[str]  # the thread's name
    ROLE: ClassVar[str]  # what the thread is, in the log: "prediction log writer"
    _lock: threading.Lock
    _stop: threading.Event

    def _init_thread(self) -> None:
        self.restarts = 0
        self.last_error: str | None = None
        self._restarts = RestartBudget()
        self._thread = self._start_thread()

    def _run(self) -> None:
        raise NotImplementedError

    def _start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name=self.THREAD, daemon=True)
        thread.start()
        return thread

    def _restarted(self) -> None:
        """Called (under the lock) when another thread was started: nothing by default."""

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def ensure_running(self) -> bool:
        """Start a new thread when the last one ended (rate-limited); whether one runs now."""
        if self._thread.is_alive() or self._stop.is_set():
            return self._thread.is_alive()
        with self._lock:
            if self._thread.is_alive():
                return True
            if not self._restarts.take():
                return False
            self.restarts += 1
            log.error("%s ended (%s); starting another", self.ROLE, self.last_error)
            self._thread = self._start_thread()
            self._restarted()
            return True
