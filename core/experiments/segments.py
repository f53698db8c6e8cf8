"""Every metric per segment: the test rows grouped by the values of a column (``sex``,
``island``), each group with its row count and a 95% bootstrap confidence interval.

Decisions:

* The metrics are the run's own (:mod:`core.experiments.evaluation`), computed per group with
  the same functions, so a segment's ``recall`` means exactly what the version's ``recall``
  means (same positive class, same macro average, same notes). fairlearn's ``MetricFrame`` does
  the same grouping, but would bring a second metric vocabulary and a dependency for a
  ``groupby``; the disparity gate needs the gap and the rows behind it, which is all here.
* A column with more than :data:`MAX_GROUPS` values keeps its most frequent
  ``MAX_GROUPS - 1`` values and puts the rest into one group named :data:`OTHER`; the table
  says so in its notes. Missing values are their own group, ``(missing)``.
* Confidence intervals: :data:`BOOTSTRAP` resamples of the group's rows (seeded, so a version's
  table is the same every time), the 2.5th and 97.5th percentiles. A group with fewer than
  :data:`MIN_CI_ROWS` rows gets no interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.experiments import evaluation

MAX_GROUPS = 10
OTHER = "(other)"
MISSING = "(missing)"
BOOTSTRAP = 50
MIN_CI_ROWS = 10
SEED = 0


def groups_of(values: pd.Series, max_groups: int = MAX_GROUPS) -> tuple[pd.Series, list[str]]:
    """The group label of every row, and notes on how the values were grouped."""
    labels = values.astype(object).where(values.notna(), MISSING).astype(str)
    counts = labels.value_counts()
    if len(counts) <= max_groups:
        return labels, []
    kept = list(counts.index[: max_groups - 1])
    grouped = labels.where(labels.isin(kept), OTHER)
    note = (
        f"{values.name} has {len(counts)} values: the {max_groups - 1} most frequent are shown "
        f"and the other {len(counts) - len(kept)} are grouped as {OTHER}"
    )
    return grouped, [note]


def _metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray, proba: Any, classes: Sequence):
    if task == "regression":
        return evaluation.regression_metrics(y_true, y_pred)[0]
    return evaluation.classification_metrics(y_true, y_pred, proba, classes)[0]


def segment_table(
    column: pd.Series,
    y_true: Any,
    y_pred: Any,
    task: str,
    proba: np.ndarray | None = None,
    classes: Sequence = (),
    intervals: bool = True,
) -> dict[str, Any]:
    """Every metric per group of ``column`` (aligned with the other arrays), as JSON;
    ``intervals=False`` skips the bootstrap (a gate needs the point values only)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels, notes = groups_of(column.reset_index(drop=True))
    rng = np.random.default_rng(SEED)
    groups = []
    for value, rows in labels.groupby(labels, sort=True).groups.items():
        index = np.asarray(rows)
        part_proba = None if proba is None else proba[index]
        point = _metrics(task, y_true[index], y_pred[index], part_proba, classes)
        bounds = (
            _bootstrap(task, y_true[index], y_pred[index], part_proba, classes, rng)
            if intervals
            else {}
        )
        groups.append(
            {
                "value": str(value),
                "rows": len(index),
                "metrics": {name: {"value": point[name], **bounds.get(name, {})} for name in point},
            }
        )
    metrics = list(evaluation.REGRESSION_METRICS if task == "regression" else
                   evaluation.CLASSIFICATION_METRICS)  # fmt: skip
    return {"column": str(column.name), "metrics": metrics, "groups": groups, "notes": notes}


def _bootstrap(task, y_true, y_pred, proba, classes, rng) -> dict[str, dict[str, float]]:
    n = len(y_true)
    if n < MIN_CI_ROWS:
        return {}
    samples: dict[str, list[float]] = {}
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, n, n)
        part = None if proba is None else proba[pick]
        for name, value in _metrics(task, y_true[pick], y_pred[pick], part, classes).items():
            if value is not None:
                samples.setdefault(name, []).append(value)
    return {
        name: {"low": float(np.percentile(v, 2.5)), "high": float(np.percentile(v, 97.5))}
        for name, v in samples.items()
        if len(v) >= BOOTSTRAP // 2
    }


def gap(table: dict[str, Any], metric: str, min_rows: int) -> dict[str, Any]:
    """The largest difference of ``metric`` between groups with at least ``min_rows`` rows."""
    measured = [
        (g["value"], g["metrics"][metric]["value"], g["rows"])
        for g in table["groups"]
        if g["rows"] >= min_rows and g["metrics"].get(metric, {}).get("value") is not None
    ]
    small = [(g["value"], g["rows"]) for g in table["groups"] if g["rows"] < min_rows]
    if len(measured) < 2:
        return {"gap": None, "groups": measured, "small": small}
    best = max(measured, key=lambda g: g[1])
    worst = min(measured, key=lambda g: g[1])
    return {"gap": best[1] - worst[1], "best": best, "worst": worst, "small": small}
