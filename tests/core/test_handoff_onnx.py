"""Every estimator of the catalog either converts to ONNX with scikit-learn's answers (labels
equal, probabilities within 1e-5, regression within 1e-5 relative) on penguins, diabetes and a
synthetic set with missing values, rare and unseen categories, or is refused with the reason;
a conversion that runs but answers differently is refused with the largest difference."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from threadpoolctl import threadpool_limits

from core.bundles.onnx_check import OnnxRefused, synthetic_rows
from core.bundles.onnx_export import convert
from core.experiments import catalog
from core.experiments.preprocess import build_pipeline
from core.experiments.spec import Preprocessing
from core.experiments.training import io_schema
from core.serving.frames import model_frame
from core.serving.model import load_model, write_model_dir
from core.serving.onnx_model import load_onnx
from core.serving.scoring import predict
from core.serving.validation import ModelInput
from tests.serving.helpers import FEATURES, SCHEMA, penguins

#: Estimators skl2onnx cannot convert so that onnxruntime runs them (refused, with the reason).
NOT_CONVERTED = {"hist_gradient_boosting", "dummy"}
#: Forests and boosting: fewer trees, the same conversion paths.
FAST = {"n_estimators": 20}
FAST_BOOSTING = {"hist_gradient_boosting": {"max_iter": 20}}


def _synthetic(seed: int, rows: int) -> tuple[pd.DataFrame, dict[str, str]]:
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue", "teal", "rare-a", "rare-b"], rows,
                        p=[0.4, 0.3, 0.2, 0.095, 0.003, 0.002]).astype(object)  # fmt: skip
    colour[rng.random(rows) < 0.1] = None
    size = rng.normal(10, 3, rows)
    size[rng.random(rows) < 0.15] = np.nan
    raw = pd.DataFrame({
        "colour": colour,
        "size": size,
        "flag": rng.random(rows) < 0.3,
        "when": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, rows), "D"),
    })  # fmt: skip
    schema = {"colour": "string", "size": "float", "flag": "boolean", "when": "datetime"}
    return raw, schema


def _dataset(name: str, task: str):
    """(model input frame, target, schema) of a data set."""
    if name == "penguins":
        frame = penguins()
        return model_frame(frame, SCHEMA, FEATURES), frame["species"].astype(str), SCHEMA
    if name == "diabetes":
        data = load_diabetes(as_frame=True)
        schema = {column: "float" for column in data.data.columns}
        return data.data.astype(float), data.target.astype(float), schema
    raw, schema = _synthetic(0, 600)
    X = model_frame(raw, schema, list(schema))
    score = np.nan_to_num(X["size"].to_numpy(), nan=10.0) + 3 * X["flag"].to_numpy()
    score += (raw["colour"] == "red").to_numpy() * 2
    if task == "classification":
        return X, pd.Series(np.where(score > 11, "yes", "no")), schema
    return X, pd.Series(score * 10.0), schema


def _fresh_rows(name: str, X: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """Rows the conversion was not checked on: data rows with noise, unseen categories."""
    rng = np.random.default_rng(99)
    if name == "synthetic":
        raw, _ = _synthetic(7, 300)
        raw.loc[raw.index[::17], "colour"] = "violet"  # unseen
        return model_frame(raw, schema, list(schema))
    rows = X.sample(150, random_state=5, replace=True).reset_index(drop=True)
    for column, kind in schema.items():
        if kind == "float":
            rows[column] = rows[column] * rng.normal(1.0, 0.05, len(rows))
        elif kind == "string":
            rows.loc[rows.index[::11], column] = "never seen"
    return rows


@pytest.fixture(autouse=True)
def one_thread():
    """Small fits on one thread: OpenMP's spinning threads are slow on a shared, loaded machine,
    and the conversion paths are the same."""
    with threadpool_limits(1):
        yield


CASES = [
    (data, spec.key, task)
    for data, task in (
        ("penguins", "classification"),
        ("diabetes", "regression"),
        ("synthetic", "classification"),
        ("synthetic", "regression"),
    )
    for spec in catalog.ESTIMATORS
    if task in spec.tasks
]


@pytest.mark.parametrize(("data", "key", "task"), CASES, ids=[f"{d}-{k}" for d, k, _ in CASES])
def test_each_estimator_converts_exactly_or_is_refused(data, key, task, tmp_path: Path) -> None:
    X, y, schema = _dataset(data, task)
    spec = catalog.get_estimator(key)
    params = {p: v for p, v in FAST.items() if any(s.name == p for s in spec.params)}
    params.update(FAST_BOOSTING.get(key, {}))
    estimator = catalog.make_estimator(spec, task, params, seed=0)
    pipeline = build_pipeline(list(schema), schema, Preprocessing(), estimator).fit(X, y)
    job = SimpleNamespace(spec=SimpleNamespace(features=list(schema), target="y", task=task),
                          schema=schema)  # fmt: skip
    described = io_schema(job, pipeline, X, y)
    folder = write_model_dir(tmp_path, pipeline, name="m", version=1, task=task,
                             io_schema=described)  # fmt: skip
    expected = load_model(folder)
    checked = pd.concat([X, synthetic_rows(described)], ignore_index=True)
    try:
        converted = convert(pipeline, expected, checked, f"{data}-{key}")
    except OnnxRefused as refused:
        assert key in NOT_CONVERTED, refused.one_line()
        assert "skl2onnx cannot convert its" in refused.message
        assert type(pipeline[-1]).__name__ in refused.message
        return
    served = load_onnx(converted.data, expected.inputs, task, expected.classes, folder)
    rows = _fresh_rows(data, X, schema)
    want, want_proba = predict(expected, ModelInput(rows, len(rows)))
    got, got_proba = predict(_with(expected, served), ModelInput(rows, len(rows)))
    if task == "regression":
        gap = np.abs(np.array(got) - np.array(want)) / np.maximum(1.0, np.abs(np.array(want)))
        assert gap.max() <= 1e-5
    else:
        assert json.dumps(got) == json.dumps(want)
        assert (want_proba is None) == (got_proba is None)
        if want_proba is not None:
            assert np.abs(np.array(got_proba) - np.array(want_proba)).max() <= 1e-5


def _with(model, pipeline):
    from dataclasses import replace

    return replace(model, pipeline=pipeline, model_format="onnx")


def _fitted(estimator_key: str, task: str, tmp_path: Path):
    """A model of one unscaled feature of about 1.7e9 (seconds since 1970), which float32
    cannot tell apart within minutes."""
    rng = np.random.default_rng(0)
    when = 1.7e9 + rng.uniform(0, 1000, 400)
    X = pd.DataFrame({"t": when})
    y = pd.Series(np.where(when > 1.7e9 + 500, "late", "early")) if task == "classification" \
        else pd.Series(np.sin(when / 50.0) * 100)  # fmt: skip
    schema = {"t": "float"}
    estimator = catalog.make_estimator(catalog.get_estimator(estimator_key), task, {}, seed=0)
    pipeline = build_pipeline(["t"], schema, Preprocessing(scale=False), estimator).fit(X, y)
    job = SimpleNamespace(spec=SimpleNamespace(features=["t"], target="y", task=task),
                          schema=schema)  # fmt: skip
    described = io_schema(job, pipeline, X, y)
    folder = write_model_dir(tmp_path, pipeline, name="m", version=1, task=task,
                             io_schema=described)  # fmt: skip
    return pipeline, load_model(folder), pd.concat([X, synthetic_rows(described)])


def test_a_conversion_that_disagrees_is_refused_with_the_difference(tmp_path: Path) -> None:
    pipeline, expected, rows = _fitted("ridge", "classification", tmp_path / "c")
    with pytest.raises(OnnxRefused) as caught:
        convert(pipeline, expected, rows.reset_index(drop=True), "when@1")
    message = caught.value.message
    assert "disagrees with scikit-learn" in message and "rows get another class" in message
    assert "instead of" in message and "without --format onnx" in caught.value.hint


def test_a_regression_that_disagrees_names_the_largest_difference(tmp_path: Path) -> None:
    pipeline, expected, rows = _fitted("svm", "regression", tmp_path / "r")
    with pytest.raises(OnnxRefused, match=r"the largest difference is [0-9.e+-]+ \(relative"):
        convert(pipeline, expected, rows.reset_index(drop=True), "when@1")


@pytest.mark.parametrize("module", ["skl2onnx", "onnxruntime"])
def test_an_export_without_the_onnx_extra_names_it(module, monkeypatch, tmp_path) -> None:
    """The converter and the runtime are an optional extra: without them the export is refused
    naming what to install, not with a converter's import error."""
    import sys

    pipeline, expected, rows = _fitted("logistic_regression", "classification", tmp_path)
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(OnnxRefused) as caught:
        convert(pipeline, expected, rows.reset_index(drop=True), "m@1")
    assert f"{module} is not installed" in caught.value.message
    assert "shipway[onnx]" in caught.value.hint
