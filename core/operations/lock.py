"""One service per project: an exclusive lock on ``.shipway/service.lock`` and a heartbeat.

``flock`` (``msvcrt.locking`` on Windows) is let go by the kernel when the process dies, so a
killed service never leaves the lock stuck. The heartbeat ``.shipway/service.json`` says who
holds it (pid, host), since when, and how its last look went; ``shipway service status``
reads both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from core.errors import ShipwayError

STATE_DIR = ".shipway"


class AlreadyRunning(ShipwayError, code="service_running"):
    """A service already runs for this project; nothing was started."""


class ServiceLock:
    """The project's service lock (``flock`` on POSIX, ``msvcrt.locking`` on Windows)."""

    def __init__(self, root: Path) -> None:
        self.folder = root / STATE_DIR
        self.path = self.folder / "service.lock"
        self._handle: Any = None

    def acquire(self) -> None:
        self.folder.mkdir(exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held while running
        try:
            _lock(handle)
        except OSError:
            handle.close()
            holder = read_heartbeat(self.folder)
            raise AlreadyRunning(
                "a Shipway service already runs for this project"
                + (f" (pid {holder.get('pid')} on {holder.get('host')})" if holder else ""),
                where=str(self.path.parent.parent),
                hint="`shipway service status` shows it; stop it before starting another",
            ) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _lock(handle: Any) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def read_heartbeat(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "service.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def write_heartbeat(root: Path, data: dict[str, Any]) -> None:
    """Replace the heartbeat file in one rename (a reader never sees half of it)."""
    folder = root / STATE_DIR
    folder.mkdir(exist_ok=True)
    temporary = folder / f".service.json.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(temporary, folder / "service.json")
