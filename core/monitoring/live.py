"""Live metrics: the version's metrics on the rows whose ground truth came back as feedback.

They use the metric functions training uses (:mod:`core.experiments.evaluation`), without
probabilities (the log keeps them, but the feedback rows are few and roc_auc / log_loss would
mostly be noise): accuracy, balanced accuracy, precision, recall and f1 for classifiers; mae,
rmse, r2 and mape for regressors. Beside them: the same metrics of the version's test split.
Actual labels are matched to the model's classes by their text (feedback ``"1"`` is class 1).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.monitoring.reference import label_text
from core.monitoring.results import LiveMetrics, finite

CLASSIFICATION_LIVE = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")
REGRESSION_LIVE = ("mae", "rmse", "r2", "mape")


def live_metrics(
    task: str,
    classes: list[Any],
    predictions: Any,
    actuals: Any,
    training: dict[str, Any],
) -> LiveMetrics | None:
    """Metrics of the rows that have an actual value; None when none has."""
    found = outcomes(task, classes, predictions, actuals)
    if found is None:
        return None
    from core.experiments import evaluation  # scikit-learn and scipy: only once feedback came

    if task == "classification":
        values, notes = evaluation.classification_metrics(found.y_true, found.y_pred, None,
                                                          found.labels)  # fmt: skip
        names = CLASSIFICATION_LIVE
    else:
        values, notes = evaluation.regression_metrics(found.y_true, found.y_pred)
        names = REGRESSION_LIVE
    return LiveMetrics(
        rows=found.given,
        metrics={name: finite(values.get(name)) for name in names},
        training={name: finite(training.get(name)) for name in names},
        notes=tuple(note for note in notes if not note.startswith(("roc_auc", "log_loss"))),
    )


@dataclass(frozen=True)
class Outcomes:
    """The rows with an actual value, as the metric functions take them: ``positions`` (into
    the arrays given), ``y_true``, ``y_pred`` and the class ``labels``; ``given`` counts the
    rows with an actual value (a regressor's rows without a number are not measured)."""

    positions: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    labels: list
    given: int


def outcomes(task: str, classes: list[Any], predictions: Any, actuals: Any) -> Outcomes | None:
    """The measurable rows of predictions and actual values; None when there is none."""
    predicted = np.asarray(predictions, dtype=object)
    actual = np.asarray(actuals, dtype=object)
    given = np.array([_given(value) for value in actual], dtype=bool)
    if not given.any():
        return None
    if task == "classification":
        by_text = {label_text(c): c for c in classes}
        y_true = np.array([by_text.get(label_text(v), label_text(v)) for v in actual[given]],
                          dtype=object)  # fmt: skip
        y_pred = np.array(
            [by_text.get(label_text(v), label_text(v)) for v in predicted[given]], dtype=object
        )
        y_true, y_pred, labels = _same_type(y_true, y_pred, list(classes))
        return Outcomes(np.flatnonzero(given), y_true, y_pred, labels, int(given.sum()))
    y_true, y_pred = _floats(actual), _floats(predicted)
    keep = given & np.isfinite(y_true) & np.isfinite(y_pred)
    if not keep.any():
        return None
    return Outcomes(np.flatnonzero(keep), y_true[keep], y_pred[keep], [], int(given.sum()))


def _given(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def _floats(values: np.ndarray) -> np.ndarray:
    out = np.full(values.size, np.nan)
    for index, value in enumerate(values):
        with contextlib.suppress(TypeError, ValueError):
            out[index] = float(value)
    return out


def _same_type(y_true: np.ndarray, y_pred: np.ndarray, classes: list) -> tuple:
    """Labels of one type (scikit-learn refuses a mix of numbers and text): text if mixed."""
    kinds = {type(v) for v in [*y_true, *y_pred, *classes]}
    if len(kinds) <= 1 or kinds <= {int, bool}:
        return y_true, y_pred, classes
    text = [label_text(c) for c in classes]
    return y_true.astype(str).astype(object), y_pred.astype(str).astype(object), text
