"""Processes and threads: whether a process still runs (worker metrics, deployment probes),
and the operating system's name of a thread."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

PR_SET_NAME = 15  # prctl(2)


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (and is not a zombie) on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = f"/proc/{pid}/stat"
    try:
        with open(stat, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` (15 bytes at most) in the OS too, on Linux.

    Python names threads for itself only; with the OS name ``top -H``, ``ps -L`` and the
    serving benchmark can tell the prediction log's writer from the request threads.
    """
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):  # no libc to ask: the name stays
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
