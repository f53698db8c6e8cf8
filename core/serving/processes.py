"""Processes and threads: whether a process still runs (worker metrics, deployment probes),
who a process is (deployments), and the operating system's name of a thread.

A process id is reused once its process has ended, so an id alone does not name a process. A
:class:`ProcessIdentity` adds what a reused id cannot repeat: when the process started (field 22
of ``/proc/PID/stat``, clock ticks since boot, with the kernel's boot id so that a reboot cannot
repeat it) and its command line. Linux tells this through /proc; elsewhere
:func:`process_identity` answers None and only the id is known (this package may import the
standard library alone, so no psutil).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from dataclasses import dataclass

PR_SET_NAME = 15  # prctl(2)
STARTTIME_FIELD = 22  # proc(5): starttime, in clock ticks after boot
BOOT_ID = "/proc/sys/kernel/random/boot_id"


def pid_exists(pid: int) -> bool:
    """Whether signal 0 finds process ``pid`` (a zombie too; POSIX only: on Windows the signal
    would end the process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs (and is not a zombie) on this machine."""
    if pid <= 0 or not pid_exists(pid):
        return False
    stat = f"/proc/{pid}/stat"
    try:
        with open(stat, encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass(frozen=True)
class ProcessIdentity:
    """Who a running process is: ``started`` ("BOOT:TICKS") and its command line."""

    started: str
    command: tuple[str, ...]


def identity_supported() -> bool:
    """Whether this system tells processes apart beyond their ids (Linux: /proc)."""
    return os.path.isfile(f"/proc/{os.getpid()}/stat") and _boot() is not None


def process_identity(pid: int) -> ProcessIdentity | None:
    """The identity of process ``pid``, or None when it is gone, unreadable, or the system
    does not tell (see :func:`identity_supported`)."""
    boot = _boot()
    if pid <= 0 or boot is None:
        return None
    try:
        ticks = _start_ticks(pid)
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read()
        if _start_ticks(pid) != ticks:  # the id was reused between the two reads
            return None
    except (OSError, ValueError, IndexError):
        return None
    parts = raw.split(b"\0")
    if parts[-1] == b"":  # each argument ends with a NUL (unless the process rewrote them)
        parts.pop()
    command = tuple(part.decode("utf-8", "replace") for part in parts)
    return ProcessIdentity(f"{boot}:{ticks}", command)


def _start_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        after_name = handle.read().rsplit(b")", 1)[-1].split()  # the name may hold spaces
    return int(after_name[STARTTIME_FIELD - 3])  # fields 1 (pid) and 2 (name) come first


@functools.cache
def _boot() -> str | None:
    """This boot's id (a reboot changes it), else the boot time from /proc/stat."""
    with contextlib.suppress(OSError):
        with open(BOOT_ID, encoding="ascii") as handle:
            found = handle.read().strip()
        if found:
            return found
    with (
        contextlib.suppress(OSError),
        open("/proc/stat", encoding="ascii", errors="replace") as handle,
    ):
        for line in handle:
            if line.startswith("btime "):
                return "btime-" + line.split()[1]
    return None


def name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` (15 bytes at most) in the OS too, on Linux.

    Python names threads for itself only; with the OS name ``top -H``, ``ps -L`` and the
    serving benchmark can tell the prediction log's writer from the request threads.
    """
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError, AttributeError):  # no libc to ask: the name stays
        ctypes.CDLL(None).prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
