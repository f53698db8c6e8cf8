"""Background reads repeated every few seconds, never two at once, only while they are seen.

Live views (deployment states, monitoring plots, the change feed) poll the engine. A
:class:`Poller` starts the read through the quiet pool of :class:`~desktop.tasks.TaskRunner`
(``read`` returns the started :class:`~desktop.tasks.Task`, as ``Page.fetch`` does), skips a tick
while the previous read has not ended (a slow disk or a silent server cannot pile reads up), and
skips ticks while its owner widget is hidden, unless ``always`` is set.
"""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from desktop.tasks import Task


class Poller(QObject):
    """Calls ``read()`` every ``interval_ms`` while ``owner`` is visible (or ``always``)."""

    def __init__(
        self,
        owner: QWidget,
        interval_ms: int,
        read: Callable[[], Task | None],
        always: bool = False,
    ) -> None:
        super().__init__(owner)
        self._owner = owner
        self._read = read
        self._always = always
        self._running: Task | None = None
        self.ticks = 0  # reads started (the tests read it)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    def start(self, now: bool = True) -> None:
        self.timer.start()
        if now:
            self.poll()

    def stop(self) -> None:
        self.timer.stop()

    @property
    def active(self) -> bool:
        return self.timer.isActive()

    @property
    def busy(self) -> bool:
        return self._running is not None

    def poll(self) -> None:
        """Read now, unless a read is under way or nobody would see the answer."""
        if self._running is not None or not shiboken6.isValid(self._owner):
            return
        if not self._always and not self._owner.isVisible():
            return
        task = self._read()
        if task is None:
            return
        self.ticks += 1
        self._running = task
        task.ended.connect(self._ended)

    def _ended(self, task: Task) -> None:
        if task is self._running:
            self._running = None
