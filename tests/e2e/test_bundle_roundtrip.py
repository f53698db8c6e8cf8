"""A bundle served from a fresh virtualenv answers exactly as `shipway deploy` of the same
version does: export, extract, `pip install -r requirements.txt`, `python serve.py`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


def predict(url: str, rows: list[dict]) -> dict:
    request = urllib.request.Request(
        f"{url}/predict",
        data=json.dumps({"records": rows}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        document = json.loads(answer.read())
    document.pop("request_id")
    return document


def wait_ready(path: Path, process: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve.py exited: {process.stderr.read()}")
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.2)
    raise AssertionError("serve.py did not start")


@pytest.mark.slow
def test_bundle_in_a_fresh_virtualenv_matches_shipway_deploy(tmp_path: Path) -> None:
    rows = json.loads(
        pd.read_csv(PENGUINS)
        .drop(columns="species")
        .sample(25, random_state=3)
        .to_json(orient="records")
    )
    with Workspace.create(tmp_path / "project") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(TrainRequest("penguins", "species", estimator="random_forest")).result()
        ws.lifecycle.register(run.id, "penguins")
        ws.bundles.export("penguins@1", tmp_path / "penguins-1.zip")
        bundle = ws.bundles.extract(tmp_path / "penguins-1.zip", tmp_path / "bundle")
        deployment = ws.deployments.deploy("penguins@1")
        try:
            expected = predict(deployment.url, rows)
        finally:
            ws.deployments.undeploy(deployment.id)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(bundle / "requirements.txt")],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    ready_file = tmp_path / "ready.json"
    server = subprocess.Popen(
        [str(python), "serve.py", "--port", "0", "--ready-file", str(ready_file)],
        cwd=bundle, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        ready = wait_ready(ready_file, server)
        answer = predict(f"http://127.0.0.1:{ready['port']}", rows)
        with urllib.request.urlopen(f"http://127.0.0.1:{ready['port']}/health") as health:
            assert json.loads(health.read())["version"] == 1
    finally:
        server.terminate()
        server.wait(30)
        server.stderr.close()
    assert answer == expected
    assert len(answer["predictions"]) == 25


def test_serve_py_refuses_a_changed_bundle(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "project") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "penguins")
        ws.bundles.export("penguins@1", tmp_path / "b.zip")
        bundle = ws.bundles.extract(tmp_path / "b.zip", tmp_path / "bundle")
    (bundle / "core" / "serving" / "scoring.py").write_text("raise SystemExit('tampered')\n")
    result = subprocess.run(
        [sys.executable, "serve.py", "--port", "0"],
        cwd=bundle, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "core/serving/scoring.py does not match the sha256" in result.stderr
