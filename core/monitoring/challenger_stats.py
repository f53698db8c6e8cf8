"""The statistics of a champion-challenger comparison: live metrics, intervals and tests.

Labels arrive coded as integers (index in the model's classes), so one metric costs a
``bincount``, and a bootstrap of a thousand resamples takes milliseconds.

Tests, chosen by how the rows were seen and by the metric:

- **paired** (shadow mode: both sides predicted the same rows): accuracy by McNemar's exact
  test on the rows where exactly one side is right; any other metric by a paired bootstrap of
  the difference (the same resampled rows for both sides).
- **unpaired** (split mode: each side answered its own rows): accuracy by the two-proportion
  z-test; any other metric by a bootstrap of each side's rows on their own.

A bootstrap's p-value is two-sided: twice the share of resampled differences on the far side
of zero. Intervals: Wilson's for an accuracy, the bootstrap's percentiles otherwise. The seed is
fixed, so one log gives one answer.

No scipy: the normal quantile and tail and McNemar's binomial p-value come from
:mod:`core.monitoring.distributions` (``statistics.NormalDist``, ``math.erfc`` and scipy's
``binomtest`` walk ported), which the tests check against scipy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.monitoring.distributions import binomtest_p, norm_ppf, norm_sf

RESAMPLES = 1000
SEED = 20260101
Metric = Callable[[np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    rows: int


@dataclass(frozen=True)
class Test:
    name: str
    p_value: float | None
    difference: float | None  # challenger minus champion
    low: float | None
    high: float | None


def metric_function(name: str, classes: int, positive: int | None) -> Metric:
    """``f(actual, predicted)`` for a metric, on coded labels (classification) or floats."""
    if name in ("mae", "rmse", "r2", "mape"):
        return _regression(name)

    def confusion(t: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.bincount(t * classes + p, minlength=classes * classes).reshape(classes, classes)

    def score(t: np.ndarray, p: np.ndarray) -> float:
        matrix = confusion(t, p)
        right = np.diag(matrix).astype(float)
        if name == "accuracy":
            return float(right.sum() / max(matrix.sum(), 1))
        actual, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
        recall = np.divide(right, actual, out=np.zeros_like(right), where=actual > 0)
        if name == "balanced_accuracy":
            return float(recall[actual > 0].mean()) if (actual > 0).any() else 0.0
        precision = np.divide(right, predicted, out=np.zeros_like(right), where=predicted > 0)
        both = precision + recall
        f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(right), where=both > 0)
        chosen = {"precision": precision, "recall": recall, "f1": f1}[name]
        if positive is not None:
            return float(chosen[positive])
        present = (actual > 0) | (predicted > 0)
        return float(chosen[present].mean()) if present.any() else 0.0

    return score


def _regression(name: str) -> Metric:
    def score(t: np.ndarray, p: np.ndarray) -> float:
        error = p - t
        if name == "mae":
            return float(np.abs(error).mean())
        if name == "rmse":
            return float(np.sqrt((error**2).mean()))
        if name == "mape":
            keep = t != 0
            return float(np.abs(error[keep] / t[keep]).mean()) if keep.any() else float("nan")
        spread = ((t - t.mean()) ** 2).sum()
        return float(1 - (error**2).sum() / spread) if spread > 0 else float("nan")

    return score


def wilson(right: int, rows: int, confidence: float) -> tuple[float, float]:
    if rows == 0:
        return 0.0, 1.0
    z = norm_ppf(0.5 + confidence / 2)
    share = right / rows
    centre = (share + z * z / (2 * rows)) / (1 + z * z / rows)
    spread = math.sqrt(share * (1 - share) / rows + z * z / (4 * rows * rows))
    half = z * spread / (1 + z * z / rows)
    return max(0.0, centre - half), min(1.0, centre + half)


def estimate(metric: str, f: Metric, t: np.ndarray, p: np.ndarray, confidence: float) -> Estimate:
    """One side's metric on its rows, with its interval."""
    if len(t) == 0:
        return Estimate(None, None, None, 0)
    value = f(t, p)
    if metric == "accuracy":
        low, high = wilson(int((t == p).sum()), len(t), confidence)
    else:
        draws = _draws(len(t))
        values = np.array([f(t[i], p[i]) for i in draws])
        low, high = _percentiles(values, confidence)
    if math.isfinite(value) and math.isfinite(low) and math.isfinite(high):
        low, high = min(low, value), max(high, value)  # rounding never leaves it outside
    return Estimate(_clean(value), _clean(low), _clean(high), len(t))


def paired_test(
    metric: str, f: Metric, t: np.ndarray, champion: np.ndarray, challenger: np.ndarray,
    confidence: float,
) -> Test:  # fmt: skip
    """The challenger against the champion on the same rows."""
    if len(t) == 0:
        return Test("none", None, None, None, None)
    difference = f(t, challenger) - f(t, champion)
    draws = _draws(len(t))
    values = np.array([f(t[i], challenger[i]) - f(t[i], champion[i]) for i in draws])
    low, high = _percentiles(values, confidence)
    if metric == "accuracy":
        only_challenger = int(((challenger == t) & (champion != t)).sum())
        only_champion = int(((champion == t) & (challenger != t)).sum())
        discordant = only_challenger + only_champion
        p = 1.0 if discordant == 0 else binomtest_p(only_challenger, discordant)
        return Test("mcnemar_exact", float(p), difference, _clean(low), _clean(high))
    return Test("paired_bootstrap", _bootstrap_p(values), difference, _clean(low), _clean(high))


def unpaired_test(
    metric: str, f: Metric, champion: tuple[np.ndarray, np.ndarray],
    challenger: tuple[np.ndarray, np.ndarray], confidence: float,
) -> Test:  # fmt: skip
    """The challenger against the champion, each on the rows it answered."""
    (t0, p0), (t1, p1) = champion, challenger
    if len(t0) == 0 or len(t1) == 0:
        return Test("none", None, None, None, None)
    difference = f(t1, p1) - f(t0, p0)
    if metric == "accuracy":
        k0, k1, n0, n1 = int((t0 == p0).sum()), int((t1 == p1).sum()), len(t0), len(t1)
        pooled = (k0 + k1) / (n0 + n1)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
        p = 1.0 if spread == 0 else 2 * norm_sf(abs(difference) / spread)
        z = norm_ppf(0.5 + confidence / 2)
        se = math.sqrt(k0 / n0 * (1 - k0 / n0) / n0 + k1 / n1 * (1 - k1 / n1) / n1)
        return Test("two_proportion_z", p, difference, difference - z * se, difference + z * se)
    d0, d1 = _draws(len(t0)), _draws(len(t1), offset=1)
    values = np.array([f(t1[j], p1[j]) - f(t0[i], p0[i]) for i, j in zip(d0, d1, strict=True)])
    low, high = _percentiles(values, confidence)
    return Test("bootstrap", _bootstrap_p(values), difference, _clean(low), _clean(high))


def _draws(rows: int, offset: int = 0) -> np.ndarray:
    return np.random.default_rng(SEED + offset).integers(0, rows, size=(RESAMPLES, rows))


def _percentiles(values: np.ndarray, confidence: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def _bootstrap_p(values: np.ndarray) -> float | None:
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    below, above = (values <= 0).mean(), (values >= 0).mean()
    return float(min(1.0, 2 * min(below, above)))


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)
