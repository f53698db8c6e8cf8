"""The ranking of a parent run's children (a search's trials, or ``--model all``'s estimators).

Best first on the project's primary metric; runs without a value for it (failed, cancelled,
or the metric could not be computed) come last, in the order they were recorded. Beside each:
its fit time and single-row predict latency, since the most accurate model is not always the
one to serve.
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import Any

from core import metrics
from core.entities import Run


def rank(children: list[Run], metric: str) -> list[dict[str, Any]]:
    """One row per child, best first: rank, run, estimator, status, value, fit and latency."""

    def order(a: Run, b: Run) -> int:
        if metrics.is_better(metric, a.metrics.get(metric), b.metrics.get(metric)):
            return -1
        if metrics.is_better(metric, b.metrics.get(metric), a.metrics.get(metric)):
            return 1
        return a.id - b.id

    ranked = sorted(children, key=cmp_to_key(order))
    return [
        {
            "rank": number,
            "run": run.id,
            "estimator": run.estimator,
            "status": run.status,
            "metric": metric,
            "value": metrics.finite(run.metrics.get(metric)),
            "fit_s": run.timings.get("fit"),
            "predict_p50_ms": run.timings.get("predict_p50_ms"),
            "predict_p95_ms": run.timings.get("predict_p95_ms"),
            "is_best": run.is_best,
            "error": run.error,
        }
        for number, run in enumerate(ranked, start=1)
    ]
