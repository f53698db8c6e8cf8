"""Drift results as data: frozen records with ``to_dict`` (and ``from_dict``, for the cache).

Numbers are plain floats and never NaN or infinite: what cannot be computed is ``None`` with a
``note`` saying why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

STATUSES = (
    "tested",
    "missing_column",
    "no_current_values",
    "too_few_values",
    "no_reference_values",
)


def finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Histogram:
    """Shares of the reference and of the current data over the same bins or categories.

    ``kind`` "bins": ``edges`` has one more entry than the shares; "categories": ``labels``
    names each share (the last may be "(other)").
    """

    kind: str
    reference: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Histogram:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


@dataclass(frozen=True)
class FeatureDrift:
    """The drift of one column (a feature, the prediction or the target).

    ``score`` is what ``threshold`` applies to: the p-value of ``ks``, ``chisquare`` and ``z``
    (drift when ``score < threshold``) or the distance of ``wasserstein`` (normed) and
    ``jensenshannon`` (drift when ``score >= threshold``); ``rule`` says it in words.
    ``statistic`` is the test's own statistic (KS D, chi-square, z, or the distance).
    """

    name: str
    kind: str
    role: str = "feature"
    status: str = "tested"
    test: str | None = None
    test_name: str = ""
    statistic: float | None = None
    p_value: float | None = None
    distance: float | None = None
    score: float | None = None
    threshold: float | None = None
    rule: str = ""
    drifted: bool = False
    psi: float | None = None
    psi_level: str | None = None
    reference_rows: int = 0
    current_rows: int = 0
    reference_values: int = 0
    current_values: int = 0
    missing_share_reference: float = 0.0
    missing_share_current: float | None = None
    missing_share_changed: bool = False
    unseen: tuple[tuple[str, int], ...] = ()
    unseen_categories: int = 0
    unseen_share: float = 0.0
    summary: dict[str, float | None] = field(default_factory=dict)
    histogram: Histogram | None = None
    note: str = ""

    def to_dict(self, histogram: bool = True) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["unseen"] = [{"value": value, "count": count} for value, count in self.unseen]
        data["histogram"] = (
            self.histogram.to_dict() if histogram and self.histogram is not None else None
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureDrift:
        data = dict(data)
        data["unseen"] = tuple((item["value"], item["count"]) for item in data["unseen"])
        if data.get("histogram") is not None:
            data["histogram"] = Histogram.from_dict(data["histogram"])
        return cls(**data)


@dataclass(frozen=True)
class LiveMetrics:
    """Metrics of the rows that received feedback, beside the version's test-split metrics."""

    rows: int
    metrics: dict[str, float | None]
    training: dict[str, float | None]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveMetrics:
        return cls(data["rows"], data["metrics"], data["training"], tuple(data["notes"]))


@dataclass(frozen=True)
class DriftReport:
    """The drift of one window of current data against a version's reference."""

    model: str
    version: int
    source: str
    reference_rows: int
    current_rows: int
    dataset_drift: bool
    drift_share: float
    drifted_features: int
    tested_features: int
    features: tuple[FeatureDrift, ...]
    prediction: FeatureDrift | None = None
    target: FeatureDrift | None = None
    live: LiveMetrics | None = None
    problems: tuple[str, ...] = ()
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted features."""
        return [feature.name for feature in self.features if feature.drifted]

    def feature(self, name: str) -> FeatureDrift:
        return next(feature for feature in self.features if feature.name == name)

    def to_dict(self, histograms: bool = True) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["features"] = [feature.to_dict(histograms) for feature in self.features]
        for key in ("prediction", "target", "live"):
            value = getattr(self, key)
            data[key] = (
                None
                if value is None
                else (
                    value.to_dict(histograms)
                    if isinstance(value, FeatureDrift)
                    else value.to_dict()
                )
            )
        data["problems"] = list(self.problems)
        data["drifted"] = self.drifted
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        data = {k: v for k, v in data.items() if k in {f.name for f in fields(cls)}}
        data["features"] = tuple(FeatureDrift.from_dict(item) for item in data["features"])
        for key in ("prediction", "target"):
            if data.get(key) is not None:
                data[key] = FeatureDrift.from_dict(data[key])
        if data.get("live") is not None:
            data["live"] = LiveMetrics.from_dict(data["live"])
        data["problems"] = tuple(data.get("problems", ()))
        return cls(**data)


@dataclass(frozen=True)
class BucketDrift:
    """One time bucket ``[start, end)`` (ISO 8601 UTC) of a deployment's prediction log."""

    start: str
    end: str
    rows: int
    requests: int
    complete: bool
    cached: bool
    report: DriftReport

    def to_dict(self, histograms: bool = True) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "report"}
        data["report"] = self.report.to_dict(histograms)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], cached: bool = True) -> BucketDrift:
        return cls(
            data["start"],
            data["end"],
            data["rows"],
            data["requests"],
            data["complete"],
            cached,
            DriftReport.from_dict(data["report"]),
        )


@dataclass(frozen=True)
class DriftSeries:
    """Drift per time bucket of a deployment, oldest first."""

    model: str
    version: int
    deployment: str
    bucket_seconds: int
    buckets: tuple[BucketDrift, ...]
    cache: str = ""

    @property
    def latest(self) -> BucketDrift | None:
        return self.buckets[-1] if self.buckets else None

    def to_dict(self, histograms: bool = True) -> dict[str, Any]:
        latest = self.latest.report.to_dict(histograms) if self.latest else None
        return {
            "model": self.model,
            "version": self.version,
            "deployment": self.deployment,
            "bucket_seconds": self.bucket_seconds,
            "dataset_drift": bool(latest and latest["dataset_drift"]),
            "drift_share": latest["drift_share"] if latest else 0.0,
            "features": latest["features"] if latest else [],
            "buckets": [bucket.to_dict(histograms) for bucket in self.buckets],
            "cache": self.cache,
        }


@dataclass(frozen=True)
class LiveSegment:
    """One value of a segment column on the rows with feedback.

    ``metrics`` are the live metrics of its rows; ``intervals`` their 95% bootstrap interval
    (``(low, high)``; empty with ``note`` saying ``n < N`` when the rows are too few);
    ``test`` the same metrics of that value on the version's test split (``test_rows`` rows;
    None where the split has no such value).
    """

    value: str
    rows: int
    metrics: dict[str, float | None]
    intervals: dict[str, tuple[float, float]]
    test: dict[str, float | None]
    test_rows: int | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["intervals"] = {k: list(v) for k, v in self.intervals.items()}
        return data


@dataclass(frozen=True)
class LiveSegmentColumn:
    """The live metrics per value of one segment column, and the gap of the primary metric
    between its best and worst value (among those with enough rows; None with fewer than
    two). ``status`` is ``measured`` or ``missing_column`` (not in the logged inputs)."""

    column: str
    status: str
    segments: tuple[LiveSegment, ...] = ()
    gap: float | None = None
    best: str | None = None
    worst: str | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["segments"] = [segment.to_dict() for segment in self.segments]
        data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True)
class LiveSegments:
    """Live metrics per segment of what a deployment answered with its version.

    ``status``: ``measured``; ``no_feedback`` (no logged row has an actual value yet);
    ``no_segments`` (``[evaluation] segments`` names no column). ``rows`` counts the rows with
    feedback, ``logged_rows`` the predicted rows read from the log; ``metric`` is the primary
    metric the gaps are of, ``min_rows`` the rows a segment needs to count in a gap.
    """

    deployment: str
    model: str
    version: int
    status: str
    metric: str
    metrics: tuple[str, ...]
    rows: int
    logged_rows: int
    min_rows: int
    columns: tuple[LiveSegmentColumn, ...] = ()
    overall: LiveMetrics | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["metrics"] = list(self.metrics)
        data["columns"] = [column.to_dict() for column in self.columns]
        data["overall"] = None if self.overall is None else self.overall.to_dict()
        data["notes"] = list(self.notes)
        return data
