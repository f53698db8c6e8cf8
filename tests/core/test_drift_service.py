"""Monitoring through the Workspace on a real project: the reference made at registration,
files and data set versions, a real deployment's log in time buckets (cached), live metrics,
and triggers, checked explicitly (reads never act), that record an alert once and retrain a
version that waits at the gates."""

from __future__ import annotations

import json
import math
import shutil
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.experiments import evaluation
from core.experiments.spec import RunSpec
from core.monitoring import buckets, codec
from core.registry.artifacts import load_pipeline
from core.registry.holdout import train_rows
from core.services import TrainRequest, Workspace
from core.serving.frames import model_frame
from core.serving.predlog import FeedbackEntry, LoggedRequest, PredictionLog

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
DATA = pd.read_csv(PENGUINS)
SHIFTED = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
HOUR = 3600


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("drift") / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "peng")
    settings = root / "shipway.toml"
    settings.write_text(
        settings.read_text() + '\n[gates.production]\nmetrics = { accuracy = ">= 0.5" }\n'
    )
    return root


@pytest.fixture
def ws(registered: Path, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "copy"
    shutil.copytree(registered, root)
    workspace = Workspace.open(root)
    yield workspace
    for deployment in workspace.deployments.list(include_stopped=False):
        workspace.deployments.undeploy(deployment.id)
    workspace.close()


def shifted(frame: pd.DataFrame, columns=("bill_length_mm", "body_mass_g")) -> pd.DataFrame:
    frame = frame.copy()
    for name in columns:
        frame[name] = frame[name] + 2 * DATA[name].std()
    return frame


# -- the reference -----------------------------------------------------------------------------


def test_registration_stores_the_reference_of_the_training_rows(ws: Workspace) -> None:
    version = ws.registry.version("peng@1")
    assert version.reference_sha256
    project = ws._project
    reference = codec.decode(project.blobs.read_verified(version.reference_sha256))
    part = train_rows(project, project.repo.get_version("penguins", 1), RunSpec.from_dict(
        version.spec))  # fmt: skip
    assert reference.rows == len(part.y) == 275
    assert [column.name for column in reference.features] == version.features
    island = reference.feature("island")
    assert dict(zip(island.categories, island.counts.tolist(), strict=True)) == (
        part.frame["island"].value_counts().to_dict()
    )
    target = dict(zip(reference.target.categories, reference.target.counts.tolist(), strict=True))
    assert target == part.y.value_counts().to_dict()  # the class mix of the training rows
    assert reference.prediction.count == 275 and set(reference.prediction.categories) <= set(
        reference.classes
    )
    bill = reference.feature("bill_length_mm")
    assert bill.full_sample and bill.missing == int(part.frame["bill_length_mm"].isna().sum())


def test_an_older_version_gets_its_reference_on_first_use(ws: Workspace) -> None:
    version = ws.registry.version("peng@1")
    ws._project.models.set_reference(version.id, None)
    assert ws.registry.version("peng@1").reference_sha256 is None
    summary = ws.monitoring.reference("peng@1")
    assert summary.sha256 == version.reference_sha256  # the same statistics, the same blob
    assert ws.registry.version("peng@1").reference_sha256 == version.reference_sha256
    path = ws._project.blobs.path_of(version.reference_sha256)
    path.write_bytes(b"garbage")  # a damaged blob is derived data: computed again
    fresh = Workspace.open(ws.root)
    try:
        report = fresh.monitoring.drift("peng@1", current=PENGUINS)
        assert report.drifted == []
        assert ws._project.blobs.verify(version.reference_sha256) is None
    finally:
        fresh.close()


# -- files and data set versions -----------------------------------------------------------------


def test_a_shifted_file_drifts_on_the_shifted_features(ws: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "shifted.csv"
    shifted(DATA).to_csv(csv, index=False)
    report = ws.monitoring.drift("peng@1", current=csv)
    assert report.drifted == ["bill_length_mm", "body_mass_g"]
    assert {f.test for f in report.features} == {"ks", "chisquare", "z"}  # 273 values: small
    assert report.source == f"file shifted.csv, {len(DATA)} rows"
    assert report.prediction is not None and report.target is not None
    version = ws.registry.version("peng@1")
    raw = pd.read_csv(csv)
    schema = {entry["name"]: entry["type"] for entry in version.io_schema["inputs"]}
    predicted = load_pipeline(ws._project, version).predict(
        model_frame(raw, schema, version.features)
    )
    expected, _ = evaluation.classification_metrics(raw["species"], predicted, None, sorted(
        raw["species"].unique()))  # fmt: skip
    assert report.live.rows == len(raw)
    assert report.live.metrics["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)
    assert report.live.training["accuracy"] == version.metrics["accuracy"]
    parquet = tmp_path / "shifted.parquet"
    shifted(DATA).to_parquet(parquet)
    same = ws.monitoring.drift("peng@1", current=parquet).to_dict()
    assert same["features"] == report.to_dict()["features"]


def test_a_data_set_version_is_current_data_too(ws: Workspace, tmp_path: Path) -> None:
    csv = tmp_path / "penguins.csv"
    shifted(DATA, SHIFTED).to_csv(csv, index=False)
    ws.data.import_file(csv)
    report = ws.monitoring.drift("peng@1", dataset="penguins@2")
    assert report.drifted == list(SHIFTED) and report.dataset_drift
    assert ws.monitoring.drift("peng@1", dataset="penguins@1").drifted == []
    renamed = DATA.drop(columns="island")
    renamed.to_csv(tmp_path / "partial.csv", index=False)
    partial = ws.monitoring.drift("peng@1", current=tmp_path / "partial.csv")
    assert partial.feature("island").status == "missing_column"
    assert partial.prediction is None and partial.tested_features == 6


# -- a deployment's log --------------------------------------------------------------------------


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def deploy_and_call(ws: Workspace) -> tuple[str, Path]:
    """A real deployment answering three real requests, then stopped (its log stays)."""
    deployment = ws.deployments.deploy("peng@1")
    rows = json.loads(DATA.drop(columns="species").head(3).to_json(orient="records"))
    request = urllib.request.Request(
        f"{deployment.url}/predict",
        data=json.dumps({"records": rows}).encode(),
        headers={"Content-Type": "application/json"},
    )
    for _ in range(3):
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
    ws.deployments.undeploy(deployment.id)
    return deployment.id, ws.deployments.folder(deployment)


def log_bucket(
    folder: Path, start: float, rows: pd.DataFrame, predictions=None, feedback: bool = True
) -> None:
    """Six logged requests of ``rows``, answered by peng@1 within the hour from ``start``."""
    schema = {"island": "string", "sex": "string", **dict.fromkeys(SHIFTED, "float"),
              "year": "integer"}  # fmt: skip
    features = ["island", *SHIFTED, "sex", "year"]
    predictions = rows["species"].tolist() if predictions is None else list(predictions)
    log = PredictionLog(folder)
    for part, chunk in enumerate(np.array_split(np.arange(len(rows)), 6)):
        request_id = uuid.uuid4().hex
        batch = rows.iloc[chunk]
        log.put(LoggedRequest(
            request_id, iso(start + 60 * part), "peng", 1, 2.0, 200, len(batch),
            inputs=model_frame(batch, schema, features),
            outputs={"predictions": [predictions[i] for i in chunk]},
        ))  # fmt: skip
        if feedback:
            log.put(FeedbackEntry(request_id, iso(start + 60 * part + 1),
                                  batch["species"].tolist()))  # fmt: skip
    log.close()


def traffic(seed: int, n: int = 90, shift: bool = False) -> pd.DataFrame:
    """Rows spread over the whole data set (a stride through it), so like the training rows."""
    rows = DATA.iloc[(np.arange(n) * 7 + seed * 13) % len(DATA)].reset_index(drop=True)
    return shifted(rows, SHIFTED) if shift else rows


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many buckets were compared (each call of the engine's compare from a bucket)."""
    calls: list[int] = []
    original = buckets.compare

    def compare(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(buckets, "compare", compare)
    return calls


def test_buckets_of_a_deployments_log_are_compared_once(ws: Workspace, counted: list) -> None:
    deployment, folder = deploy_and_call(ws)
    base = math.floor(time.time() / HOUR) * HOUR - 6 * HOUR
    for hour in range(5):
        log_bucket(folder, base + hour * HOUR, traffic(hour, shift=hour >= 3))
    window = ws.monitoring.drift("peng@1", deployment=deployment, window=100)
    assert window.current_rows == 100 and window.dataset_drift  # the last 100 rows are shifted
    assert set(window.drifted) == set(SHIFTED)
    first = ws.monitoring.drift_series("peng@1", deployment, HOUR, now=base + 5 * HOUR + 10)
    assert [b.report.dataset_drift for b in first.buckets[:5]] == [False] * 3 + [True] * 2
    assert [b.complete for b in first.buckets] == [True] * 5 + [False]  # + the real requests
    assert first.buckets[-1].rows == 9 and len(counted) == 6
    assert sorted(p.name for p in Path(first.cache).iterdir()) == sorted(
        [f"{base + h * HOUR}.json" for h in range(5)] + ["index.json"]
    )
    again = ws.monitoring.drift_series("peng@1", deployment, HOUR, now=base + 5 * HOUR + 10)
    assert [b.cached for b in again.buckets] == [True] * 5 + [False] and len(counted) == 7
    assert [b.report for b in again.buckets[:5]] == [b.report for b in first.buckets[:5]]
    recent = ws.monitoring.drift_series(
        "peng@1", deployment, HOUR, last=3, now=base + 5 * HOUR + 10
    )
    assert [b.start for b in recent.buckets[:2]] == [buckets.stamp(base + h * HOUR) for h in (3, 4)]
    assert all(b.cached for b in recent.buckets[:2]) and len(counted) == 8
    log_bucket(folder, base + 5 * HOUR, traffic(5))
    later = ws.monitoring.drift_series("peng@1", deployment, HOUR, now=base + 6 * HOUR + 10)
    assert len(later.buckets) == 7 and later.buckets[5].complete and not later.buckets[5].cached
    assert len(counted) == 10  # the new bucket and the filling one, nothing older
    live = later.buckets[0].report.live
    assert live.rows == 90 and live.metrics["accuracy"] == 1.0  # predictions were the truth
    assert live.training == {k: ws.registry.version("peng@1").metrics[k] for k in live.training}


def triggers(ws: Workspace, text: str) -> None:
    """Add a [triggers] table; monitoring reads shipway.toml at each call, nothing to reload."""
    settings = ws.root / "shipway.toml"
    settings.write_text(settings.read_text() + "\n[triggers]\n" + text)


def test_a_drift_streak_records_one_alert_and_a_retrained_version_waits_at_the_gates(
    ws: Workspace, tmp_path: Path
) -> None:
    ws.lifecycle.promote("peng@1")
    newer = tmp_path / "penguins.csv"
    DATA.iloc[10:].to_csv(newer, index=False)
    ws.data.import_file(newer)  # the newest version of the data set, which retraining must use
    triggers(ws, "drift_buckets = 2\nretrain = true\n")
    deployment, folder = deploy_and_call(ws)
    base = math.floor(time.time() / HOUR) * HOUR - 4 * HOUR
    for hour in range(3):
        log_bucket(folder, base + hour * HOUR, traffic(10 + hour, shift=hour >= 1))
    now = base + 3 * HOUR + 10
    series = ws.monitoring.drift_series("peng@1", deployment, HOUR, now=now)
    assert [b.report.dataset_drift for b in series.buckets[:3]] == [False, True, True]
    assert ws.monitoring.alerts("peng@1") == [] and len(ws.registry.versions("peng")) == 1
    [alert] = ws.lifecycle.check_triggers(deployment, now=now).alerts  # reads never act; this does
    assert alert.kind == "drift" and alert.bucket_start == buckets.stamp(base + HOUR)
    assert alert.retrain_status == "at_gates" and alert.retrain_version == 2
    assert alert.gates_passed is True
    retrained = ws.registry.version("peng@2")
    assert retrained.dataset_ref == "penguins@2" and retrained.tags["retrained_from"] == "peng@1"
    assert retrained.reference_sha256  # registered like any version
    assert [e.alias for e in ws.registry.gate_evaluations("peng@2")] == ["production"]
    assert ws.registry.version("peng@production").version == 1  # evaluated, never promoted
    actions = [entry.action for entry in ws.project.audit(limit=50)]
    assert "monitoring.alert" in actions and "monitoring.retrain" in actions
    again = ws.lifecycle.check_triggers(deployment, now=now)
    assert again.alerts == () and len(ws.registry.versions("peng")) == 2
    assert [a.id for a in ws.monitoring.alerts("peng@1")] == [alert.id]


def test_a_live_metric_under_its_floor_records_an_alert(ws: Workspace) -> None:
    triggers(ws, 'live_metrics = { accuracy = ">= 0.9" }\nmin_feedback = 20\n')
    deployment, folder = deploy_and_call(ws)
    base = math.floor(time.time() / HOUR) * HOUR - 3 * HOUR
    good = traffic(20)
    log_bucket(folder, base, good)
    bad = traffic(21)
    wrong = ["Gentoo" if s != "Gentoo" else "Adelie" for s in bad["species"]]
    log_bucket(folder, base + HOUR, bad, predictions=wrong[:45] + bad["species"][45:].tolist())
    now = base + 2 * HOUR + 10
    series = ws.monitoring.drift_series("peng@1", deployment, HOUR, now=now)
    assert ws.monitoring.alerts("peng@1") == []
    [alert] = ws.lifecycle.check_triggers(deployment, now=now).alerts
    assert alert.kind == "metric" and alert.retrain_status is None
    assert alert.detail["metrics"]["accuracy"] == pytest.approx(0.5)
    assert "accuracy" in alert.message
    assert series.buckets[0].report.live.metrics["accuracy"] == 1.0
