"""Ctrl-C and SIGTERM as a stop event, for every long-running command.

Kept apart from the server (Flask, waitress) so that a process that only needs to stop cleanly
(``shipway service run``, ``shipway service logs --follow``) does not import a web stack.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def install_signal_handlers(stop: threading.Event) -> Callable[[], None]:
    """SIGTERM and SIGINT set ``stop`` (main thread only); returns a function restoring them.

    The handlers are installed whatever the process inherited, so a command started with SIGINT
    ignored (a background job's child) still stops on Ctrl-C sent to it.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(signum: int, frame: object) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
