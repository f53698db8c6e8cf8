"""Tables of a comparison (``ws.runs.compare``, a ``RunComparison``): metrics, parameter
differences, costs.

Each builder returns a :class:`ListTableModel` and the columns of plain values the CSV export
writes (``core.services.export_table_csv``, which neutralises formula-like text cells).
"""

from __future__ import annotations

from typing import Any

from core import metrics
from desktop.theme import current_colors
from desktop.widgets.common import format_metric, format_size, format_value
from desktop.widgets.table_model import Column, ListTableModel

Table = tuple[ListTableModel, dict[str, list[Any]]]


def _run_title(run_id: str, best: Any) -> str:
    return f"#{run_id} ★" if str(best) == run_id else f"#{run_id}"


def best_runs(values: dict[str, Any], metric: str) -> set[str]:
    """The run ids holding the best value of ``metric`` (ties share it)."""
    best: Any = None
    for value in values.values():
        if metrics.is_better(metric, value, best):
            best = value
    if metrics.finite(best) is None:
        return set()
    return {run for run, value in values.items() if metrics.finite(value) == best}


def metrics_table(comparison: Any) -> Table:
    """Rows are metrics, columns runs; the best run of each metric is highlighted."""
    ids = [str(r["run"]) for r in comparison.runs]
    primary = comparison.primary_metric
    rows = [(name, values) for name, values in comparison.metrics.items()]
    columns = [
        Column(
            "Metric",
            lambda r: r[0],
            text=lambda r: f"{r[0]} (primary)" if r[0] == primary else r[0],
        )
    ]
    for run_id in ids:
        columns.append(
            Column(
                _run_title(run_id, comparison.best),
                lambda r, i=run_id: metrics.finite(r[1].get(i)),
                text=lambda r, i=run_id: format_metric(metrics.finite(r[1].get(i))),
                numeric=True,
            )
        )
    model = ListTableModel(columns, rows)
    winners = {name: best_runs(values, name) for name, values in rows}
    colors = current_colors

    def is_best(row: tuple, column: int) -> bool:
        return column > 0 and ids[column - 1] in winners.get(row[0], set())

    model.set_emphasis(
        bold=lambda row, column: is_best(row, column) or (row[0] == primary and column == 0),
        color=lambda row, column: colors().good if is_best(row, column) else None,
        background=lambda row, column: colors().selection if is_best(row, column) else None,
    )
    export: dict[str, list[Any]] = {"metric": [name for name, _ in rows]}
    for run_id in ids:
        export[f"run {run_id}"] = [metrics.finite(values.get(run_id)) for _, values in rows]
    return model, export


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return format_value(value)


def differences_table(comparison: Any) -> Table:
    """Only what differs between the runs: spec fields and estimator parameters."""
    ids = [str(r["run"]) for r in comparison.runs]
    rows = list(comparison.differences.items())
    columns = [Column("Setting", lambda r: r[0])]
    columns += [Column(f"#{run_id}", lambda r, i=run_id: _text(r[1].get(i))) for run_id in ids]
    export: dict[str, list[Any]] = {"setting": [name for name, _ in rows]}
    for run_id in ids:
        export[f"run {run_id}"] = [_text(values.get(run_id)) for _, values in rows]
    return ListTableModel(columns, rows), export


COST_FIELDS = (
    ("fit_s", "Fit (s)"),
    ("predict_p50_ms", "Single-row predict p50 (ms)"),
    ("predict_p95_ms", "Single-row predict p95 (ms)"),
    ("model_size", "Model size"),
)
LATENCY_TIP = (
    "One row per predict call, timed in the run's training worker right after fitting (a "
    "short probe: its p95 is about its slowest call). The latency gate of shipway.toml times "
    "single-row predicts again when the gates are evaluated, so its figure can differ."
)


def costs_table(comparison: Any) -> Table:
    """One row per run: fit time, single-row latency and model size; the cheapest marked."""
    runs = comparison.runs
    columns = [
        Column("Run", lambda r: r["run"], text=lambda r: f"#{r['run']}"),
        Column("Estimator", lambda r: r["estimator"]),
    ]
    for key, title in COST_FIELDS:
        text = (lambda r: format_size(r["model_size"])) if key == "model_size" else None
        columns.append(
            Column(
                title,
                lambda r, k=key: r.get(k),
                text=text or (lambda r, k=key: format_value(r.get(k))),
                numeric=True,
                tooltip=LATENCY_TIP if key.startswith("predict") else "",
            )
        )
    cheapest = {
        key: min((r[key] for r in runs if r.get(key) is not None), default=None)
        for key, _ in COST_FIELDS
    }
    model = ListTableModel(columns, runs)
    colors = current_colors

    def is_cheapest(row: dict, column: int) -> bool:
        if column < 2:
            return False
        key = COST_FIELDS[column - 2][0]
        return row.get(key) is not None and row.get(key) == cheapest[key]

    model.set_emphasis(
        bold=is_cheapest, color=lambda r, c: colors().good if is_cheapest(r, c) else None
    )
    export = {"run": [r["run"] for r in runs], "estimator": [r["estimator"] for r in runs]}
    for key, _ in COST_FIELDS:
        export[key] = [r.get(key) for r in runs]
    return model, export
