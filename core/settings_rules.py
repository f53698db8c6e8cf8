"""Pieces shared by the tables of shipway.toml that hold rules (gates, drift, triggers):
metric thresholds, and naming the line of the file where a mistake stands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from core.config import SETTINGS_FILE
from core.errors import ShipwayError
from core.metrics import GREATER_IS_BETTER

E = TypeVar("E", bound=ShipwayError)

_THRESHOLD = re.compile(r"^\s*(>=|<=|>|<)?\s*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)\s*$")
THRESHOLD_HINT = 'write e.g. ">= 0.85", "<= 12.5" or a bare number'


@dataclass(frozen=True)
class MetricRule:
    """``metric op threshold``, e.g. ``f1 >= 0.85``."""

    metric: str
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        return {
            ">=": value >= self.threshold,
            ">": value > self.threshold,
            "<=": value <= self.threshold,
            "<": value < self.threshold,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


def parse_metric_rule(metric: str, threshold: Any) -> MetricRule | None:
    """``"OP NUMBER"`` or a bare number ("at least" where higher is better, else "at most");
    None when ``threshold`` is neither. ``metric`` must be a known metric name."""
    default_op = ">=" if GREATER_IS_BETTER[metric] else "<="
    if isinstance(threshold, int | float) and not isinstance(threshold, bool):
        return MetricRule(metric, default_op, float(threshold))
    match = _THRESHOLD.match(threshold) if isinstance(threshold, str) else None
    if match is None:
        return None
    return MetricRule(metric, match.group(1) or default_op, float(match.group(2)))


def settings_text(root: Path) -> str:
    """shipway.toml's text ("" when it cannot be read: then no line is named)."""
    try:
        return (root / SETTINGS_FILE).read_text(encoding="utf-8")
    except OSError:
        return ""


def line_of(text: str, table: str, key: str | None) -> int | None:
    """The line of ``key`` inside ``[table]`` or its sub-tables (else of the table's header)."""
    section, header_line = None, None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0].strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]$", stripped)
        if header:
            section = header.group(1).replace(" ", "")
            if section == table and header_line is None:
                header_line = number
            continue
        inside = section is not None and (section == table or section.startswith(table + "."))
        if key is not None and inside and re.search(rf"(^|[{{,\s]){re.escape(key)}\s*=", stripped):
            return number
    return header_line


def where(text: str, table: str, key: str | None) -> str:
    """``shipway.toml line N`` for a mistake at ``key`` of ``[table]``."""
    line = line_of(text, table, key)
    return f"{SETTINGS_FILE} line {line}" if line else SETTINGS_FILE


def table_error(
    kind: type[E], message: str, text: str, table: str, key: str | None, hint: str | None = None
) -> E:
    """An error of ``kind`` at ``key`` of ``[table]`` (its line), by default hinting to fix the
    table: what the [drift], [triggers] and service tables raise."""
    hint = hint or f"fix [{table}] in {SETTINGS_FILE}"
    return kind(message, where=where(text, table, key), hint=hint)


def source(text: str, table: str) -> str:
    """``shipway.toml [table] (line N)``: where a table of rules came from."""
    line = line_of(text, table, None)
    return f"{SETTINGS_FILE} [{table}]" + (f" (line {line})" if line else "")
