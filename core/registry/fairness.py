"""Metrics per segment of a version's test split: ``[evaluation] segments`` of shipway.toml
names the columns (any column of the data set, a feature or not), and the model card, the CLI
and the ``max_disparity`` gate read the tables computed here.

The tables are computed when asked (they are deterministic: the test rows are rebuilt exactly
as training split them, the bootstrap is seeded), so a column added to ``segments`` later
applies to every version, old ones included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.errors import InvalidInput, ProjectError
from core.experiments import segments

if TYPE_CHECKING:
    from core.registry.gates import Evidence


def configured(raw: dict[str, Any]) -> list[str]:
    """``[evaluation] segments``: the columns to report per segment (none by default)."""
    table = raw.get("evaluation", {})
    value = table.get("segments", []) if isinstance(table, dict) else []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ProjectError(
            f"[evaluation] segments must be a list of column names, not {value!r}",
            where="shipway.toml [evaluation]",
            hint='e.g. segments = ["sex", "island"]',
        )
    return value


def table(evidence: Evidence, column: str, intervals: bool = True) -> dict[str, Any]:
    """Every metric per value of ``column`` on the version's test rows (with bootstrap
    confidence intervals unless ``intervals`` is false)."""
    from core.experiments.training import evaluate

    version, rows = evidence.version, evidence.holdout
    if column not in rows.frame:
        raise InvalidInput(
            f"{rows.dataset.ref} has no column {column!r} to segment {version.ref} by",
            where=rows.dataset.ref,
            hint=f"segment by one of its columns: {', '.join(map(str, rows.frame.columns))}",
        )
    X = rows.model_input(version.io_schema)
    _, _, predicted, proba = evaluate(evidence.pipeline, X, rows.y, version.task)
    classes = list(getattr(evidence.pipeline, "classes_", []))
    return segments.segment_table(
        rows.frame[column], rows.y.to_numpy(), predicted, version.task, proba, classes, intervals
    )


def tables(evidence: Evidence, columns: list[str]) -> dict[str, dict[str, Any]]:
    return {column: table(evidence, column) for column in columns}
