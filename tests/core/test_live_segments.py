"""Live metrics per segment through the Workspace on a real project: a real deployment's log
(real SQLite, written by the prediction log's own writer) whose rows came back with feedback,
grouped by the ``[evaluation] segments`` columns, beside the test split's segment tables."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import NotFound, UsageError
from core.monitoring.results import LiveSegments
from core.registry import fairness
from core.registry.gates import Evidence
from core.services import TrainRequest, Workspace
from core.serving.frames import model_frame
from core.serving.predlog import FeedbackEntry, LoggedRequest, PredictionLog

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
DATA = pd.read_csv(PENGUINS)
SEGMENTS = '["island", "species", "bill_length_mm"]'
# rows with feedback per island; Torgersen is too small for an interval and for the gap
ISLANDS = {"Biscoe": 30, "Dream": 20, "Torgersen": 5}
WRONG_IN_DREAM = 5  # accuracy 0.75 in Dream, 1.0 elsewhere
UNANSWERED = 7  # logged rows without feedback


def set_segments(root: Path, value: str) -> None:
    """``[evaluation] segments = value`` (monitoring reads shipway.toml at each call)."""
    path = root / "shipway.toml"
    text = re.sub(r"\n\[evaluation\]\nsegments = .*\n", "\n", path.read_text())
    path.write_text(text + f"\n[evaluation]\nsegments = {value}\n")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """peng@1 (species, classification) and mass@1 (body mass, regression), primary metric
    accuracy; a stopped deployment of each (their logs stay)."""
    root = tmp_path_factory.mktemp("live-segments") / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        for target, task, estimator, name in (
            ("species", "classification", "logistic_regression", "peng"),
            ("body_mass_g", "regression", "linear_regression", "mass"),
        ):
            run = ws.runs.train(TrainRequest("penguins", target, task=task, estimator=estimator))
            ws.lifecycle.register(run.result().id, name)
    path = root / "shipway.toml"
    path.write_text(re.sub(r'primary_metric = ""', 'primary_metric = "accuracy"',
                           path.read_text()))  # fmt: skip
    set_segments(root, SEGMENTS)
    return root


@pytest.fixture
def ws(root: Path) -> Iterator[Workspace]:
    with Workspace.open(root) as workspace:
        yield workspace


def stopped_deployment(ws: Workspace, ref: str) -> tuple[str, Path]:
    deployment = ws.deployments.deploy(ref)
    ws.deployments.undeploy(deployment.id)
    return deployment.id, ws.deployments.folder(deployment)


def log(ws: Workspace, ref: str, folder: Path, rows: pd.DataFrame, predictions, actuals) -> None:
    """One logged request per row, with its feedback where ``actuals`` holds one."""
    version = ws.registry.version(ref)
    schema = {entry["name"]: entry["type"] for entry in version.io_schema["inputs"]}
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    writer = PredictionLog(folder)
    for index in range(len(rows)):
        request_id = uuid.uuid4().hex
        writer.put(LoggedRequest(
            request_id, now, version.model, version.version, 2.0, 200, 1,
            inputs=model_frame(rows.iloc[[index]], schema, version.features),
            outputs={"predictions": [predictions[index]]},
        ))  # fmt: skip
        if actuals[index] is not None:
            writer.put(FeedbackEntry(request_id, now, [actuals[index]]))
    writer.close()


def wrong(species: str) -> str:
    return "Gentoo" if species != "Gentoo" else "Adelie"


@pytest.fixture(scope="module")
def species_traffic(root: Path) -> str:
    """A deployment of peng@1 whose feedback makes Dream 0.75 accurate and the rest 1.0."""
    with Workspace.open(root) as ws:
        deployment, folder = stopped_deployment(ws, "peng@1")
        parts = [DATA[DATA["island"] == island].head(n) for island, n in ISLANDS.items()]
        rows = pd.concat(parts, ignore_index=True)
        truth = rows["species"].tolist()
        dream = np.flatnonzero(rows["island"] == "Dream")[:WRONG_IN_DREAM]
        predicted = [wrong(s) if i in dream else s for i, s in enumerate(truth)]
        extra = DATA.iloc[200 : 200 + UNANSWERED].reset_index(drop=True)
        log(ws, "peng@1", folder, rows, predicted, truth)
        log(ws, "peng@1", folder, extra, extra["species"].tolist(), [None] * UNANSWERED)
    return deployment


@pytest.fixture(scope="module")
def found(root: Path, species_traffic: str) -> LiveSegments:
    """The live segments of that deployment (measured once: the bootstrap is what costs)."""
    with Workspace.open(root) as ws:
        return ws.monitoring.live_segments(species_traffic)


def test_every_live_metric_per_segment_beside_the_test_split(ws, found) -> None:
    assert (found.status, found.model, found.version, found.metric) == ("measured", "peng", 1,
                                                                        "accuracy")  # fmt: skip
    assert found.rows == sum(ISLANDS.values()) and found.overall.rows == found.rows
    assert found.logged_rows == found.rows + UNANSWERED
    island = next(column for column in found.columns if column.column == "island")
    assert island.status == "measured"
    by_value = {segment.value: segment for segment in island.segments}
    assert {v: s.rows for v, s in by_value.items()} == ISLANDS
    assert {v: s.metrics["accuracy"] for v, s in by_value.items()} == {
        "Biscoe": 1.0, "Dream": 0.75, "Torgersen": 1.0}  # fmt: skip
    assert set(by_value["Dream"].metrics) == {"accuracy", "balanced_accuracy", "precision",
                                              "recall", "f1"}  # fmt: skip
    low, high = by_value["Dream"].intervals["accuracy"]
    assert low <= 0.75 <= high and low < high and by_value["Dream"].note == ""
    small = by_value["Torgersen"]
    assert small.intervals == {} and small.note == "n < 10: no interval"
    # the gap of the primary metric, over segments with 10 rows or more
    assert island.gap == pytest.approx(0.25)
    assert (island.best, island.worst) == ("Biscoe", "Dream")
    assert any("Torgersen (5)" in note for note in island.notes)
    # the test split's value of each segment, as the model card's table has it
    version = ws.registry.version("peng@1")
    test = fairness.table(Evidence(ws._project, version), "island", intervals=False)
    for group in test["groups"]:
        segment = by_value[group["value"]]
        assert segment.test_rows == group["rows"]
        assert segment.test["f1"] == group["metrics"]["f1"]["value"]
    document = found.to_dict()
    assert document["columns"][0]["segments"][0]["intervals"]["accuracy"] == [
        *by_value["Biscoe"].intervals["accuracy"]
    ]


def test_a_column_not_logged_and_one_of_many_values_are_said_per_column(found) -> None:
    columns = {column.column: column for column in found.columns}
    assert [c.column for c in found.columns] == ["island", "species", "bill_length_mm"]
    target = columns["species"]
    assert target.status == "missing_column" and target.segments == ()
    assert "species is not in the logged inputs" in target.notes[0]
    many = columns["bill_length_mm"]
    assert many.status == "measured" and len(many.segments) == 10
    assert "(other)" in {segment.value for segment in many.segments}
    assert any("grouped as (other)" in note for note in many.notes)
    assert sum(segment.rows for segment in many.segments) == found.rows
    # one value has 10 rows or more (the others are single lengths): no gap is measured
    assert many.gap is None and (many.best, many.worst) == (None, None)
    assert "no gap: fewer than two segments have 10 rows" in many.notes[-1]


def test_the_newest_rows_only_and_bad_bounds(ws, species_traffic) -> None:
    newest = ws.monitoring.live_segments(species_traffic, last=UNANSWERED)  # no feedback there
    assert (newest.status, newest.rows, newest.logged_rows) == ("no_feedback", 0, UNANSWERED)
    assert newest.columns == () and newest.notes[0].startswith("no feedback rows yet")
    assert f"none of the {UNANSWERED} logged rows peng@1 answered" in newest.notes[0]
    for bad in ({"last": 0}, {"min_rows": 0}):
        with pytest.raises(UsageError):
            ws.monitoring.live_segments(species_traffic, **bad)


def test_no_segment_columns_and_an_unknown_deployment(ws, root, species_traffic) -> None:
    set_segments(root, "[]")
    try:
        found = ws.monitoring.live_segments(species_traffic)
    finally:
        set_segments(root, SEGMENTS)
    assert found.status == "no_segments" and "[evaluation] segments" in found.notes[0]
    with pytest.raises(NotFound) as caught:
        ws.monitoring.live_segments("no-such-deployment")
    assert "no-such-deployment" in caught.value.one_line()


def test_a_regressors_best_segment_has_the_lowest_error(ws) -> None:
    deployment, folder = stopped_deployment(ws, "mass@1")
    rows = pd.concat([DATA[DATA["island"] == i].head(12) for i in ("Biscoe", "Dream")])
    rows = rows.reset_index(drop=True)
    truth = rows["body_mass_g"].astype(float).tolist()
    off = {"Biscoe": 100.0, "Dream": 300.0}  # every prediction this far from the truth
    predicted = [t + off[i] for t, i in zip(truth, rows["island"], strict=True)]
    log(ws, "mass@1", folder, rows, predicted, truth)
    measured = ws.monitoring.live_segments(deployment)
    assert measured.metric == "rmse" and measured.metrics == ("mae", "rmse", "r2", "mape")
    island = measured.columns[0]
    values = {segment.value: segment.metrics["rmse"] for segment in island.segments}
    assert values == pytest.approx({"Biscoe": 100.0, "Dream": 300.0})
    assert (island.best, island.worst) == ("Biscoe", "Dream")
    assert island.gap == pytest.approx(200.0)
    strict = ws.monitoring.live_segments(deployment, min_rows=13).columns[0]  # 12 rows each
    assert strict.gap is None and (strict.best, strict.worst) == (None, None)
    assert "fewer than two segments have 13 rows" in strict.notes[-1]
