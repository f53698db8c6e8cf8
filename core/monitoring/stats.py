"""The drift statistics, as Evidently computes them, on arrays (no pandas, no loops per row).

Every function takes what the reference statistics keep (sorted samples, counts per bin or
category) and what one pass over the current data gives, so that a window is compared without
the training rows. Each names the Evidently test it reproduces.

They are computed with numpy alone: what scipy would give comes from
:mod:`core.monitoring.ks_two_sample` (``ks_2samp``, exact and asymptotic, ported from scipy)
and :mod:`core.monitoring.distributions` (``chi2.sf``, ``norm.sf``, ``rel_entr``), so a drift
check never imports scipy, which would cost the always-on service about 70 MB. The tests
check every statistic and p-value against scipy to 1e-9.
"""

from __future__ import annotations

import math

import numpy as np

from core.monitoring.distributions import chi2_sf, norm_sf, rel_entr
from core.monitoring.ks_two_sample import ks_2samp
from core.serving.smoothing import fill_zeroes

WASSERSTEIN_MIN_NORM = 0.001  # Evidently: norm = max(np.std(reference), 0.001)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index of two histograms over the same bins (Evidently's formula).

    ``sum((r - c) * ln(r / c))`` over the bins' shares, with :func:`fill_zeroes` applied to
    both sides.
    """
    ref = fill_zeroes(_shares(reference_counts))
    cur = fill_zeroes(_shares(current_counts))
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def ks(reference_sorted: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov: (statistic D, p-value), scipy's ``ks_2samp`` (method
    "auto": exact up to 10,000 values a side), as Evidently calls it."""
    return ks_2samp(np.sort(np.asarray(reference_sorted, dtype=np.float64)),
                    np.sort(np.asarray(current, dtype=np.float64)))  # fmt: skip


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """First Wasserstein distance between two sorted samples (each value weight 1/len).

    Computed as the integral of ``|Q_a(t) - Q_b(t)|`` over ``t`` in [0, 1] (the quantile
    functions), which equals scipy's integral of ``|F_a - F_b|`` over the values but needs no
    merge: with ``m <= n`` values, ``Q_a`` takes each of its values on a run of consecutive
    values of the longer sample (an ``np.repeat``), and only the at most ``m - 1`` intervals
    of ``b`` in which ``Q_a`` steps are split in two. One pass over the longer sample.
    """
    if a.size > b.size:
        a, b = b, a
    m, n = a.size, b.size
    if m == 0:
        return math.nan
    # In units of 1/(m n): b's j-th value covers [j m, (j + 1) m), a's i-th [i n, (i + 1) n).
    starts = -(-np.arange(m + 1, dtype=np.int64) * n // m)  # first j of each a value
    repeated = np.repeat(a, np.diff(starts))
    total = float(np.abs(repeated - b).sum()) * m
    steps = np.arange(1, m, dtype=np.int64) * n  # where Q_a steps, inside b's interval j
    j = steps // m
    inside = steps % m != 0
    steps, j = steps[inside], j[inside]
    if steps.size:
        i = steps // n
        before, after = np.abs(a[i - 1] - b[j]), np.abs(a[i] - b[j])
        total += float(np.sum(before * (steps - j * m - m) + after * ((j + 1) * m - steps)))
    return total / (m * n)


def wasserstein_normed(distance: float, reference_std: float) -> float:
    """Evidently's normed Wasserstein: the distance over ``max(std(reference), 0.001)``
    (``np.std``: the population standard deviation)."""
    return distance / max(reference_std, WASSERSTEIN_MIN_NORM)


def jensenshannon(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Jensen-Shannon distance (natural logarithm) of two count vectors over the same keys:
    scipy's ``spatial.distance.jensenshannon`` of the shares, as Evidently 0.7 calls it (no
    zero filling, base e)."""
    p = _shares(reference_counts)
    q = _shares(current_counts)
    m = (p + q) / 2.0
    divergence = float(np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m)))
    return math.sqrt(max(divergence, 0.0) / 2.0)


def chi_square(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square test of homogeneity of two samples over the same keys: the 2 x k
    table of counts, expected counts from the pooled shares (``scipy.stats.chi2_contingency``
    without continuity correction). Keys neither sample holds are dropped.

    Evidently's ``chisquare`` instead tests the current counts against the reference *shares*
    as if they were exact; with a reference of at most 1,000 rows that ignores half of the
    noise and flags same-distribution windows far more often than ``p_value`` says (see
    docs/monitoring.md). The two-sample test has the stated false-alarm rate, and a key the
    reference never had gives a finite statistic.
    """
    table = np.vstack((reference_counts, current_counts)).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or np.any(table.sum(axis=1) == 0):
        return 0.0, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    return statistic, chi2_sf(statistic, table.shape[1] - 1)


def z_test(reference_counts: np.ndarray, current_counts: np.ndarray) -> tuple[float, float]:
    """Evidently's two-proportion z-test for at most two keys (given in sorted order):
    the share of rows that are not the first key, reference against current, pooled variance,
    two-sided. Both sides holding one and the same key: ``(0.0, 1.0)``."""
    ref = np.asarray(reference_counts, dtype=np.float64)
    cur = np.asarray(current_counts, dtype=np.float64)
    n1, n2 = ref.sum(), cur.sum()
    p1 = (n1 - ref[0]) / n1
    p2 = (n2 - cur[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    spread = pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2)
    if spread <= 0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(spread)
    return float(z), 2 * norm_sf(abs(z))


def _shares(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts
