"""The few distribution functions monitoring needs, with numpy and the standard library alone.

scipy costs the always-on service some 70 MB of memory once imported, for five functions:

- :func:`chi2_sf`: ``scipy.stats.chi2.sf``, the regularized upper incomplete gamma function
  ``Q(k / 2, x / 2)``, by its series (``x < a + 1``, as ``1 - P``) or its continued fraction
  (modified Lentz), as in Numerical Recipes' ``gammp`` / ``gammq``, iterated to machine
  precision. The prefactor ``x^a e^-x / Gamma(a)`` is taken in log space, with Stirling's
  series for ``a >= 10`` so that large degrees of freedom keep ~1e-13 relative precision.
- :func:`norm_sf`: ``scipy.stats.norm.sf``, ``erfc(z / sqrt 2) / 2`` (cephes' ``ndtr``).
- :func:`norm_ppf`: ``scipy.stats.norm.ppf``, by ``statistics.NormalDist().inv_cdf``
  (Wichura's AS241, to about 1e-16).
- :func:`rel_entr`: ``scipy.special.rel_entr``.
- :func:`binomtest_p`: the two-sided p-value of ``scipy.stats.binomtest``: scipy's own walk
  (the other tail from the first term beyond the mode no more likely than the observed one,
  within a relative 1e-7), on binomial probabilities computed in log space.

The tests compare each with scipy.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_EPS = 2.220446049250313e-16
_TINY = 1e-300
_MAX_ITERATIONS = 100_000
_STIRLING = [-2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
             8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
             -2.7777777777777777778e-3, 8.3333333333333333333e-2]  # fmt: skip
_STANDARD = NormalDist()


def chi2_sf(x: float, df: float) -> float:
    """``P(X >= x)`` for a chi-square variable with ``df`` degrees of freedom."""
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    if math.isinf(x):
        return 0.0
    return gamma_q(df / 2.0, x / 2.0)


def gamma_q(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function ``Q(a, x) = Gamma(a, x) / Gamma(a)``."""
    if x <= 0:
        return 1.0
    if x < a + 1.0:
        return max(0.0, 1.0 - _series(a, x) * _prefactor(a, x))
    return min(1.0, _continued_fraction(a, x) * _prefactor(a, x))


def norm_sf(z: float) -> float:
    """``P(Z >= z)`` for a standard normal ``Z``."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """The standard normal quantile of ``p`` (``-inf`` at 0, ``inf`` at 1)."""
    if p <= 0:
        return -math.inf if p == 0 else math.nan
    if p >= 1:
        return math.inf if p == 1 else math.nan
    return _STANDARD.inv_cdf(p)


def rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise ``x log(x / y)``: 0 where ``x == 0 <= y``, infinite where ``x > 0 >= y``
    or ``x < 0``, NaN where either is NaN."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    out = np.full(x.shape, np.inf)
    both = (x > 0) & (y > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[both] = x[both] * np.log(x[both] / y[both])
    out[(x == 0) & (y >= 0)] = 0.0
    out[np.isnan(x) | np.isnan(y)] = np.nan
    return out


def binomtest_p(k: int, n: int, p: float = 0.5) -> float:
    """The two-sided p-value of ``k`` successes in ``n`` trials of probability ``p``
    (``0 < p < 1``): ``scipy.stats.binomtest(k, n, p).pvalue``."""
    if not 0 <= k <= n or n < 1 or not 0 < p < 1:
        raise ValueError(f"binomtest needs 0 <= k <= n, n >= 1 and 0 < p < 1, not {k}, {n}, {p}")
    pmf = _binomial_pmf(n, p)
    d = pmf[k]
    rerr = 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _binary_search(lambda i: -pmf[i], -d * rerr, math.ceil(p * n), n)
        y = n - ix + int(d * rerr == pmf[ix])
        value = pmf[: k + 1].sum() + pmf[n - y + 1 :].sum()
    else:
        ix = _binary_search(lambda i: pmf[i], d * rerr, 0, math.floor(p * n))
        value = pmf[: ix + 1].sum() + pmf[k:].sum()
    return min(1.0, float(value))


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    i = np.arange(1, n + 1, dtype=np.float64)
    log_binomial = np.concatenate(([0.0], np.cumsum(np.log((n - i + 1) / i))))
    everything = np.arange(n + 1, dtype=np.float64)
    return np.exp(log_binomial + everything * math.log(p) + (n - everything) * math.log1p(-p))


def _binary_search(a, d: float, lo: int, hi: int) -> int:
    """scipy's ``_binary_search_for_binom_tst``: ``i`` in ``[lo - 1, hi]`` with
    ``a(i) <= d < a(i + 1)``, ``a`` ascending on ``[lo, hi]``."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = a(mid)
        if value < d:
            lo = mid + 1
        elif value > d:
            hi = mid - 1
        else:
            return mid
    return lo if a(lo) <= d else lo - 1


def _prefactor(a: float, x: float) -> float:
    """``x^a e^-x / Gamma(a)``; for ``a >= 10`` written as
    ``sqrt(a / 2 pi) exp(a (log1p(t) - t) - stirling(a))`` with ``t = (x - a) / a``, which
    keeps the large, nearly cancelling terms ``a log x``, ``x`` and ``log Gamma(a)`` apart."""
    if a < 10:
        return math.exp(-x + a * math.log(x) - math.lgamma(a))
    t = (x - a) / a
    correction = float(np.polyval(_STIRLING, 1.0 / (a * a))) / a
    return math.sqrt(a / (2 * math.pi)) * math.exp(a * (math.log1p(t) - t) - correction)


def _series(a: float, x: float) -> float:
    """``P(a, x)`` without its prefactor: ``sum x^k / (a (a + 1) ... (a + k))``."""
    term = total = 1.0 / a
    ap = a
    for _ in range(_MAX_ITERATIONS):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            return total
    raise ArithmeticError(f"the incomplete gamma series did not converge for a={a}, x={x}")


def _continued_fraction(a: float, x: float) -> float:
    """``Q(a, x)`` without its prefactor, by the modified Lentz method."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"the incomplete gamma fraction did not converge for a={a}, x={x}")
