"""`shipway deploy`, `deployments`, `undeploy` and `serve` end to end, with every endpoint
called on the real server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

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
        assert json.loads(body) == {"status": "ok", "model": "penguins-model", "version": 1}
        metadata = json.loads(call(f"{url}/metadata")[2])
        assert metadata["name"] == "penguins-model" and metadata["version"] == 1
        spec = json.loads(call(f"{url}/openapi.json")[2])
        assert spec["openapi"].startswith("3.") and "/predict" in spec["paths"]
        row = json.loads(pd.read_csv(PENGUINS).drop(columns="species").head(1).to_json(
            orient="records"))  # fmt: skip
        answer = json.loads(call(f"{url}/predict", json.dumps({"records": row}).encode())[2])
        assert answer["predictions"] == ["Adelie"] and answer["version"] == 1
        feedback = {"request_id": answer["request_id"], "actual": "Adelie"}
        assert call(f"{url}/feedback", json.dumps(feedback).encode())[0] == 200
        _, kind, metrics = call(f"{url}/metrics")
        assert kind.startswith("text/plain") and b"shipway_http_requests_total" in metrics
        listed = ok_json(project, "deployments")["deployments"]
        mine = next(d for d in listed if d["id"] == deployed["id"])
        assert mine["live"]["state"] == "running" and mine["live"]["requests"] == 1
        text = shipway(project, "deployments").stdout
        assert deployed["id"] in text and "running" in text
    finally:
        stopped = ok_json(project, "undeploy", deployed["id"])
    assert stopped["status"] == "stopped"
    listed = ok_json(project, "deployments")["deployments"]
    assert next(d for d in listed if d["id"] == deployed["id"])["live"]["state"] == "stopped"


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
