"""Pacing paints, so the GUI thread never stalls for many plots at once.

A pyqtgraph plot costs the GUI thread tens of milliseconds to set and paint (items, antialiased
paths, axis text). When several change together (a new Monitoring snapshot, a theme switch),
painting them all in one frame stalls the window for the sum. These helpers spread the work
over event-loop turns :data:`TURN_MS` apart, one plot per turn: :class:`Stagger` runs a round
of update steps, :func:`paint_later` lets widgets repaint one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

TURN_MS = 25  # between two plots painted one after the other: the last one's paint is done


class Stagger(QObject):
    """Runs a round of updates one step per :data:`TURN_MS`, so that each plot is set and
    painted before the next is touched: the GUI thread stalls for one plot, never for all of
    them at once. A new round replaces the steps an older one had not run yet."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._steps: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TURN_MS)
        self._timer.timeout.connect(self._next)

    def run(self, steps: Sequence[Callable[[], None]]) -> None:
        self._steps = list(steps)
        self._timer.start()

    @property
    def pending(self) -> bool:
        return bool(self._steps)

    def _next(self) -> None:
        if self._steps:
            self._steps.pop(0)()
        if self._steps:
            self._timer.start()


class _PaintQueue(QObject):
    """Widgets whose paint waits; one is let through per event-loop turn."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[QWidget] = []
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(TURN_MS)
        self.timer.timeout.connect(self._release)

    def add(self, widget: QWidget) -> None:
        if widget not in self.waiting:
            widget.setUpdatesEnabled(False)
            self.waiting.append(widget)
        self.timer.start()

    def _release(self) -> None:
        import shiboken6

        while self.waiting:
            widget = self.waiting.pop(0)
            if shiboken6.isValid(widget):
                widget.setUpdatesEnabled(True)  # repaints it in the next turn
                break
        if self.waiting:
            self.timer.start()


_queue: _PaintQueue | None = None


def paint_later(widget: QWidget) -> None:
    """Repaint ``widget`` in a later event-loop turn, one such widget per turn: a theme change
    repaints the plots in sight one after another instead of stalling for all of them."""
    global _queue
    if _queue is None:
        _queue = _PaintQueue()
    _queue.add(widget)
