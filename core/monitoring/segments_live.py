"""Live metrics per segment: the rows of a deployment's log that received feedback, grouped by
the values of each ``[evaluation] segments`` column, each group measured as the whole traffic
is (:mod:`core.monitoring.live`) and beside the same group of the version's test split.

Decisions:

* Grouping, metric functions and bootstrap intervals are training's
  (:func:`core.experiments.segments.segment_table`): the same top values and ``(other)``, the
  same ``(missing)``, the same 50 seeded resamples and no interval under
  :data:`~core.experiments.segments.MIN_CI_ROWS` rows (said as ``n < 10``). Rows and labels
  are matched as the whole-traffic live metrics match them (:func:`core.monitoring.live.
  outcomes`), so a segment's ``f1`` is the deployment's ``f1`` on fewer rows. Only the live
  metrics are kept (no roc_auc / log_loss: the feedback rows carry no probabilities).
* The columns are the segments setting in effect (read from shipway.toml at each call, as the
  model card's tables are), so a column added later applies to versions served already.
* The log keeps the inputs as the model saw them: a segment column that is not one of the
  model's inputs is not in the log and is reported per column (``missing_column``), not an
  error. Integral numbers are shown as integers (year ``2007``, not ``2007.0``), and a live
  segment is matched with the test split's by that text.
* The gap is :func:`core.experiments.segments.gap` of the primary metric over the segments
  with at least ``min_rows`` rows; ``best`` and ``worst`` follow the metric's direction (a
  lower rmse is better).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from core.entities import ModelVersion
from core.experiments import segments
from core.metrics import GREATER_IS_BETTER
from core.monitoring.live import (
    CLASSIFICATION_LIVE,
    REGRESSION_LIVE,
    Outcomes,
    live_metrics,
    outcomes,
)
from core.monitoring.results import LiveSegment, LiveSegmentColumn, LiveSegments, finite

#: a column's test-split segment table (or None) and a note saying why there is none
TestTable = Callable[[str], tuple[dict[str, Any] | None, str]]


def measure(
    deployment: str,
    version: ModelVersion,
    frame: pd.DataFrame | None,
    columns: Sequence[str],
    metric: str,
    test_table: TestTable,
    min_rows: int = segments.MIN_CI_ROWS,
) -> LiveSegments:
    """Live metrics per value of each of ``columns`` over the ``frame`` rows (log rows of
    :func:`core.serving.logreader.inputs_frame`; None when not read) that have an actual
    value."""
    frame = pd.DataFrame() if frame is None else frame
    names = CLASSIFICATION_LIVE if version.task == "classification" else REGRESSION_LIVE
    base = {"deployment": deployment, "model": version.model, "version": version.version,
            "metric": metric, "metrics": names, "logged_rows": len(frame),
            "min_rows": min_rows}  # fmt: skip
    if not columns:
        note = ('no segment columns: set [evaluation] segments = ["column", ...] in '
                "shipway.toml to measure every live metric per segment")  # fmt: skip
        return LiveSegments(**base, status="no_segments", rows=0, notes=(note,))
    classes = version.io_schema.get("output", {}).get("classes", [])
    found = None
    if len(frame) and {"prediction", "actual"} <= set(frame.columns):
        found = outcomes(version.task, classes, frame["prediction"], frame["actual"])
    if found is None:
        note = (f"no feedback rows yet: none of the {len(frame):,} logged rows {version.ref} "
                "answered has an actual value (POST /feedback with the request id)")  # fmt: skip
        return LiveSegments(**base, status="no_feedback", rows=0, notes=(note,))
    overall = live_metrics(version.task, classes, frame["prediction"], frame["actual"],
                           version.metrics)  # fmt: skip
    rows = frame.iloc[found.positions].reset_index(drop=True)
    measured = tuple(
        _column(name, rows, found, version.task, names, metric, min_rows, test_table)
        for name in columns
    )
    return LiveSegments(**base, status="measured", rows=len(found.positions), columns=measured,
                        overall=overall)  # fmt: skip


def _column(
    name: str,
    rows: pd.DataFrame,
    found: Outcomes,
    task: str,
    names: Sequence[str],
    metric: str,
    min_rows: int,
    test_table: TestTable,
) -> LiveSegmentColumn:
    if name not in rows.columns:
        note = (f"{name} is not in the logged inputs: the log keeps the model's input columns "
                "only, so segment by one of them")  # fmt: skip
        return LiveSegmentColumn(name, "missing_column", notes=(note,))
    values = _readable(rows[name]).rename(name)
    table = segments.segment_table(values, found.y_true, found.y_pred, task, None, found.labels)
    test, test_note = test_table(name)
    by_value = {_key(group["value"]): group for group in (test or {}).get("groups", [])}
    measured = tuple(
        _segment(group, names, by_value.get(_key(group["value"]))) for group in table["groups"]
    )
    found_gap = segments.gap(table, metric, min_rows)
    best, worst = _ends(found_gap, metric)
    notes = [*table["notes"], *([test_note] if test_note else []), *_gap_notes(found_gap, min_rows)]
    return LiveSegmentColumn(name, "measured", measured, finite(found_gap["gap"]), best, worst,
                             tuple(notes))  # fmt: skip


def _segment(group: dict[str, Any], names: Sequence[str], test: dict | None) -> LiveSegment:
    values = group["metrics"]
    intervals = {
        name: (values[name]["low"], values[name]["high"])
        for name in names
        if "low" in values.get(name, {})
    }
    least = segments.MIN_CI_ROWS
    note = f"n < {least}: no interval" if group["rows"] < least else ""
    tested = test["metrics"] if test else {}
    return LiveSegment(
        value=group["value"],
        rows=group["rows"],
        metrics={name: finite(values.get(name, {}).get("value")) for name in names},
        intervals=intervals,
        test={name: finite(tested.get(name, {}).get("value")) for name in names},
        test_rows=test["rows"] if test else None,
        note=note,
    )


def _ends(found: dict[str, Any], metric: str) -> tuple[str | None, str | None]:
    if found["gap"] is None:
        return None, None
    high, low = found["best"][0], found["worst"][0]
    return (high, low) if GREATER_IS_BETTER.get(metric, True) else (low, high)


def _gap_notes(found: dict[str, Any], min_rows: int) -> list[str]:
    small = ", ".join(f"{value} ({rows})" for value, rows in found["small"])
    if found["gap"] is None:
        return [f"no gap: fewer than two segments have {min_rows} rows with feedback"
                + (f" (too small: {small})" if small else "")]  # fmt: skip
    return [f"not in the gap (under {min_rows} rows): {small}"] if small else []


def _readable(values: pd.Series) -> pd.Series:
    """Integral numbers as integers, so a year reads ``2007`` as in the data set."""
    if pd.api.types.is_float_dtype(values):
        given = values.dropna()
        if (given == given.round()).all():
            return values.astype("Int64")
    return values


def _key(text: str) -> str:
    """A segment's value as live and test tables are matched by (``2007.0`` is ``2007``)."""
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text
