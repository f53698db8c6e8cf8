"""The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic ``D_n``.

A port of scipy's ``kstwo.sf`` (``scipy/stats/_ksstats.py``, Simard and L'Ecuyer 2011) and of
the one-sided ``scipy.special.smirnov`` it calls (xsf's ``cephes/kolmogorov.h``), with numpy
alone. The two-sample test (:mod:`core.monitoring.ks_two_sample`) uses it for samples of more
than 10,000 values, as ``scipy.stats.ks_2samp`` does: ``kstwo.sf(D, round(m n / (m + n)))``.

The algorithm picked for each ``(n, x)`` is scipy's:

- ``n x <= 1`` or ``n x >= n - 1``: Ruben and Gambino's closed forms;
- ``x >= 0.5``, or ``n x^2`` past a cut-over: twice the one-sided probability (Smirnov's exact
  Birnbaum-Tingey sum, summed here in log space);
- otherwise the CDF, by Durbin's matrix algorithm in Marsaglia, Tsang and Wang's form (small
  ``n x^1.5``), Pomeranz's recursion (``n <= 140``) or Pelz and Good's asymptotic series, and
  the survival function as one minus it.

scipy scales its intermediate results by ``2^128`` in extended precision; here the same powers
of two scale float64 values, which changes nothing above 1e-15 in a p-value.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

_SCALE_EXPONENT = 128
_BIG = math.ldexp(1.0, _SCALE_EXPONENT)
_SMALL = math.ldexp(1.0, -_SCALE_EXPONENT)
_MIN_LOG = -708
_CEPHES_MINLOG = -7.451332191019412076235e2  # log(2**-1075), cephes' MINLOG
_SMIRNOV_MAX_N = 1_000_000
_STIRLING = [-2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
             8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
             -2.7777777777777777778e-3, 8.3333333333333333333e-2]  # fmt: skip


def kstwo_sf(n: int, x: float) -> float:
    """``P(D_n >= x)`` for a sample of ``n`` values: scipy's ``kstwo.sf(x, n)``."""
    if x >= 1.0:
        return 0.0
    if x <= 0.0:
        return 1.0
    t = n * x
    if t <= 1.0:  # Ruben-Gambino: 1/2n <= x <= 1/n
        if t <= 0.5:
            return 1.0
        if n <= 140:
            cdf = float(np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)))
        else:
            cdf = math.exp(_log_factorial_over_power(n) + n * math.log(2 * t - 1))
        return _clip(1.0 - cdf)
    if t >= n - 1:  # Ruben-Gambino
        return _clip(2 * (1.0 - x) ** n)
    if x >= 0.5:
        return _clip(2 * smirnov(n, x))
    nx2 = t * x
    if n <= 140:
        if nx2 <= 0.754693:
            return _clip(1.0 - _durbin_cdf(n, x))
        if nx2 <= 4:
            return _clip(1.0 - _pomeranz_cdf(n, x))
        return _clip(2 * smirnov(n, x))
    if nx2 >= 370.0:
        return 0.0
    if nx2 >= 2.2:
        return _clip(2 * smirnov(n, x))
    if n <= 100000 and n * x**1.5 <= 1.4:
        return _clip(1.0 - _durbin_cdf(n, x))
    return _clip(1.0 - _pelz_good_cdf(n, x))


def smirnov(n: int, x: float) -> float:
    """``P(D_n+ >= x)``, the one-sided statistic: ``scipy.special.smirnov(n, x)``.

    Only the branches :func:`kstwo_sf` reaches are ported: ``x >= 0.5`` or ``n x^2 >= 2.2``,
    where cephes sums the lower Birnbaum-Tingey series (its upper series is for
    ``x <= 0.5 / sqrt(n)``). The terms are positive, so a log-space sum loses nothing.
    """
    if n == 1:
        return 1.0 - x
    if x <= 0.0:
        return 1.0
    if x >= 1.0:
        return 0.0
    exact = Fraction(x) * n  # n x and its floor exactly, as cephes' double-double modNX
    floor = math.floor(exact)
    alpha = float(exact - floor)
    last = n - floor - 1  # the last j with 1 - x - j/n > 0
    if floor == 0 or (floor == 1 and alpha == 0):
        return _clip(1.0 - x * (1.0 + x) ** (n - 1))
    if -2 * n * x * x < _CEPHES_MINLOG:
        return 0.0
    if floor >= n - 1:
        return _clip((1.0 - x) ** n)
    if n > _SMIRNOV_MAX_N:
        return _clip(math.exp(-((6.0 * n * x + 1) ** 2) / 18.0 / n))
    j = np.arange(last + 1, dtype=np.float64)
    # term_j = C(n, j) (1 - x - j/n)^(n - j) (x + j/n)^(j - 1), with n x = floor + alpha
    log_binomial = np.concatenate(([0.0], np.cumsum(np.log((n - j[1:] + 1) / j[1:]))))
    log_n = math.log(n)
    low = np.log(n - j - floor - alpha) - log_n
    high = np.log(floor + j + alpha) - log_n
    logs = log_binomial + (n - j) * low + (j - 1) * high
    top = float(logs.max())
    return _clip(x * math.exp(top) * float(np.exp(logs - top).sum()))


def _durbin_cdf(n: int, d: float) -> float:
    """``P(D_n <= d)`` by Durbin's matrix algorithm (Marsaglia, Tsang and Wang): the
    ``k``-th diagonal entry of ``(n! / n^n) H^n``, ``H`` of size ``2k - 1``."""
    if d >= 1.0:
        return 1.0
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    h = k - nd
    m = 2 * k - 1
    H = _durbin_matrix(m, h)
    power = np.eye(m)
    exponent, h_exponent = 0, 0
    nn = n
    while nn > 0:
        if nn % 2:
            power = power @ H
            exponent += h_exponent
        H = H @ H
        h_exponent *= 2
        if abs(H[k - 1, k - 1]) > _BIG:
            H /= _BIG
            h_exponent += _SCALE_EXPONENT
        nn //= 2
    p = float(power[k - 1, k - 1])
    for i in range(1, n + 1):  # times n! / n^n
        p = i * p / n
        if abs(p) < _SMALL:
            p *= _BIG
            exponent -= _SCALE_EXPONENT
    return _clip(math.ldexp(p, exponent))


def _durbin_matrix(m: int, h: float) -> np.ndarray:
    steps = np.arange(1, m + 1)
    v = 1.0 - h**steps
    w = np.empty(m)
    factorial = 1.0
    for j in steps:
        w[j - 1] = factorial
        factorial /= j
        v[j - 1] *= factorial
    tail = max(2 * h - 1.0, 0) ** m - 2 * h**m
    v[-1] = (1.0 + tail) * factorial
    H = np.zeros((m, m))
    for i in range(1, m):
        H[i - 1 :, i] = w[: m - i + 1]
    H[:, 0] = v
    H[-1, :] = v[::-1]
    return H


def _pomeranz_bounds(i: int, n: int, ll: int, ceilf: int, roundf: int) -> tuple[int, int]:
    if i == 0:
        j1, j2 = -ll - ceilf - 1, ll + ceilf - 1
    else:
        half, odd = divmod(i + 1, 2)
        if odd == 0:
            if half == n + 1:
                j1, j2 = n - ll - ceilf - 1, n + ll + ceilf - 1
            else:
                j1, j2 = half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1
        else:
            j1, j2 = half - 1 - ll - 1, half + ll + roundf - 1
    return max(j1 + 2, 0), min(j2, n)


def _pomeranz_cdf(n: int, x: float) -> float:
    """``P(D_n <= x)`` by Pomeranz's recursion: each row the previous one convolved with
    (unnormalised) Poisson probabilities; the answer is ``n!`` times the last entry."""
    t = n * x
    ll = math.floor(t)
    f = t - ll
    g = min(f, 1.0 - f)
    ceilf, roundf = (1 if f > 0 else 0), (1 if f > 0.5 else 0)
    size = 2 * (ll + 1)
    powers = {}
    for name, base in (("g", g / n), ("2g", 2 * g / n), ("1-2g", (1 - 2 * g) / n)):
        row = np.empty(size)
        row[0] = 1.0
        for k in range(1, size):
            row[k] = row[k - 1] * base / k
        powers[name] = row
    V0, V1 = np.zeros(size), np.zeros(size)
    V1[0] = 1
    V0s, V1s = 0, 0
    exponent = 0
    j1, j2 = _pomeranz_bounds(0, n, ll, ceilf, roundf)
    for i in range(1, 2 * n + 2):
        k1 = j1
        V0, V1 = V1, V0
        V0s, V1s = V1s, V0s
        V1.fill(0.0)
        j1, j2 = _pomeranz_bounds(i, n, ll, ceilf, roundf)
        pwrs = powers["g" if i in (1, 2 * n + 1) else ("2g" if i % 2 else "1-2g")]
        length = j2 - k1 + 1
        if length > 0:
            conv = np.convolve(V0[k1 - V0s : k1 - V0s + length], pwrs[:length])
            V1[: j2 - j1 + 1] = conv[j1 - k1 : j2 - k1 + 1]
            if 0 < np.max(V1) < _SMALL:
                V1 *= _BIG
                exponent -= _SCALE_EXPONENT
            V1s = V0s + j1 - k1
    answer = float(V1[n - V1s])
    for k in range(1, n + 1):  # times n!
        if abs(answer) > _BIG:
            answer *= _SMALL
            exponent += _SCALE_EXPONENT
        answer *= k
    return _clip(math.ldexp(answer, exponent))


def _pelz_good_cdf(n: int, x: float) -> float:
    """Pelz and Good's approximation of ``P(D_n <= x)``: Li-Chien and Korolyuk's expansion in
    ``1 / sqrt(n)``, each term rewritten by Jacobi's theta identity for small ``x sqrt(n)``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    z = math.sqrt(n) * x
    z2, z3, z4, z6 = z**2, z**3, z**4, z**6
    qlog = -(math.pi**2) / 8 / z2
    if qlog < _MIN_LOG:
        return 0.0
    q = math.exp(qlog)
    pi2, pi4, pi6 = math.pi**2, math.pi**4, math.pi**6
    k1a, k1b = -z2, pi2 / 4
    k2a, k2b, k2c = 6 * z6 + 2 * z4, (2 * z4 - 5 * z2) * pi2 / 4, pi4 * (1 - 2 * z2) / 16
    k3d, k3c = pi6 * (5 - 30 * z2) / 64, pi4 * (-60 * z2 + 212 * z4) / 16
    k3b, k3a = pi2 * (135 * z4 - 96 * z6) / 4, -30 * z6 - 90 * z**8
    terms = np.zeros(4)
    most = math.ceil(16 * z / math.pi)
    for k in range(most, 0, -1):  # Horner in q over the odd m = 2k - 1
        m = 2 * k - 1
        m2, m4, m6 = m**2, m**4, m**6
        coefficients = np.array([1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                                 k3a + k3b * m2 + k3c * m4 + k3d * m6])  # fmt: skip
        terms *= q ** (8 * k)
        terms += coefficients
    terms *= q * math.sqrt(2 * math.pi)
    terms /= np.array([z, 6 * z4, 72 * z**7, 6480 * z**10])
    q = math.exp(-pi2 / 2 / z2)
    ks = np.arange(most, 0, -1)
    k2 = ks**2
    q_powers = q**k2
    root3z, kpi = math.sqrt(3) * z, math.pi * ks
    terms[2] += np.sum(k2 * q_powers) * pi2 * math.sqrt(2 * math.pi) / (-36 * z3)
    extra = np.sum((root3z + kpi) * (root3z - kpi) * k2 * q_powers)
    terms[3] += extra * pi2 * math.sqrt(2 * math.pi) / (216 * z6)
    terms /= np.power(n * 1.0, np.arange(4) / 2.0)
    return float(sum(terms))


def _log_factorial_over_power(n: int) -> float:
    """``log(n! / n^n)`` by Stirling's series, ``n log n`` removed up front."""
    rn = 1.0 / n
    series = rn * float(np.polyval(_STIRLING, rn / n))
    return math.log(n) / 2 - n + math.log(2 * math.pi) / 2 + series


def _clip(p: float) -> float:
    return min(max(float(p), 0.0), 1.0)
