"""The metric vocabulary shared by runs, comparison, gates, the GUI and JSON output.

Kept free of numpy and scikit-learn so that commands which only rank or check metrics (``runs
list``, ``models gates``) do not pay for importing them.
"""

from __future__ import annotations

import math
from typing import Any

CLASSIFICATION_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
)
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")
ALL_METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS
GREATER_IS_BETTER: dict[str, bool] = {
    "accuracy": True,
    "balanced_accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "log_loss": False,
    "mae": False,
    "rmse": False,
    "r2": True,
    "mape": False,
}
DEFAULT_PRIMARY = {"classification": "f1", "regression": "rmse"}


def metrics_for(task: str) -> tuple[str, ...]:
    """The metric names a task records."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or infinite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def is_better(metric: str, a: float | None, b: float | None) -> bool:
    """Whether value ``a`` of ``metric`` is strictly better than ``b``; None (or NaN) is worst."""
    if metric not in GREATER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(GREATER_IS_BETTER)}")
    a, b = finite(a), finite(b)
    if a is None:
        return False
    if b is None:
        return True
    return a > b if GREATER_IS_BETTER[metric] else a < b
