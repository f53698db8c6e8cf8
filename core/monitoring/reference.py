"""Reference statistics: what drift compares a window against, computed once from training rows.

Per numeric column (integers, floats, booleans and datetimes, as float64 the way serving
coerces them; infinities count as missing, as Evidently drops them):

- ``count`` (finite values), ``missing``, ``mean`` and ``std`` (population, ``np.std``: the
  norm of Evidently's normed Wasserstein), ``minimum``, ``maximum``;
- ``sample``: the sorted finite values when there are at most :data:`SAMPLE_SIZE`, else
  :data:`SAMPLE_SIZE` evenly spaced order statistics (the values at ranks
  ``floor((i + 0.5) * n / SAMPLE_SIZE)``); ``sample_error`` is the normed Wasserstein distance
  between the column and its sample, a bound on what the sample changes in a distance;
- ``psi_edges``/``psi_counts``: :data:`PSI_BINS` quantile bins (interior edges, duplicates
  dropped) and the exact number of values in each;
- ``values``/``value_counts``: every distinct value and its count, when there are at most
  :data:`MAX_VALUES` (Evidently tests such columns by their values).

Per categorical column (text): ``count``, ``missing``, and the categories with their counts, most
frequent first; beyond :data:`MAX_CATEGORIES` the rest are pooled into ``other``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.monitoring.stats import wasserstein_normed, wasserstein_sorted

SAMPLE_SIZE = 10_000
PSI_BINS = 10
MAX_VALUES = 20
MAX_CATEGORIES = 10_000
FORMAT = 1


@dataclass(frozen=True, eq=False)
class NumericReference:
    name: str
    rows: int
    count: int
    mean: float
    std: float
    minimum: float
    maximum: float
    sample: np.ndarray
    sample_error: float
    psi_edges: np.ndarray
    psi_counts: np.ndarray
    values: np.ndarray | None = None
    value_counts: np.ndarray | None = None

    kind = "numeric"

    @property
    def missing(self) -> int:
        return self.rows - self.count

    @property
    def full_sample(self) -> bool:
        return self.sample.size == self.count


@dataclass(frozen=True, eq=False)
class CategoricalReference:
    name: str
    rows: int
    count: int
    categories: tuple[str, ...]
    counts: np.ndarray
    other: int = 0

    kind = "categorical"

    @property
    def missing(self) -> int:
        return self.rows - self.count


ColumnReference = NumericReference | CategoricalReference


@dataclass(frozen=True, eq=False)
class Reference:
    """The reference of one model version: its features, its prediction and its target."""

    task: str
    rows: int
    features: tuple[ColumnReference, ...]
    prediction: ColumnReference | None = None
    target: ColumnReference | None = None
    classes: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def feature(self, name: str) -> ColumnReference:
        return next(column for column in self.features if column.name == name)

    def summary(self) -> dict[str, Any]:
        """A short JSON-able description (the arrays left out)."""
        return {
            "task": self.task,
            "rows": self.rows,
            "features": [
                {"name": c.name, "kind": c.kind, "values": c.count, "missing": c.missing}
                for c in self.features
            ],
            "classes": list(self.classes),
            "meta": self.meta,
        }


def numeric_reference(name: str, values: Any) -> NumericReference:
    """The reference statistics of one numeric column."""
    array = np.asarray(values, dtype=np.float64)
    ordered = np.sort(array[np.isfinite(array)])
    n = ordered.size
    if n == 0:
        empty = np.empty(0)
        return NumericReference(
            name, array.size, 0, 0.0, 0.0, 0.0, 0.0, empty, 0.0, empty, np.zeros(1, dtype=np.int64)
        )
    std = float(ordered.std())
    if n <= SAMPLE_SIZE:
        sample, error = ordered, 0.0
    else:
        ranks = ((np.arange(SAMPLE_SIZE) + 0.5) * (n / SAMPLE_SIZE)).astype(np.int64)
        sample = ordered[np.minimum(ranks, n - 1)]
        error = wasserstein_normed(wasserstein_sorted(ordered, sample), std)
    edges = np.unique(sorted_quantiles(ordered, np.arange(1, PSI_BINS) / PSI_BINS))
    values, value_counts = _few_values(ordered)
    return NumericReference(
        name=name,
        rows=array.size,
        count=n,
        mean=float(ordered.mean()),
        std=std,
        minimum=float(ordered[0]),
        maximum=float(ordered[-1]),
        sample=sample,
        sample_error=float(error),
        psi_edges=edges,
        psi_counts=bin_counts(ordered, edges),
        values=values,
        value_counts=value_counts,
    )


def sorted_quantiles(ordered: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``np.quantile(ordered, probabilities)`` (linear) of an already sorted array."""
    position = probabilities * (ordered.size - 1)
    below = position.astype(np.int64)
    above = np.minimum(below + 1, ordered.size - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def bin_counts(ordered: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values per bin ``(-inf, e1), [e1, e2), …, [ek, inf)`` of a sorted array."""
    cuts = np.searchsorted(ordered, edges, side="left")
    return np.diff(np.concatenate(([0], cuts, [ordered.size]))).astype(np.int64)


def _few_values(ordered: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    if starts.size > MAX_VALUES:
        return None, None
    counts = np.diff(np.concatenate((starts, [ordered.size])))
    return ordered[starts].copy(), counts.astype(np.int64)


def categorical_reference(name: str, values: Any) -> CategoricalReference:
    """The reference statistics of one text column (values compared as text)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    tallies = category_counts(series)
    ordered = sorted(tallies.items(), key=lambda item: (-item[1], item[0]))
    kept, rest = ordered[:MAX_CATEGORIES], ordered[MAX_CATEGORIES:]
    return CategoricalReference(
        name=name,
        rows=len(series),
        count=sum(tallies.values()),
        categories=tuple(key for key, _ in kept),
        counts=np.array([count for _, count in kept], dtype=np.int64),
        other=sum(count for _, count in rest),
    )


def category_counts(series: pd.Series) -> dict[str, int]:
    """Non-missing values of a column counted by their text (``1`` and ``"1"`` are one key)."""
    counted = series.value_counts(dropna=True, sort=False)
    tallies: dict[str, int] = {}
    for key, count in zip(counted.index.tolist(), counted.to_numpy().tolist(), strict=True):
        if count:
            text = label_text(key)
            tallies[text] = tallies.get(text, 0) + int(count)
    return tallies


def label_text(value: Any) -> str:
    """A value as the text categories and classes are compared by (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a class 1 logged as 1.0 is still class "1"
    return str(value)


def column_reference(name: str, kind: str, values: Any) -> ColumnReference:
    """``kind`` "numeric" or "categorical"."""
    if kind == "numeric":
        return numeric_reference(name, values)
    return categorical_reference(name, values)


def build_reference(
    frame: pd.DataFrame,
    kinds: dict[str, str],
    task: str = "classification",
    prediction: Any = None,
    target: Any = None,
    classes: tuple[str, ...] = (),
    meta: dict[str, Any] | None = None,
) -> Reference:
    """The reference of coerced feature columns (``kinds``: name -> "numeric"/"categorical"),
    with the prediction and target when given (categorical for classifiers)."""
    outcome = "categorical" if task == "classification" else "numeric"
    return Reference(
        task=task,
        rows=len(frame),
        features=tuple(column_reference(name, kind, frame[name]) for name, kind in kinds.items()),
        prediction=None
        if prediction is None
        else column_reference("prediction", outcome, prediction),
        target=None if target is None else column_reference("target", outcome, target),
        classes=tuple(classes),
        meta=dict(meta or {}),
    )
