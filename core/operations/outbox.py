"""The service's notices go out on a thread of their own, so a slow mail server or a webhook
that hangs never delays a restart or a check. Each delivery is audited (``notify.sent`` or
``notify.failed``, with the channel, the attempts and the error), and a sender that raises
never ends the thread."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from core.operations.config import NotifySettings
from core.operations.notices import Notice

log = logging.getLogger("shipway.service")


class Outbox:
    """A queue of notices and the thread that sends them with the settings in force."""

    def __init__(
        self,
        record: Callable[..., None],
        settings: Callable[[], NotifySettings],
        send: Callable[[Notice, NotifySettings], Any] | None = None,
    ) -> None:
        self._record, self._settings, self._send = record, settings, send
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="shipway-notify", daemon=True)
        self._thread.start()

    def put(self, notice: Notice) -> None:
        self._queue.put(notice)

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued (within ``timeout``), then end the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        from core.operations.notify import send

        deliver = self._send or send
        while True:
            notice = self._queue.get()
            if notice is None:
                return
            try:
                deliveries = deliver(notice, self._settings()) or ()
            except Exception as error:  # a notifier that fails must not end the thread
                log.exception("notice %s not sent", notice.title)
                self._record("notify.failed", "notice", notice.kind, title=notice.title,
                             error=str(error))  # fmt: skip
                continue
            for delivery in deliveries:
                self._record("notify.sent" if delivery.ok else "notify.failed", "notice",
                             notice.kind, title=notice.title, channel=delivery.channel,
                             attempts=delivery.attempts, error=delivery.error)  # fmt: skip
