"""How often a background thread that died may be started again: a few times a minute.

The prediction log's writer and the drift window's thread are restarted when they end; a thread
that dies at once on every start must not spin, so the restarts of the last minute are counted
and past :data:`RESTARTS_PER_MINUTE` none is allowed until the oldest is a minute old.
"""

from __future__ import annotations

import time
from collections import deque

RESTARTS_PER_MINUTE = 5
WINDOW_S = 60.0


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
