"""Explained predictions: exact TreeSHAP, the sum identity per model family, the bounds (422)
and the real server's answers."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections import OrderedDict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_diabetes
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeRegressor

from core.experiments.preprocess import build_pipeline
from core.experiments.spec import Preprocessing
from core.experiments.training import io_schema
from core.serving import explain, treeshap
from core.serving.explainers import _sklearn_tree
from core.serving.logreader import read_requests
from core.serving.model import LoadedModel, load_model, write_model_dir
from core.serving.scoring import score
from core.serving.settings import ServingConfig
from tests.serving.helpers import ROW, Client, export_model

ROWS = [
    ROW,
    {**ROW, "island": "Dream", "bill_length_mm": 39.0, "sex": None},
    {**ROW, "bill_depth_mm": 19.0, "flipper_length_mm": 190, "island": "Torgersen"},
    {**ROW, "island": "Atlantis", "body_mass_g": 3100},  # a category training never saw
]
CLASSIFIERS = {
    "forest": RandomForestClassifier(n_estimators=20, random_state=0),
    "boosting": GradientBoostingClassifier(n_estimators=20, random_state=0),
    "hist_boosting": HistGradientBoostingClassifier(max_iter=15, random_state=0),
    "logistic": LogisticRegression(max_iter=500),
    "knn": KNeighborsClassifier(),
}
REGRESSORS = {
    "forest": RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0),
    "boosting": GradientBoostingRegressor(n_estimators=20, random_state=0),
    "hist_boosting": HistGradientBoostingRegressor(max_iter=15, random_state=0),
    "ridge": Ridge(),
    "knn": KNeighborsRegressor(),
}
METHODS = {"logistic": "linear", "ridge": "linear", "knn": "sampling"}


class LabelsOnly(ClassifierMixin, BaseEstimator):
    """A classifier with neither probabilities nor a decision function."""

    def fit(self, X: Any, y: Any) -> LabelsOnly:
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: Any) -> Any:
        return np.full(len(X), self.classes_[0])


def _diabetes_model(folder: Path, estimator: Any, task: str = "regression") -> LoadedModel:
    """Diabetes progression (regression), or whether it is above 140 (two classes)."""
    data = load_diabetes(as_frame=True)
    X, y = data.data.iloc[:, :6], data.target.astype(float)
    if task == "classification":
        y = pd.Series(np.where(y > 140, "high", "low"))
    schema = dict.fromkeys(X.columns, "float")
    features = list(X.columns)
    pipeline = build_pipeline(features, schema, Preprocessing(), estimator).fit(X, y)
    spec = SimpleNamespace(features=features, target="progression", task=task)
    io = io_schema(SimpleNamespace(spec=spec, schema=schema), pipeline, X, y)
    write_model_dir(folder, pipeline, name="diabetes", version=1, task=task, io_schema=io)
    return load_model(folder)


@pytest.fixture(scope="module")
def penguin_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedModel]:
    root = tmp_path_factory.mktemp("explained")
    return {k: load_model(export_model(root / k, e)) for k, e in CLASSIFIERS.items()}


@pytest.fixture(scope="module")
def diabetes_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedModel]:
    root = tmp_path_factory.mktemp("diabetes")
    return {k: _diabetes_model(root / k, e) for k, e in REGRESSORS.items()}


def _explained(model: LoadedModel, rows: list[dict[str, Any]]) -> dict[str, Any]:
    body = json.dumps({"records": rows, "explain": True}).encode()
    return score(model, body, "application/json", ServingConfig(), "id").answer


def _explained_output(model: LoadedModel, kind: str, rows: list[dict[str, Any]]) -> np.ndarray:
    """What the model itself says for the explained output of each row."""
    frame = score(model, json.dumps({"records": rows}).encode(), "application/json",
                  ServingConfig(), "id").model_input.frame  # fmt: skip
    pipeline = model.pipeline
    if kind == "prediction":
        return np.asarray(pipeline.predict(frame), dtype=float)
    predicted = pipeline.predict(frame)
    k = np.searchsorted(pipeline.classes_, predicted)
    if kind == "probability":
        return pipeline.predict_proba(frame)[np.arange(len(frame)), k]
    scores = pipeline.decision_function(frame)
    if scores.ndim == 1:  # two classes: the score speaks for the second
        return np.where(k == 1, scores, -scores)
    return scores[np.arange(len(frame)), k]


@pytest.mark.parametrize("family", list(CLASSIFIERS))
def test_contributions_plus_base_are_the_penguin_classifiers_output(penguin_models, family):
    model = penguin_models[family]
    answer = _explained(model, ROWS)
    explained = answer["explanations"]
    assert explained["method"] == METHODS.get(family, "tree_path")
    expected = _explained_output(model, explained["output"], ROWS)
    for row, predicted, wanted in zip(
        explained["rows"], answer["predictions"], expected, strict=True
    ):
        assert row["class"] == predicted
        assert list(row["contributions"]) == model.features  # input columns, not one-hot ones
        total = row["base"] + sum(row["contributions"].values())
        assert total == pytest.approx(wanted, abs=1e-6)
        assert row["value"] == pytest.approx(wanted, abs=1e-6)


@pytest.mark.parametrize("family", list(REGRESSORS))
def test_contributions_plus_base_are_the_diabetes_regressors_prediction(diabetes_models, family):
    model = diabetes_models[family]
    data = load_diabetes(as_frame=True).data.iloc[:5, :6]
    rows = data.to_dict(orient="records")
    answer = _explained(model, rows)
    explained = answer["explanations"]
    assert explained["method"] == METHODS.get(family, "tree_path")
    assert explained["output"] == "prediction"
    for row, predicted in zip(explained["rows"], answer["predictions"], strict=True):
        total = row["base"] + sum(row["contributions"].values())
        assert total == pytest.approx(predicted, abs=1e-6)


@pytest.mark.parametrize(
    "estimator",
    [
        GradientBoostingClassifier(n_estimators=10, random_state=0),
        HistGradientBoostingClassifier(max_iter=10, random_state=0),
        LogisticRegression(),
        SVC(),  # a decision function and no probabilities: sampled
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_two_class_score_is_explained_for_the_predicted_class(tmp_path, estimator):
    model = _diabetes_model(tmp_path / "binary", estimator, task="classification")
    rows = load_diabetes(as_frame=True).data.iloc[:8, :6].to_dict(orient="records")
    answer = _explained(model, rows)
    explained = answer["explanations"]
    assert explained["output"] == "decision_function"
    assert {"high", "low"} == set(answer["predictions"])  # both signs are exercised
    expected = _explained_output(model, "decision_function", rows)
    for row, wanted in zip(explained["rows"], expected, strict=True):
        total = row["base"] + sum(row["contributions"].values())
        assert total == pytest.approx(wanted, abs=1e-6)


def test_a_linear_contribution_is_the_coefficient_times_the_centred_value(diabetes_models):
    model = diabetes_models["ridge"]
    rows = load_diabetes(as_frame=True).data.iloc[:3, :6].to_dict(orient="records")
    explained = _explained(model, rows)["explanations"]
    scaler = model.pipeline[0].named_transformers_["num"].named_steps["scale"]
    coef = model.pipeline[-1].coef_
    for row, values in zip(explained["rows"], rows, strict=True):
        for j, name in enumerate(model.features):
            centred = (values[name] - scaler.mean_[j]) / scaler.scale_[j]
            assert row["contributions"][name] == pytest.approx(coef[j] * centred, abs=1e-9)


def _path_dependent_value(tree: treeshap.Tree, x: np.ndarray, known: set[int], node: int = 0):
    """The tree's expected output when only the features in ``known`` are known."""
    if tree.left[node] < 0:
        return tree.value[node, 0]
    if tree.feature[node] in known:
        goes_left = x[tree.feature[node]] <= tree.threshold[node]
        child = tree.left[node] if goes_left else tree.right[node]
        return _path_dependent_value(tree, x, known, child)
    left, right = tree.left[node], tree.right[node]
    return (
        tree.cover[left] * _path_dependent_value(tree, x, known, left)
        + tree.cover[right] * _path_dependent_value(tree, x, known, right)
    ) / tree.cover[node]


def test_treeshap_equals_the_shapley_values_computed_over_every_coalition():
    X, y = load_diabetes(return_X_y=True)
    X = X[:, :5]
    tree = _sklearn_tree(DecisionTreeRegressor(max_depth=6, random_state=0).fit(X, y), False)
    rows = X[:4].astype(np.float32).astype(np.float64)
    paths = treeshap.compile_paths([tree], [1.0], X.shape[1])
    phi = treeshap.shap_values(paths, rows)
    m = X.shape[1]
    assert paths.expected[0] == pytest.approx(_path_dependent_value(tree, rows[0], set()))
    for i, x in enumerate(rows):
        for j in range(m):
            others = [k for k in range(m) if k != j]
            exact = sum(
                math.factorial(len(s)) * math.factorial(m - len(s) - 1) / math.factorial(m)
                * (_path_dependent_value(tree, x, {*s, j}) - _path_dependent_value(tree, x, set(s)))
                for size in range(m)
                for s in itertools.combinations(others, size)
            )  # fmt: skip
            assert phi[i, j, 0] == pytest.approx(exact, abs=1e-9)


def test_sampling_is_repeatable(penguin_models):
    first = _explained(penguin_models["knn"], ROWS)["explanations"]
    assert _explained(penguin_models["knn"], ROWS)["explanations"] == first


# --------------------------------------------------------------------------- the server


def _reply(client: Client, payload: Any):
    return client.call("POST", "/predict", json_body=payload)


def test_the_server_explains_on_request_and_logs_what_it_always_logs(models, serve, tmp_path):
    server = serve(models["v1"], log_dir=str(tmp_path))
    client = Client(server.port)
    try:
        plain = _reply(client, {"records": ROWS})
        explained = _reply(client, {"records": ROWS, "explain": True})
        unasked = _reply(client, {"records": ROWS, "explain": False})
    finally:
        client.close()
    assert plain.status == explained.status == unasked.status == 200, explained.body
    assert "explanations" not in plain.json and "explanations" not in unasked.json
    answer = explained.json
    assert answer["predictions"] == plain.json["predictions"]
    assert answer["probabilities"] == plain.json["probabilities"]
    rows = answer["explanations"]["rows"]
    assert [r["class"] for r in rows] == answer["predictions"]
    ids = {plain.json["request_id"], answer["request_id"]}
    logged = _wait_for_log(tmp_path, ids)
    assert logged[answer["request_id"]].outputs == logged[plain.json["request_id"]].outputs


def _wait_for_log(log_dir: Path, ids: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = {r.request_id: r for r in read_requests(log_dir) if r.request_id in ids}
        if len(found) == len(ids):
            return found
        time.sleep(0.1)
    raise AssertionError("the requests never reached the prediction log")


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"records": [ROW], "explain": "yes"}, "not_a_boolean"),
        ({"records": [ROW] * (explain.MAX_ROWS + 1), "explain": True}, "too_many_rows"),
    ],
)
def test_an_explanation_past_its_bounds_is_a_422_naming_why(client, payload, problem):
    reply = _reply(client, payload)
    assert reply.status == 422, reply.body
    assert reply.json["error"] == "not_explainable"
    assert reply.json["details"] == [{"field": "explain", "problem": problem}]
    assert "explain" in reply.json["message"] or "rows" in reply.json["message"]


def test_a_model_without_scores_refuses_to_explain_with_a_422(tmp_path, serve):
    server = serve(export_model(tmp_path / "labels", LabelsOnly()))
    connection = Client(server.port)
    try:
        assert _reply(connection, {"records": [ROW]}).status == 200
        reply = _reply(connection, {"records": [ROW], "explain": True})
    finally:
        connection.close()
    assert reply.status == 422, reply.body
    assert reply.json["details"] == [{"field": "explain", "problem": "unsupported_model"}]
    assert "neither probabilities nor a decision function" in reply.json["message"]


def test_the_document_describes_explain_and_its_answer(client):
    document = client.call("GET", "/openapi.json").json
    forms = document["components"]["schemas"]["PredictRequest"]["oneOf"]
    explained = [f for f in forms if "explain" in f["properties"]]
    assert explained and all(f["properties"]["explain"]["type"] == "boolean" for f in explained)
    records = next(f for f in explained if "records" in f["properties"])
    assert records["properties"]["records"]["maxItems"] == explain.MAX_ROWS
    answer = document["components"]["schemas"]["PredictAnswer"]["properties"]
    assert answer["explanations"]["properties"]["rows"]["type"] == "array"


def test_big_trees_explain_fewer_rows_and_are_sampled_past_their_cost(penguin_models, monkeypatch):
    model = penguin_models["forest"]
    cost = explain.plan_for(model).trees.paths.cost
    monkeypatch.setattr(explain, "_PLANS", OrderedDict())
    monkeypatch.setattr(explain, "TREE_MAX_WORK", cost * 3)
    assert explain.max_rows(model) == 3
    with pytest.raises(explain.NotExplainable, match="at most 3 rows per request"):
        _explained(model, ROWS)
    assert len(_explained(model, ROWS[:3])["explanations"]["rows"]) == 3
    monkeypatch.setattr(explain, "_PLANS", OrderedDict())
    monkeypatch.setattr(explain, "TREE_MAX_COST", cost - 1)
    answer = _explained(model, ROWS)
    assert answer["explanations"]["method"] == "sampling"
    for row, wanted in zip(answer["explanations"]["rows"], answer["probabilities"], strict=True):
        k = answer["classes"].index(row["class"])
        assert row["base"] + sum(row["contributions"].values()) == pytest.approx(
            wanted[k], abs=1e-6
        )
