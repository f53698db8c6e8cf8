"""Random-forest and extra-trees predictions without scikit-learn's per-tree task overhead.

A forest averages its trees. scikit-learn runs every tree as a joblib task, and even with one
job each task enters a configuration context and a warnings context. For a small request
that wrapping costs about three times the tree walks themselves: a one-row ``predict_proba``
of 100 trees spends most of its time outside the trees. These functions add the same tree
outputs in the same order into the same float64 buffer and divide once, as scikit-learn does,
so the result is bit for bit the one of the estimator's own method with ``n_jobs=1``
(``tests/serving/test_forests.py`` checks it). With more jobs scikit-learn adds the trees in
the order they finish, so its last bits vary between calls; here they do not.

Only the four scikit-learn forest types themselves (not subclasses, which may override
prediction) with one output take this path; anything else calls the estimator's own method.
They are recognised by their module and name, so importing this module imports no
scikit-learn (a server of ONNX models needs none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FOREST_MODULE = "sklearn.ensemble._forest"
CLASSIFIERS = ("RandomForestClassifier", "ExtraTreesClassifier")
REGRESSORS = ("RandomForestRegressor", "ExtraTreesRegressor")


def _summable(model: Any, kinds: tuple[str, ...]) -> bool:
    kind = type(model)
    return (
        kind.__module__ == FOREST_MODULE
        and kind.__name__ in kinds
        and getattr(model, "n_outputs_", None) == 1
        and bool(getattr(model, "estimators_", None))
        and hasattr(model, "_validate_X_predict")
    )


def predict_proba(model: Any, features: Any) -> np.ndarray:
    """``model.predict_proba(features)``, summed tree by tree for a plain forest."""
    if not _summable(model, CLASSIFIERS):
        return model.predict_proba(features)
    rows = _rows(model, features)
    proba = np.zeros((rows.shape[0], model.n_classes_), dtype=np.float64)
    for tree in model.estimators_:  # tree.predict_proba less its per-call checks: same values
        proba += tree.tree_.predict(rows)[:, : tree.n_classes_]
    proba /= len(model.estimators_)
    return proba


def predict(model: Any, features: Any) -> np.ndarray:
    """``model.predict(features)``, summed tree by tree for a plain forest regressor."""
    if not _summable(model, REGRESSORS):
        return model.predict(features)
    rows = _rows(model, features)
    values = np.zeros(rows.shape[0], dtype=np.float64)
    for tree in model.estimators_:  # tree.predict less its per-call checks: same values
        values += tree.tree_.predict(rows)[:, 0]
    values /= len(model.estimators_)
    return values


def _rows(model: Any, features: Any) -> np.ndarray:
    """``model._validate_X_predict(features)``, the cheap way for what a pipeline gives a
    forest: a 2-D float64 array of the fitted width, for a forest fitted without column names.
    The trees compute in float32, converted as scikit-learn converts (C order); a value that
    is not finite there, and any other input, goes through scikit-learn's own checks, which
    refuse it or accept it in the same words and values as ever."""
    plain = (
        isinstance(features, np.ndarray)
        and features.dtype == np.float64
        and features.ndim == 2
        and features.shape[1] == getattr(model, "n_features_in_", None)
        and not hasattr(model, "feature_names_in_")
    )
    if plain:
        with np.errstate(over="ignore"):  # scikit-learn's own check below says it, once
            rows = np.asarray(features, dtype=np.float32, order="C")
        if np.isfinite(rows).all():
            return rows
    return model._validate_X_predict(features)
