"""A server of several worker processes: one listening socket, N waitress processes.

A fitted scikit-learn model predicts under the GIL for most of a small request, so more
threads do not make one process answer faster (measured: 1 thread 74 req/s, 4 threads 60 req/s
for a RandomForest(100)); more processes do. The supervisor binds the socket, starts the
workers (``python -m core.serving ... --listen-fd FD``, the socket inherited), and then only
watches: it restarts a worker that dies, stops them all on SIGTERM/SIGINT, and writes the ready
file once the server answers. Each worker serves, follows the pointer file and writes the
prediction log on its own (the log is one SQLite file in WAL mode, safe for several writers);
they share their counts for ``/metrics`` through a folder (:mod:`core.serving.shared_metrics`).
A worker whose supervisor is gone stops by itself.

POSIX only (the socket is inherited by file descriptor); elsewhere a server runs one process.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from core.serving.errors import ServerStartError
from core.serving.server import check_bind, http_url, write_ready
from core.serving.signals import install_signal_handlers

log = logging.getLogger("shipway.serving")
RESTARTS_PER_MINUTE = 5
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


def supported() -> bool:
    return os.name == "posix"


def bind(host: str, port: int) -> socket.socket:
    """The listening socket the workers will share (inheritable)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=1024)
    except OSError as exc:
        raise ServerStartError(
            f"port {port} on {host} is already in use: choose another port (or 0 for a free one)"
            if port and "in use" in str(exc).lower()
            else f"cannot listen on {host}:{port}: {exc.strerror}",
            code="port_in_use" if port else "bind_failed",
        ) from None
    sock.set_inheritable(True)
    return sock


def supervise(
    worker_args: Sequence[str],
    *,
    host: str,
    port: int,
    token: str | None,
    workers: int,
    ready_file: str | None,
    metrics_dir: str | None,
) -> int:
    """Run ``workers`` worker processes on one socket until SIGTERM/SIGINT; returns 0."""
    check_bind(host, token)
    sock = bind(host, port)
    shared = metrics_dir or tempfile.mkdtemp(prefix="shipway-metrics-")
    stop = threading.Event()
    restore = install_signal_handlers(stop)
    command = [
        sys.executable, "-m", "core.serving", *worker_args,
        "--listen-fd", str(sock.fileno()), "--metrics-dir", shared,
        "--supervisor", str(os.getpid()),
    ]  # fmt: skip
    pool = _Pool(command, sock.fileno(), workers)
    try:
        pool.start()
        bound = sock.getsockname()[1]
        _await_ready(_probe_host(host), bound, pool, stop)
        if ready_file is not None:
            write_ready(ready_file, host, bound)
        log.info("serving with %d worker processes on port %d", workers, bound)
        while not stop.wait(0.5):
            pool.replace_dead()
    finally:
        pool.stop()
        sock.close()
        restore()
        if ready_file is not None:
            Path(ready_file).unlink(missing_ok=True)
        if metrics_dir is None:
            shutil.rmtree(shared, ignore_errors=True)
    return 0


class _Pool:
    def __init__(self, command: list[str], fd: int, size: int) -> None:
        self.command, self.fd, self.size = command, fd, size
        self.processes: list[subprocess.Popen] = []
        self.restarts: list[float] = []

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(self.command, pass_fds=(self.fd,), stdin=subprocess.DEVNULL)

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.size)]

    def alive(self) -> int:
        return sum(process.poll() is None for process in self.processes)

    def replace_dead(self) -> None:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < 60]
        for index, process in enumerate(self.processes):
            if process.poll() is None:
                continue
            if len(self.restarts) >= RESTARTS_PER_MINUTE:
                continue  # a worker that keeps dying would only spin; the others still serve
            log.warning("worker %d ended (exit code %s); starting another", process.pid,
                        process.returncode)  # fmt: skip
            self.restarts.append(now)
            self.processes[index] = self._spawn()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _probe_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return host


def _await_ready(host: str, port: int, pool: _Pool, stop: threading.Event) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        if pool.alive() == 0:
            raise ServerStartError("every worker process ended before the server answered")
        try:
            with urllib.request.urlopen(f"{http_url(host, port)}/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    if not stop.is_set():
        raise ServerStartError(f"the workers did not answer within {READY_TIMEOUT_S:g} s")


def watch_supervisor(pid: int, stop: threading.Event) -> None:
    """In a worker: set ``stop`` when the supervisor ``pid`` is gone (it was killed)."""

    def run() -> None:
        while not stop.wait(1.0):
            if os.getppid() != pid:
                log.warning("the supervisor ended; this worker stops")
                stop.set()

    threading.Thread(target=run, name="shipway-supervisor-watch", daemon=True).start()
