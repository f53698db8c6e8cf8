"""`shipway traffic` and `shipway monitor check` end to end, through real `shipway` processes:
a real deployment's answers counted per time bucket, and [triggers] evaluated only when asked
(a `drift --buckets` look records nothing; a check records a streak's alert once)."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.services import Workspace
from core.serving.frames import model_frame
from core.serving.logreader import read_requests
from core.serving.predlog import LoggedRequest, PredictionLog
from tests.e2e.cli import PENGUINS, ok_json, shipway

DATA = pd.read_csv(PENGUINS)
NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
CLASSES = {"Adelie", "Chinstrap", "Gentoo"}
HOUR = 3600
ROWS_PER_REQUEST = 3
GOOD, BAD = 12, 3


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitor-cli") / "penguins"
    shipway(root.parent, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    ok_json(root, "train", "--data", "penguins", "--target", "species", "--model",
            "logistic_regression")  # fmt: skip
    ok_json(root, "models", "register", "1", "--name", "peng")
    settings = root / "shipway.toml"
    settings.write_text(settings.read_text() + "\n[triggers]\ndrift_buckets = 2\n")
    return root


def post(url: str, records: list[dict]) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/predict",
        data=json.dumps({"records": records}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def log_folder(project: Path, deployment_id: str) -> Path:
    with Workspace.open(project) as ws:
        return ws.deployments.folder(ws.deployments.get(deployment_id))


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[tuple[str, Counter]]:
    """A running deployment that answered GOOD requests and refused BAD ones, all logged;
    with the classes it predicted, counted from its answers."""
    deployed = ok_json(project, "deploy", "peng@1")
    try:
        rows = DATA.drop(columns="species")
        predicted: Counter = Counter()
        for index in range(GOOD):
            chunk = rows.iloc[(np.arange(ROWS_PER_REQUEST) + 29 * index) % len(rows)]
            status, answer = post(deployed["url"], json.loads(chunk.to_json(orient="records")))
            assert status == 200, answer
            predicted.update(answer["predictions"])
        for _ in range(BAD):
            status, answer = post(deployed["url"], [{"island": "Biscoe"}])  # columns missing
            assert status >= 400, answer
        folder = log_folder(project, deployed["id"])
        deadline = time.monotonic() + 60
        while len(read_requests(folder)) < GOOD + BAD:  # the log is written off the request path
            assert time.monotonic() < deadline, "the requests never reached the log"
            time.sleep(0.1)
        yield deployed["id"], predicted
    finally:
        ok_json(project, "undeploy", deployed["id"])


def test_traffic_counts_what_the_deployment_answered(project: Path, served) -> None:
    deployment, predicted = served
    document = ok_json(project, "traffic", deployment, "--buckets", str(HOUR), "--last", "3")
    assert set(document) == {"deployment", "bucket_seconds", "total", "buckets"}
    assert document["deployment"] == deployment and document["bucket_seconds"] == HOUR
    buckets = document["buckets"]
    assert len(buckets) == 3  # the newest is the one filling now
    for bucket in buckets:
        assert {"start", "requests", "rate_per_s", "errors", "latency_p50_ms",
                "latency_p95_ms", "mix"} <= set(bucket)  # fmt: skip
        assert set(bucket["mix"]) == CLASSES
        assert bucket["rate_per_s"] == pytest.approx(bucket["requests"] / HOUR, abs=1e-6)
    assert document["total"] == sum(b["requests"] for b in buckets) == GOOD + BAD
    assert sum(b["errors"] for b in buckets) == BAD
    busy = [b for b in buckets if b["requests"]]
    assert busy and all(0 < b["latency_p50_ms"] <= b["latency_p95_ms"] for b in busy)
    # shares of the predicted rows; every answered request predicted ROWS_PER_REQUEST rows
    counted = Counter()
    for bucket in busy:
        rows = ROWS_PER_REQUEST * (bucket["requests"] - bucket["errors"])
        assert sum(bucket["mix"].values()) == pytest.approx(1.0)
        counted.update({c: share * rows for c, share in bucket["mix"].items()})
    assert {c: round(n) for c, n in counted.items() if round(n)} == dict(predicted)
    idle = [b for b in buckets if not b["requests"]]
    assert all(b["latency_p50_ms"] is None and b["errors"] == 0 for b in idle)
    text = shipway(project, "traffic", deployment, "--buckets", str(HOUR))
    assert text.returncode == 0, text.stderr
    assert f"{GOOD + BAD:,} requests" in text.stdout


def test_traffic_of_an_unknown_deployment_is_one_line(project: Path) -> None:
    result = shipway(project, "traffic", "no-such-deployment")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no-such-deployment" in result.stderr
    as_json = shipway(project, "traffic", "no-such-deployment", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"]


# -- triggers: checked when asked, never by a look --------------------------------------------


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def log_hour(project: Path, folder: Path, start: float, seed: int, shift: bool) -> None:
    """Sixty rows answered by peng@1 within the hour from ``start``, in six logged requests."""
    with Workspace.open(project) as ws:
        version = ws.registry.version("peng@1")
    schema = {entry["name"]: entry["type"] for entry in version.io_schema["inputs"]}
    rows = DATA.iloc[(np.arange(60) * 7 + seed * 13) % len(DATA)].reset_index(drop=True)
    if shift:
        for name in NUMERIC:
            rows[name] = rows[name] + 2 * DATA[name].std()
    log = PredictionLog(folder)
    for part, chunk in enumerate(np.array_split(np.arange(len(rows)), 6)):
        batch = rows.iloc[chunk]
        log.put(LoggedRequest(
            uuid.uuid4().hex, iso(start + 60 * part), "peng", 1, 2.0, 200, len(batch),
            inputs=model_frame(batch, schema, version.features),
            outputs={"predictions": batch["species"].tolist()},
        ))  # fmt: skip
    log.close()


@pytest.fixture
def drifted(project: Path) -> tuple[str, float]:
    """A stopped deployment whose log holds an hour like the training rows, then two drifted
    hours (all in the past, so complete buckets); the start of the first drifted hour."""
    deployed = ok_json(project, "deploy", "peng@1")
    ok_json(project, "undeploy", deployed["id"])
    folder = log_folder(project, deployed["id"])
    base = math.floor(time.time() / HOUR) * HOUR - 4 * HOUR
    for hour in range(3):
        log_hour(project, folder, base + hour * HOUR, seed=hour, shift=hour >= 1)
    return deployed["id"], base + HOUR


def alerts_of(project: Path, deployment: str) -> list:
    with Workspace.open(project) as ws:
        return ws.monitoring.alerts("peng", deployment=deployment)


def test_a_look_records_nothing_and_a_check_records_the_alert_once(
    project: Path, drifted: tuple[str, float]
) -> None:
    deployment, streak = drifted
    series = ok_json(project, "drift", "peng@1", "--deployment", deployment,
                     "--buckets", str(HOUR))  # fmt: skip
    assert [b["report"]["dataset_drift"] for b in series["buckets"]] == [False, True, True]
    assert "alerts" not in series
    assert alerts_of(project, deployment) == []  # reads never act

    checked = ok_json(project, "monitor", "check", deployment)
    assert checked["deployments"] == [deployment] and checked["problems"] == []
    [alert] = checked["alerts"]
    assert (alert["kind"], alert["deployment"], alert["model"], alert["version"]) == (
        "drift", deployment, "peng", 1)  # fmt: skip
    assert alert["bucket_start"] == stamp(streak) and alert["retrain_status"] is None
    [recorded] = alerts_of(project, deployment)
    assert recorded.id == alert["id"]

    again = ok_json(project, "monitor", "check", deployment)
    assert again["alerts"] == [] and again["deployments"] == [deployment]
    assert [a.id for a in alerts_of(project, deployment)] == [alert["id"]]
    text = shipway(project, "monitor", "check", deployment)
    assert text.returncode == 0 and "0 alert(s) fired" in text.stdout
