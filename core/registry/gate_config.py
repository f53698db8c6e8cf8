"""Validation gates as written in shipway.toml, one table per guarded alias.

::

    [gates.production]
    metrics = { f1 = ">= 0.85", log_loss = "<= 0.4" }    # on the version's test split
    no_regression = { metric = "f1", max_drop = 0.01 }  # or max_drop_relative = 0.02
    max_latency_p95_ms = 50
    max_size_mb = 200
    data_checks = true
    smoke_test = true
    approval = true
    data_contract = true                                # the test rows meet the contract
    max_disparity = { metric = "recall", by = "sex", max_gap = 0.05 }   # min_rows = 20
    challenger_wins = { metric = "f1", min_rows = 200, confidence = 0.95 }

A threshold is ``"OP NUMBER"`` (``>=``, ``>``, ``<=``, ``<``) or a bare number, which means "at
least" for metrics where higher is better and "at most" for the others. An alias without a table
has no gates, except ``production``, which is guarded by :data:`DEFAULT_PRODUCTION` until the
file says otherwise (an empty ``[gates.production]`` table switches every rule off).

Mistakes in the file (an unknown rule or metric, a threshold that does not parse, a wrong type)
raise :class:`GateConfigError` naming the line of shipway.toml, before anything is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ProjectError
from core.metrics import ALL_METRICS
from core.settings_rules import (
    THRESHOLD_HINT,
    MetricRule,
    parse_metric_rule,
    settings_text,
    source,
    where,
)

RULES = (
    "metrics",
    "no_regression",
    "max_latency_p95_ms",
    "max_size_mb",
    "data_checks",
    "smoke_test",
    "approval",
    "data_contract",
    "max_disparity",
    "challenger_wins",
)


class GateConfigError(ProjectError, code="gate_config"):
    """The gates in shipway.toml cannot be used as written."""


@dataclass(frozen=True)
class NoRegressionRule:
    metric: str | None  # None: the project's primary metric
    max_drop: float = 0.0
    relative: bool = False  # max_drop is a share of the incumbent's value


@dataclass(frozen=True)
class DisparityRule:
    """``metric``'s largest gap between the segments of column ``by`` is at most ``max_gap``;
    segments with fewer than ``min_rows`` test rows are not compared."""

    metric: str
    by: str
    max_gap: float
    min_rows: int = 20


@dataclass(frozen=True)
class ChallengerWinsRule:
    """The version must beat the champion on live traffic, as a running challenger."""

    metric: str | None = None  # None: the project's primary metric
    min_rows: int = 200
    confidence: float = 0.95


@dataclass(frozen=True)
class GateConfig:
    alias: str
    metrics: tuple[MetricRule, ...] = ()
    no_regression: NoRegressionRule | None = None
    max_latency_p95_ms: float | None = None
    max_size_mb: float | None = None
    data_checks: bool = False
    smoke_test: bool = False
    approval: bool = False
    data_contract: bool = False
    max_disparity: DisparityRule | None = None
    challenger_wins: ChallengerWinsRule | None = None
    source: str = "shipway.toml"

    @property
    def empty(self) -> bool:
        return not (
            self.metrics
            or self.no_regression
            or self.max_latency_p95_ms is not None
            or self.max_size_mb is not None
            or self.data_checks
            or self.smoke_test
            or self.approval
            or self.data_contract
            or self.max_disparity is not None
            or self.challenger_wins is not None
        )


#: Guards ``production`` when shipway.toml has no ``[gates.production]`` table.
DEFAULT_PRODUCTION = GateConfig(
    alias="production",
    no_regression=NoRegressionRule(metric=None, max_drop=0.01),
    data_checks=True,
    smoke_test=True,
    source="default gates (shipway.toml has no [gates.production] table)",
)


def load_gates(root: Path, raw: dict[str, Any], alias: str) -> GateConfig:
    """The gates guarding ``alias``, from the parsed shipway.toml ``raw`` of project ``root``."""
    text = settings_text(root)
    gates = raw.get("gates", {})
    if not isinstance(gates, dict):
        raise _error("[gates] must be a table of aliases", text, "", None)
    if alias not in gates:
        if alias == "production":
            return DEFAULT_PRODUCTION
        return GateConfig(alias=alias, source=f"no [gates.{alias}] table: nothing guards {alias}")
    table = gates[alias]
    if not isinstance(table, dict):
        raise _error(f"gates.{alias} must be a table", text, alias, None)
    return _parse_table(alias, table, text)


def _parse_table(alias: str, table: dict[str, Any], text: str) -> GateConfig:
    for key in table:
        if key not in RULES:
            raise _error(
                f"unknown gate rule {key!r} in [gates.{alias}]",
                text,
                alias,
                key,
                hint=f"known rules: {', '.join(RULES)}",
            )
    return GateConfig(
        alias=alias,
        metrics=_metric_rules(alias, table.get("metrics", {}), text),
        no_regression=_no_regression(alias, table.get("no_regression"), text),
        max_latency_p95_ms=_positive(alias, table, "max_latency_p95_ms", text),
        max_size_mb=_positive(alias, table, "max_size_mb", text),
        data_checks=_flag(alias, table, "data_checks", text),
        smoke_test=_flag(alias, table, "smoke_test", text),
        approval=_flag(alias, table, "approval", text),
        data_contract=_flag(alias, table, "data_contract", text),
        max_disparity=_disparity(alias, table.get("max_disparity"), text),
        challenger_wins=_challenger_wins(alias, table.get("challenger_wins"), text),
        source=source(text, f"gates.{alias}"),
    )


def _metric_rules(alias: str, value: Any, text: str) -> tuple[MetricRule, ...]:
    if not isinstance(value, dict):
        raise _error(
            "metrics must be a table of metric = threshold",
            text,
            alias,
            "metrics",
            hint='write metrics = { f1 = ">= 0.85" }',
        )
    rules = []
    for metric, threshold in value.items():
        _check_metric(alias, metric, text)
        rules.append(_metric_rule(alias, metric, threshold, text))
    return tuple(rules)


def _metric_rule(alias: str, metric: str, threshold: Any, text: str) -> MetricRule:
    rule = parse_metric_rule(metric, threshold)
    if rule is None:
        raise _error(
            f"the threshold of {metric} ({threshold!r}) is not a comparison",
            text,
            alias,
            metric,
            hint=THRESHOLD_HINT,
        )
    return rule


def _no_regression(alias: str, value: Any, text: str) -> NoRegressionRule | None:
    if value is None or value is False:
        return None
    if value is True:
        return NoRegressionRule(metric=None)
    if not isinstance(value, dict):
        raise _error(
            "no_regression must be a table",
            text,
            alias,
            "no_regression",
            hint='write no_regression = { metric = "f1", max_drop = 0.01 }',
        )
    unknown = set(value) - {"metric", "max_drop", "max_drop_relative"}
    if unknown:
        raise _error(
            f"no_regression has unknown keys: {', '.join(sorted(unknown))}",
            text,
            alias,
            "no_regression",
            hint="use metric, and max_drop or max_drop_relative",
        )
    metric = value.get("metric")
    if metric is not None:
        _check_metric(alias, metric, text)
    relative = "max_drop_relative" in value
    if relative and "max_drop" in value:
        raise _error(
            "no_regression takes max_drop or max_drop_relative, not both",
            text,
            alias,
            "no_regression",
        )
    drop = value.get("max_drop_relative" if relative else "max_drop", 0.0)
    if isinstance(drop, bool) or not isinstance(drop, int | float) or drop < 0:
        raise _error(
            f"no_regression's allowed drop must be a number ≥ 0, not {drop!r}",
            text,
            alias,
            "no_regression",
        )
    return NoRegressionRule(metric=metric, max_drop=float(drop), relative=relative)


def _disparity(alias: str, value: Any, text: str) -> DisparityRule | None:
    if value is None:
        return None
    hint = 'write max_disparity = { metric = "recall", by = "sex", max_gap = 0.05 }'
    if not isinstance(value, dict) or not {"metric", "by", "max_gap"} <= set(value):
        raise _error("max_disparity needs metric, by and max_gap", text, alias, "max_disparity",
                     hint=hint)  # fmt: skip
    unknown = set(value) - {"metric", "by", "max_gap", "min_rows"}
    if unknown:
        raise _error(f"max_disparity has unknown keys: {', '.join(sorted(unknown))}", text,
                     alias, "max_disparity", hint=hint)  # fmt: skip
    _check_metric(alias, value["metric"], text)
    gap, rows = value["max_gap"], value.get("min_rows", 20)
    if isinstance(gap, bool) or not isinstance(gap, int | float) or gap < 0:
        raise _error(f"max_disparity's max_gap must be a number ≥ 0, not {gap!r}", text, alias,
                     "max_disparity", hint=hint)  # fmt: skip
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise _error(f"max_disparity's min_rows must be a whole number ≥ 1, not {rows!r}", text,
                     alias, "max_disparity", hint=hint)  # fmt: skip
    if not isinstance(value["by"], str) or not value["by"]:
        raise _error("max_disparity's by must name a column", text, alias, "max_disparity",
                     hint=hint)  # fmt: skip
    return DisparityRule(value["metric"], value["by"], float(gap), rows)


def _challenger_wins(alias: str, value: Any, text: str) -> ChallengerWinsRule | None:
    if value is None or value is False:
        return None
    if value is True:
        return ChallengerWinsRule()
    hint = 'write challenger_wins = { metric = "f1", min_rows = 200, confidence = 0.95 }'
    if not isinstance(value, dict) or set(value) - {"metric", "min_rows", "confidence"}:
        raise _error("challenger_wins takes metric, min_rows and confidence", text, alias,
                     "challenger_wins", hint=hint)  # fmt: skip
    metric = value.get("metric")
    if metric is not None:
        _check_metric(alias, metric, text)
    rows, confidence = value.get("min_rows", 200), value.get("confidence", 0.95)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise _error(f"challenger_wins min_rows must be a whole number ≥ 1, not {rows!r}", text,
                     alias, "challenger_wins", hint=hint)  # fmt: skip
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not (0.5 <= confidence < 1)
    ):
        raise _error(f"challenger_wins confidence must be from 0.5 to below 1, not "
                     f"{confidence!r}", text, alias, "challenger_wins", hint=hint)  # fmt: skip
    return ChallengerWinsRule(metric, rows, float(confidence))


def _positive(alias: str, table: dict[str, Any], key: str, text: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _error(f"{key} must be a number > 0, not {value!r}", text, alias, key)
    return float(value)


def _flag(alias: str, table: dict[str, Any], key: str, text: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise _error(f"{key} must be true or false, not {value!r}", text, alias, key)
    return value


def _check_metric(alias: str, metric: Any, text: str) -> None:
    if metric not in ALL_METRICS:
        raise _error(
            f"unknown metric {metric!r} in [gates.{alias}]",
            text,
            alias,
            str(metric),
            hint=f"known metrics: {', '.join(ALL_METRICS)}",
        )


# -- naming the line ----------------------------------------------------------------------


def _error(
    message: str, text: str, alias: str, key: str | None, hint: str | None = None
) -> GateConfigError:
    return GateConfigError(
        message,
        where=where(text, f"gates.{alias}", key),
        hint=hint or "fix the gates in shipway.toml",
    )
