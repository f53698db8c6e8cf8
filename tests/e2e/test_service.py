"""`shipway service run` as a real process on a real project: a kept deployment killed with
SIGKILL comes back on its port; a service killed with SIGKILL leaves no stuck lock and, killed
during a retraining, no half-registered version; two services on one project are refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.services import Workspace
from tests.e2e.cli import PENGUINS, ok_json, shipway


def _wait(condition, what: str, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def _service(project: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--project", str(project), "service", "run",
         "--tick", "0.5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    process.stderr.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "peng"
    shipway(tmp_path, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    ok_json(root, "train", "--data", "penguins", "--target", "species", "--model",
            "random_forest", "--param", "n_estimators=300")  # fmt: skip
    ok_json(root, "models", "register", "1", "--name", "peng")
    yield root
    with Workspace.open(root) as ws:
        for deployment in ws.deployments.list(include_stopped=False):
            ws.deployments.undeploy(deployment.id)


def test_a_killed_kept_deployment_and_a_killed_service_both_come_back(project: Path) -> None:
    deployed = ok_json(project, "deploy", "peng@1", "--keep", "--workers", "1")
    assert deployed["keep"] is True
    service = _service(project)
    try:
        _wait(lambda: (project / ".shipway" / "service.json").is_file(), "the heartbeat")
        os.kill(deployed["pid"], signal.SIGKILL)
        killed_at = time.monotonic()
        _wait(lambda: not _answers(deployed["url"]) or _restarted(project, deployed),
              "the server to die")  # fmt: skip
        _wait(lambda: _restarted(project, deployed) and _answers(deployed["url"]),
              "the kept deployment to come back")  # fmt: skip
        print(f"kept deployment back after {time.monotonic() - killed_at:.1f} s")
        service.kill()  # SIGKILL: no clean stop, the lock is let go by the kernel
        service.wait(30)
        second = _service(project)  # starts: the lock was not left stuck
        try:
            _wait(lambda: _heartbeat_pid(project) == second.pid, "the new service's heartbeat")
            assert _answers(deployed["url"])
            third = subprocess.run(
                [sys.executable, "-m", "core.cli", "--project", str(project), "service", "run"],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert third.returncode == 1 and "already runs" in third.stderr
            assert third.stderr.count("\n") == 1
        finally:
            _stop(second)
    finally:
        _stop(service)


def _restarted(project: Path, deployed: dict) -> bool:
    with Workspace.open(project) as ws:
        return ws.deployments.get(deployed["id"]).pid != deployed["pid"]


def _heartbeat_pid(project: Path) -> int | None:
    import json

    try:
        return json.loads((project / ".shipway" / "service.json").read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def test_a_service_killed_during_a_retraining_leaves_nothing_half_done(project: Path) -> None:
    ok_json(project, "deploy", "peng@1", "--workers", "1")
    settings = project / "shipway.toml"
    original = settings.read_text(encoding="utf-8")
    settings.write_text(original + '\n[retrain]\nevery = "2s"\n', encoding="utf-8")
    service = _service(project)
    try:
        with Workspace.open(project) as ws:
            job = _wait(lambda: next(iter(ws.jobs.list(kind="retrain", status="running")), None),
                        "a retraining to run")  # fmt: skip
            _wait(lambda: any(r.status == "running" for r in ws.runs.list()), "its run to train")
        service.kill()
        service.wait(30)
    finally:
        _stop(service)
    settings.write_text(original, encoding="utf-8")  # no more retraining
    again = _service(project)
    try:
        _wait(lambda: _heartbeat_pid(project) == again.pid, "the restarted service")
        with Workspace.open(project) as ws:
            failed = ws.jobs.get(job.id)
            assert failed.status == "failed" and "ended before it finished" in failed.error
            assert all(r.status != "running" for r in ws.runs.list())
            assert [v.version for v in ws.registry.versions("peng")] == [1]  # nothing half-done
    finally:
        _stop(again)
