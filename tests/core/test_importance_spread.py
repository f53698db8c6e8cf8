"""Global importance carries its uncertainty: the spread over permutation repeats or over a
forest's trees, beside the mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.inspection import permutation_importance
from sklearn.neighbors import KNeighborsRegressor

from core.experiments import evaluation as ev
from core.experiments.preprocess import build_pipeline
from core.experiments.spec import Preprocessing


@pytest.fixture(scope="module")
def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    data = load_diabetes(as_frame=True)
    return data.data.iloc[:200, :5], data.target.iloc[:200].astype(float)


def _fitted(estimator, X: pd.DataFrame, y: pd.Series):
    schema = dict.fromkeys(X.columns, "float")
    return build_pipeline(list(X.columns), schema, Preprocessing(), estimator).fit(X, y)


def test_permutation_importance_keeps_the_spread_of_its_repeats(diabetes) -> None:
    X, y = diabetes
    pipeline = _fitted(KNeighborsRegressor(), X, y)
    result = ev.feature_importance(pipeline, X, y, list(X.columns), seed=3, repeats=4)
    assert (result["method"], result["spread"], result["spread_n"]) == ("permutation", "repeats", 4)
    again = permutation_importance(pipeline, X, y, n_repeats=4, random_state=3)
    expected = dict(zip(X.columns, again.importances_std, strict=True))
    assert result["std"] == pytest.approx(expected)
    assert all(value > 0 for value in result["std"].values())


def test_one_repeat_claims_no_spread(diabetes) -> None:
    X, y = diabetes
    pipeline = _fitted(KNeighborsRegressor(), X, y)
    result = ev.feature_importance(pipeline, X, y, list(X.columns), seed=0, repeats=1)
    assert result["method"] == "permutation" and result["repeats"] == 1
    assert "std" not in result and "spread" not in result


def test_a_forest_importance_keeps_its_spread_over_trees(diabetes) -> None:
    X, y = diabetes
    pipeline = _fitted(RandomForestRegressor(n_estimators=12, random_state=0), X, y)
    result = ev.feature_importance(pipeline, X, y, list(X.columns), seed=0)
    assert (result["method"], result["spread"], result["spread_n"]) == ("model", "trees", 12)
    trees = pipeline.named_steps["model"].estimators_
    per_tree = np.std([tree.feature_importances_ for tree in trees], axis=0)
    assert result["std"] == pytest.approx(dict(zip(X.columns, per_tree, strict=True)))


def test_a_boosted_model_claims_no_spread(diabetes) -> None:
    X, y = diabetes
    pipeline = _fitted(GradientBoostingRegressor(n_estimators=10, random_state=0), X, y)
    result = ev.feature_importance(pipeline, X, y, list(X.columns), seed=0)
    assert result["method"] == "model" and "std" not in result


def test_the_model_card_shows_importance_with_its_spread(tmp_path, diabetes) -> None:
    from core.services import TrainRequest, Workspace

    X, y = diabetes
    X.assign(progression=y).to_csv(tmp_path / "diabetes.csv", index=False)
    with Workspace.create(tmp_path / "project") as ws:
        ws.data.import_file(tmp_path / "diabetes.csv")
        request = TrainRequest(
            "diabetes", "progression", estimator="random_forest", params={"n_estimators": 20}
        )
        run = ws.runs.train(request).result()
        ws.lifecycle.register(run.id, "diabetes")
        text = ws.registry.card("diabetes@1")
        std = run.importance["std"]
    assert "Importance (model, ± std over 20 trees)" in text
    for name in X.columns:
        assert f"{ev._finite(run.importance['values'][name]):.4g} ± {std[name]:.4g}" in text
