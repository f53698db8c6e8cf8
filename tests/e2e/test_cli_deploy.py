"""`shipway deploy`, `deployments`, `undeploy` and `serve` end to end, with every endpoint
called on the real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from core.serving.processes import process_alive
from tests.e2e.cli import PENGUINS, ok_json, shipway


def call(url: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, answer.headers["Content-Type"], answer.read()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deploy-cli") / "penguins"
    shipway(root.parent, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    ok_json(root, "train", "--data", "penguins", "--target", "species", "--model",
            "logistic_regression")  # fmt: skip
    ok_json(root, "models", "register", "1", "--name", "penguins-model")
    ok_json(root, "models", "promote", "penguins-model@1")
    return root


def test_deploy_then_every_endpoint_then_undeploy(project: Path) -> None:
    deployed = ok_json(project, "deploy", "penguins-model@production")
    assert {"id", "model", "version", "url", "port", "pid"} <= set(deployed)
    url = deployed["url"]
    try:
        _, _, body = call(f"{url}/health")
        health = json.loads(body)
        assert (health["status"], health["model"], health["version"]) == ("ok", "penguins-model", 1)
        assert health["prediction_log"]["writer"] == "running"
        metadata = json.loads(call(f"{url}/metadata")[2])
        assert metadata["name"] == "penguins-model" and metadata["version"] == 1
        spec = json.loads(call(f"{url}/openapi.json")[2])
        assert spec["openapi"].startswith("3.") and "/predict" in spec["paths"]
        row = json.loads(pd.read_csv(PENGUINS).drop(columns="species").head(1).to_json(
            orient="records"))  # fmt: skip
        answer = json.loads(call(f"{url}/predict", json.dumps({"records": row}).encode())[2])
        assert answer["predictions"] == ["Adelie"] and answer["version"] == 1
        feedback = {"request_id": answer["request_id"], "actual": "Adelie"}
        # 200 when the worker that answered the prediction takes the feedback too, 202 when
        # the other one does before the prediction reached the log; both are recorded
        assert call(f"{url}/feedback", json.dumps(feedback).encode())[0] in (200, 202)
        _, kind, metrics = call(f"{url}/metrics")
        assert kind.startswith("text/plain") and b"shipway_http_requests_total" in metrics
        mine = _listed_until(project, deployed["id"], lambda d: d["live"]["requests"] >= 1)
        # the sibling worker publishes its counts about once a second, so wait for them
        assert mine["live"]["state"] == "running" and mine["live"]["requests"] == 1
        text = shipway(project, "deployments").stdout
        assert deployed["id"] in text and "running" in text
    finally:
        stopped = ok_json(project, "undeploy", deployed["id"])
    assert stopped["status"] == "stopped"
    listed = ok_json(project, "deployments")["deployments"]
    assert next(d for d in listed if d["id"] == deployed["id"])["live"]["state"] == "stopped"


def _listed_until(project: Path, deployment_id: str, condition, timeout: float = 60) -> dict:
    """The deployment's ``deployments --json`` entry once ``condition`` holds for it."""
    deadline = time.monotonic() + timeout
    while True:
        listed = ok_json(project, "deployments")["deployments"]
        mine = next(d for d in listed if d["id"] == deployment_id)
        if condition(mine) or time.monotonic() > deadline:
            return mine
        time.sleep(0.5)


def test_undeploy_of_an_unknown_id_is_a_clear_error(project: Path) -> None:
    result = shipway(project, "undeploy", "nope")
    assert result.returncode == 1 and "no deployment 'nope'" in result.stderr


def test_serve_in_the_foreground_until_interrupted(project: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--project", str(project), "serve",
         "penguins-model@1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready = json.loads(_read_document(server))
        assert call(f"{ready['url']}/health")[0] == 200
        listed = ok_json(project, "deployments", "--running")["deployments"]
        assert any(d["id"] == ready["id"] and d["kind"] == "foreground" for d in listed)
        server.send_signal(signal.SIGINT)
        assert server.wait(30) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.stdout.close()
        server.stderr.close()
    listed = ok_json(project, "deployments")["deployments"]
    assert next(d for d in listed if d["id"] == ready["id"])["status"] == "stopped"


def test_undeploy_stops_a_foreground_server_it_recorded(project: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--project", str(project), "serve",
         "penguins-model@1", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready = json.loads(_read_document(server))
        assert ready["process_started"] and "serve" in ready["process_command"]
        stopped = ok_json(project, "undeploy", ready["id"])
        assert stopped["status"] == "stopped" and not stopped["stale"]
        assert server.wait(30) == 0  # it was signalled, and stopped cleanly
    finally:
        if server.poll() is None:
            server.kill()
        server.stdout.close()
        server.stderr.close()


def test_a_stale_deployment_is_reported_and_the_process_holding_its_pid_left_alone(
    project: Path,
) -> None:
    deployed = ok_json(project, "deploy", "penguins-model@1", "--workers", "1")
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        engine = create_engine(ok_json(project, "info")["db_url"])
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE deployments SET pid = :pid WHERE id = :id"),
                {"pid": sleeper.pid, "id": deployed["id"]},
            )
        engine.dispose()
        listing = shipway(project, "deployments").stdout
        assert f"{deployed['id']}: stale: process {sleeper.pid}" in listing
        result = shipway(project, "undeploy", deployed["id"])
        assert result.returncode == 0 and f"{deployed['id']} was stale" in result.stdout
        assert sleeper.poll() is None, "the unrelated process was signalled"
        listed = ok_json(project, "deployments")["deployments"]
        mine = next(d for d in listed if d["id"] == deployed["id"])
        assert mine["stale"] and mine["live"]["state"] == "stale"
    finally:
        sleeper.kill()
        sleeper.wait()
        os.kill(deployed["pid"], signal.SIGTERM)  # the server itself, no longer recorded
    deadline = time.monotonic() + 30
    while process_alive(deployed["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(deployed["pid"])


def _read_document(process: subprocess.Popen) -> str:
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("}"):
            return "".join(lines)
    raise AssertionError(f"no JSON document: {''.join(lines)} {process.stderr.read()}")


def test_deploy_refuses_a_public_address_without_a_token(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SHIPWAY_SERVING_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(project), "deploy",
         "penguins-model@1", "--host", "0.0.0.0"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 1 and "needs a token" in result.stderr
