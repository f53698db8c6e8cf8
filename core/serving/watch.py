"""Following a pointer file: how a deployment that serves an alias moves to a new version.

The pointer file is JSON ``{"model_dir": "..."}`` (a relative path is relative to the file's
folder). Its writer replaces it atomically (write a temporary file, then rename). The watcher
checks the file's identity (inode, size, modification time) about every half second and, when
it changed (or on the first look) and names another directory than the one serving, loads that
model and swaps the slot: the pointer is the truth. A pointer that cannot be read, or a model
that fails to load, is logged and the current model keeps serving.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from core.serving.errors import ServingError
from core.serving.slot import ModelSlot

log = logging.getLogger("shipway.serving")
POLL_SECONDS = 0.5


def read_pointer(path: str | os.PathLike[str]) -> Path:
    """The model directory a pointer file names (resolved against the file's folder)."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ServingError(
            f"pointer file {file} cannot be read: {exc}", code="bad_pointer"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("model_dir"), str):
        raise ServingError(
            f'pointer file {file} must hold {{"model_dir": "..."}}', code="bad_pointer"
        )
    return (file.parent / data["model_dir"]).resolve()


def write_pointer(path: str | os.PathLike[str], model_dir: str | os.PathLike[str]) -> None:
    """Point ``path`` at ``model_dir`` atomically (what a deployment manager calls)."""
    file = Path(path)
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"model_dir": str(model_dir)}), encoding="utf-8")
    os.replace(temporary, file)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


class PointerWatcher:
    """A thread that swaps ``slot`` to the directory the pointer file names when it changes."""

    def __init__(
        self, path: str | os.PathLike[str], slot: ModelSlot, interval: float = POLL_SECONDS
    ):
        self.path = Path(path)
        self.slot = slot
        self.interval = interval
        self._seen: tuple[int, int, int] | None = None  # the first look applies the pointer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shipway-pointer-watch", daemon=True)

    def start(self) -> PointerWatcher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5 * self.interval + 1)

    def check(self) -> bool:
        """Look at the pointer once; True when the slot was swapped."""
        signature = _signature(self.path)
        if signature is None or signature == self._seen:
            return False
        self._seen = signature
        try:
            target = read_pointer(self.path)
            if Path(self.slot.current().directory) == target:
                return False
            self.slot.swap(target)
            return True
        except ServingError as exc:
            log.error("pointer %s: %s; still serving %s", self.path, exc, self.slot.current().label)
            return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()
