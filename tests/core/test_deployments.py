"""Managed deployments: real waitress processes on 127.0.0.1 serving registered models."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.errors import Conflict, InvalidInput
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
ROWS = json.loads(pd.read_csv(PENGUINS).head(3).drop(columns="species").to_json(orient="records"))


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deploy") / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        for estimator in ("logistic_regression", "random_forest"):
            run = ws.runs.train(TrainRequest("penguins", "species", estimator=estimator)).result()
            ws.lifecycle.register(run.id, "penguins")
    return root


@pytest.fixture
def ws(registered: Path, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "copy"
    shutil.copytree(registered, root)
    (root / "shipway.toml").write_text(
        (root / "shipway.toml").read_text() + "\n[gates.production]\n", encoding="utf-8"
    )
    workspace = Workspace.open(root)
    yield workspace
    for deployment in workspace.deployments.list(include_stopped=False):
        workspace.deployments.undeploy(deployment.id)
    workspace.close()


def post(url: str, body: dict, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/predict", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"} | (
            {"Authorization": f"Bearer {token}"} if token else {}
        ),
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def eventually(read, done, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_deployment_runs_two_worker_processes_on_one_port(ws: Workspace) -> None:
    deployment = ws.deployments.deploy("penguins@1")
    workers = children(deployment.pid)
    assert len(workers) == 2
    answers = [post(deployment.url, {"records": ROWS}) for _ in range(20)]
    assert {status for status, _ in answers} == {200}
    state = eventually(lambda: ws.deployments.state(deployment), lambda s: s.requests == 20)
    assert state.requests == 20, "/metrics adds up every worker's counts"
    os.kill(workers[0], signal.SIGKILL)  # a worker that dies is replaced
    replaced = eventually(lambda: children(deployment.pid), lambda now: len(now) == 2 and
                          workers[0] not in now)  # fmt: skip
    assert len(replaced) == 2 and workers[0] not in replaced
    assert post(deployment.url, {"records": ROWS})[0] == 200
    ws.deployments.undeploy(deployment.id)
    assert eventually(lambda: children(deployment.pid), lambda now: not now) == []


def test_an_alias_deployment_swaps_under_load_without_a_failed_request(ws: Workspace) -> None:
    ws.lifecycle.promote("penguins@1")
    deployment = ws.deployments.deploy("penguins@production")
    assert deployment.alias == "production" and deployment.version == 1
    seen: list[tuple[float, int, int | None]] = []  # (sent at, status, version)
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            status, answer = post(deployment.url, {"records": ROWS})
            seen.append((sent, status, answer.get("version")))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    promotion = ws.lifecycle.promote("penguins@2")
    returned = time.monotonic()
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert promotion.deployments == ({"id": deployment.id, "version": 2, "confirmed": True},)
    assert {status for _, status, _ in seen} == {200}, "no request failed during the swap"
    assert seen[0][2] == 1
    later = {version for sent, _, version in seen if sent > returned}
    assert later == {2}, "once the swap is confirmed, every worker answers with the new version"
    assert ws.deployments.get(deployment.id).version == 2
    assert ws.project.audit(action="deployment.swap")[0].detail["previous"] == 1


def test_rollback_swaps_the_deployment_back(ws: Workspace) -> None:
    ws.lifecycle.promote("penguins@1")
    ws.lifecycle.promote("penguins@2")
    deployment = ws.deployments.deploy("penguins@production")
    ws.lifecycle.rollback("penguins")
    assert post(deployment.url, {"records": ROWS})[1]["version"] == 1
    # a sibling worker's count reaches /metrics within a second (core/serving/shared_metrics.py)
    state = eventually(lambda: ws.deployments.state(ws.deployments.get(deployment.id)),
                       lambda s: s.requests == 1)  # fmt: skip
    assert state.state == "running" and state.version == 1 and state.requests == 1


def test_a_fixed_version_is_not_moved_by_promotions(ws: Workspace) -> None:
    deployment = ws.deployments.deploy("penguins@1")
    ws.lifecycle.promote("penguins@2")
    assert post(deployment.url, {"records": ROWS})[1]["version"] == 1


def test_a_crashed_deployment_shows_stopped_and_undeploys_cleanly(ws: Workspace) -> None:
    deployment = ws.deployments.deploy("penguins@1")
    os.kill(deployment.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while ws.deployments.state(deployment).state != "stopped" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ws.deployments.state(deployment).state == "stopped"
    stopped = ws.deployments.undeploy(deployment.id)
    assert stopped.status == "stopped" and "already ended" in stopped.stop_note
    assert ws.deployments.undeploy(deployment.id).status == "stopped"  # twice is fine


def test_undeploy_stops_the_process(ws: Workspace) -> None:
    deployment = ws.deployments.deploy("penguins@1")
    stopped = ws.deployments.undeploy(deployment.id)
    assert stopped.stop_note == "stopped"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{deployment.url}/health", timeout=2)
    assert ws.project.audit(action="undeploy")[0].object_ref == deployment.id


def test_a_taken_port_is_a_clear_error_and_leaves_nothing(ws: Workspace) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(Conflict, match=f"port {port} on 127.0.0.1 is already in use"):
            ws.deployments.deploy("penguins@1", port=port)
    assert ws.deployments.list() == []
    assert list((ws.root / "deployments").iterdir()) == []


def test_other_addresses_need_a_token(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="needs a token") as caught:
        ws.deployments.deploy("penguins@1", host="0.0.0.0")
    assert "--token" in caught.value.hint
    assert ws.deployments.list() == []


def test_with_a_token_every_route_but_health_needs_it(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = ws.deployments.deploy("penguins@1", token="s3cret")
    assert deployment.token
    assert post(deployment.url, {"records": ROWS})[0] == 401
    assert post(deployment.url, {"records": ROWS}, token="wrong")[0] == 401
    assert post(deployment.url, {"records": ROWS}, token="s3cret")[0] == 200
    with urllib.request.urlopen(f"{deployment.url}/health", timeout=5) as answer:
        assert answer.status == 200
    counted = eventually(lambda: ws.deployments.state(deployment, token="s3cret"),
                         lambda state: state.requests == 3)  # fmt: skip
    assert counted.errors == 2  # workers publish their counts about once a second
    for pid in [deployment.pid, *children(deployment.pid)]:
        command = Path(f"/proc/{pid}/cmdline")
        if command.exists():
            assert b"s3cret" not in command.read_bytes(), "the token never shows in `ps`"


def test_prediction_log_is_written_in_the_deployment_folder(ws: Workspace) -> None:
    deployment = ws.deployments.deploy("penguins@1")
    status, answer = post(deployment.url, {"records": ROWS})
    assert status == 200
    ws.deployments.undeploy(deployment.id)
    folder = ws.deployments.folder(deployment)
    assert (folder / "predictions.db").is_file() and (folder / "server.log").is_file()
    from core.serving.logreader import read_requests

    logged = read_requests(folder)
    assert [row.request_id for row in logged][-1] == answer["request_id"]


def test_serving_workers_come_from_shipway_toml(ws: Workspace) -> None:
    from core.deploy.service import configured_workers
    from core.errors import ProjectError

    assert configured_workers({"serving": {"workers": 3}}) == 3
    assert configured_workers({}) is None
    for bad in (0, "two", True, 65):
        with pytest.raises(ProjectError, match="workers must be a whole number"):
            configured_workers({"serving": {"workers": bad}})
    deployment = ws.deployments.deploy("penguins@1", workers=1)
    assert children(deployment.pid) == [], "one process serves alone"
    assert post(deployment.url, {"records": ROWS})[0] == 200
