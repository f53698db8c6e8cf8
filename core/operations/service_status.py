"""Whether a service serves a project, read from what the running service leaves in the project,
and the service's log.

A running ``shipway service run`` holds an exclusive ``fcntl.flock`` on
``<project>/.shipway/service.lock`` for as long as it lives (the kernel drops it when the process
dies, however it dies) and keeps ``<project>/.shipway/service.json`` =
``{"pid", "host", "started_at", "heartbeat_at", "stopped", "last_error", …}`` fresh every few
seconds (``stopped`` is true once it stopped cleanly); it writes ``<project>/.shipway/service.log``.

Reading that, without acting on it:

- the lock is held: *running* (pid, last heartbeat; a heartbeat older than
  :data:`STALE_AFTER_S` is said to be late);
- the lock is free and no state file is there: *not running*; a state file that says
  ``stopped``: *not running (stopped cleanly at …)*; any other state file: *not running (the
  last service ended without stopping cleanly)*;
- where locks cannot be tested (Windows, a file system without locks): the pid and the
  heartbeat decide; a dead pid, or a heartbeat older than :data:`STALE_AFTER_S`, is not running.

The probe takes a *shared* lock for an instant: it never blocks a running service, and a service
starting at that very instant sees its exclusive lock refused once (it should try again for a
second before concluding that another service holds it).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.serving.processes import pid_exists

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

SERVICE_DIR = ".shipway"
LOCK_FILE = "service.lock"
STATE_FILE = "service.json"
LOG_FILE = "service.log"
STALE_AFTER_S = 60.0


@dataclass(frozen=True)
class ProjectServiceState:
    """What :func:`project_state` found for one project; ``text`` says it in one phrase."""

    running: bool
    text: str
    pid: int | None = None
    host: str | None = None
    started_at: str | None = None
    heartbeat_age_s: float | None = None
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def service_files(project: Path) -> dict[str, Path]:
    folder = project / SERVICE_DIR
    return {"lock": folder / LOCK_FILE, "state": folder / STATE_FILE, "log": folder / LOG_FILE}


def project_state(project: Path, now: datetime | None = None) -> ProjectServiceState:
    """Whether a service serves ``project`` now (see the module's description)."""
    files = service_files(project)
    record, problem = read_record(files["state"])
    return judge(
        lock_held(files["lock"]),
        record,
        problem,
        (now or datetime.now(UTC)).timestamp(),
        socket.gethostname(),
    )


def lock_held(path: Path) -> bool | None:
    """True when a process holds an exclusive flock on ``path``; None when this cannot be told."""
    if fcntl is None:
        return None
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    else:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return False
    finally:
        os.close(descriptor)


def read_record(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The state file's object, or None and why it cannot be read (None, None: no file)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return None, f"{path} cannot be read: {error}"
    if not isinstance(record, dict):
        return None, f"{path} does not hold a JSON object"
    return record, None


def judge(
    held: bool | None,
    record: dict[str, Any] | None,
    problem: str | None,
    now: float,
    this_host: str,
) -> ProjectServiceState:
    """The verdict from the lock, the state record and the clock (pure: tests give each)."""
    pid, host = _pid(record), _text(record, "host")
    age = _age(record, "heartbeat_at", now)
    facts = {"pid": pid, "host": host, "started_at": _text(record, "started_at")}
    facts["heartbeat_age_s"] = None if age is None else round(age, 1)
    facts["last_error"] = _text(record, "last_error")
    if held:
        return ProjectServiceState(True, "running" + _running_detail(pid, age, problem), **facts)
    if record is None:
        text = "not running" + (f" ({problem})" if problem else "")
        return ProjectServiceState(False, text, **facts)
    if record.get("stopped") or record.get("stopped_at"):
        when = record.get("stopped_at") or record.get("heartbeat_at")
        text = "not running (stopped cleanly" + (f" at {when})" if when else ")")
        return ProjectServiceState(False, text, **facts)
    remote = host is not None and host != this_host
    alive = None if remote else pid_alive(pid)
    if held is None or remote:
        fresh = age is not None and age <= STALE_AFTER_S
        if fresh and alive is not False:
            where = f" on {host}" if remote else ""
            return ProjectServiceState(True, f"running{where}" + _running_detail(pid, age), **facts)
    text = "not running (the last service ended without stopping cleanly)"
    return ProjectServiceState(False, text, **facts)


def _running_detail(pid: int | None, age: float | None, problem: str | None = None) -> str:
    parts = [f"pid {pid}"] if pid is not None else []
    if age is None:
        parts.append(problem or "no heartbeat yet")
    elif age > STALE_AFTER_S:
        parts.append(f"but its last heartbeat was {duration_text(age)} ago: it may be stuck")
    else:
        parts.append(f"last heartbeat {duration_text(age)} ago")
    return " (" + ", ".join(parts) + ")"


def pid_alive(pid: int | None) -> bool | None:
    """Whether process ``pid`` of this host exists; None when this cannot be told (Windows,
    where signal 0 would end the process)."""
    if pid is None or os.name != "posix":
        return None
    return pid_exists(pid)


def duration_text(seconds: float) -> str:
    """``3 s``, ``4 min``, ``2 h 5 min``, ``3 d``."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        hours, minutes = divmod(int(seconds // 60), 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{seconds / 86400:.0f} d"


def _pid(record: dict[str, Any] | None) -> int | None:
    value = (record or {}).get("pid")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _text(record: dict[str, Any] | None, key: str) -> str | None:
    value = (record or {}).get(key)
    return str(value) if value is not None else None


def _age(record: dict[str, Any] | None, key: str, now: float) -> float | None:
    """Seconds since the instant ``record[key]`` names (ISO 8601 or seconds since 1970)."""
    value = (record or {}).get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return now - float(value)
    if not isinstance(value, str):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return now - instant.timestamp()


def tail_lines(path: Path, count: int, block: int = 65536) -> tuple[list[str], int]:
    """The last ``count`` lines of ``path`` (read from the end: a log may be large) and the
    file's size, where following it starts."""
    with open(path, "rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        data, position = b"", size
        while position > 0 and data.count(b"\n") <= count:
            step = min(block, position)
            position -= step
            handle.seek(position)
            data = handle.read(step) + data
    lines = data.decode("utf-8", errors="replace").splitlines()
    return (lines[-count:] if count > 0 else []), size


def follow(path: Path, offset: int, stop: Any = None, poll_s: float = 0.5):
    """Yield what is appended to ``path`` after ``offset`` until ``stop`` (a threading.Event,
    or None: until interrupted) is set. A log that is replaced or truncated (rotated) is read
    again from its start."""
    handle = open(path, "rb")  # noqa: SIM115 - closed below, whichever file it is by then
    handle.seek(offset)
    try:
        while stop is None or not stop.is_set():
            chunk = handle.read()
            if chunk:
                yield chunk.decode("utf-8", errors="replace")
                continue
            if _replaced(path, handle):
                try:
                    fresh = open(path, "rb")  # noqa: SIM115
                except OSError:
                    pass
                else:
                    handle.close()
                    handle = fresh
                    continue
            _wait(stop, poll_s)
    finally:
        handle.close()


def _replaced(path: Path, handle: Any) -> bool:
    """Whether ``path`` is now another file than ``handle``'s, or shorter than what was read."""
    try:
        status = path.stat()
    except OSError:
        return False
    return status.st_ino != os.fstat(handle.fileno()).st_ino or status.st_size < handle.tell()


def _wait(stop: Any, seconds: float) -> None:
    if stop is not None:
        stop.wait(seconds)
    else:
        time.sleep(seconds)
