"""What a training run measures: metrics, curves, importance and latency, against real sklearn."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from core.experiments import evaluation as ev

NUMERIC = ["signal", "noise"]
CATEGORICAL = ["zone", "zone_type"]
FEATURES = NUMERIC + CATEGORICAL


def assert_json_safe(value: object) -> None:
    json.dumps(value, allow_nan=False)


def fitted_on(data: pd.DataFrame, target: pd.Series, estimator) -> tuple:
    X_train, X_test, y_train, y_test = train_test_split(
        data, target, test_size=0.3, random_state=0, stratify=target
    )
    pipeline = Pipeline([("scale", StandardScaler()), ("model", estimator)]).fit(X_train, y_train)
    return pipeline, X_test, y_test.to_numpy()


@pytest.fixture(scope="module")
def binary_run():
    data, target = load_breast_cancer(return_X_y=True, as_frame=True)
    names = target.map({0: "malignant", 1: "benign"})  # sorted: benign, malignant
    return fitted_on(data, names, LogisticRegression(max_iter=500))


@pytest.fixture(scope="module")
def iris_run():
    data, target = load_iris(return_X_y=True, as_frame=True)
    return fitted_on(data, target, LogisticRegression(max_iter=500))


@pytest.fixture(scope="module")
def mixed_frame() -> tuple[pd.DataFrame, pd.Series]:
    """A numeric column decides the target; the other columns are noise. The categorical
    column names are a trap for prefix parsing: "zone" has a category "type_a", so its one-hot
    output "cat__zone_type_a" also starts with the other column's name "zone_type_"."""
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "signal": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "zone": rng.choice(["type_a", "north", "south"], size=n),
            "zone_type": rng.choice(["a", "b"], size=n),
        }
    )
    frame.loc[rng.choice(n, 20, replace=False), "noise"] = np.nan
    frame.loc[rng.choice(n, 20, replace=False), "zone"] = None
    target = pd.Series(np.where(frame["signal"] + 0.1 * rng.normal(size=n) > 0, "yes", "no"))
    return frame, target


def mixed_pipeline(estimator, encoder: OneHotEncoder | None = None) -> Pipeline:
    encoder = encoder or OneHotEncoder(handle_unknown="ignore")
    preprocess = ColumnTransformer(
        [
            ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), NUMERIC),
            (
                "cat",
                Pipeline(
                    [("impute", SimpleImputer(strategy="most_frequent")), ("encode", encoder)]
                ),
                CATEGORICAL,
            ),
        ],
        verbose_feature_names_out=True,
    )
    return Pipeline([("preprocess", preprocess), ("model", estimator)])


# --------------------------------------------------------------------------- classification


def test_binary_metrics_equal_sklearn_for_the_second_sorted_class(binary_run) -> None:
    pipeline, X_test, y_test = binary_run
    predicted, proba, classes = pipeline.predict(X_test), pipeline.predict_proba(X_test), None
    classes = list(pipeline.classes_)
    metrics, notes = ev.classification_metrics(y_test, predicted, proba, classes)

    positive = "malignant"
    column = proba[:, classes.index(positive)]
    assert metrics == pytest.approx(
        {
            "accuracy": skm.accuracy_score(y_test, predicted),
            "balanced_accuracy": skm.balanced_accuracy_score(y_test, predicted),
            "precision": skm.precision_score(y_test, predicted, pos_label=positive),
            "recall": skm.recall_score(y_test, predicted, pos_label=positive),
            "f1": skm.f1_score(y_test, predicted, pos_label=positive),
            "roc_auc": skm.roc_auc_score(y_test == positive, column),
            "log_loss": skm.log_loss(y_test, proba, labels=classes),
        }
    )
    assert list(metrics) == list(ev.CLASSIFICATION_METRICS)
    assert notes == []
    assert all(type(v) is float for v in metrics.values())
    assert_json_safe(metrics)


def test_multiclass_metrics_equal_sklearn_macro_averages(iris_run) -> None:
    pipeline, X_test, y_test = iris_run
    predicted, proba = pipeline.predict(X_test), pipeline.predict_proba(X_test)
    metrics, notes = ev.classification_metrics(y_test, predicted, proba, pipeline.classes_)

    assert metrics == pytest.approx(
        {
            "accuracy": skm.accuracy_score(y_test, predicted),
            "balanced_accuracy": skm.balanced_accuracy_score(y_test, predicted),
            "precision": skm.precision_score(y_test, predicted, average="macro"),
            "recall": skm.recall_score(y_test, predicted, average="macro"),
            "f1": skm.f1_score(y_test, predicted, average="macro"),
            "roc_auc": skm.roc_auc_score(y_test, proba, multi_class="ovr", average="macro"),
            "log_loss": skm.log_loss(y_test, proba),
        }
    )
    assert notes == []
    assert_json_safe(metrics)


def test_roc_auc_is_none_with_a_note_when_the_split_holds_one_class(binary_run) -> None:
    pipeline, X_test, y_test = binary_run
    only_benign = y_test == "benign"
    X_one, y_one = X_test[only_benign], y_test[only_benign]
    metrics, notes = ev.classification_metrics(
        y_one, pipeline.predict(X_one), pipeline.predict_proba(X_one), pipeline.classes_
    )
    assert metrics["roc_auc"] is None
    assert any(note.startswith("roc_auc:") for note in notes)
    assert metrics["accuracy"] == pytest.approx(skm.accuracy_score(y_one, pipeline.predict(X_one)))
    assert metrics["log_loss"] is not None  # defined: labels come from the model
    assert_json_safe([metrics, notes])


def test_multiclass_roc_auc_averages_the_classes_present_with_a_note(iris_run) -> None:
    pipeline, X_test, y_test = iris_run
    two = y_test != 2
    proba = pipeline.predict_proba(X_test[two])
    metrics, notes = ev.classification_metrics(
        y_test[two], pipeline.predict(X_test[two]), proba, pipeline.classes_
    )
    expected = np.mean([skm.roc_auc_score(y_test[two] == c, proba[:, c]) for c in (0, 1)])
    assert metrics["roc_auc"] == pytest.approx(expected)
    assert any("2 of 3 classes" in note for note in notes)


def test_without_probabilities_roc_auc_and_log_loss_are_none(iris_run) -> None:
    pipeline, X_test, y_test = iris_run
    metrics, notes = ev.classification_metrics(y_test, pipeline.predict(X_test), None, [0, 1, 2])
    assert metrics["roc_auc"] is None and metrics["log_loss"] is None
    assert metrics["f1"] is not None
    assert {note.split(":")[0] for note in notes} == {"roc_auc", "log_loss"}


def test_ill_defined_precision_is_zero_with_a_note() -> None:
    y_true = np.array([0, 1, 1, 0])
    y_pred = np.zeros(4, dtype=int)  # the positive class 1 is never predicted
    proba = np.tile([0.8, 0.2], (4, 1))
    metrics, notes = ev.classification_metrics(y_true, y_pred, proba, [0, 1])
    assert metrics["precision"] == 0.0 and metrics["f1"] == 0.0
    assert any(note.startswith("precision:") for note in notes)
    assert_json_safe(metrics)


def test_empty_split_gives_none_everywhere() -> None:
    metrics, notes = ev.classification_metrics([], [], np.empty((0, 2)), [0, 1])
    assert set(metrics.values()) == {None} and notes
    metrics, notes = ev.regression_metrics([], [])
    assert set(metrics.values()) == {None} and notes


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="rows"):
        ev.classification_metrics([0, 1], [0], None, [0, 1])
    with pytest.raises(ValueError, match="shape"):
        ev.classification_metrics([0, 1], [0, 1], np.ones((2, 3)), [0, 1])


# --------------------------------------------------------------------------- regression


@pytest.fixture(scope="module")
def diabetes_run():
    data, target = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(data, target, random_state=0)
    model = Ridge().fit(X_train, y_train)
    return y_test.to_numpy(), model.predict(X_test)


def test_regression_metrics_equal_sklearn(diabetes_run) -> None:
    y_true, predicted = diabetes_run
    metrics, notes = ev.regression_metrics(y_true, predicted)
    assert metrics == pytest.approx(
        {
            "mae": skm.mean_absolute_error(y_true, predicted),
            "rmse": np.sqrt(skm.mean_squared_error(y_true, predicted)),
            "r2": skm.r2_score(y_true, predicted),
            "mape": skm.mean_absolute_percentage_error(y_true, predicted),
        }
    )
    assert list(metrics) == list(ev.REGRESSION_METRICS)
    assert notes == []


def test_mape_is_none_with_a_note_when_an_actual_value_is_zero() -> None:
    metrics, notes = ev.regression_metrics([0.0, 2.0, 4.0], [0.5, 2.5, 3.0])
    assert metrics["mape"] is None
    assert any(note.startswith("mape:") and "1 actual value" in note for note in notes)
    assert metrics["mae"] == pytest.approx(2 / 3)
    assert_json_safe([metrics, notes])


def test_r2_needs_two_rows_and_nan_predictions_become_none() -> None:
    metrics, notes = ev.regression_metrics([3.0], [2.0])
    assert metrics["r2"] is None and metrics["mae"] == 1.0
    metrics, notes = ev.regression_metrics([1.0, 2.0], [np.nan, 2.0])
    assert set(metrics.values()) == {None} and len(notes) == 4
    assert_json_safe([metrics, notes])


# --------------------------------------------------------------------------- curves


def test_downsample_indices_keep_the_endpoints() -> None:
    assert ev.downsample_indices(5).tolist() == [0, 1, 2, 3, 4]
    keep = ev.downsample_indices(10_000)
    assert len(keep) == 200 and keep[0] == 0 and keep[-1] == 9_999
    assert np.all(np.diff(keep) > 0)


def test_classification_curves_are_capped_keep_endpoints_and_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    n = 5000
    y_true = rng.integers(0, 2, size=n)
    score = np.clip(0.3 * y_true + 0.7 * rng.random(n), 0, 1)
    proba = np.column_stack([1 - score, score])
    y_pred = (score > 0.5).astype(int)
    curves = ev.classification_curves(y_true, y_pred, proba, [0, 1])
    assert_json_safe(curves)

    fpr, tpr, _ = skm.roc_curve(y_true, score)
    precision, recall, _ = skm.precision_recall_curve(y_true, score)
    assert len(fpr) > 200 and len(precision) > 200  # the cap is exercised
    roc, pr = curves["roc"]["1"], curves["pr"]["1"]
    assert len(roc["fpr"]) == len(roc["tpr"]) <= 200
    assert len(pr["precision"]) == len(pr["recall"]) <= 200
    assert (roc["fpr"][0], roc["tpr"][0], roc["fpr"][-1], roc["tpr"][-1]) == (
        fpr[0],
        tpr[0],
        fpr[-1],
        tpr[-1],
    )
    assert (pr["precision"][-1], pr["recall"][-1]) == (precision[-1], recall[-1])
    assert pr["recall"][0] == recall[0]
    assert roc["auc"] == pytest.approx(skm.roc_auc_score(y_true, score))
    assert pr["average_precision"] == pytest.approx(skm.average_precision_score(y_true, score))
    assert set(curves["roc"]) == {"0", "1"}

    matrix = curves["confusion_matrix"]
    assert matrix["labels"] == ["0", "1"]
    assert sum(map(sum, matrix["matrix"])) == n
    assert matrix["matrix"] == skm.confusion_matrix(y_true, y_pred).tolist()


def test_multiclass_curves_have_one_entry_per_class(iris_run) -> None:
    pipeline, X_test, y_test = iris_run
    curves = ev.classification_curves(
        y_test, pipeline.predict(X_test), pipeline.predict_proba(X_test), pipeline.classes_
    )
    assert set(curves["roc"]) == set(curves["pr"]) == {"0", "1", "2"}
    assert sum(map(sum, curves["confusion_matrix"]["matrix"])) == len(y_test)
    assert_json_safe(curves)


def test_curves_skip_classes_without_positives_and_work_without_proba(binary_run) -> None:
    pipeline, X_test, y_test = binary_run
    benign = y_test == "benign"
    curves = ev.classification_curves(
        y_test[benign], pipeline.predict(X_test[benign]), pipeline.predict_proba(X_test[benign]),
        pipeline.classes_,
    )  # fmt: skip
    assert curves["roc"] == {} and len(curves["notes"]) == 2
    assert sum(map(sum, curves["confusion_matrix"]["matrix"])) == int(benign.sum())
    no_proba = ev.classification_curves(y_test, pipeline.predict(X_test), None, pipeline.classes_)
    assert no_proba["roc"] == no_proba["pr"] == {} and no_proba["notes"]
    assert_json_safe([curves, no_proba])


def test_regression_curves_are_capped_and_seeded() -> None:
    rng = np.random.default_rng(3)
    y_true = rng.normal(size=5000)
    y_pred = y_true + rng.normal(scale=0.2, size=5000)
    curves = ev.regression_curves(y_true, y_pred, seed=11)
    assert_json_safe(curves)
    sample, scatter = curves["residuals"]["sample"], curves["predicted_vs_actual"]
    assert len(sample["predicted"]) == len(sample["residual"]) == 1000
    assert len(scatter["actual"]) == len(scatter["predicted"]) == 1000
    assert ev.regression_curves(y_true, y_pred, seed=11) == curves
    assert ev.regression_curves(y_true, y_pred, seed=12) != curves
    histogram = curves["residuals"]["histogram"]
    assert sum(histogram["counts"]) == 5000
    assert len(histogram["edges"]) == len(histogram["counts"]) + 1 <= 51
    residual = np.array(scatter["actual"]) - np.array(scatter["predicted"])
    assert np.allclose(residual, sample["residual"])


def test_regression_curves_keep_small_sets_whole_and_drop_non_finite(diabetes_run) -> None:
    y_true, predicted = diabetes_run
    curves = ev.regression_curves(y_true, predicted)
    assert curves["predicted_vs_actual"]["actual"] == y_true.tolist()
    with_nan = ev.regression_curves([1.0, np.nan, 3.0], [1.0, 2.0, np.inf])
    assert with_nan["predicted_vs_actual"] == {"actual": [1.0], "predicted": [1.0]}
    empty = ev.regression_curves([], [])
    assert empty["residuals"]["histogram"] == {"edges": [], "counts": []}
    assert_json_safe([curves, with_nan, empty])


# --------------------------------------------------------------------------- importance


def one_hot_sums(pipeline: Pipeline, importances: np.ndarray) -> dict[str, float]:
    """Expected per-column sums, from the encoder's own categories and the output positions
    (test oracle). Names could not tell them apart: zone="type_a" and zone_type="a" are both
    output as "cat__zone_type_a"."""
    preprocess = pipeline.named_steps["preprocess"]
    encoder = preprocess.named_transformers_["cat"].named_steps["encode"]
    names = preprocess.get_feature_names_out()
    assert list(names).count("cat__zone_type_a") == 2  # the trap is real
    position = preprocess.output_indices_["cat"].start
    sums = {}
    for column, categories in zip(CATEGORICAL, encoder.categories_, strict=True):
        sums[column] = float(importances[position : position + len(categories)].sum())
        position += len(categories)
    return sums


def test_random_forest_importance_sums_one_hot_columns_back(mixed_frame) -> None:
    frame, target = mixed_frame
    pipeline = mixed_pipeline(RandomForestClassifier(n_estimators=30, random_state=0))
    pipeline.fit(frame, target)
    result = ev.feature_importance(pipeline, frame, target, FEATURES, seed=0)

    assert result["method"] == "model"
    assert next(iter(result["values"])) == "signal"
    assert set(result["values"]) == set(FEATURES)
    values = list(result["values"].values())
    assert values == sorted(values, reverse=True)
    native = pipeline.named_steps["model"].feature_importances_
    assert sum(values) == pytest.approx(native.sum())
    for column, expected in one_hot_sums(pipeline, native).items():
        assert result["values"][column] == pytest.approx(expected)  # "zone" keeps "type_a"
    assert_json_safe(result)


def test_logistic_regression_importance_uses_absolute_coefficients(mixed_frame) -> None:
    frame, target = mixed_frame
    pipeline = mixed_pipeline(LogisticRegression(max_iter=500)).fit(frame, target)
    result = ev.feature_importance(pipeline, frame, target, FEATURES, seed=0)

    assert result["method"] == "model"
    assert next(iter(result["values"])) == "signal"
    coef = np.abs(pipeline.named_steps["model"].coef_).mean(axis=0)
    assert result["values"]["signal"] == pytest.approx(coef[0])
    for column, expected in one_hot_sums(pipeline, coef).items():
        assert result["values"][column] == pytest.approx(expected)
    assert_json_safe(result)


def test_multiclass_coefficients_are_averaged_over_classes(iris_run) -> None:
    pipeline, X_test, y_test = iris_run  # no "preprocess" step: importances map 1:1
    features = list(X_test.columns)
    result = ev.feature_importance(pipeline, X_test, y_test, features, seed=0)
    expected = np.abs(pipeline.named_steps["model"].coef_).mean(axis=0)
    assert result["method"] == "model"
    assert [result["values"][f] for f in features] == pytest.approx(expected.tolist())


def test_infrequent_and_dropped_categories_still_map_exactly(mixed_frame) -> None:
    frame, target = mixed_frame
    encoder = OneHotEncoder(
        handle_unknown="infrequent_if_exist", min_frequency=0.3, drop="first", sparse_output=False
    )
    pipeline = mixed_pipeline(RandomForestClassifier(n_estimators=20, random_state=0), encoder)
    pipeline.fit(frame, target)
    result = ev.feature_importance(pipeline, frame, target, FEATURES, seed=0)
    assert result["method"] == "model" and result["notes"] == []
    assert set(result["values"]) == set(FEATURES)
    assert sum(result["values"].values()) == pytest.approx(1.0)


def test_knn_falls_back_to_seeded_permutation_importance(mixed_frame) -> None:
    frame, target = mixed_frame
    pipeline = mixed_pipeline(KNeighborsClassifier()).fit(frame, target)
    result = ev.feature_importance(pipeline, frame, target, FEATURES, seed=0, max_rows=200)

    assert result["method"] == "permutation"
    assert next(iter(result["values"])) == "signal"
    assert set(result["values"]) == set(FEATURES)
    assert result["rows"] == 200 and result["repeats"] == 3
    again = ev.feature_importance(pipeline, frame, target, FEATURES, seed=0, max_rows=200)
    assert again["values"] == result["values"]
    assert_json_safe(result)


def test_permutation_importance_shrinks_to_fit_a_tiny_budget(mixed_frame) -> None:
    frame, target = mixed_frame
    pipeline = mixed_pipeline(KNeighborsClassifier()).fit(frame, target)
    result = ev.feature_importance(
        pipeline, frame, target, FEATURES, seed=0, repeats=10, budget_s=1e-4
    )
    assert result["method"] == "permutation"
    assert result["repeats"] == 1 and result["rows"] == ev.MIN_PERMUTATION_ROWS
    assert any("budget" in note for note in result["notes"])
    assert set(result["values"]) == set(FEATURES)


# --------------------------------------------------------------------------- latency


def test_predict_latency_is_sane(mixed_frame) -> None:
    frame, target = mixed_frame
    pipeline = mixed_pipeline(LogisticRegression(max_iter=500)).fit(frame, target)
    latency = ev.predict_latency_ms(pipeline, frame, repeats=8, budget_s=30.0)
    assert latency["calls"] == 8
    assert 0 < latency["p50"] <= latency["p95"] < 5_000
    assert_json_safe(latency)


def test_predict_latency_respects_the_budget_but_makes_five_calls(mixed_frame) -> None:
    frame, target = mixed_frame
    pipeline = mixed_pipeline(LogisticRegression(max_iter=500)).fit(frame, target)
    started = time.perf_counter()
    latency = ev.predict_latency_ms(pipeline, frame, repeats=10_000, budget_s=0.0)
    elapsed = time.perf_counter() - started
    assert latency["calls"] == 5
    assert elapsed < 6 * (latency["p95"] / 1000) + 1.0  # warm-up + five calls, no more
    with pytest.raises(ValueError):
        ev.predict_latency_ms(pipeline, frame.iloc[:0])


# --------------------------------------------------------------------------- comparison


def test_is_better_follows_the_direction_and_none_is_worst() -> None:
    assert ev.is_better("f1", 0.9, 0.8) and not ev.is_better("f1", 0.8, 0.9)
    assert ev.is_better("rmse", 1.0, 2.0) and not ev.is_better("log_loss", 0.5, 0.4)
    assert not ev.is_better("accuracy", 0.5, 0.5)
    assert ev.is_better("r2", -3.0, None) and not ev.is_better("r2", None, -3.0)
    assert not ev.is_better("mae", None, None)
    assert not ev.is_better("mae", float("nan"), 1.0)
    with pytest.raises(ValueError):
        ev.is_better("speed", 1.0, 2.0)


def test_the_metric_contract_is_complete() -> None:
    assert set(ev.GREATER_IS_BETTER) == set(ev.CLASSIFICATION_METRICS + ev.REGRESSION_METRICS)
    assert ev.DEFAULT_PRIMARY == {"classification": "f1", "regression": "rmse"}
    assert all(metric in ev.GREATER_IS_BETTER for metric in ev.DEFAULT_PRIMARY.values())
