"""The estimator catalog, against the real scikit-learn (no mocks)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from threadpoolctl import threadpool_limits

from core.errors import InvalidInput
from core.experiments import catalog
from core.experiments.catalog import (
    ESTIMATORS,
    get_estimator,
    grid_candidates,
    make_estimator,
    parse_params,
    random_candidates,
    resolved_params,
)

EXPECTED_TASKS = {
    "logistic_regression": ("classification",),
    "linear_regression": ("regression",),
    "ridge": ("classification", "regression"),
    "lasso": ("regression",),
    "elastic_net": ("regression",),
    "knn": ("classification", "regression"),
    "svm": ("classification", "regression"),
    "decision_tree": ("classification", "regression"),
    "random_forest": ("classification", "regression"),
    "extra_trees": ("classification", "regression"),
    "gradient_boosting": ("classification", "regression"),
    "hist_gradient_boosting": ("classification", "regression"),
    "naive_bayes": ("classification",),
    "dummy": ("classification", "regression"),
}
ESTIMATOR_TASKS = [(spec.key, task) for spec in ESTIMATORS for task in spec.tasks]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny fits: OpenMP threads only add overhead, and thrash badly on a busy machine."""
    with threadpool_limits(limits=1):
        yield


@cache
def dataset(task: str) -> tuple[np.ndarray, np.ndarray]:
    if task == "classification":
        return load_iris(return_X_y=True)
    X, y = load_diabetes(return_X_y=True)
    return X[:200], y[:200]


def refusal(spec_key: str, values) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_params(get_estimator(spec_key), values)
    return caught.value.one_line()


# --------------------------------------------------------------------------- the catalog itself


def test_the_catalog_holds_the_expected_estimators_and_tasks() -> None:
    assert {spec.key: spec.tasks for spec in ESTIMATORS} == EXPECTED_TASKS
    assert all(spec.label for spec in ESTIMATORS)


@pytest.mark.parametrize("spec", ESTIMATORS, ids=lambda spec: spec.key)
def test_every_default_and_grid_value_passes_its_own_validation(spec) -> None:
    for param in spec.params:
        assert parse_params(spec, {param.name: param.default}) == {param.name: param.default}
        assert param.grid == () or 2 <= len(param.grid) <= 4, param.name
        for value in param.grid:
            assert parse_params(spec, {param.name: value}) == {param.name: value}
        assert param.help, param.name


def test_the_params_a_team_tunes_are_there() -> None:
    forest = get_estimator("random_forest")
    n_estimators = forest.param("n_estimators")
    assert (n_estimators.kind, n_estimators.low, n_estimators.high) == ("int", 10, 1000)
    assert forest.param("max_depth").nullable and forest.param("max_depth").default is None
    assert {"min_samples_leaf", "max_features"} <= {p.name for p in forest.params}
    c = get_estimator("logistic_regression").param("C")
    assert (c.kind, c.low, c.high, c.log) == ("float", 1e-4, 1e4, True)
    assert {p.name for p in get_estimator("hist_gradient_boosting").params} >= {
        "learning_rate",
        "max_iter",
        "max_leaf_nodes",
    }
    assert get_estimator("naive_bayes").param("var_smoothing").log


def test_param_lookup_refuses_an_unknown_name() -> None:
    with pytest.raises(InvalidInput, match="n_estimators"):
        get_estimator("random_forest").param("trees")


# --------------------------------------------------------------------------- building and fitting


@pytest.mark.parametrize(("key", "task"), ESTIMATOR_TASKS, ids=lambda v: str(v))
def test_every_estimator_builds_and_fits_with_its_defaults_without_warnings(key, task) -> None:
    X, y = dataset(task)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FutureWarning, DeprecationWarning and any other
        model = make_estimator(get_estimator(key, task), task, {}, seed=0)
        model.fit(X, y)
    assert model.predict(X[:5]).shape == (5,)


def test_the_seed_goes_to_seeded_estimators_only() -> None:
    forest = make_estimator(get_estimator("random_forest"), "regression", {}, seed=7)
    assert forest.get_params()["random_state"] == 7
    knn = make_estimator(get_estimator("knn"), "classification", {}, seed=7)
    assert "random_state" not in knn.get_params()
    with pytest.raises(InvalidInput, match="Seed"):
        make_estimator(get_estimator("random_forest"), "regression", {}, seed=-1)


def test_params_and_fixed_arguments_reach_the_sklearn_object() -> None:
    spec = get_estimator("random_forest")
    model = make_estimator(spec, "classification", {"n_estimators": "20", "max_depth": "none"}, 1)
    params = model.get_params()
    assert (params["n_estimators"], params["max_depth"], params["max_features"]) == (
        20,
        None,
        "sqrt",
    )
    dummy = get_estimator("dummy")
    assert make_estimator(dummy, "classification", {}, 0).get_params()["strategy"] == "prior"
    assert make_estimator(dummy, "regression", {}, 0).get_params()["strategy"] == "mean"
    logistic = make_estimator(get_estimator("logistic_regression"), "classification", {}, 0)
    assert logistic.get_params()["max_iter"] == 1000  # Shipway's documented default


def test_the_svm_classifier_predicts_probabilities() -> None:
    X, y = dataset("classification")
    model = make_estimator(get_estimator("svm"), "classification", {"C": 10}, 0).fit(X, y)
    proba = model.predict_proba(X[:4])
    assert proba.shape == (4, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_an_incompatible_logistic_combination_passes_the_catalog_but_fails_at_fit() -> None:
    spec = get_estimator("logistic_regression")
    params = parse_params(spec, ["l1_ratio=0.5", "solver=lbfgs"])
    assert params == {"l1_ratio": 0.5, "solver": "lbfgs"}
    assert "saga" in catalog.incompatibility(spec, params)
    X, y = dataset("classification")
    with pytest.raises(ValueError, match="lbfgs"):
        make_estimator(spec, "classification", params, 0).fit(X, y)


def test_make_estimator_refuses_an_unsupported_task() -> None:
    with pytest.raises(InvalidInput, match="does not support classification"):
        make_estimator(get_estimator("lasso"), "classification", {}, 0)


# --------------------------------------------------------------------------- lookups


def test_an_unknown_estimator_is_refused_listing_the_known_keys() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_estimator("xgboost")
    text = caught.value.one_line()
    assert "xgboost" in text and "random_forest" in text and "logistic_regression" in text


def test_an_estimator_that_does_not_support_the_task_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_estimator("linear_regression", "classification")
    text = caught.value.one_line()
    assert "does not support classification" in text and "logistic_regression" in text
    with pytest.raises(InvalidInput, match="Unknown task"):
        get_estimator("ridge", "clustering")
    assert get_estimator("ridge", "regression").key == "ridge"


# --------------------------------------------------------------------------- parse_params


def test_cli_strings_are_converted_to_typed_values() -> None:
    forest = get_estimator("random_forest")
    parsed = parse_params(forest, ["n_estimators=200", "max_depth=none", "bootstrap=false"])
    assert parsed == {"n_estimators": 200, "max_depth": None, "bootstrap": False}
    assert type(parsed["n_estimators"]) is int
    assert parse_params(forest, [" max_features = log2 ", "bootstrap=TRUE"]) == {
        "max_features": "log2",
        "bootstrap": True,
    }
    logistic = get_estimator("logistic_regression")
    assert parse_params(logistic, ["C=1e-3"]) == {"C": 0.001}


def test_dicts_of_typed_or_text_values_are_accepted() -> None:
    forest = get_estimator("random_forest")
    assert parse_params(forest, {"n_estimators": 300.0, "max_depth": None}) == {
        "n_estimators": 300,
        "max_depth": None,
    }
    assert parse_params(forest, {"n_estimators": np.int64(50), "min_samples_leaf": "3"}) == {
        "n_estimators": 50,
        "min_samples_leaf": 3,
    }
    c = parse_params(get_estimator("svm"), {"C": 10})["C"]
    assert c == 10.0 and isinstance(c, float)
    assert parse_params(forest, {}) == {}


def test_resolved_params_overlays_the_given_values_on_the_defaults() -> None:
    spec = get_estimator("knn")
    assert resolved_params(spec, {"n_neighbors": "7"}) == {
        "n_neighbors": 7,
        "weights": "uniform",
        "p": 2,
    }


@pytest.mark.parametrize(
    ("key", "values", "fragments"),
    [
        ("random_forest", ["trees=5"], ["trees", "n_estimators", "max_depth"]),
        ("random_forest", ["n_estimators=abc"], ["n_estimators", "'abc'", "10 to 1000"]),
        ("random_forest", ["n_estimators=2.5"], ["n_estimators", "2.5", "whole number"]),
        ("random_forest", {"n_estimators": 2.5}, ["n_estimators", "2.5", "10 to 1000"]),
        ("random_forest", ["n_estimators=5000"], ["n_estimators", "5000", "10 to 1000"]),
        ("random_forest", {"n_estimators": True}, ["n_estimators", "True", "integer"]),
        ("random_forest", ["min_samples_leaf=none"], ["min_samples_leaf", "none", "1 to 100"]),
        ("random_forest", ["max_features=all"], ["max_features", "'all'", "sqrt, log2"]),
        ("random_forest", ["bootstrap=maybe"], ["bootstrap", "maybe", "true or false"]),
        ("logistic_regression", ["C=0"], ["C", "'0'", "0.0001 to 10000"]),
        ("logistic_regression", ["C=inf"], ["C", "finite"]),
        ("logistic_regression", ["solver=adam"], ["solver", "adam", "lbfgs", "saga"]),
        ("svm", {"C": "ten"}, ["C", "'ten'", "number"]),
        ("dummy", ["strategy=uniform"], ["strategy", "no tunable parameters"]),
        ("knn", ["n_neighbors"], ["n_neighbors", "name=value"]),
        ("knn", ["p=1", "p=2"], ["'p'", "twice"]),
    ],
)
def test_bad_params_are_refused_with_a_message_naming_parameter_and_range(
    key, values, fragments
) -> None:
    text = refusal(key, values)
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def test_refusals_say_where_and_what_to_do() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_params(get_estimator("random_forest"), ["n_estimators=5000"])
    error = caught.value
    assert error.where == "estimator random_forest, parameter n_estimators"
    assert "n_estimators=100" in error.hint
    assert error.code == "invalid_input"


# --------------------------------------------------------------------------- grid search


def test_grid_candidates_respect_fixed_params_and_the_limit() -> None:
    spec = get_estimator("random_forest")
    full = grid_candidates(spec, {"bootstrap": "false", "max_features": "sqrt"}, limit=1000)
    assert len(full) == 4 * 4 * 3  # n_estimators × max_depth × min_samples_leaf
    assert all(c["bootstrap"] is False and c["max_features"] == "sqrt" for c in full)
    assert len({json.dumps(c, sort_keys=True) for c in full}) == len(full)
    assert grid_candidates(spec, {}, limit=5) == grid_candidates(spec, {}, limit=5)
    assert len(grid_candidates(spec, {}, limit=5)) == 5
    fixed_depth = grid_candidates(spec, {"max_depth": 4}, limit=1000)
    assert {c["max_depth"] for c in fixed_depth} == {4}


def test_a_truncated_grid_varies_the_first_params_first_from_their_defaults() -> None:
    spec = get_estimator("random_forest")
    first = grid_candidates(spec, {}, limit=4)
    assert [c["n_estimators"] for c in first] == [100, 50, 200, 400]  # default first
    assert all(c["max_depth"] is None and c["min_samples_leaf"] == 1 for c in first)
    assert all(c["max_features"] == "sqrt" for c in first)


def test_grid_candidates_skip_logistic_combinations_that_could_only_fail() -> None:
    spec = get_estimator("logistic_regression")
    candidates = grid_candidates(spec, {}, limit=100)
    assert candidates and all(catalog.incompatibility(spec, c) is None for c in candidates)
    assert {c["solver"] for c in candidates if c["l1_ratio"] == 0.5} == {"saga"}
    # a conflict the user fixed on purpose is kept (fit will explain it)
    forced = grid_candidates(spec, {"l1_ratio": 0.5, "solver": "lbfgs"}, limit=100)
    assert len(forced) == 4 and all(c["solver"] == "lbfgs" for c in forced)


def test_an_estimator_without_searched_params_has_one_candidate() -> None:
    assert grid_candidates(get_estimator("dummy"), {}, limit=10) == [{}]
    assert random_candidates(get_estimator("dummy"), {}, trials=5, seed=0) == [{}]
    with pytest.raises(InvalidInput, match="limit"):
        grid_candidates(get_estimator("dummy"), {}, limit=0)


# --------------------------------------------------------------------------- random search


def test_random_candidates_are_reproducible_for_a_seed() -> None:
    spec = get_estimator("hist_gradient_boosting")
    first = random_candidates(spec, {"max_depth": 6}, trials=12, seed=3)
    assert first == random_candidates(spec, {"max_depth": 6}, trials=12, seed=3)
    assert first != random_candidates(spec, {"max_depth": 6}, trials=12, seed=4)
    assert len(first) == 12
    assert len({json.dumps(c, sort_keys=True) for c in first}) == 12
    assert all(c["max_depth"] == 6 for c in first)


@pytest.mark.parametrize("spec", ESTIMATORS, ids=lambda spec: spec.key)
def test_random_candidates_stay_within_the_ranges(spec) -> None:
    for candidate in random_candidates(spec, {}, trials=30, seed=11):
        assert parse_params(spec, candidate) == candidate  # every value valid and in range
        for name, value in candidate.items():
            param = spec.param(name)
            if param.kind in ("int", "float") and value is not None:
                assert param.low <= value <= param.high


def test_log_scale_params_are_drawn_across_decades() -> None:
    spec = get_estimator("svm")
    draws = [c["C"] for c in random_candidates(spec, {"kernel": "rbf"}, trials=60, seed=0)]
    decades = {math.floor(math.log10(value)) for value in draws}
    assert len(decades) >= 6  # uniform sampling of 1e-4..1e4 would sit almost all above 1e3


def test_random_candidates_return_fewer_when_the_space_is_small() -> None:
    spec = get_estimator("linear_regression")  # only fit_intercept is searched
    candidates = random_candidates(spec, {}, trials=10, seed=0)
    assert sorted(c["fit_intercept"] for c in candidates) == [False, True]


# --------------------------------------------------------------------------- JSON


def test_the_catalog_is_json_serialisable_and_filters_by_task() -> None:
    everything = json.loads(json.dumps([spec.to_dict() for spec in catalog.estimators()]))
    assert [entry["key"] for entry in everything] == [spec.key for spec in ESTIMATORS]
    forest = next(entry for entry in everything if entry["key"] == "random_forest")
    depth = next(param for param in forest["params"] if param["name"] == "max_depth")
    assert depth["default"] is None and depth["nullable"] is True
    regression = {spec.key for spec in catalog.estimators("regression")}
    assert "logistic_regression" not in regression and "lasso" in regression
    with pytest.raises(InvalidInput):
        catalog.estimators("ranking")


def test_importing_the_catalog_does_not_load_scikit_learn() -> None:
    code = "import sys, core.experiments.catalog; assert 'sklearn' not in sys.modules"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
