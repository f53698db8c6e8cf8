"""Evidently's smoothing of empty bins, the one both drift computations use.

The drift window of a server (:mod:`core.serving.drift_reference`) and Shipway's drift
monitoring (:mod:`core.monitoring.stats`) compute the population stability index of the same
bins; both smooth empty bins here, so the two agree. It imports numpy alone: the monitoring
floor reads it without loading pandas, and a bundle ships it.
"""

from __future__ import annotations

import numpy as np


def fill_zeroes(shares: np.ndarray) -> np.ndarray:
    """Evidently's ``feel_zeroes``: empty bins get a small share, so logarithms stay finite.

    The share is the smallest non-zero share / 10**6 when that is at most 0.0001, else 0.0001.
    """
    shares = np.asarray(shares, dtype=np.float64)
    nonzero = shares[shares != 0]
    if nonzero.size == 0 or nonzero.size == shares.size:
        return shares
    smallest = float(nonzero.min())
    filled = shares.copy()
    filled[shares == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return filled
