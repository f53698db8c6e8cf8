"""The decision threshold: picked by a rule on the test rows, stored, and served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from core.errors import InvalidInput
from core.experiments import thresholds
from core.services import TrainRequest, Workspace
from core.serving.errors import ModelDirError
from core.serving.model import load_model
from core.serving.server import start_server
from tests.serving.helpers import Client

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    folder = tmp_path_factory.mktemp("threshold")
    frame = load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, 4, 5, 30]]
    frame.columns = ["radius", "texture", "perimeter", "area", "smooth", "compact", "benign"]
    frame.to_csv(folder / "tumours.csv", index=False)
    workspace = Workspace.create(folder / "proj")
    workspace.data.import_file(folder / "tumours.csv")
    workspace.data.import_file(PENGUINS)
    yield workspace
    workspace.close()


def logistic(rule: str | dict | None = None, **options) -> TrainRequest:
    return TrainRequest(
        "tumours", "benign", estimator="logistic_regression", threshold=rule, **options
    )


def test_the_threshold_is_stored_and_served(ws: Workspace, tmp_path: Path) -> None:
    run = ws.runs.train(logistic("min_recall=1")).result()
    assert run.status == "done", run.error
    chosen = run.curves["threshold"]
    assert chosen["rule"] == {"min_recall": 1.0} and chosen["recall"] == 1.0
    assert chosen["positive"] == 1 and chosen["threshold"] < 0.5  # every benign one caught
    assert run.io_schema["output"]["threshold"] == chosen["threshold"]
    assert run.spec["threshold"] == {"min_recall": 1.0}
    ws.lifecycle.register(run.id, "tumours")
    version = ws.registry.version("tumours@1")
    assert version.io_schema["output"]["threshold"] == chosen["threshold"]
    card = ws.registry.card("tumours@1")
    assert f"Decision threshold {chosen['threshold']:.4g} on the probability of 1" in card
    assert "min_recall = 1.0" in card and "recall 1 there" in card
    folder = ws.registry.write_model_dir("tumours@1", tmp_path / "model")
    meta = json.loads((folder / "model.json").read_text())
    assert meta["io_schema"]["output"]["threshold"] == chosen["threshold"]
    rows = (
        ws.data.table("tumours@1").to_pandas().drop(columns="benign").head(200).to_dict("records")
    )
    server = start_server(folder)
    try:
        client = Client(server.port)
        answer = client.predict({"records": rows}).json
        client.close()
    finally:
        server.stop()
    proba = np.array(answer["probabilities"])[:, 1]
    assert answer["predictions"] == [int(p >= chosen["threshold"]) for p in proba]
    labels = answer["predictions"]
    assert any(p < 0.5 and label == 1 for p, label in zip(proba, labels, strict=True))


def test_a_cost_rule_minimises_the_cost() -> None:
    positive = np.array([True, False, True, False, True, False])
    scores = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
    chosen = thresholds.choose(positive, scores, {"cost_fp": 1, "cost_fn": 5})
    assert chosen["threshold"] == 0.3 and chosen["cost"] == 2.0 and chosen["recall"] == 1.0
    chosen = thresholds.choose(positive, scores, {"cost_fp": 5, "cost_fn": 1})
    assert chosen["threshold"] == 0.9 and chosen["cost"] == 2.0


def test_a_target_no_threshold_reaches_names_the_best() -> None:
    positive = np.array([False, True, False, True])
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    with pytest.raises(InvalidInput) as caught:
        thresholds.choose(positive, scores, {"min_precision": 0.9})
    message = caught.value.one_line()
    assert "no threshold reaches precision 0.9" in message and "best reachable is 0.5000" in message
    assert "min_precision=0.5 or less" in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("min_precision=1.5", "outside (0, 1]"),
        ("min_precision=high", "is not a number"),
        ("cost_fp=1", "is not one rule"),
        ("min_precision=0.9,min_recall=0.9", "is not one rule"),
        ("cost_fp=0,cost_fn=0", "one above 0"),
        ("precision", "is not KEY=VALUE"),
    ],
)
def test_bad_rules_are_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem.replace("(", r"\(").replace("]", r"\]")):
        thresholds.parse_rule(text)


def test_a_threshold_of_a_multiclass_or_regression_task_is_refused(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="'species', which has 3 classes"):
        ws.runs.prepare(TrainRequest("penguins", "species", threshold="min_recall=0.9"))
    with pytest.raises(InvalidInput, match="asked of a regression task"):
        ws.runs.prepare(TrainRequest("penguins", "body_mass_g", threshold="min_recall=0.9"))


def test_the_project_rule_applies_to_binary_runs_only(ws: Workspace) -> None:
    settings = Path(ws.root) / "shipway.toml"
    original = settings.read_text()
    try:
        settings.write_text(original + "\n[evaluation]\nthreshold = {min_precision = 0.95}\n")
        with Workspace.open(ws.root) as fresh:
            spec, _ = fresh.runs.prepare(logistic())
            assert spec.threshold == {"min_precision": 0.95}
            assert fresh.runs.prepare(TrainRequest("penguins", "species"))[0].threshold is None
            assert not any("evaluation" in w for w in fresh.project.settings_warnings())
        settings.write_text(original + "\n[evaluation]\nthreshold = {min_precision = 2}\n")
        with Workspace.open(ws.root) as fresh, pytest.raises(InvalidInput) as caught:
            fresh.runs.prepare(logistic())
        assert "shipway.toml line" in caught.value.one_line()
    finally:
        settings.write_text(original)


def test_a_model_dir_with_a_bad_threshold_is_refused(ws: Workspace, tmp_path: Path) -> None:
    run = ws.runs.train(
        TrainRequest("penguins", "species", estimator="logistic_regression")
    ).result()
    ws.lifecycle.register(run.id, "species")
    folder = ws.registry.write_model_dir("species@1", tmp_path / "model")
    meta = json.loads((folder / "model.json").read_text())
    meta["io_schema"]["output"]["threshold"] = 0.3
    (folder / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelDirError, match="a threshold needs exactly two output classes"):
        load_model(folder)
