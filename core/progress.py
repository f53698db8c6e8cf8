"""Progress reporting and cancellation for long work, free of any GUI toolkit.

Long core functions take ``progress`` (a callable ``(fraction, message) -> None``; fraction in
[0, 1] or ``None`` when unknown) and ``cancel`` (a :class:`CancelToken`). The desktop turns them
into Qt signals in ``desktop/tasks.py``; the CLI prints progress on stderr.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import Cancelled

ProgressFn = Callable[[float | None, str], None]


def no_progress(fraction: float | None, message: str) -> None:
    """A progress callback that ignores everything."""


class CancelToken:
    """A thread-safe flag that long work checks between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled by the user", hint="nothing was stored; start it again")


@dataclass(frozen=True)
class Stage:
    """Maps the progress of one stage (``label``) onto ``start``..``end`` of the overall
    fraction that ``progress`` reports."""

    progress: ProgressFn
    start: float
    end: float
    label: str

    def __call__(self, fraction: float | None = None, detail: str = "") -> None:
        overall = None if fraction is None else self.start + (self.end - self.start) * fraction
        message = f"{self.label}: {detail}" if detail else self.label
        self.progress(overall, message)
