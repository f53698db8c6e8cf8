"""What the Monitoring page plots, read in the background from the engine's answers.

:func:`read_snapshot` runs on a pool thread and only reads: ``ws.monitoring.traffic`` gives
request rate, latency percentiles, errors and the prediction mix per bucket of the chosen range
(a ``TrafficSeries``); ``ws.monitoring.drift_series`` gives drift per feature per bucket;
``ws.monitoring.drift`` over the last rows gives the histograms and the verdict now;
``ws.monitoring.alerts`` the alerts recorded. A look never evaluates the [triggers] of
shipway.toml, never trains or registers, and never reloads the project's settings (the engine
reads [drift] fresh at each call): firing triggers is the page's explicit "Check triggers now"
(:mod:`desktop.pages.monitoring.actions`). The GUI thread only hands the arrays to the plots.

Drift scores are made comparable across features: the engine's score is a p-value for KS,
chi-square and z (drift when *below* the threshold) and a distance for Wasserstein and
Jensen-Shannon (drift when *at or above* it). Plotted, a p-value becomes ``-log10(p)`` and its
threshold ``-log10(0.05)``, so that for every test "above the line" means drift; when the
features of one view mix both kinds, each score is divided by its threshold (line at 1).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from core.entities import Deployment, ModelVersion
from core.errors import ShipwayError

P_VALUE_TESTS = ("ks", "chisquare", "z")
P_FLOOR = 1e-12  # -log10 of p-values below this is drawn as 12
WINDOW_ROWS = 500  # rows behind the "now" verdict and the histograms


@dataclass(frozen=True)
class TimeRange:
    label: str
    seconds: int
    bucket_seconds: int

    @property
    def buckets(self) -> int:
        return self.seconds // self.bucket_seconds


RANGES = (
    TimeRange("Last 5 minutes", 300, 10),
    TimeRange("Last hour", 3600, 60),
    TimeRange("Last day", 86400, 1800),
    TimeRange("Last week", 604800, 21600),
)


@dataclass(frozen=True)
class DriftOverTime:
    features: list[str]
    times: np.ndarray
    scores: dict[str, np.ndarray]  # plotted score per feature (NaN: not tested)
    threshold: float  # the line, in the plotted unit
    axis_label: str
    levels: np.ndarray  # features × buckets, score / threshold (NaN: not tested or no data)
    untested: np.ndarray  # features × buckets, True where the engine did not test (too few
    # rows, no values...): drawn grey, never as drift
    live: np.ndarray  # live value of ``metric`` per bucket (NaN: no feedback)
    feedback_rows: np.ndarray
    metric: str
    training_value: float | None


@dataclass(frozen=True)
class Snapshot:
    deployment: Deployment
    version: ModelVersion
    time_range: TimeRange
    traffic: Any  # the engine's TrafficSeries of the range
    drift: DriftOverTime | None
    window: Any  # DriftReport of the last WINDOW_ROWS rows, or None
    alerts: list[Any]
    read_at: float = field(default_factory=time.time)
    problems: tuple[str, ...] = ()


def plotted_score(feature) -> tuple[float, float, str] | None:
    """(score, threshold, kind) in the plotted unit, or None when the feature was not tested."""
    if feature.status != "tested" or feature.score is None or feature.threshold is None:
        return None
    if feature.test in P_VALUE_TESTS:
        p = max(feature.score, P_FLOOR)
        return -math.log10(p), -math.log10(feature.threshold), "p"
    return float(feature.score), float(feature.threshold), "distance"


def drift_over_time(series, features: list[str], metric: str, training: float | None):
    """Scores, heat levels and the live metric per bucket of a DriftSeries."""
    buckets = list(series.buckets)
    n = len(buckets)
    size = series.bucket_seconds
    times = np.array([_epoch(b.start) + size / 2 for b in buckets], dtype=float)
    raw = {name: np.full(n, np.nan) for name in features}
    levels = np.full((len(features), n), np.nan)
    untested = np.zeros((len(features), n), dtype=bool)
    kinds, thresholds = set(), set()
    live, rows = np.full(n, np.nan), np.zeros(n)
    for column, bucket in enumerate(buckets):
        by_name = {f.name: f for f in bucket.report.features}
        for row, name in enumerate(features):
            found = by_name.get(name)
            value = plotted_score(found) if found is not None else None
            untested[row, column] = found is not None and value is None
            if value is not None:
                raw[name][column] = value[0]
                levels[row, column] = value[0] / value[1] if value[1] > 0 else np.nan
                kinds.add(value[2])
                thresholds.add(round(value[1], 9))
        report_live = bucket.report.live
        if report_live is not None and report_live.rows:
            rows[column] = report_live.rows
            value = report_live.metrics.get(metric)
            live[column] = np.nan if value is None else value
    if len(kinds) <= 1 and len(thresholds) <= 1:
        threshold = thresholds.pop() if thresholds else -math.log10(0.05)
        kind = kinds.pop() if kinds else "p"
        label = "−log₁₀ p" if kind == "p" else "distance"
        scores = raw
    else:
        threshold, label = 1.0, "score ÷ threshold"
        scores = {name: levels[row] for row, name in enumerate(features)}
    return DriftOverTime(
        features, times, scores, threshold, label, levels, untested, live, rows, metric, training
    )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def live_metric_name(version: ModelVersion, primary: str) -> str:
    """The metric live values are plotted in: the primary one when feedback can give it."""
    if primary in ("roc_auc", "log_loss"):  # need probabilities, not in live metrics
        return "f1" if version.task == "classification" else "rmse"
    return primary


def read_snapshot(workspace, deployment_id: str, time_range: TimeRange) -> Snapshot:
    """Everything one look at a deployment shows (called on a pool thread; reads only)."""
    monitoring = workspace.monitoring
    deployment = workspace.deployments.get(deployment_id)
    version = workspace.registry.version(f"{deployment.model}@{deployment.version}")
    now = time.time()
    size = time_range.bucket_seconds
    seen = monitoring.traffic(deployment_id, size, time_range.buckets, now=now)
    metric = live_metric_name(version, workspace.runs.primary_metric(version.task))
    problems: list[str] = []
    drift = window = None
    try:
        series = monitoring.drift_series(
            version.ref, deployment_id, size, last=time_range.buckets, now=now
        )
        drift = drift_over_time(series, version.features, metric, version.metrics.get(metric))
        if seen.total:
            window = monitoring.drift(version.ref, deployment=deployment_id, window=WINDOW_ROWS)
    except ShipwayError as error:  # e.g. a bad [drift] table: say it, keep the traffic plots
        problems.append(error.one_line())
    alerts = monitoring.alerts(deployment.model, deployment=deployment_id, limit=30)
    return Snapshot(
        deployment, version, time_range, seen, drift, window, alerts, now, tuple(problems)
    )
