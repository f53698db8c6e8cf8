"""The server runner and ``python -m core.serving``: ports, addresses, readiness, clean stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.serving.errors import ServerStartError
from core.serving.logreader import read_requests
from core.serving.server import serve, start_server
from core.serving.settings import ServingConfig
from core.serving.watch import write_pointer
from tests.serving.helpers import ROOT, ROW, Client

SERVE = [sys.executable, "-m", "core.serving"]


def _wait_for_file(
    path: Path, process: subprocess.Popen | None = None, timeout: float = 30
) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited early: {process.stderr.read().decode()}")
        assert time.monotonic() < deadline, "no ready file"
        time.sleep(0.05)
    return json.loads(path.read_text())


def test_a_taken_port_is_a_clear_error_naming_it(models) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerStartError, match=f"port {port} on 127.0.0.1 is already in use"):
            start_server(models["v1"], port=port)


def test_a_public_address_needs_a_token(models) -> None:
    for host in ("0.0.0.0", "::", "192.0.2.10", "example.org"):
        with pytest.raises(ServerStartError, match="give a token") as caught:
            start_server(models["v1"], host=host)
        assert caught.value.code == "token_required"


def test_stopping_leaves_no_thread_and_frees_the_port(models) -> None:
    before = {t.name for t in threading.enumerate()}
    server = start_server(models["v1"], config=ServingConfig(log_dir=None), threads=2)
    client = Client(server.port)
    assert client.predict({"records": [ROW]}).status == 200  # a keep-alive connection stays open
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 3
    server.stop()  # a second stop does nothing
    client.close()
    time.sleep(0.1)
    assert {t.name for t in threading.enumerate()} - before == set()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", server.port))


@pytest.mark.parametrize("noticed", [False, True], ids=["at once", "after the loop noticed"])
def test_a_stop_still_ends_when_the_wake_up_pipe_was_closed_elsewhere(
    models, tmp_path: Path, noticed: bool
) -> None:
    """Other code closing a descriptor it does not own must not leave the server running."""
    server = start_server(models["v1"], config=ServingConfig(log_dir=str(tmp_path)), threads=2)
    client = Client(server.port)
    assert client.predict({"records": [ROW]}).status == 200
    trigger = server.server.trigger
    os.close(trigger.trigger)  # as a foreign double close would
    if noticed:  # the read end hangs up: waitress closes the trigger itself, halfway
        deadline = time.monotonic() + 5
        while not trigger._closed and time.monotonic() < deadline:
            time.sleep(0.02)
        assert trigger._closed
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 5 and not server.thread.is_alive()
    assert [r.status for r in read_requests(tmp_path)] == [200], "the log was still flushed"
    client.close()
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", server.port))


def test_serve_runs_until_stopped_and_writes_then_removes_the_ready_file(
    models, tmp_path: Path
) -> None:
    ready, stop = tmp_path / "ready.json", threading.Event()
    thread = threading.Thread(
        target=serve,
        args=(models["v1"],),
        kwargs={"ready_file": ready, "stop": stop, "log_dir": tmp_path / "log"},
    )
    thread.start()
    try:
        info = _wait_for_file(ready)
        assert info["pid"] == os.getpid() and info["url"].endswith(str(info["port"]))
        assert Client(info["port"]).call("GET", "/health").json["version"] == 1
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and not ready.exists()
    assert (tmp_path / "log" / "predictions.db").exists()


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["SHIPWAY_SERVING_TOKEN"] = "tok"
    return env


def test_the_command_follows_its_pointer_and_stops_cleanly_on_sigterm(
    models, tmp_path: Path
) -> None:
    pointer, ready, logs = tmp_path / "current.json", tmp_path / "ready.json", tmp_path / "logs"
    write_pointer(pointer, models["v1"])
    command = [*SERVE, "--watch", str(pointer), "--port", "0"]
    command += ["--ready-file", str(ready), "--log-dir", str(logs), "--threads", "2"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        info = _wait_for_file(ready, process)
        assert info["pid"] == process.pid
        client = Client(info["port"])
        auth = {"Authorization": "Bearer tok"}
        assert client.call("GET", "/metadata").status == 401  # the token came from the environment
        assert client.predict({"records": [ROW]}, headers=auth).json["version"] == 1
        write_pointer(pointer, models["v2"])
        deadline = time.monotonic() + 10
        while client.call("GET", "/health").json["version"] != 2:
            assert time.monotonic() < deadline, "the pointer was not followed"
            time.sleep(0.1)
        client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0, process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not ready.exists()
    log_lines = (logs / "server.log").read_text().splitlines()
    requests = [line for line in log_lines if " id=" in line]  # one line per request
    health = [line for line in requests if "'/health'" in line]
    assert len(requests) == 2 + len(health) and health
    assert any("now serving penguins@2" in line for line in log_lines)


def test_the_command_refuses_a_taken_port_in_one_line(models, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*SERVE, "--model-dir", str(models["v1"]), "--port", str(port)],
            cwd=tmp_path,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith(
            f"port {port} on 127.0.0.1 is already in use: choose another port (or 0 for a free one)"
        )
    )
    usage = subprocess.run(SERVE, env=_environment(), capture_output=True, timeout=60)
    assert usage.returncode == 2
