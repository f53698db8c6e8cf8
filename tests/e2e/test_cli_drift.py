"""`shipway drift` end to end: a real deployment fed shifted traffic over HTTP shows the shifted
features, as JSON and as a table; a file and the time buckets too; drift always exits 0."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.services import Workspace
from core.serving.logreader import inputs_frame
from tests.e2e.cli import PENGUINS, ok_json, shipway

DATA = pd.read_csv(PENGUINS)
SHIFTED = ("bill_length_mm", "body_mass_g")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drift-cli") / "penguins"
    shipway(root.parent, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    ok_json(root, "train", "--data", "penguins", "--target", "species", "--model",
            "logistic_regression")  # fmt: skip
    ok_json(root, "models", "register", "1", "--name", "penguins-model")
    return root


@pytest.fixture(scope="module")
def deployment(project: Path) -> Iterator[str]:
    """Deployed with Workspace.deploy and fed 200 shifted rows in 20 requests over HTTP."""
    with Workspace.open(project) as ws:
        served = ws.deployments.deploy("penguins-model@1")
        try:
            rows = DATA.iloc[(np.arange(200) * 7) % len(DATA)].drop(columns="species").copy()
            for name in SHIFTED:
                rows[name] = rows[name] + 2 * DATA[name].std()
            for chunk in np.array_split(np.arange(len(rows)), 20):
                body = {"records": json.loads(rows.iloc[chunk].to_json(orient="records"))}
                request = urllib.request.Request(
                    f"{served.url}/predict",
                    data=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as answer:
                    assert answer.status == 200
            folder = ws.deployments.folder(served)
            deadline = time.monotonic() + 30
            while len(inputs_frame(folder)) < 200 and time.monotonic() < deadline:
                time.sleep(0.1)  # the log is written off the request path
            yield served.id
        finally:
            ws.deployments.undeploy(served.id)


def test_drift_of_a_deployment_names_the_shifted_features(project: Path, deployment: str):
    document = ok_json(project, "drift", "penguins-model@1", "--deployment", deployment)
    assert {"dataset_drift", "drift_share", "features"} <= set(document)
    features = {f["name"]: f for f in document["features"]}
    for feature in features.values():
        assert {"name", "kind", "test", "statistic", "threshold", "drifted", "psi"} <= set(feature)
    assert sorted(name for name, f in features.items() if f["drifted"]) == sorted(SHIFTED)
    assert features["bill_length_mm"]["test"] == "ks" and features["island"]["kind"] == (
        "categorical"
    )
    assert document["current_rows"] == 200 and document["drift_share"] == pytest.approx(2 / 7)
    assert document["dataset_drift"] is False
    text = shipway(project, "drift", "penguins-model@1", "--deployment", deployment)
    assert text.returncode == 0, text.stderr
    lines = {line.split()[0]: line for line in text.stdout.splitlines() if line.strip()}
    assert " yes " in lines["bill_length_mm"] and " no " in lines["island"]
    assert "Dataset drift: no (2 of 7 features drifted" in text.stdout


def test_a_window_and_time_buckets(project: Path, deployment: str) -> None:
    window = ok_json(project, "drift", "penguins-model@1", "--deployment", deployment,
                     "--window", "50")  # fmt: skip
    assert window["current_rows"] == 50
    series = ok_json(project, "drift", "penguins-model@1", "--deployment", deployment,
                     "--buckets", "3600")  # fmt: skip
    assert sum(bucket["rows"] for bucket in series["buckets"]) == 200
    assert {"dataset_drift", "drift_share", "features"} <= set(series)
    text = shipway(project, "drift", "penguins-model@1", "--deployment", deployment,
                   "--buckets", "3600")  # fmt: skip
    assert text.returncode == 0 and "Latest bucket:" in text.stdout


def test_drift_of_a_file_exits_0_with_or_without_drift(project: Path, tmp_path: Path) -> None:
    same = ok_json(project, "drift", "penguins-model@1", "--current", str(PENGUINS))
    assert same["dataset_drift"] is False and not any(f["drifted"] for f in same["features"])
    moved = DATA.copy()
    for name in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"):
        moved[name] = moved[name] + 2 * DATA[name].std()
    moved.to_csv(tmp_path / "moved.csv", index=False)
    document = ok_json(
        project, "drift", "penguins-model@1", "--current", str(tmp_path / "moved.csv")
    )
    assert document["dataset_drift"] is True and document["live"]["rows"] == len(DATA)
    missing = shipway(project, "drift", "penguins-model@1", "--current", "no-such.csv")
    assert missing.returncode == 1 and "no such file" in missing.stderr
    usage = shipway(project, "drift", "penguins-model@1")
    assert usage.returncode == 2
    window = shipway(
        project, "drift", "penguins-model@1", "--current", str(PENGUINS), "--window", "5"
    )
    assert window.returncode == 2 and "--window needs --deployment" in window.stderr
