"""What a deployment answered, per time bucket: request rate, latency, errors, prediction mix.

Read from the prediction log (every ``POST /predict`` answer is in it, refusals included).
Buckets are ``k·S`` seconds since 1970 (the drift buckets' grid), the newest the one filling
now. Latency percentiles are over answered and refused requests alike (both are what a client
waited for); the prediction mix counts predicted rows by class for a classifier, the mean
prediction per bucket for a regressor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.serving.logreader import requests_frame
from core.times import epoch_iso_seconds

MAX_REQUESTS = 50_000  # requests read per look (a week of heavy traffic is sampled by time)


@dataclass(frozen=True)
class TrafficSeries:
    """Per bucket, oldest first; NaN where a bucket had no request (or no prediction)."""

    deployment: str
    bucket_seconds: int
    starts: np.ndarray  # bucket starts, seconds since 1970
    requests: np.ndarray
    errors: np.ndarray  # answers with status >= 400
    p50_ms: np.ndarray
    p95_ms: np.ndarray
    mix: dict[str, np.ndarray]  # class → share of the bucket's predicted rows (classifiers)
    mean_prediction: np.ndarray | None  # regressors

    @property
    def centres(self) -> np.ndarray:
        return self.starts + self.bucket_seconds / 2

    @property
    def rate(self) -> np.ndarray:
        """Requests per second."""
        return self.requests / self.bucket_seconds

    @property
    def total(self) -> int:
        return int(self.requests.sum())

    def to_dict(self) -> dict[str, Any]:
        buckets = []
        for i, start in enumerate(self.starts.tolist()):
            entry: dict[str, Any] = {
                "start": epoch_iso_seconds(start),
                "requests": int(self.requests[i]),
                "rate_per_s": _number(self.rate[i]),
                "errors": int(self.errors[i]),
                "latency_p50_ms": _number(self.p50_ms[i]),
                "latency_p95_ms": _number(self.p95_ms[i]),
            }
            if self.mix:
                entry["mix"] = {label: _number(share[i]) for label, share in self.mix.items()}
            if self.mean_prediction is not None:
                entry["mean_prediction"] = _number(self.mean_prediction[i])
            buckets.append(entry)
        return {
            "deployment": self.deployment,
            "bucket_seconds": self.bucket_seconds,
            "total": self.total,
            "buckets": buckets,
        }


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else round(float(value), 6)


def bucket_grid(now: float, bucket_seconds: int, buckets: int) -> np.ndarray:
    """Starts ``k·S`` of the last ``buckets`` buckets, the newest the one filling at ``now``."""
    last = math.floor(now / bucket_seconds) * bucket_seconds
    return np.arange(last - (buckets - 1) * bucket_seconds, last + 1, bucket_seconds, dtype=float)


def traffic_series(
    log_dir: Path,
    deployment: str,
    classes: list[str],
    bucket_seconds: int,
    buckets: int,
    now: float,
) -> TrafficSeries:
    """The traffic of the last ``buckets`` buckets of ``bucket_seconds`` at ``now``."""
    starts = bucket_grid(now, bucket_seconds, buckets)
    since = datetime.fromtimestamp(starts[0], UTC)
    frame = requests_frame(log_dir, since=since, last=MAX_REQUESTS)
    return per_bucket(frame, deployment, starts, bucket_seconds, classes)


def per_bucket(
    frame: pd.DataFrame, deployment: str, starts: np.ndarray, size: int, classes: list[str]
) -> TrafficSeries:
    """Counts, latency, errors and prediction mix of ``frame`` (one row per request)."""
    n = len(starts)
    requests, errors = np.zeros(n), np.zeros(n)
    p50, p95 = np.full(n, np.nan), np.full(n, np.nan)
    counts = {c: np.zeros(n) for c in classes}
    sums, predicted = np.zeros(n), np.zeros(n)
    if len(frame):
        since_1970 = frame["time"] - pd.Timestamp("1970-01-01", tz="UTC")
        epoch = (since_1970 / pd.Timedelta(seconds=1)).to_numpy(dtype=float)
        index = np.floor((epoch - starts[0]) / size).astype(int)
        for position in np.unique(index[(index >= 0) & (index < n)]):
            rows = frame[index == position]
            requests[position] = len(rows)
            latency = rows["latency_ms"].to_numpy(dtype=float)
            p50[position], p95[position] = np.percentile(latency, [50, 95])
            errors[position] = int((rows["status"] >= 400).sum())
            _count_predictions(rows, position, counts, sums, predicted)
    total = sum(counts.values()) if counts else None
    mix = {
        c: np.divide(v, total, out=np.full(n, np.nan), where=total > 0) for c, v in counts.items()
    }
    mean = (
        None if classes else np.divide(sums, predicted, out=np.full(n, np.nan), where=predicted > 0)
    )
    return TrafficSeries(deployment, size, starts, requests, errors, p50, p95, mix, mean)


def _count_predictions(rows: pd.DataFrame, position: int, counts, sums, predicted) -> None:
    for outputs in rows["outputs"]:
        for value in (outputs or {}).get("predictions") or []:
            if value is None:
                continue
            if counts:
                key = str(value)
                if key in counts:
                    counts[key][position] += 1
            elif isinstance(value, int | float):
                sums[position] += value
                predicted[position] += 1
