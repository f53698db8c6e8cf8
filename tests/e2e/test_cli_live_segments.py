"""`shipway monitor segments` end to end: a penguin model trained with ``[evaluation] segments``,
served by a real deployment on 127.0.0.1, predictions and their feedback posted over HTTP, then
the live metrics per island and sex read through a real `shipway` process."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.services import TrainRequest, Workspace
from core.serving.logreader import read_requests
from tests.e2e.cli import PENGUINS, ok_json, shipway

DATA = pd.read_csv(PENGUINS)
REQUESTS, ROWS = 6, 10  # six requests of ten rows, each with its feedback


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    root = tmp_path_factory.mktemp("live-segments-cli") / "penguins"
    with Workspace.create(root) as ws:
        settings = root / "shipway.toml"
        settings.write_text(settings.read_text() + '\n[evaluation]\nsegments = ["island", "sex"]\n')
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(TrainRequest("penguins", "species", estimator="logistic_regression"))
        ws.lifecycle.register(run.result().id, "peng")
        deployment = ws.deployments.deploy("peng@1")  # a real server on 127.0.0.1
    try:
        yield root, deployment.id, deployment.url
    finally:
        with Workspace.open(root) as ws:
            ws.deployments.undeploy(deployment.id)


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        assert answer.status in (200, 202)
        return json.loads(answer.read())


def test_live_metrics_per_segment_of_posted_feedback(deployed) -> None:
    root, deployment, url = deployed
    before = shipway(root, "monitor", "segments", deployment)
    assert before.returncode == 0, before.stderr
    assert "no feedback rows yet" in before.stdout

    rows = DATA.iloc[(np.arange(REQUESTS * ROWS) * 5) % len(DATA)].reset_index(drop=True)
    right: Counter = Counter()
    for start in range(0, len(rows), ROWS):
        chunk = rows.iloc[start : start + ROWS]
        records = json.loads(chunk.drop(columns="species").to_json(orient="records"))
        answer = post(f"{url}/predict", {"records": records})
        truth = chunk["species"].tolist()
        post(f"{url}/feedback", {"request_id": answer["request_id"], "actual": truth})
        for island, said, actual in zip(chunk["island"], answer["predictions"], truth, strict=True):
            right[island] += said == actual
    folder = root / "deployments" / deployment
    deadline = time.monotonic() + 60
    while sum(r.actual is not None for r in read_requests(folder)) < REQUESTS:
        assert time.monotonic() < deadline, "the feedback never reached the log"
        time.sleep(0.1)

    document = ok_json(root, "monitor", "segments", deployment)
    assert (document["status"], document["rows"]) == ("measured", len(rows))
    assert [c["column"] for c in document["columns"]] == ["island", "sex"]
    island = {s["value"]: s for s in document["columns"][0]["segments"]}
    counts = rows["island"].value_counts()
    assert {v: s["rows"] for v, s in island.items()} == counts.to_dict()
    for value, segment in island.items():
        assert segment["metrics"]["accuracy"] == pytest.approx(right[value] / counts[value])
        assert segment["test"]["accuracy"] is not None and segment["test_rows"] > 0
        low, high = segment["intervals"]["accuracy"]
        assert low <= segment["metrics"]["accuracy"] <= high
    sex = {s["value"]: s["rows"] for s in document["columns"][1]["segments"]}
    assert sex == rows["sex"].fillna("(missing)").value_counts().to_dict()
    text = shipway(root, "monitor", "segments", deployment)
    assert text.returncode == 0, text.stderr
    assert f"{len(rows):,} rows with feedback" in text.stdout
    assert "By island (" in text.stdout and "By sex" in text.stdout

    unknown = shipway(root, "monitor", "segments", "no-such-deployment")
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.count("\n") == 1 and "no-such-deployment" in unknown.stderr
