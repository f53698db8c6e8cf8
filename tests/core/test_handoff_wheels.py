"""`bundle export --with-wheels` vendors the wheels of the pinned requirements, so a fresh
virtualenv installs and serves the bundle with no package index and no network; a platform
without a wheel is refused naming the package.

Building the bundle downloads the wheels (the network is needed there only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.bundles.wheels import WheelsUnavailable, target
from core.services import TrainRequest, Workspace
from core.serving.model import load_model
from core.serving.scoring import score
from core.serving.settings import ServingConfig

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens there: any download would fail


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Path]]:
    base = tmp_path_factory.mktemp("wheels")
    with Workspace.create(base / "penguins") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(TrainRequest("penguins", "species", estimator="logistic_regression"))
        ws.lifecycle.register(run.result().id, "penguins")
        ws.bundles.export("penguins@1", base / "penguins-1.zip", with_wheels=True)
        yield ws, ws.bundles.extract(base / "penguins-1.zip", base / "bundle")


def offline_env() -> dict[str, str]:
    """No index, no configured mirror or find-links, and every proxy dead."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               HTTP_PROXY=DEAD_PROXY, HTTPS_PROXY=DEAD_PROXY, http_proxy=DEAD_PROXY,
               https_proxy=DEAD_PROXY, NO_PROXY="", no_proxy="")  # fmt: skip
    return env


def test_a_fresh_virtualenv_serves_the_bundle_with_no_index(exported, tmp_path: Path) -> None:
    _, bundle = exported
    wheels = sorted(p.name for p in (bundle / "wheels").glob("*.whl"))
    for package in ("scikit_learn", "numpy", "pandas", "scipy", "joblib", "flask", "waitress"):
        assert any(name.lower().startswith(package) for name in wheels), package
    dockerfile = (bundle / "Dockerfile").read_text()
    assert "COPY wheels/ wheels/" in dockerfile
    assert "pip install --no-cache-dir --no-index --find-links wheels -r requirements.txt" in (
        dockerfile
    )
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["handoff"]["wheels"]["python"] == "3.11"
    assert all(f"wheels/{name}" in manifest["files"] for name in wheels)

    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--no-index", "--find-links", "wheels",
         "-r", "requirements.txt"],
        cwd=bundle, env=offline_env(), capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    ready = tmp_path / "ready.json"
    server = subprocess.Popen(
        [str(venv / "bin" / "python"), "serve.py", "--port", "0", "--ready-file", str(ready)],
        cwd=bundle, env=offline_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        port = _wait_ready(ready, server)
        rows = json.loads(pd.read_csv(PENGUINS).drop(columns="species").head(20).to_json(
            orient="records"))  # fmt: skip
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/predict", data=json.dumps({"records": rows}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=60) as answer:
            got = json.loads(answer.read())
    finally:
        server.terminate()
        server.communicate(timeout=60)
    expected = score(load_model(bundle / "model"), json.dumps({"records": rows}).encode(),
                     "application/json", ServingConfig(), "r").answer  # fmt: skip
    assert got["predictions"] == expected["predictions"]
    np.testing.assert_allclose(got["probabilities"], expected["probabilities"], atol=1e-12)


def _wait_ready(path: Path, process: subprocess.Popen, timeout: float = 180) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve.py exited: {process.stderr.read()[-3000:]}")
        if path.exists():
            return json.loads(path.read_text())["port"]
        time.sleep(0.2)
    raise AssertionError("serve.py did not start")


def test_a_platform_without_a_wheel_is_refused_naming_the_package(exported, tmp_path) -> None:
    ws, _ = exported
    with pytest.raises(WheelsUnavailable) as caught:
        ws.bundles.export("penguins@1", tmp_path / "arm.zip", with_wheels=True,
                          platforms=["linux_armv6l"])  # fmt: skip
    message = caught.value.message
    assert message.startswith("no wheel of ") and "==" in message
    assert "linux_armv6l, Python 3.11" in message and "--platform" in caught.value.hint
    assert not (tmp_path / "arm.zip").exists()


def test_a_malformed_target_is_refused_before_any_download(exported, tmp_path) -> None:
    ws, _ = exported
    with pytest.raises(WheelsUnavailable, match="is not a platform tag"):
        ws.bundles.export("penguins@1", tmp_path / "x.zip", with_wheels=True,
                          platforms=["linux x86"])  # fmt: skip
    with pytest.raises(WheelsUnavailable, match="is not a Python version"):
        target(None, "python3")
    widened = target(["manylinux_2_28_aarch64"], "3.12").platforms
    assert widened[0] == "manylinux_2_28_aarch64" and "manylinux2014_aarch64" in widened
    assert "manylinux_2_17_aarch64" in widened and "manylinux_2_29_aarch64" not in widened


def test_the_bundle_keeps_the_wheels_in_the_archive(exported) -> None:
    ws, bundle = exported
    archive = bundle.parent / "penguins-1.zip"
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
    assert sum(name.startswith("wheels/") for name in names) >= 10
    assert ws.bundles.verify(archive).ok
