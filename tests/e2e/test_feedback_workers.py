"""Feedback sent straight after its prediction, on a deployment of two worker processes.

Each request opens a new connection, so the worker that takes the feedback is often not the one
that answered the prediction, and the prediction is often not in the log yet. Every feedback
must still be accepted, and the live metric must then count every one of them.
"""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from core.serving.logreader import read_requests
from tests.e2e.cli import PENGUINS, ok_json, shipway

PAIRS = 1000


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("feedback-workers") / "penguins"
    shipway(root.parent, "init", str(root))
    ok_json(root, "data", "import", str(PENGUINS))
    ok_json(root, "train", "--data", "penguins", "--target", "species", "--model",
            "logistic_regression")  # fmt: skip
    ok_json(root, "models", "register", "1", "--name", "penguins-model")
    deployment = ok_json(root, "deploy", "penguins-model@1", "--workers", "2")
    yield root, deployment
    ok_json(root, "undeploy", deployment["id"])


def _post(port: int, route: str, body: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", route, json.dumps(body), {"Content-Type": "application/json"})
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        connection.close()


def _pair(port: int, record: dict, actual: str) -> tuple[int, int, str]:
    status, answer = _post(port, "/predict", {"records": [record]})
    if status != 200:
        return status, 0, json.dumps(answer)
    feedback = {"request_id": answer["request_id"], "actual": actual}
    back, reply = _post(port, "/feedback", feedback)
    return status, back, answer["request_id"] if back in (200, 202) else json.dumps(reply)


def test_feedback_straight_after_a_prediction_never_fails_on_two_workers(deployed) -> None:
    root, deployment = deployed
    port = urlsplit(deployment["url"]).port
    frame = pd.read_csv(PENGUINS).dropna(subset=["species"])
    rows = json.loads(frame.drop(columns="species").to_json(orient="records"))
    labels = frame["species"].tolist()
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda i: _pair(port, rows[i % len(rows)], labels[i % len(rows)]), range(PAIRS)
            )
        )
    failures = [r for r in results if r[0] != 200 or r[1] not in (200, 202)]
    assert failures == [], failures[:5]
    statuses = {back for _, back, _ in results}
    assert 202 in statuses or 200 in statuses
    folder = Path(root) / "deployments" / deployment["id"]
    ids = {request_id for _, _, request_id in results}
    deadline = time.monotonic() + 60
    while True:
        joined = {r.request_id for r in read_requests(folder, status=200) if r.actual is not None}
        if ids <= joined or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(ids - joined) == 0, f"{len(ids - joined)} feedbacks never joined their request"
    drift = ok_json(
        root, "drift", "penguins-model@1", "--deployment", deployment["id"], "--window", "5000"
    )
    assert drift["live"]["rows"] == PAIRS


def test_feedback_for_an_id_this_deployment_never_issued_is_404(deployed) -> None:
    _, deployment = deployed
    port = urlsplit(deployment["url"]).port
    for request_id in ("0" * 32, "nope", "f" * 31 + "g"):
        status, reply = _post(port, "/feedback", {"request_id": request_id, "actual": "Adelie"})
        assert (status, reply["error"]) == (404, "unknown_request"), request_id
