"""A deployment's process id is checked against the server's recorded identity before any
signal, and its folder read back from the database must lie inside the project.

Real servers, real unrelated processes (``sleep``) and real edits of the project's database,
as another member of a shared project could make them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.deploy.identity import looks_like_server
from core.entities import Deployment
from core.errors import ProjectError
from core.services import TrainRequest, Workspace
from core.serving.processes import process_alive, process_identity

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
DEADLINE_S = 30.0


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("identity") / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        for _ in range(2):
            run = ws.runs.train(
                TrainRequest("penguins", "species", estimator="logistic_regression")
            ).result()
            ws.lifecycle.register(run.id, "penguins")
    return root


@pytest.fixture
def ws(registered: Path, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "copy"
    shutil.copytree(registered, root)
    with open(root / "shipway.toml", "a", encoding="utf-8") as settings:
        settings.write("\n[gates.production]\n")
    workspace = Workspace.open(root)
    yield workspace
    for deployment in workspace.deployments.list(include_stopped=False):
        workspace.deployments.undeploy(deployment.id)
    workspace.close()


@pytest.fixture
def servers() -> Iterator[list[int]]:
    """Server pids a test stops itself (their records no longer name them)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if process_alive(pid):
            os.kill(pid, signal.SIGTERM)
        assert wait_until(lambda pid=pid: not process_alive(pid)), f"server {pid} did not stop"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    """A process that has nothing to do with Shipway."""
    process = subprocess.Popen(["sleep", "1000"])
    yield process
    process.kill()
    process.wait()


def wait_until(condition, timeout: float = DEADLINE_S) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def rewrite(ws: Workspace, deployment_id: str, **values) -> Deployment:
    """Change the deployment's row in the project's database behind Shipway's back."""
    engine = create_engine(ws.project.info().db_url)
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE deployments SET {assignments} WHERE id = :id"),
            {"id": deployment_id, **values},
        )
    engine.dispose()
    return ws.deployments.get(deployment_id)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_a_deployment_records_its_server_and_undeploy_stops_it(ws: Workspace) -> None:
    deployment = ws.deployments.deploy("penguins@1", workers=1)
    now = process_identity(deployment.pid)
    assert now is not None and deployment.process_started == now.started
    assert deployment.process_command == now.command and "core.serving" in now.command
    assert ws.deployments.state(deployment).state == "running"
    stopped = ws.deployments.undeploy(deployment.id)
    assert stopped.stop_note == "stopped" and not stopped.stale
    assert wait_until(lambda: not process_alive(deployment.pid))


def test_undeploy_leaves_a_process_that_reused_the_pid_alone(
    ws: Workspace, sleeper: subprocess.Popen, servers: list[int]
) -> None:
    deployment = ws.deployments.deploy("penguins@1", workers=1)
    servers.append(deployment.pid)
    rewrite(ws, deployment.id, pid=sleeper.pid)
    stopped = ws.deployments.undeploy(deployment.id)
    # a stop waits until the process is gone, so a signal sent would have ended it by now
    assert sleeper.poll() is None, "the unrelated process was signalled"
    assert stopped.status == "stopped" and stopped.stale
    assert f"process {sleeper.pid} is no longer" in stopped.stop_note
    assert "sleep 1000" in stopped.stop_note
    assert ws.deployments.state(stopped).state == "stale"
    assert ws.project.audit(action="undeploy")[0].detail["note"] == stopped.stop_note


def test_a_probe_reports_a_stale_deployment_and_undeploy_records_it(
    ws: Workspace, sleeper: subprocess.Popen, servers: list[int]
) -> None:
    deployment = ws.deployments.deploy("penguins@1", workers=1)
    servers.append(deployment.pid)
    stale = rewrite(ws, deployment.id, pid=sleeper.pid)
    state = ws.deployments.state(stale)
    assert state.state == "stale" and "sleep 1000" in state.note
    assert not ws.deployments.get(deployment.id).stale  # a read records nothing
    assert ws.deployments.undeploy(deployment.id).stale
    assert [d.id for d in ws.deployments.list(include_stopped=False)] == []
    assert sleeper.poll() is None


def test_another_server_with_the_same_command_but_a_later_start_is_left_alone(
    ws: Workspace, servers: list[int]
) -> None:
    first = ws.deployments.deploy("penguins@1", workers=1)
    second = ws.deployments.deploy("penguins@2", workers=1)
    servers.append(first.pid)
    command = json.dumps(list(second.process_command or ()))
    rewrite(ws, first.id, pid=second.pid, process_command=command)
    assert ws.deployments.undeploy(first.id).stale
    assert answers(second.url) and process_alive(second.pid)
    assert ws.deployments.undeploy(second.id).stop_note == "stopped"


def test_a_deployment_recorded_without_identity_is_judged_by_its_command(
    ws: Workspace, sleeper: subprocess.Popen, servers: list[int]
) -> None:
    older = ws.deployments.deploy("penguins@1", workers=1)
    rewrite(ws, older.id, process_started=None, process_command=None)
    # still `-m core.serving`: stopped
    assert ws.deployments.undeploy(older.id).stop_note == "stopped"
    assert wait_until(lambda: not process_alive(older.pid))
    reused = ws.deployments.deploy("penguins@1", workers=1)
    servers.append(reused.pid)
    rewrite(ws, reused.id, pid=sleeper.pid, process_started=None, process_command=None)
    assert ws.deployments.undeploy(reused.id).stale
    assert sleeper.poll() is None


@pytest.mark.parametrize("outside", ["absolute", "relative"])
def test_a_deployment_folder_outside_the_project_is_refused(
    ws: Workspace, tmp_path: Path, outside: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    recorded = str(elsewhere) if outside == "absolute" else "deployments/../../elsewhere"
    ws.lifecycle.promote("penguins@1")
    deployment = ws.deployments.deploy("penguins@production", workers=1)
    rewrite(ws, deployment.id, folder=recorded)
    with pytest.raises(ProjectError) as refused:
        ws.lifecycle.promote("penguins@2")
    message = refused.value.one_line()
    assert deployment.id in message and str(elsewhere) in message
    assert "database holds a path outside the project" in message
    with pytest.raises(ProjectError):
        ws.deployments.server_log(deployment.id)
    with pytest.raises(ProjectError):
        ws.monitoring.drift_series("penguins@2", deployment.id)
    assert list(elsewhere.iterdir()) == [], "something was written outside the project"
    assert answers(deployment.url)  # still served, still stoppable
    assert ws.deployments.undeploy(deployment.id).stop_note == "stopped"


def test_server_command_lines() -> None:
    assert looks_like_server(["/usr/bin/python3", "-m", "core.serving", "--watch", "x"])
    assert looks_like_server(["/opt/shipway/shipway", "-m", "core.serving", "--port", "0"])
    assert looks_like_server(["python", "-m", "core.cli", "--project", "p", "serve", "m@1"])
    assert looks_like_server(["/usr/bin/shipway", "serve", "m@production"])
    assert not looks_like_server(["sleep", "1000"])
    assert not looks_like_server(["python", "-m", "core.cli", "deployments"])
    assert not looks_like_server(["vim", "core.serving"])
    assert not looks_like_server([])


def test_a_process_identity_is_its_start_in_this_boot_and_its_command(
    sleeper: subprocess.Popen,
) -> None:
    found = process_identity(sleeper.pid)
    assert found is not None and found.command == ("sleep", "1000")
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    assert found.started.startswith(f"{boot}:")
    assert process_identity(sleeper.pid) == found
    assert process_identity(os.getpid()) != found
