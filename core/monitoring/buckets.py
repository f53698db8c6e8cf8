"""Drift over time: a deployment's prediction log cut into fixed buckets, each compared once.

Buckets are ``[k * S, (k + 1) * S)`` in UTC epoch seconds (``S`` = ``bucket_seconds``), so they
line up across calls; only rows answered by the version being monitored count, and buckets
without rows are left out of the series. A bucket is *complete* once its end is
:data:`GRACE_S` seconds in the past (the log is written off the request path, a moment after the
answer). Complete buckets are cached as JSON in the deployment's folder::

    deployments/ID/monitoring/v{VERSION}-{REFERENCE SHA256[:12]}-{THRESHOLDS KEY}/{S}s/
        index.json         {"through": EPOCH}: every complete bucket before EPOCH is cached
        {START}.json       one bucket: its DriftReport (with histograms) and live metrics

so a new call reads the log from ``through`` on and compares only the new buckets. Another
reference or other thresholds get another folder. Feedback can arrive after a bucket completed:
the live metrics of buckets younger than ``feedback_window_s`` are recomputed on every call
(their drift is not).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.entities import ModelVersion
from core.monitoring.config import DriftConfig
from core.monitoring.engine import compare
from core.monitoring.live import live_metrics
from core.monitoring.reference import Reference
from core.monitoring.results import BucketDrift
from core.monitoring.sources import from_log
from core.progress import CancelToken, ProgressFn, no_progress

GRACE_S = 5.0
CACHE_DIR = "monitoring"


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cache_folder(
    log_folder: Path, version: ModelVersion, sha256: str, config: DriftConfig, seconds: int
) -> Path:
    return (
        log_folder / CACHE_DIR / f"v{version.version}-{sha256[:12]}-{config.key()}" / f"{seconds}s"
    )


def bucket_series(
    log_folder: Path,
    version: ModelVersion,
    reference: tuple[str, Reference],
    config: DriftConfig,
    seconds: int,
    *,
    last: int | None = None,
    now: float | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> tuple[list[BucketDrift], Path]:
    """The buckets of ``version``'s traffic in the log at ``log_folder``, oldest first; with
    ``last``, only those of the last ``last`` bucket lengths (the filling one included)."""
    now = time.time() if now is None else now
    horizon = None if last is None else (math.floor(now / seconds) - last + 1) * seconds
    folder = cache_folder(log_folder, version, reference[0], config, seconds)
    cached, damaged = _read_cached(folder, horizon)
    through = None if damaged else _read_index(folder)
    complete_until = math.floor((now - GRACE_S) / seconds) * seconds
    read_from = _read_from(through, horizon, now, seconds, config)
    groups = _groups(_log_frame(log_folder, version, read_from), seconds)
    for index, (start, rows) in enumerate(groups):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress((index + 1) / max(len(groups), 1), f"bucket {stamp(start)}")
        if through is not None and start + seconds <= through and start in cached:
            cached[start] = _with_live(cached[start], rows, version, folder, start)
            continue
        bucket = _bucket(rows, start, seconds, version, reference[1], config, complete_until)
        if bucket.complete:
            _write(folder / f"{start}.json", bucket.to_dict())
        cached[start] = bucket
    if horizon is None or (through is not None and through >= horizon):  # read all since then
        done = complete_until if through is None else max(through, complete_until)
        _write(folder / "index.json", {"through": done})
    return [cached[start] for start in sorted(cached)], folder


def _read_from(
    through: int | None, horizon: int | None, now: float, seconds: int, config: DriftConfig
) -> int | None:
    """Where to read the log from: the first uncached bucket, or earlier for late feedback,
    and never before ``horizon``."""
    read_from = through
    if through is not None and config.feedback_window_s > 0:
        read_from = min(through, math.floor((now - config.feedback_window_s) / seconds) * seconds)
    if horizon is not None:
        read_from = horizon if read_from is None else max(read_from, horizon)
    return read_from


def _bucket(
    rows: pd.DataFrame,
    start: int,
    seconds: int,
    version: ModelVersion,
    reference: Reference,
    config: DriftConfig,
    complete_until: int,
) -> BucketDrift:
    source = f"bucket {stamp(start)}, {len(rows):,} rows"
    report = compare(
        reference,
        from_log(rows, version, source),
        config,
        model=version.model,
        version=version.version,
        live=live_of(rows, version),
    )
    requests = int(rows["request_id"].nunique())
    complete = start + seconds <= complete_until
    return BucketDrift(
        stamp(start), stamp(start + seconds), len(rows), requests, complete, False, report
    )


def live_of(rows: pd.DataFrame, version: ModelVersion) -> Any:
    """Live metrics of logged rows (``prediction`` and ``actual`` columns), or None."""
    if "actual" not in rows.columns or "prediction" not in rows.columns:
        return None
    classes = version.io_schema.get("output", {}).get("classes", [])
    return live_metrics(version.task, classes, rows["prediction"], rows["actual"], version.metrics)


def _with_live(bucket: BucketDrift, rows, version: ModelVersion, folder: Path, start: int):
    """A cached bucket with its live metrics recomputed (feedback may have come since)."""
    live = live_of(rows, version)
    if live == bucket.report.live:
        return bucket
    updated = replace(bucket, report=replace(bucket.report, live=live))
    _write(folder / f"{start}.json", updated.to_dict())
    return updated


def _log_frame(log_folder: Path, version: ModelVersion, since: int | None) -> pd.DataFrame:
    from core.serving.logreader import inputs_frame

    frame = inputs_frame(log_folder, since=None if since is None else stamp(since))
    if not len(frame):
        return frame
    return frame[frame["version"] == version.version]


def _groups(frame: pd.DataFrame, seconds: int) -> list[tuple[int, pd.DataFrame]]:
    if not len(frame):
        return []
    epoch = (frame["time"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    starts = (epoch.to_numpy() // seconds) * seconds
    return [(int(start), rows) for start, rows in frame.groupby(starts, sort=True)]


def _read_index(folder: Path) -> int | None:
    try:
        return int(json.loads((folder / "index.json").read_text(encoding="utf-8"))["through"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_cached(folder: Path, horizon: int | None) -> tuple[dict[int, BucketDrift], bool]:
    """The cached buckets from ``horizon`` on, and whether one was unreadable (it is dropped,
    and the whole log read again so that it is recomputed)."""
    found: dict[int, BucketDrift] = {}
    damaged = False
    if not folder.is_dir():
        return found, damaged
    for path in folder.glob("*.json"):
        if not path.stem.isdigit() or (horizon is not None and int(path.stem) < horizon):
            continue
        try:
            found[int(path.stem)] = BucketDrift.from_dict(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            path.unlink(missing_ok=True)
            damaged = True
    return found, damaged


def _write(path: Path, document: dict[str, Any]) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, allow_nan=False), encoding="utf-8")
    os.replace(temporary, path)
