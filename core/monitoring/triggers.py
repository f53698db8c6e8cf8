"""When monitoring raises an alert, and the retraining an alert can start.

Triggers look at the *complete* buckets of a drift series, newest last (buckets without traffic
are not in a series, so an idle hour neither breaks nor extends a streak):

- ``drift_buckets = K``: the newest K or more complete buckets all show dataset drift;
- ``live_metrics``: the newest complete bucket with at least ``min_feedback`` rows of feedback
  breaks a rule; earlier such buckets breaking it too belong to the same streak.

An alert fires once per streak, when the streak is still going on at the newest complete
bucket; it is keyed by the streak's first bucket, so looking again does not fire it again and a
streak that ended before anyone looked never fires. With ``retrain = true`` the alert starts one
run with the version's spec on the newest version of its data set, registers the run as the next
version of the model and evaluates its ``production`` gates; nothing is promoted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.monitoring.config import TriggerConfig
from core.monitoring.results import BucketDrift


@dataclass(frozen=True)
class PendingAlert:
    kind: str
    bucket_start: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


def due_alerts(buckets: list[BucketDrift], triggers: TriggerConfig) -> list[PendingAlert]:
    """The alerts the streaks at the end of ``buckets`` call for (recorded or not yet)."""
    complete = [bucket for bucket in buckets if bucket.complete]
    found = []
    if triggers.drift_buckets:
        found.extend(_drift_alert(complete, triggers.drift_buckets))
    if triggers.live_metrics:
        found.extend(_metric_alert(complete, triggers))
    return found


def _trailing(buckets: list[BucketDrift], holds: Any) -> list[BucketDrift]:
    streak: list[BucketDrift] = []
    for bucket in reversed(buckets):
        if not holds(bucket):
            break
        streak.insert(0, bucket)
    return streak


def _drift_alert(complete: list[BucketDrift], needed: int) -> list[PendingAlert]:
    streak = _trailing(complete, lambda bucket: bucket.report.dataset_drift)
    if len(streak) < needed:
        return []
    latest = streak[-1].report
    message = (
        f"dataset drift in {len(streak)} consecutive buckets since {streak[0].start} "
        f"(latest: {latest.drifted_features} of {latest.tested_features} features drifted: "
        f"{', '.join(latest.drifted) or 'none'})"
    )
    detail = {
        "buckets": [bucket.start for bucket in streak],
        "drift_share": latest.drift_share,
        "drifted": latest.drifted,
        "needed": needed,
    }
    return [PendingAlert("drift", streak[0].start, message, detail)]


def _broken(bucket: BucketDrift, triggers: TriggerConfig) -> list[str]:
    live = bucket.report.live
    return [
        f"{rule.metric} = {live.metrics[rule.metric]:.4g} breaks {rule}"
        for rule in triggers.live_metrics
        if live.metrics.get(rule.metric) is not None and not rule.holds(live.metrics[rule.metric])
    ]


def _metric_alert(complete: list[BucketDrift], triggers: TriggerConfig) -> list[PendingAlert]:
    measured = [
        bucket
        for bucket in complete
        if bucket.report.live is not None and bucket.report.live.rows >= triggers.min_feedback
    ]
    streak = _trailing(measured, lambda bucket: bool(_broken(bucket, triggers)))
    if not streak:
        return []
    latest = streak[-1]
    broken = _broken(latest, triggers)
    message = (
        f"live metric off its rule in bucket {latest.start} ({latest.report.live.rows} rows "
        f"with feedback): {'; '.join(broken)}"
    )
    detail = {
        "buckets": [bucket.start for bucket in streak],
        "broken": broken,
        "metrics": latest.report.live.metrics,
        "training": latest.report.live.training,
    }
    return [PendingAlert("metric", streak[0].start, message, detail)]
