"""Whether a service serves a project, read from a real lock and a real heartbeat file written by
a stand-in service process (a small Python child that holds the flock as the service does), and
the service's log read from its end and followed through a rotation."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.operations.service_status import (
    STALE_AFTER_S,
    follow,
    judge,
    lock_held,
    project_state,
    tail_lines,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock: the POSIX service lock")

# The service's side of the protocol: an exclusive flock held while it lives, and service.json
# with pid, host, start and heartbeat (AGE seconds old). "stop" on stdin: a clean stop.
HOLDER = r"""
import fcntl, json, os, socket, sys
from datetime import UTC, datetime, timedelta
folder = os.path.join(sys.argv[1], ".shipway")
os.makedirs(folder, exist_ok=True)
lock = open(os.path.join(folder, "service.lock"), "a+")
fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
def beat(stopped):
    now = datetime.now(UTC)
    beat_at = now - timedelta(seconds=float(sys.argv[2]))
    data = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": now.isoformat(),
            "heartbeat_at": beat_at.isoformat(), "stopped": stopped}
    temporary = os.path.join(folder, ".service.json.tmp")
    with open(temporary, "w") as handle:
        json.dump(data, handle)
    os.replace(temporary, os.path.join(folder, "service.json"))
beat(False)
print("ready", flush=True)
if sys.stdin.readline().strip() == "stop":
    beat(True)
    lock.close()
    print("stopped", flush=True)
    sys.stdin.readline()
"""


def start_holder(project: Path, heartbeat_age_s: float = 0.0) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(project), str(heartbeat_age_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    return child


def end(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(timeout=60)
    for stream in (child.stdin, child.stdout):
        stream.close()


def test_a_live_service_is_running_and_a_killed_one_is_not(tmp_path: Path) -> None:
    assert project_state(tmp_path).text == "not running"
    child = start_holder(tmp_path)
    try:
        state = project_state(tmp_path)
        assert state.running and state.pid == child.pid and state.host == socket.gethostname()
        assert state.text.startswith(f"running (pid {child.pid}, last heartbeat ")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
        state = project_state(tmp_path)
    finally:
        end(child)
    assert not state.running
    assert state.text == "not running (the last service ended without stopping cleanly)"


def test_a_clean_stop_is_told_apart(tmp_path: Path) -> None:
    child = start_holder(tmp_path)
    try:
        child.stdin.write("stop\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "stopped"
        state = project_state(tmp_path)  # the process still lives; its lock is let go
    finally:
        end(child)
    assert not state.running and state.text.startswith("not running (stopped cleanly at ")


def test_a_service_holding_the_lock_with_an_old_heartbeat_may_be_stuck(tmp_path: Path) -> None:
    child = start_holder(tmp_path, heartbeat_age_s=STALE_AFTER_S * 2)
    try:
        state = project_state(tmp_path)
        assert lock_held(tmp_path / ".shipway" / "service.lock") is True
    finally:
        end(child)
    assert state.running and "ago: it may be stuck" in state.text


def test_without_a_lock_to_test_the_pid_and_the_heartbeat_decide() -> None:
    now, here = 1_000_000.0, socket.gethostname()
    alive = {"pid": os.getpid(), "host": here, "heartbeat_at": now - 3}
    assert judge(None, alive, None, now, here).text == (
        f"running (pid {os.getpid()}, last heartbeat 3 s ago)"
    )
    late = alive | {"heartbeat_at": now - STALE_AFTER_S - 1}
    assert not judge(None, late, None, now, here).running
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = alive | {"pid": int(dead.stdout)}
    verdict = judge(None, gone, None, now, here)
    assert verdict.text == "not running (the last service ended without stopping cleanly)"
    remote = alive | {"host": "elsewhere", "pid": 1}
    assert judge(False, remote, None, now, here).text.startswith("running on elsewhere (pid 1")
    broken = judge(True, None, "service.json cannot be read: Expecting value", now, here)
    assert (
        broken.running and broken.text == "running (service.json cannot be read: Expecting value)"
    )


def test_the_log_tail_reads_from_the_end_of_a_large_file(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    log.write_text("".join(f"line {n} é\n" for n in range(200_000)))
    lines, size = tail_lines(log, 3)
    assert lines == ["line 199997 é", "line 199998 é", "line 199999 é"]
    assert size == log.stat().st_size
    assert tail_lines(log, 0)[0] == []
    log.write_text("only line without end")
    assert tail_lines(log, 50)[0] == ["only line without end"]


def test_follow_prints_appends_and_survives_a_rotation(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    log.write_text("old\n")
    stop, seen = threading.Event(), []

    offset = log.stat().st_size

    def read() -> None:
        for chunk in follow(log, offset, stop, poll_s=0.05):
            seen.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        with open(log, "a") as handle:
            handle.write("one\n")
        wait_for(lambda: "".join(seen) == "one\n")
        log.rename(tmp_path / "service.log.1")
        log.write_text("two\n")
        wait_for(lambda: "".join(seen) == "one\ntwo\n")
        log.write_text("3\n")  # truncated and rewritten in place
        wait_for(lambda: "".join(seen) == "one\ntwo\n3\n")
    finally:
        stop.set()
        reader.join(timeout=60)
    assert not reader.is_alive()


def wait_for(condition, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
