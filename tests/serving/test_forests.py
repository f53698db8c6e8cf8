"""Forest predictions summed tree by tree equal scikit-learn's own, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)

from core.serving import forests

# a plain array given to a forest fitted on a frame: scikit-learn warns, and so do we
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")
RNG = np.random.default_rng(3)
X = pd.DataFrame(RNG.normal(size=(300, 6)), columns=[f"x{i}" for i in range(6)])
LABELS = np.array(["adelie", "chinstrap", "gentoo"])[
    (X["x0"] + X["x1"] > 0).astype(int) + (X["x2"] > 1).astype(int)
]
TARGET = X["x0"] * 3 + X["x3"] ** 2
ROWS = [X.iloc[:1], X.iloc[:100], X.to_numpy()[:7]]  # one row, many rows, a plain array


@pytest.mark.parametrize("kind", [RandomForestClassifier, ExtraTreesClassifier])
@pytest.mark.parametrize("labels", [LABELS, LABELS == "gentoo"])  # three classes, two
def test_classifier_probabilities_are_identical(kind, labels) -> None:
    model = kind(n_estimators=25, random_state=1).fit(X, labels)
    for rows in ROWS:
        assert np.array_equal(forests.predict_proba(model, rows), model.predict_proba(rows))


@pytest.mark.parametrize("kind", [RandomForestRegressor, ExtraTreesRegressor])
def test_regressor_predictions_are_identical(kind) -> None:
    model = kind(n_estimators=25, random_state=1).fit(X, TARGET)
    for rows in ROWS:
        assert np.array_equal(forests.predict(model, rows), model.predict(rows))


def test_missing_values_are_handled_as_scikit_learn_does() -> None:
    holes = X.mask(RNG.random(X.shape) < 0.1)
    model = RandomForestClassifier(n_estimators=10, random_state=1).fit(holes, LABELS)
    assert np.array_equal(forests.predict_proba(model, holes), model.predict_proba(holes))


def test_a_wrong_input_fails_as_it_does_in_scikit_learn() -> None:
    model = RandomForestClassifier(n_estimators=5, random_state=1).fit(X, LABELS)
    with pytest.raises(ValueError) as own:
        model.predict_proba(X.iloc[:, :3])
    with pytest.raises(ValueError, match="missing:") as summed:
        forests.predict_proba(model, X.iloc[:, :3])
    assert str(summed.value) == str(own.value)


class Thresholded(RandomForestClassifier):
    def predict_proba(self, X):  # a subclass may change what prediction means
        return np.round(super().predict_proba(X))


@pytest.mark.parametrize(
    "model",
    [
        Thresholded(n_estimators=5, random_state=1).fit(X, LABELS),
        GradientBoostingClassifier(n_estimators=5).fit(X, LABELS),
        RandomForestRegressor(n_estimators=5, random_state=1).fit(X, np.c_[TARGET, TARGET]),
    ],
    ids=["subclass", "not a forest", "two outputs"],
)
def test_other_models_use_their_own_methods(model) -> None:
    method = forests.predict_proba if hasattr(model, "predict_proba") else forests.predict
    own = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    assert np.array_equal(method(model, X.iloc[:9]), own(X.iloc[:9]))
    if isinstance(model, Thresholded):
        assert set(np.unique(method(model, X))) <= {0.0, 1.0}


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_trees_get_the_rows_scikit_learn_would_give_them() -> None:
    model = RandomForestClassifier(n_estimators=5, random_state=1).fit(X.to_numpy(), LABELS)
    for rows in (X.to_numpy(), np.asfortranarray(X.to_numpy()[:9]), X.to_numpy()[::7] * 1e30):
        ours = forests._rows(model, rows)
        theirs = model._validate_X_predict(rows)
        assert ours.dtype == theirs.dtype and ours.flags.c_contiguous  # a row's values together
        assert (
            np.array_equal(ours, theirs)
            and ours.tobytes() == np.ascontiguousarray(theirs).tobytes()
        )
    too_big = X.to_numpy()[:2] * 1e300  # finite as float64, infinite in the trees' float32
    with pytest.raises(ValueError, match="infinity or a value too large"):
        forests._rows(model, too_big)
    with pytest.raises(ValueError, match="features"):  # the wrong width: scikit-learn's words
        forests._rows(model, X.to_numpy()[:, :4])
