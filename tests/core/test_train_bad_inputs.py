"""Every bad training input is refused with a clear error, and no run is recorded for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInput, NotFound
from core.services import TrainRequest, Workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    rng = np.random.default_rng(3)
    rows = 120
    frame = pd.DataFrame(
        {
            "size": rng.normal(10, 2, rows).round(3),
            "colour": rng.choice(["red", "blue", "green"], rows),
            "label": rng.choice(["a", "b"], rows),
            "only_one": ["same"] * rows,
            "empty": [""] * rows,
            "amount": rng.normal(100, 5, rows).round(2),
            "rare": ["common"] * (rows - 3) + ["rare"] * 3,
            "no_target": [""] * rows,
        }
    )
    frame.loc[5, "amount"] = np.inf
    frame.to_csv(tmp_path / "shop.csv", index=False)
    workspace.data.import_file(tmp_path / "shop.csv")
    return workspace


def _refused(ws: Workspace, match: str, error: type = InvalidInput, **fields) -> None:
    request = TrainRequest(**({"data": "shop", "target": "label", "features": ["size"]} | fields))
    with pytest.raises(error, match=match) as caught:
        ws.runs.train(request).result()
    assert caught.value.hint, "every refusal says what to do"
    assert ws.runs.list(all_runs=True) == []


def test_unknown_target(ws: Workspace) -> None:
    _refused(ws, "no column named 'lable'", target="lable")


def test_target_with_one_class(ws: Workspace) -> None:
    _refused(ws, "single class", target="only_one")


def test_regression_on_a_text_target(ws: Workspace) -> None:
    _refused(ws, "regression needs numbers", task="regression")


def test_features_naming_missing_columns(ws: Workspace) -> None:
    _refused(ws, "'sise'", features=["sise", "colour"])


def test_target_also_a_feature(ws: Workspace) -> None:
    _refused(ws, "also listed as a feature", features=["size", "label"])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_estimators": "many"}, "n_estimators"),
        ({"n_estimators": 5}, "n_estimators"),
        (["max_depth=-3"], "max_depth"),
        (["bogus=1"], "bogus"),
    ],
)
def test_wrong_parameter_types_and_ranges(ws: Workspace, params, match: str) -> None:
    _refused(ws, match, params=params)


def test_unknown_estimator(ws: Workspace) -> None:
    _refused(ws, "random_forrest", estimator="random_forrest")


def test_no_rows_left_after_dropping_missing_targets(ws: Workspace) -> None:
    _refused(ws, "no values", target="no_target")


def test_a_class_smaller_than_the_folds(ws: Workspace) -> None:
    _refused(ws, "'rare'.*3 rows.*5 cross-validation folds", target="rare", cv_folds=5)


def test_an_all_missing_feature(ws: Workspace) -> None:
    _refused(ws, "'empty' has no values", features=["size", "empty"])


def test_infinite_values(ws: Workspace) -> None:
    _refused(ws, "infinite values in 'amount'", features=["amount"])


def test_infinite_values_as_missing_when_asked(ws: Workspace) -> None:
    run = ws.runs.train(
        TrainRequest(
            data="shop",
            target="label",
            features=["amount", "colour"],
            estimator="dummy",
            inf_as_missing=True,
        )
    ).result()
    assert run.status == "done"


def test_default_features_leave_out_empty_columns(ws: Workspace) -> None:
    spec, _ = ws.runs.prepare(TrainRequest(data="shop", target="label", inf_as_missing=True))
    assert "empty" not in spec.features and "no_target" not in spec.features
    assert "label" not in spec.features


def test_unknown_data_set(ws: Workspace) -> None:
    _refused(ws, "no data set named 'shops'", error=NotFound, data="shops")
