"""The drift and challenger statistics, computed with numpy alone, against scipy (which only the
tests import): the two-sample KS test exact and asymptotic over many sizes, ties and tiny
samples; chi2.sf; the normal tail and quantile; rel_entr; binomtest's two-sided p-value."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from core.monitoring import distributions, kolmogorov
from core.monitoring import stats as drift_stats
from core.monitoring.ks_two_sample import MAX_EXACT, ks_2samp

TOLERANCE = 1e-9


def _samples(rng: np.random.Generator, n1: int, n2: int, ties: bool) -> tuple:
    a = rng.normal(0.0, 1.0, n1)
    b = rng.normal(rng.choice([0.0, 0.05, 0.3, 1.0]), rng.choice([1.0, 1.5]), n2)
    if ties:  # few distinct values: many equal values across the two samples
        a, b = np.round(a * 2) / 2, np.round(b * 2) / 2
    return np.sort(a), np.sort(b)


def _agrees(a: np.ndarray, b: np.ndarray) -> None:
    expected = stats.ks_2samp(a, b)
    d, p = ks_2samp(a, b)
    where = f"sizes {a.size}, {b.size}: ours D={d} p={p}, scipy {expected}"
    assert d == pytest.approx(float(expected.statistic), abs=1e-12), where
    assert abs(p - float(expected.pvalue)) <= TOLERANCE, where


@pytest.mark.parametrize("seed", range(6))
def test_ks_exact_agrees_with_scipy_over_random_small_sizes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for case in range(40):
        n1 = int(rng.integers(1, 400))
        n2 = n1 if case % 4 == 0 else int(rng.integers(1, 400))
        _agrees(*_samples(rng, n1, n2, ties=case % 3 == 0))


def test_ks_tiny_samples_and_one_sided_extremes_agree_with_scipy() -> None:
    rng = np.random.default_rng(7)
    for n1 in range(1, 7):
        for n2 in range(1, 7):
            _agrees(*_samples(rng, n1, n2, ties=(n1 + n2) % 2 == 0))
    apart = np.arange(50.0)
    _agrees(apart, apart + 100.0)  # D = 1: the smallest p-value
    _agrees(apart, apart.copy())  # identical samples: D = 0, p = 1
    _agrees(np.zeros(30), np.zeros(70))  # every value tied


@pytest.mark.parametrize(
    ("n1", "n2", "shift"),
    [
        (1000, MAX_EXACT, 0.03),  # a small reference against a full window: exact
        (MAX_EXACT, MAX_EXACT - 1, 0.02),  # the largest exact unequal sizes
        (MAX_EXACT, MAX_EXACT, 0.03),  # equal sizes: the alternating sum
        (999, MAX_EXACT + 1, 0.05),  # just past the limit: asymptotic, n <= 1000
        (60, 20_000, 0.2),  # asymptotic with round(m n / (m + n)) <= 140
        (12_000, 15_000, 0.01),  # asymptotic, both large
        (11_000, 30_000, 0.5),  # asymptotic, far apart: a tiny p-value
    ],
)
def test_ks_agrees_with_scipy_across_the_exact_limit(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    a, b = np.sort(rng.normal(0, 1, n1)), np.sort(rng.normal(shift, 1, n2))
    _agrees(a, b)
    _agrees(np.round(a, 1), np.round(b, 1))  # with ties


def test_kstwo_sf_agrees_with_scipy_on_every_branch() -> None:
    """Ruben-Gambino, Durbin's matrix, Pomeranz, Pelz-Good and twice Smirnov's sum."""
    rng = np.random.default_rng(3)
    sizes = [*range(1, 30, 3), 139, 140, 141, 500, 999, 4000, 30_000, 110_000]
    for n in sizes:
        points = 16 if n < 10_000 else 6  # scipy's own kstwo is slow for large n
        xs = [*rng.uniform(0, 1, 4), *rng.uniform(0, 3 / math.sqrt(n), points), 0.5, 1 / n, 0.99]
        for x in xs:
            ours, theirs = kolmogorov.kstwo_sf(n, float(x)), float(stats.kstwo.sf(x, n))
            assert abs(ours - theirs) <= TOLERANCE, (n, x, ours, theirs)


def test_chi2_sf_agrees_with_scipy_to_1e12_relative() -> None:
    rng = np.random.default_rng(11)
    for df in [1, 2, 3, 7, 19, 20, 21, 99, 1000, 9999]:
        for x in [*rng.uniform(0, 3 * df + 10, 40), df, df + 1.0, 1e-9]:
            ours, theirs = distributions.chi2_sf(float(x), df), float(stats.chi2.sf(x, df))
            assert abs(ours - theirs) <= 1e-12 * max(theirs, 1e-300) + 1e-300, (df, x)
    assert distributions.chi2_sf(0.0, 3) == 1.0 and distributions.chi2_sf(math.inf, 3) == 0.0


def test_normal_tail_quantile_and_rel_entr_agree_with_scipy() -> None:
    rng = np.random.default_rng(5)
    for z in rng.normal(0, 4, 200):
        assert distributions.norm_sf(float(z)) == pytest.approx(stats.norm.sf(z), rel=1e-12)
    for p in rng.uniform(0, 1, 200):
        assert distributions.norm_ppf(float(p)) == pytest.approx(stats.norm.ppf(p), abs=1e-12)
    assert distributions.norm_ppf(1.0) == math.inf and distributions.norm_ppf(0.0) == -math.inf
    x, y = rng.uniform(0, 1, 60), rng.uniform(0, 1, 60)
    x[:10], y[5:15] = 0.0, 0.0
    np.testing.assert_allclose(distributions.rel_entr(x, y), special.rel_entr(x, y), rtol=1e-14)


def test_binomtest_two_sided_agrees_with_scipy() -> None:
    rng = np.random.default_rng(13)
    for n in [*range(1, 41), 101, 1000, 5001]:
        ks = {0, n, n // 2, (n + 1) // 2, *rng.integers(0, n + 1, 6).tolist()}
        for k in ks:
            for p in (0.5, 0.3, 0.77):
                ours = distributions.binomtest_p(int(k), n, p)
                assert abs(ours - stats.binomtest(int(k), n, p).pvalue) <= TOLERANCE, (k, n, p)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        distributions.binomtest_p(5, 4)


def test_the_drift_tests_agree_with_scipy_on_count_tables() -> None:
    rng = np.random.default_rng(17)
    for keys in (2, 3, 8, 40):
        ref, cur = rng.integers(0, 50, keys), rng.integers(0, 50, keys)
        ref[0] += 1
        statistic, p = drift_stats.chi_square(ref, cur)
        table = np.vstack((ref, cur))
        table = table[:, table.sum(axis=0) > 0]
        expected = stats.chi2_contingency(table, correction=False)
        assert statistic == pytest.approx(expected.statistic, rel=1e-12)
        assert abs(p - expected.pvalue) <= TOLERANCE
    ref, cur = np.array([30, 70]), np.array([45, 55])
    z, p = drift_stats.z_test(ref, cur)
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-12)
    reference, current = np.sort(rng.normal(size=300)), rng.normal(0.2, 1, 500)  # unsorted
    expected = stats.ks_2samp(reference, current)
    assert drift_stats.ks(reference, current) == (expected.statistic, expected.pvalue)
