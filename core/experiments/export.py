"""The runs table as CSV (text cells neutralised against spreadsheet formulas)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from core import metrics
from core.data.export import export_table
from core.entities import Run

METRICS = metrics.CLASSIFICATION_METRICS + metrics.REGRESSION_METRICS


def export_runs_csv(runs: list[Run], target: Path) -> Path:
    columns: dict[str, list] = {
        "run": [r.id for r in runs],
        "parent": [r.parent_id for r in runs],
        "kind": [r.kind for r in runs],
        "status": [r.status for r in runs],
        "task": [r.task for r in runs],
        "estimator": [r.estimator for r in runs],
        "dataset": [f"{r.dataset}@{r.dataset_version}" for r in runs],
        "target": [r.target for r in runs],
        "best": [r.is_best for r in runs],
        "duration_s": [r.duration_s for r in runs],
        "created_at": [r.created_at.isoformat() for r in runs],
        "created_by": [r.created_by for r in runs],
    }
    for metric in METRICS:
        if any(metric in r.metrics for r in runs):
            columns[metric] = [r.metrics.get(metric) for r in runs]
    return export_table(pa.table(columns), target, "csv")
