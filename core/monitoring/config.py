"""The ``[drift]`` and ``[triggers]`` tables of shipway.toml.

::

    [drift]
    small_sample_rows = 1000     # reference values up to which KS / chi-square / z are used
    p_value = 0.05               # small samples: drift when p < this
    distance = 0.1               # large samples: drift when the distance is at least this
    psi_warning = 0.1            # PSI at or above: warning
    psi_drift = 0.2              # PSI at or above: drift
    drift_share = 0.5            # dataset drift when at least this share of the features drift
    missing_share_change = 0.1   # a change of the missing share by this much is reported
    window = 10000               # rows of a deployment's log compared by default
    bucket_seconds = 3600        # bucket length of drift over time by default
    feedback_window_s = 86400    # buckets younger than this recompute their live metric
    min_current_values = 30      # a feature with fewer current values is not tested

    [triggers]
    drift_buckets = 3                  # dataset drift in 3 consecutive buckets: an alert
    live_metrics = { f1 = ">= 0.8" }   # a bucket's live metric breaking the rule: an alert
    min_feedback = 30                  # rows with feedback a bucket needs for its live metric
    retrain = false                    # on an alert: train, register, evaluate gates

Every key is optional (the values above are the defaults, except that no trigger is set).
Mistakes raise :class:`MonitoringConfigError` naming the line of shipway.toml.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.config import load_settings
from core.errors import ProjectError
from core.metrics import ALL_METRICS
from core.settings_rules import (
    THRESHOLD_HINT,
    MetricRule,
    parse_metric_rule,
    settings_text,
    source,
    table_error,
)


class MonitoringConfigError(ProjectError, code="monitoring_config"):
    """The [drift] or [triggers] table of shipway.toml cannot be used as written."""


@dataclass(frozen=True)
class DriftConfig:
    """Thresholds of the drift tests (defaults: the design document's)."""

    small_sample_rows: int = 1000
    p_value: float = 0.05
    distance: float = 0.1
    psi_warning: float = 0.1
    psi_drift: float = 0.2
    drift_share: float = 0.5
    missing_share_change: float = 0.1
    window: int = 10_000
    bucket_seconds: int = 3600
    feedback_window_s: int = 86_400
    min_current_values: int = 30  # fewer current values than this: the feature is not tested
    source: str = field(default="defaults (shipway.toml has no [drift] table)", compare=False)

    def thresholds(self) -> dict[str, Any]:
        """The values that change a drift result (what a cached result depends on)."""
        data = asdict(self)
        for key in ("source", "window", "bucket_seconds", "feedback_window_s"):
            data.pop(key)
        return data

    def key(self) -> str:
        text = json.dumps(self.thresholds(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TriggerConfig:
    drift_buckets: int = 0
    live_metrics: tuple[MetricRule, ...] = ()
    min_feedback: int = 30
    retrain: bool = False
    source: str = field(default="no [triggers] table", compare=False)

    @property
    def active(self) -> bool:
        return self.drift_buckets > 0 or bool(self.live_metrics)


_DRIFT_KEYS: dict[str, tuple[type, float, float | None]] = {
    # key: (type, lowest allowed, highest allowed)
    "small_sample_rows": (int, 0, None),
    "p_value": (float, 0.0, 1.0),
    "distance": (float, 0.0, None),
    "psi_warning": (float, 0.0, None),
    "psi_drift": (float, 0.0, None),
    "drift_share": (float, 0.0, 1.0),
    "missing_share_change": (float, 0.0, 1.0),
    "window": (int, 1, None),
    "bucket_seconds": (int, 1, None),
    "feedback_window_s": (int, 0, None),
    "min_current_values": (int, 1, None),
}


DRIFT_KEYS = frozenset(_DRIFT_KEYS)
TRIGGER_KEYS = ("drift_buckets", "live_metrics", "min_feedback", "retrain")


def load_drift_config(root: Path, raw: dict[str, Any]) -> DriftConfig:
    """The drift thresholds of the project at ``root`` (``raw``: its parsed shipway.toml)."""
    text = settings_text(root)
    table = _table(raw, "drift", text)
    if table is None:
        return DriftConfig()
    values: dict[str, Any] = {}
    for key, value in table.items():
        _check_key(key, _DRIFT_KEYS, "drift", text)
        values[key] = _number(value, key, *_DRIFT_KEYS[key], text)
    config = DriftConfig(**values, source=source(text, "drift"))
    if config.psi_drift < config.psi_warning:
        raise _error("psi_drift must not be below psi_warning", text, "drift", "psi_drift")
    return config


def load_trigger_config(root: Path, raw: dict[str, Any]) -> TriggerConfig:
    text = settings_text(root)
    table = _table(raw, "triggers", text)
    if table is None:
        return TriggerConfig()
    for key in table:
        _check_key(key, TRIGGER_KEYS, "triggers", text)
    retrain = table.get("retrain", False)
    if not isinstance(retrain, bool):
        raise _error(f"retrain must be true or false, not {retrain!r}", text, "triggers", "retrain")
    return TriggerConfig(
        drift_buckets=int(
            _number(table.get("drift_buckets", 0), "drift_buckets", int, 0, None, text)
        ),
        live_metrics=_metric_rules(table.get("live_metrics", {}), text),
        min_feedback=int(
            _number(table.get("min_feedback", 30), "min_feedback", int, 1, None, text)
        ),
        retrain=retrain,
        source=source(text, "triggers"),
    )


def current_drift_config(root: Path) -> DriftConfig:
    """The drift thresholds as the project's shipway.toml at ``root`` says now."""
    return load_drift_config(root, load_settings(root).raw)


def current_trigger_config(root: Path) -> TriggerConfig:
    """The triggers as the project's shipway.toml at ``root`` says now."""
    return load_trigger_config(root, load_settings(root).raw)


def _check_key(key: str, known: Collection[str], table: str, text: str) -> None:
    if key not in known:
        raise _error(
            f"unknown key {key!r} in [{table}]",
            text,
            table,
            key,
            f"known keys: {', '.join(known)}",
        )


def _metric_rules(value: Any, text: str) -> tuple[MetricRule, ...]:
    if not isinstance(value, dict):
        raise _error(
            "live_metrics must be a table of metric = threshold",
            text,
            "triggers",
            "live_metrics",
            'write live_metrics = { f1 = ">= 0.8" }',
        )
    rules = []
    for metric, threshold in value.items():
        if metric not in ALL_METRICS:
            raise _error(
                f"unknown metric {metric!r} in live_metrics",
                text,
                "triggers",
                metric,
                f"known metrics: {', '.join(ALL_METRICS)}",
            )
        rules.append(_metric_rule(metric, threshold, text))
    return tuple(rules)


def _metric_rule(metric: str, threshold: Any, text: str) -> MetricRule:
    rule = parse_metric_rule(metric, threshold)
    if rule is None:
        raise _error(
            f"the threshold of {metric} ({threshold!r}) is not a comparison",
            text,
            "triggers",
            metric,
            THRESHOLD_HINT,
        )
    return rule


def _number(value: Any, key: str, kind: type, low: float, high: float | None, text: str) -> Any:
    table = "drift" if key in _DRIFT_KEYS else "triggers"
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and kind is int:
        ok = float(value).is_integer()
    if ok:
        ok = value >= low and (high is None or value <= high)
    if not ok:
        bounds = f"≥ {low:g}" + (f" and ≤ {high:g}" if high is not None else "")
        what = "a whole number" if kind is int else "a number"
        raise _error(f"{key} must be {what} {bounds}, not {value!r}", text, table, key)
    return kind(value)


def _table(raw: dict[str, Any], name: str, text: str) -> dict[str, Any] | None:
    if name not in raw:
        return None
    table = raw[name]
    if not isinstance(table, dict):
        raise _error(f"[{name}] must be a table", text, name, None)
    return table


# -- naming the line ----------------------------------------------------------------------


_error = functools.partial(table_error, MonitoringConfigError)
