"""The process's CPU, memory, file descriptors and start time, under the standard names.

The names and meanings are those of prometheus_client's process collector, so dashboards and
alerts written for any Prometheus target work here: ``process_cpu_seconds_total`` (user and
system CPU time), ``process_resident_memory_bytes``, ``process_virtual_memory_bytes``,
``process_start_time_seconds`` (since 1970), ``process_open_fds`` and ``process_max_fds``. They
are read from ``/proc/self`` on Linux (nothing is exported elsewhere but the CPU time, from
:func:`os.times`).

A server of several worker processes reports the sum over its workers (CPU time, memory,
descriptors: what the server as a whole uses) and the earliest start time and smallest
descriptor limit; the supervisor itself, which only watches, is not counted.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from core.serving.metrics import family

PROC = Path("/proc/self")
_SUMMED = ("cpu", "rss", "vms", "fds")
#: Per figure of :func:`read`: its metric name and help text (prometheus_client's own).
_HELP = {
    "cpu": ("process_cpu_seconds_total", "Total user and system CPU time spent in seconds."),
    "rss": ("process_resident_memory_bytes", "Resident memory size in bytes."),
    "vms": ("process_virtual_memory_bytes", "Virtual memory size in bytes."),
    "start": (
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
    ),
    "fds": ("process_open_fds", "Number of open file descriptors."),
    "max_fds": ("process_max_fds", "Maximum number of open file descriptors."),
}
_COUNTERS = ("cpu",)  # the other figures are gauges


def _boot_time() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def read() -> dict[str, float]:
    """This process's figures (only the CPU time where there is no /proc)."""
    if not (PROC / "stat").exists():
        times = os.times()
        return {"cpu": times.user + times.system}
    import resource  # POSIX only, as /proc is

    ticks = os.sysconf("SC_CLK_TCK")
    page = resource.getpagesize()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = (PROC / "stat").read_text().rpartition(")")[2].split()
    figures = {
        "cpu": (int(fields[11]) + int(fields[12])) / ticks,  # utime, stime (fields 14, 15)
        "vms": float(fields[20]),  # vsize (field 23), bytes
        "rss": float(int(fields[21]) * page),  # rss (field 24), pages
    }
    boot = _boot_time()
    if boot is not None:
        figures["start"] = boot + int(fields[19]) / ticks  # starttime (field 22), ticks
    with contextlib.suppress(OSError):
        figures["fds"] = float(len(os.listdir(PROC / "fd")))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY:
        figures["max_fds"] = float(soft)
    return figures


class ProcessMetrics:
    """A :class:`core.serving.metrics.Section`: this worker's figures, summed over workers."""

    def state(self) -> dict[str, float]:
        return read()

    def render(self, states: list[Any], model: str, version: int) -> list[str]:
        parts = [state for state in states if isinstance(state, dict)]
        totals: dict[str, float] = {}
        for state in parts:
            for key, value in state.items():
                if key in _SUMMED:
                    totals[key] = totals.get(key, 0.0) + value
                elif key in _HELP:
                    totals[key] = min(totals.get(key, value), value)
        lines: list[str] = []
        for key, (name, help_text) in _HELP.items():
            if key in totals:
                kind = "counter" if key in _COUNTERS else "gauge"
                lines += family(name, kind, help_text, [("", totals[key])])
        return lines
