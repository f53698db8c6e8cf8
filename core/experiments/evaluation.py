"""What a training run measures: metrics, curves, feature importance and predict latency.

Pure functions (numpy, pandas and scikit-learn only, no I/O) applied after a scikit-learn
Pipeline ``[("preprocess", ColumnTransformer), ("model", estimator)]`` is fitted. Every result
is JSON-able (plain ``float``/``int``/``str``, lists and dicts) and never holds NaN or inf.

Decisions, part of the contract with the CLI, gates, GUI and JSON files:

* Metric names are fixed: :data:`CLASSIFICATION_METRICS` and :data:`REGRESSION_METRICS`.
* A metric that cannot be computed is ``None`` and the reason, prefixed with the metric name,
  goes into the ``notes`` list (e.g. ``roc_auc`` when the test split holds a single class).
* Binary classification: the positive class is the second of the *sorted* classes (``1`` of
  ``0/1``, ``"yes"`` of ``"no"/"yes"``); precision, recall, f1 are for that class and roc_auc
  is computed on its probability. With more than two classes precision, recall and f1 are
  macro averages over the labels present in ``y_true`` or ``y_pred`` (scikit-learn's default)
  and roc_auc is the one-vs-rest macro average.
* Precision or recall that is ill-defined (no predicted, or no actual, rows of a class) is
  reported as 0.0, as scikit-learn's ``zero_division=0`` does, with a note.
* Multiclass roc_auc when some classes are absent from ``y_true``: the macro average over the
  classes that are present (each needs positives and negatives), with a note; ``None`` when
  fewer than two classes are present.
* ``mape`` is scikit-learn's ``mean_absolute_percentage_error``, a fraction (0.05 = 5 %). If any
  ``y_true`` is exactly 0 it is ``None`` with a note, rather than scikit-learn's huge finite
  value (it divides by machine epsilon), which would be meaningless in a comparison.
* ``r2`` needs at least two rows; with fewer it is ``None``.
* Curves are downsampled to at most :data:`MAX_CURVE_POINTS` points by taking evenly spaced
  indices along the curve; the first and last points are always kept.
* Samples of regression points are at most :data:`MAX_SAMPLE_POINTS`, drawn without
  replacement by ``numpy.random.default_rng(seed)``, and kept in their original order.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.inspection import permutation_importance
from sklearn.metrics import check_scoring
from sklearn.preprocessing import OneHotEncoder

from core.metrics import (  # noqa: F401  (re-exported: the metric vocabulary)
    CLASSIFICATION_METRICS,
    DEFAULT_PRIMARY,
    GREATER_IS_BETTER,
    REGRESSION_METRICS,
    is_better,
)
from core.serving.explain_columns import one_hot_sizes

MAX_CURVE_POINTS = 200
MAX_SAMPLE_POINTS = 1000
MAX_HISTOGRAM_BINS = 50
MIN_PERMUTATION_ROWS = 100
MIN_LATENCY_CALLS = 5
LATENCY_BUDGET_S = 0.1  # single-row predict latency: at most 30 calls or this long (≥ 5 calls)
PERMUTATION_SHARE = 0.05  # permutation importance may cost this share of the fit time,
PERMUTATION_MIN_S = 0.1  # but at least this (small data sets keep every row and repeat)
PERMUTATION_MAX_S = 5.0  # and at most this

Metrics = dict[str, float | None]


# --------------------------------------------------------------------------- helpers


def _finite(value: Any) -> float | None:
    """``value`` as a plain float, or None when it is missing, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _floats(values: Any) -> list[float]:
    """A JSON-safe list of floats (non-finite values become 0.0; callers filter first)."""
    array = np.asarray(values, dtype=float)
    return [float(v) if math.isfinite(v) else 0.0 for v in array.tolist()]


def _as_array(values: Any) -> np.ndarray:
    return np.asarray(values).ravel() if values is not None else np.asarray([])


def _sorted_labels(labels: Sequence) -> list:
    """Labels in sorted order; mixed types fall back to sorting by their text."""
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=str)


def _label_key(label: Any) -> str:
    """A class label as the text used in JSON keys (numpy scalars become Python first)."""
    return str(label.item() if isinstance(label, np.generic) else label)


def _try(name: str, notes: list[str], compute: Any) -> float | None:
    """Run one metric computation; a failure or a non-finite value becomes None and a note."""
    try:
        value = _finite(compute())
    except (ValueError, TypeError) as exc:
        notes.append(f"{name}: not computed ({exc})")
        return None
    if value is None:
        notes.append(f"{name}: not a finite number; not reported")
    return value


def _check_lengths(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} rows but y_pred has {len(y_pred)}")


def _check_proba(proba: np.ndarray | None, n_rows: int, classes: Sequence) -> np.ndarray | None:
    if proba is None:
        return None
    proba = np.asarray(proba, dtype=float)
    if proba.ndim != 2 or proba.shape != (n_rows, len(classes)):
        raise ValueError(
            f"proba has shape {proba.shape}, expected ({n_rows}, {len(classes)}) "
            "(one row per sample, one column per class in `classes` order)"
        )
    return proba


# --------------------------------------------------------------------------- classification


def _no_rows(names: Sequence[str]) -> tuple[Metrics, list[str]]:
    """Every metric None, and the note that says why."""
    return dict.fromkeys(names), ["no rows to evaluate; no metric computed"]


def classification_metrics(
    y_true: Any, y_pred: Any, proba: np.ndarray | None, classes: Sequence
) -> tuple[Metrics, list[str]]:
    """The classification metrics of one split, and notes on any metric left as None.

    ``classes`` is the model's class order (``pipeline.classes_``): the columns of ``proba``.
    """
    y_true, y_pred, classes = _as_array(y_true), _as_array(y_pred), list(classes)
    _check_lengths(y_true, y_pred)
    proba = _check_proba(proba, len(y_true), classes)
    if len(y_true) == 0:
        return _no_rows(CLASSIFICATION_METRICS)
    notes: list[str] = []
    result: Metrics = {
        "accuracy": _try("accuracy", notes, lambda: skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": _try(
            "balanced_accuracy", notes, lambda: _balanced_accuracy(y_true, y_pred)
        ),
    }
    result.update(_precision_recall_f1(y_true, y_pred, classes, notes))
    for name, metric in (("roc_auc", _roc_auc), ("log_loss", _log_loss)):
        if proba is None:
            notes.append(f"{name}: the model gives no class probabilities; not computed")
            result[name] = None
        else:
            result[name] = metric(y_true, proba, classes, notes)
    return {name: result[name] for name in CLASSIFICATION_METRICS}, notes


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": still defined
        warnings.simplefilter("ignore", UserWarning)
        return skm.balanced_accuracy_score(y_true, y_pred)


def _positive_class(classes: Sequence) -> Any:
    return _sorted_labels(classes)[1]


def _precision_recall_f1(
    y_true: np.ndarray, y_pred: np.ndarray, classes: list, notes: list[str]
) -> Metrics:
    if len(classes) == 2:
        positive = _positive_class(classes)
        kwargs: dict[str, Any] = {"average": "binary", "pos_label": positive}
        _note_ill_defined(y_true, y_pred, [positive], notes)
    else:
        kwargs = {"average": "macro"}
        present = _sorted_labels(list(set(y_true.tolist()) | set(y_pred.tolist())))
        _note_ill_defined(y_true, y_pred, present, notes)
    kwargs["zero_division"] = 0
    return {
        "precision": _try(
            "precision", notes, lambda: skm.precision_score(y_true, y_pred, **kwargs)
        ),
        "recall": _try("recall", notes, lambda: skm.recall_score(y_true, y_pred, **kwargs)),
        "f1": _try("f1", notes, lambda: skm.f1_score(y_true, y_pred, **kwargs)),
    }


def _note_ill_defined(y_true: np.ndarray, y_pred: np.ndarray, labels: list, notes: list[str]):
    never_predicted = [_label_key(c) for c in labels if not np.any(y_pred == c)]
    never_actual = [_label_key(c) for c in labels if not np.any(y_true == c)]
    if never_predicted:
        notes.append(
            f"precision: no row predicted as {', '.join(never_predicted)}; "
            "its precision counts as 0.0"
        )
    if never_actual:
        notes.append(
            f"recall: no actual row of class {', '.join(never_actual)}; its recall counts as 0.0"
        )


def _roc_auc(
    y_true: np.ndarray, proba: np.ndarray, classes: list, notes: list[str]
) -> float | None:
    present = [c for c in classes if np.any(y_true == c)]
    if len(present) < 2:
        notes.append(
            f"roc_auc: the evaluated rows hold {len(present)} of the model's classes; "
            "needs at least two"
        )
        return None
    if len(classes) == 2:
        positive = _positive_class(classes)
        column = proba[:, classes.index(positive)]
        return _try("roc_auc", notes, lambda: skm.roc_auc_score(y_true == positive, column))
    if len(present) < len(classes):
        notes.append(
            f"roc_auc: one-vs-rest macro average over the {len(present)} of {len(classes)} "
            "classes present in the evaluated rows"
        )
        return _try("roc_auc", notes, lambda: _ovr_auc_over(present, y_true, proba, classes))
    return _try(
        "roc_auc",
        notes,
        lambda: skm.roc_auc_score(
            y_true, proba, multi_class="ovr", average="macro", labels=classes
        ),
    )


def _ovr_auc_over(present: list, y_true: np.ndarray, proba: np.ndarray, classes: list) -> float:
    scores = [skm.roc_auc_score(y_true == c, proba[:, classes.index(c)]) for c in present]
    return float(np.mean(scores))


def _log_loss(
    y_true: np.ndarray, proba: np.ndarray, classes: list, notes: list[str]
) -> float | None:
    if len(classes) < 2:
        notes.append("log_loss: the model knows a single class; not computed")
        return None
    return _try("log_loss", notes, lambda: skm.log_loss(y_true, proba, labels=classes))


# --------------------------------------------------------------------------- regression


def regression_metrics(y_true: Any, y_pred: Any) -> tuple[Metrics, list[str]]:
    """The regression metrics of one split, and notes on any metric left as None."""
    y_true = _as_array(y_true).astype(float)
    y_pred = _as_array(y_pred).astype(float)
    _check_lengths(y_true, y_pred)
    if len(y_true) == 0:
        return _no_rows(REGRESSION_METRICS)
    notes: list[str] = []
    result: Metrics = {
        "mae": _try("mae", notes, lambda: skm.mean_absolute_error(y_true, y_pred)),
        "rmse": _try("rmse", notes, lambda: skm.root_mean_squared_error(y_true, y_pred)),
        "r2": _r2(y_true, y_pred, notes),
        "mape": _mape(y_true, y_pred, notes),
    }
    return result, notes


def _r2(y_true: np.ndarray, y_pred: np.ndarray, notes: list[str]) -> float | None:
    if len(y_true) < 2:
        notes.append("r2: needs at least two rows; not computed")
        return None
    return _try("r2", notes, lambda: skm.r2_score(y_true, y_pred))


def _mape(y_true: np.ndarray, y_pred: np.ndarray, notes: list[str]) -> float | None:
    zeros = int(np.sum(y_true == 0))
    if zeros:
        notes.append(
            f"mape: {zeros} actual value(s) are 0, where a percentage error is undefined; "
            "not computed"
        )
        return None
    return _try("mape", notes, lambda: skm.mean_absolute_percentage_error(y_true, y_pred))


# --------------------------------------------------------------------------- curves


def downsample_indices(n: int, max_points: int = MAX_CURVE_POINTS) -> np.ndarray:
    """At most ``max_points`` evenly spaced indices into ``range(n)``, keeping 0 and n - 1."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))


def _downsampled(*arrays: np.ndarray) -> list[list[float]]:
    keep = downsample_indices(len(arrays[0]))
    return [_floats(np.asarray(a)[keep]) for a in arrays]


def classification_curves(
    y_true: Any, y_pred: Any, proba: np.ndarray | None, classes: Sequence
) -> dict:
    """One-vs-rest ROC and precision-recall curves per class, and the confusion matrix.

    Keys of ``roc`` and ``pr`` are the class labels as text. A class whose curve is undefined
    (absent from ``y_true``, or the only class there) is left out and named in ``notes``;
    without probabilities ``roc`` and ``pr`` are empty.
    """
    y_true, y_pred, classes = _as_array(y_true), _as_array(y_pred), list(classes)
    _check_lengths(y_true, y_pred)
    proba = _check_proba(proba, len(y_true), classes)
    notes: list[str] = []
    roc: dict[str, Any] = {}
    pr: dict[str, Any] = {}
    if proba is None:
        notes.append("curves: the model gives no class probabilities; no ROC or PR curve")
    else:
        for index, label in enumerate(classes):
            positives = y_true == label
            if positives.all() or not positives.any():
                notes.append(f"curves: class {_label_key(label)} needs positive and negative rows")
                continue
            roc[_label_key(label)] = _roc_curve(positives, proba[:, index])
            pr[_label_key(label)] = _pr_curve(positives, proba[:, index])
    return {
        "roc": roc,
        "pr": pr,
        "confusion_matrix": _confusion_matrix(y_true, y_pred, classes),
        "notes": notes,
    }


def _roc_curve(positives: np.ndarray, scores: np.ndarray) -> dict:
    fpr, tpr, _ = skm.roc_curve(positives, scores)
    fpr_points, tpr_points = _downsampled(fpr, tpr)
    return {"fpr": fpr_points, "tpr": tpr_points, "auc": _finite(skm.auc(fpr, tpr)) or 0.0}


def _pr_curve(positives: np.ndarray, scores: np.ndarray) -> dict:
    precision, recall, _ = skm.precision_recall_curve(positives, scores)
    precision_points, recall_points = _downsampled(precision, recall)
    average = _finite(skm.average_precision_score(positives, scores)) or 0.0
    return {"precision": precision_points, "recall": recall_points, "average_precision": average}


def _confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, classes: list) -> dict:
    """Rows are actual labels, columns predicted; labels outside ``classes`` are appended."""
    known = {_label_key(c) for c in classes}
    extra = {v for v in [*y_true.tolist(), *y_pred.tolist()] if _label_key(v) not in known}
    labels = classes + _sorted_labels(list(extra))
    if len(labels) == 0:
        return {"labels": [], "matrix": []}
    matrix = skm.confusion_matrix(y_true, y_pred, labels=labels)
    return {
        "labels": [_label_key(c) for c in labels],
        "matrix": [[int(v) for v in row] for row in matrix],
    }


def sample_indices(n: int, seed: int, max_points: int = MAX_SAMPLE_POINTS) -> np.ndarray:
    """At most ``max_points`` indices of ``range(n)``, seeded, without repeats, in order."""
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_points, replace=False))


def regression_curves(y_true: Any, y_pred: Any, seed: int = 0) -> dict:
    """Residual histogram (all rows) and seeded samples for residual and predicted-vs-actual plots.

    The residual is ``actual - predicted``. Rows where either value is not finite are left out.
    """
    y_true = _as_array(y_true).astype(float)
    y_pred = _as_array(y_pred).astype(float)
    _check_lengths(y_true, y_pred)
    finite = np.isfinite(y_true) & np.isfinite(y_pred)
    y_true, y_pred = y_true[finite], y_pred[finite]
    residual = y_true - y_pred
    keep = sample_indices(len(residual), seed)
    return {
        "residuals": {
            "histogram": _histogram(residual),
            "sample": {"predicted": _floats(y_pred[keep]), "residual": _floats(residual[keep])},
        },
        "predicted_vs_actual": {
            "actual": _floats(y_true[keep]),
            "predicted": _floats(y_pred[keep]),
        },
    }


def _histogram(values: np.ndarray) -> dict:
    if len(values) == 0:
        return {"edges": [], "counts": []}
    edges = np.histogram_bin_edges(values, bins="auto")
    if len(edges) - 1 > MAX_HISTOGRAM_BINS:
        edges = np.histogram_bin_edges(values, bins=MAX_HISTOGRAM_BINS)
    counts, edges = np.histogram(values, bins=edges)
    return {"edges": _floats(edges), "counts": [int(c) for c in counts]}


# --------------------------------------------------------------------------- importance


def feature_importance(
    pipeline: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    features: Sequence[str],
    *,
    seed: int,
    scoring: str | None = None,
    max_rows: int = 2000,
    repeats: int = 3,
    budget_s: float = 5.0,
) -> dict:
    """How much each original input column matters, most important first.

    ``method`` is ``"model"`` when the fitted estimator has ``feature_importances_`` or
    ``coef_`` (absolute values, averaged over classes): the values of the transformed columns
    are summed back to the input column they come from (one-hot columns to their category
    column). Otherwise it is ``"permutation"``: scikit-learn's ``permutation_importance`` on the
    whole pipeline over at most ``max_rows`` seeded test rows with ``repeats`` shuffles (values
    are the mean drop of the score, ``scoring`` or the estimator's default; they can be
    negative). That costs ``len(features) * repeats + 1`` scoring passes; one pass is timed
    first and, if the total would exceed ``budget_s``, repeats and then rows are reduced (at
    least one repeat and :data:`MIN_PERMUTATION_ROWS` rows), which ``notes`` records.
    """
    features = list(features)
    notes: list[str] = []
    native = _model_importance(pipeline, features, notes)
    if native is not None:
        result = {"method": "model", "values": _ranked(native, features), "notes": notes}
        spread = _tree_spread(pipeline, features)
        return {**result, **spread} if spread else result
    values, details = _permutation(
        pipeline, X_test, y_test, features, seed, scoring, max_rows, repeats, budget_s, notes
    )
    return {"method": "permutation", "values": _ranked(values, features), "notes": notes, **details}


def _tree_spread(pipeline: Any, features: list[str]) -> dict | None:
    """The standard deviation of a forest's importances over its trees, per input column
    (``std``, with ``spread: "trees"``); None for any other model (a boosted model's stages
    fit each other's residuals, so their spread is no uncertainty). Summed back to input
    columns as the mean importances are."""
    steps = getattr(pipeline, "named_steps", {})
    model = steps.get("model", pipeline)
    trees = getattr(model, "estimators_", None)
    if trees is None or not hasattr(model, "bootstrap") or len(trees) < 2:
        return None
    try:
        sources = _input_sources(steps, features)
        per_tree = np.abs(np.stack([tree.feature_importances_ for tree in trees]))
    except (AttributeError, ValueError, TypeError, IndexError):
        return None
    if per_tree.shape[1] != len(sources):
        return None
    by_column = np.zeros((len(trees), len(features)))
    for j, columns in enumerate(sources):
        for column in columns:
            by_column[:, features.index(column)] += per_tree[:, j] / len(columns)
    std = by_column.std(axis=0)
    return {
        "std": {f: _finite(v) or 0.0 for f, v in zip(features, std, strict=True)},
        "spread": "trees",
        "spread_n": len(trees),
    }


def permutation_budget_s(fit_s: float) -> float:
    """The time permutation importance may take after a fit that took ``fit_s`` seconds.

    :data:`PERMUTATION_SHARE` of the fit, within [:data:`PERMUTATION_MIN_S`,
    :data:`PERMUTATION_MAX_S`]: importance is a by-product of a run and should not cost
    noticeably more than the fit itself, while a small data set (whose full computation takes a
    fraction of a second) still gets every row and repeat.
    """
    return min(PERMUTATION_MAX_S, max(PERMUTATION_MIN_S, PERMUTATION_SHARE * max(fit_s, 0.0)))


def _ranked(values: dict[str, float], features: list[str]) -> dict[str, float]:
    """Values for every feature, highest first (ties keep the features' order)."""
    cleaned = {f: _finite(values.get(f, 0.0)) or 0.0 for f in features}
    order = sorted(features, key=lambda f: -cleaned[f])
    return {f: cleaned[f] for f in order}


def _native_vector(model: Any) -> np.ndarray | None:
    """The model's own importance per transformed column, or None if it has none."""
    importances = getattr(model, "feature_importances_", None)
    if importances is not None:
        return np.abs(np.asarray(importances, dtype=float)).ravel()
    coef = getattr(model, "coef_", None)
    if coef is None:
        return None
    coef = coef.toarray() if hasattr(coef, "toarray") else np.asarray(coef, dtype=float)
    return np.abs(np.atleast_2d(coef)).mean(axis=0)


def _model_importance(pipeline: Any, features: list[str], notes: list[str]) -> dict | None:
    steps = getattr(pipeline, "named_steps", {})
    model = steps.get("model", pipeline.steps[-1][1] if steps else pipeline)
    vector = _native_vector(model)
    if vector is None:
        return None
    try:
        sources = _input_sources(steps, features)
    except (AttributeError, ValueError, TypeError, IndexError) as exc:
        notes.append(f"importance: model importances not mapped to columns ({exc})")
        return None
    if len(sources) != len(vector):
        notes.append(
            f"importance: the model has {len(vector)} importances for {len(sources)} "
            "transformed columns; using permutation importance"
        )
        return None
    totals = dict.fromkeys(features, 0.0)
    for value, columns in zip(vector, sources, strict=True):
        for column in columns:  # an output made from several inputs is shared equally
            totals[column] = totals.get(column, 0.0) + float(value) / len(columns)
    return totals


def _input_sources(steps: dict[str, Any], features: list[str]) -> list[tuple[str, ...]]:
    """The input column(s) of each column the model sees: the pipeline's ``preprocess`` step's
    (:func:`_output_sources`), or each feature itself when there is none."""
    preprocess = steps.get("preprocess")
    if preprocess is None:
        return [(f,) for f in features]
    return _output_sources(preprocess, features)


def _output_sources(preprocess: Any, features: list[str]) -> list[tuple[str, ...]]:
    """For every output column of a fitted ColumnTransformer, the input column(s) it came from."""
    n_outputs = len(preprocess.get_feature_names_out())
    sources: list[tuple[str, ...]] = [()] * n_outputs
    input_names = [str(n) for n in getattr(preprocess, "feature_names_in_", features)]
    for name, transformer, columns in preprocess.transformers_:
        block = preprocess.output_indices_.get(name, slice(0, 0))
        if block.stop <= block.start or transformer == "drop":
            continue
        block_sources = _block_sources(transformer, _column_names(columns, input_names))
        if len(block_sources) != block.stop - block.start:
            raise ValueError(f"transformer {name!r} output count does not match its names")
        sources[block] = block_sources
    return sources


def _column_names(columns: Any, input_names: list[str]) -> list[str]:
    """A ColumnTransformer column selection (names, positions, slice or mask) as names."""
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, slice):
        if isinstance(columns.start, str) or isinstance(columns.stop, str):
            start = input_names.index(columns.start) if columns.start is not None else 0
            stop = input_names.index(columns.stop) + 1 if columns.stop is not None else None
            return input_names[start:stop]
        return input_names[columns]
    values = list(np.atleast_1d(np.asarray(columns, dtype=object)))
    if values and all(isinstance(v, bool | np.bool_) for v in values):
        return [n for n, keep in zip(input_names, values, strict=False) if keep]
    return [input_names[v] if isinstance(v, int | np.integer) else str(v) for v in values]


def _block_sources(transformer: Any, columns: list[str]) -> list[tuple[str, ...]]:
    """The source input column(s) of each output of one fitted transformer."""
    if isinstance(transformer, str):  # "passthrough"
        return [(c,) for c in columns]
    outputs = [str(o) for o in transformer.get_feature_names_out(columns)]
    exact = _one_hot_sources(transformer, columns, len(outputs))
    if exact is not None:
        return exact
    return [_match_output(output, columns) for output in outputs]


def _one_hot_sources(
    transformer: Any, columns: list[str], n_outputs: int
) -> list[tuple[str, ...]] | None:
    """Exact sources when the transformer ends in a OneHotEncoder: its outputs come in blocks,
    one per encoded column in order, sized by that column's categories (less a dropped one,
    with infrequent ones grouped). None when that does not add up."""
    steps = getattr(transformer, "steps", None)
    encoder = steps[-1][1] if steps else transformer
    if not isinstance(encoder, OneHotEncoder):
        return None
    encoded = (
        [str(n) for n in transformer[:-1].get_feature_names_out(columns)]
        if steps and len(steps) > 1
        else columns
    )
    sizes = one_hot_sizes(encoder)
    if len(sizes) != len(encoded) or sum(sizes) != n_outputs or not set(encoded) <= set(columns):
        return None
    return [(name,) for name, size in zip(encoded, sizes, strict=True) for _ in range(size)]


def _match_output(output: str, columns: list[str]) -> tuple[str, ...]:
    """An output's source among ``columns``: same name, else the longest ``column_`` prefix,
    else all of them (the output mixes its transformer's inputs)."""
    if output in columns:
        return (output,)
    prefixed = [c for c in columns if output.startswith(f"{c}_")]
    if prefixed:
        return (max(prefixed, key=len),)
    return tuple(columns)


def _permutation(
    pipeline: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    features: list[str],
    seed: int,
    scoring: str | None,
    max_rows: int,
    repeats: int,
    budget_s: float,
    notes: list[str],
) -> tuple[dict[str, float], dict]:
    X, y = _sample_rows(X_test[features], _as_array(y_test), seed, max_rows)
    started = time.perf_counter()
    check_scoring(pipeline, scoring=scoring)(pipeline, X, y)
    one_pass = max(time.perf_counter() - started, 1e-6)
    fitted_repeats, rows = _fit_budget(one_pass, len(features), max(1, repeats), len(X), budget_s)
    if (fitted_repeats, rows) != (max(1, repeats), len(X)):
        notes.append(
            f"importance: permutation over {len(features)} columns estimated at "
            f"{one_pass * len(features) * repeats:.1f}s, past the {budget_s:g}s budget; "
            f"reduced to {fitted_repeats} repeat(s) on {min(rows, len(X))} rows"
        )
        X, y = _sample_rows(X, y, seed, rows)
    result = permutation_importance(
        pipeline, X, y, scoring=scoring, n_repeats=fitted_repeats, random_state=seed
    )
    details: dict[str, Any] = {}
    if fitted_repeats > 1:  # one repeat has no spread to show
        std = (_finite(v) or 0.0 for v in result.importances_std)
        details = {"std": dict(zip(features, std, strict=True)), "spread": "repeats"}
        details["spread_n"] = fitted_repeats
    details |= {
        "rows": len(X),
        "repeats": fitted_repeats,
        "seconds": round(time.perf_counter() - started, 6),
    }
    return dict(zip(features, result.importances_mean.tolist(), strict=True)), details


def _sample_rows(
    X: pd.DataFrame, y: np.ndarray, seed: int, max_rows: int
) -> tuple[pd.DataFrame, np.ndarray]:
    keep = sample_indices(len(X), seed, max_rows)
    return X.iloc[keep], y[keep]


def _fit_budget(
    one_pass_s: float, n_features: int, repeats: int, rows: int, budget_s: float
) -> tuple[int, int]:
    """Repeats and rows whose estimated cost fits the budget: fewer repeats first, then rows."""
    affordable = budget_s / one_pass_s  # scoring passes over `rows` rows that fit the budget
    if n_features * repeats <= affordable:
        return repeats, rows
    repeats = max(1, min(repeats, int(affordable // max(n_features, 1))))
    if n_features * repeats > affordable:
        rows = max(MIN_PERMUTATION_ROWS, int(rows * affordable / (n_features * repeats)))
    return repeats, rows


# --------------------------------------------------------------------------- latency


def predict_latency_ms(
    pipeline: Any, X: pd.DataFrame, *, repeats: int = 30, budget_s: float = LATENCY_BUDGET_S
) -> dict:
    """Single-row ``predict`` latency in milliseconds: ``{"p50", "p95", "calls"}``.

    After one untimed warm-up call, one-row DataFrames (rows of ``X`` in turn) are predicted up
    to ``repeats`` times, stopping early once ``budget_s`` has passed since the warm-up began
    but never before ``min(5, repeats)`` timed calls.
    """
    if len(X) == 0:
        raise ValueError("predict_latency_ms needs at least one row")
    repeats = max(1, int(repeats))
    minimum = min(MIN_LATENCY_CALLS, repeats)
    started = time.perf_counter()
    pipeline.predict(X.iloc[[0]])
    timings: list[float] = []
    for call in range(repeats):
        if len(timings) >= minimum and time.perf_counter() - started >= budget_s:
            break
        row = X.iloc[[call % len(X)]]
        mark = time.perf_counter()
        pipeline.predict(row)
        timings.append((time.perf_counter() - mark) * 1000.0)
    p50, p95 = np.percentile(timings, [50, 95])
    return {"p50": float(p50), "p95": float(p95), "calls": len(timings)}
