"""Counts shared by the worker processes of one server, through a folder.

Every worker writes its :meth:`~core.serving.metrics.Metrics.state` to ``PID.json`` in the
folder about once a second (write a temporary file, then rename); the worker that answers
``/metrics`` adds the states of its live siblings to its own. A sibling's figures are at most a
second old; the files of workers that ended are ignored, so a restarted worker starts from zero
like any Prometheus target that restarts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from core.serving.metrics import Metrics
from core.serving.processes import process_alive

log = logging.getLogger("shipway.serving")
PUBLISH_SECONDS = 1.0


def sibling_states(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The published states of the other live workers."""
    states = []
    for path in Path(folder).glob("*.json"):
        if not path.stem.isdigit():
            continue
        pid = int(path.stem)
        if pid == os.getpid() or not process_alive(pid):
            continue
        with contextlib.suppress(OSError, ValueError):
            states.append(json.loads(path.read_text(encoding="utf-8")))
    return states


class Publisher:
    """A thread writing this worker's counts to the folder until stopped."""

    def __init__(self, folder: str | os.PathLike[str], metrics: Metrics) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.metrics = metrics
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipway-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(PUBLISH_SECONDS):
            self.publish()

    def publish(self) -> None:
        target = self.folder / f"{os.getpid()}.json"
        temporary = target.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps(self.metrics.state()), encoding="utf-8")
            os.replace(temporary, target)
        except OSError as exc:  # a full disk must not stop the server
            log.warning("could not publish metrics: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(OSError):
            (self.folder / f"{os.getpid()}.json").unlink()
