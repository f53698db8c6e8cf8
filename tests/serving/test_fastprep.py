"""The preprocessing plan gives scikit-learn's output byte for byte, or is not used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from core.experiments.preprocess import build_pipeline
from core.experiments.spec import Preprocessing
from core.serving import fastprep
from core.serving.frames import model_frame
from core.serving.scoring import plain_list
from tests.serving.helpers import FEATURES, SCHEMA, penguins, training_data

TREE = DecisionTreeClassifier(random_state=0)
OPTIONS = [
    Preprocessing(),
    Preprocessing(numeric_impute="mean"),
    Preprocessing(numeric_impute="most_frequent", scale=False),
    Preprocessing(one_hot=False),
    Preprocessing(rare_min_frequency=0.2, max_categories=2),
]


def _requests() -> list[pd.DataFrame]:
    """Frames as requests bring them: holes, unseen categories, far values, one row, many."""
    frame = penguins().head(120).copy()
    frame.loc[3:9, "bill_length_mm"] = np.nan
    frame.loc[5, "island"] = "Atlantis"
    frame.loc[6, "sex"] = None
    frame.loc[7, "body_mass_g"] = 1e7
    frames = [frame, frame.iloc[[3]], frame.iloc[[5, 6, 7]]]
    return [model_frame(f.reset_index(drop=True), SCHEMA, FEATURES) for f in frames]


@pytest.fixture(scope="module")
def fitted() -> dict[int, Pipeline]:
    X, y = training_data()
    return {
        i: build_pipeline(FEATURES, SCHEMA, options, TREE).fit(X, y)
        for i, options in enumerate(OPTIONS)
    }


@pytest.mark.parametrize("index", range(len(OPTIONS)))
def test_the_plan_gives_scikit_learns_bytes(fitted, index) -> None:
    pipeline = fitted[index]
    transformer = pipeline[:-1].steps[0][1]
    for frame in _requests():
        ours = fastprep.transform(pipeline[:-1], frame)
        theirs = pipeline[:-1].transform(frame)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.ascontiguousarray(ours).tobytes() == np.ascontiguousarray(theirs).tobytes()
    plan = fastprep._PLANS[transformer]
    assert isinstance(plan, fastprep.Plan)  # proved itself, and is the path taken
    assert any(isinstance(part, fastprep._Numeric) for part in plan.parts)


def test_a_plan_that_disagrees_with_scikit_learn_is_refused(fitted) -> None:
    transformer = fitted[0][:-1].steps[0][1]
    plan = fastprep.compile_plan(transformer)
    assert plan is not None
    numeric = plan.parts[0]
    assert isinstance(numeric, fastprep._Numeric)
    shifted = fastprep._Numeric(numeric.columns, numeric.fill + 1.0, numeric.mean, numeric.scale)
    wrong = fastprep.Plan((shifted, *plan.parts[1:]))
    frame = _requests()[0]
    assert fastprep._proves_itself(plan, transformer.transform, frame)
    assert not fastprep._proves_itself(wrong, transformer.transform, frame)


def _numeric_frame() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame.iloc[::7, 1] = np.nan
    return frame


class OwnTransformer(ColumnTransformer):
    """A subclass may transform differently: it is left to its own method."""


@pytest.mark.parametrize(
    "transformer",
    [
        OwnTransformer(
            [("num", Pipeline([("i", SimpleImputer()), ("s", StandardScaler())]), ["a", "b"])]
        ),
        ColumnTransformer([("num", SimpleImputer(), ["a", "b"]), ("rest", "passthrough", ["c"])]),
        ColumnTransformer(
            [("num", Pipeline([("i", SimpleImputer()), ("s", MinMaxScaler())]), ["a", "b", "c"])]
        ),
        ColumnTransformer(
            [("num", Pipeline([("i", SimpleImputer()), ("s", StandardScaler())]), ["a", "b"])]
        ).set_output(transform="pandas"),
    ],
    ids=["subclass", "passthrough", "other scaler", "pandas output"],
)
def test_what_is_not_recognised_is_scikit_learns_own(transformer) -> None:
    frame = _numeric_frame()
    transformer.fit(frame)
    preprocess = Pipeline([("preprocess", transformer)])
    ours = fastprep.transform(preprocess, frame)
    theirs = preprocess.transform(frame)
    assert type(ours) is type(theirs)
    assert np.array_equal(np.asarray(ours), np.asarray(theirs), equal_nan=True)
    plan = fastprep._PLANS.get(transformer)
    assert plan is None or all(isinstance(p, fastprep._Delegated) for p in plan.parts)


@pytest.mark.filterwarnings("ignore:X has feature names")
def test_a_global_pandas_output_is_respected(fitted) -> None:
    pipeline, frame = fitted[1], _requests()[0]
    fastprep.transform(pipeline[:-1], frame)  # the plan exists and proved itself
    with sklearn.config_context(transform_output="pandas"):
        out = fastprep.transform(pipeline[:-1], frame)
    assert isinstance(out, pd.DataFrame)


@pytest.mark.parametrize(
    "values",
    [
        np.array([0.25, 1e300, -0.0]),
        np.array([[0.5, np.nan], [np.inf, 1.0]]),
        np.array(["yes", "no"], dtype=object),
        np.array([np.float32(1.5), "x", None], dtype=object),
        np.array([True, False]),
        np.array([3, -1], dtype=np.int64),
    ],
)
def test_answers_hold_plain_json_values(values) -> None:
    from core.serving.encoding import plain

    def by_value(array: np.ndarray) -> list:  # what every value went through before
        if array.ndim > 1:
            return [by_value(row) for row in array]
        return [plain(v) for v in array.tolist()]

    got = plain_list(values)
    assert got == by_value(values)
    assert [type(v) for v in np.ravel(np.array(got, dtype=object))] == [
        type(v) for v in np.ravel(np.array(by_value(values), dtype=object))
    ]
