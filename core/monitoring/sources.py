"""Current data for drift: a file, a data set version, or rows of a deployment's prediction log.

Files and data set versions hold raw values: they are coerced by serving's rules
(:func:`core.serving.frames.model_frame`) and predicted by the version's pipeline, so the
prediction drifts (and, with the target column present, the live metric is measured) as for
logged traffic. The log already holds the inputs as the model saw them and its predictions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.entities import ModelVersion
from core.errors import InvalidInput, NotFound, UsageError
from core.monitoring.engine import Current
from core.monitoring.reference import label_text
from core.monitoring.reference_store import feature_kinds, predict

META_COLUMNS = ("request_id", "time", "version", "row", "prediction", "actual")


def read_file(path: Path, missing_tokens: tuple[str, ...]) -> pd.DataFrame:
    """A CSV/TSV, Parquet or JSON-lines file as a DataFrame of raw values."""
    if not path.is_file():
        raise NotFound(
            "no such file", where=str(path), hint="give the path of a CSV or Parquet file"
        )
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True)
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(
                path,
                sep="\t" if suffix == ".tsv" else ",",
                keep_default_na=False,
                na_values=["", *missing_tokens],  # empty cells are always missing
                low_memory=False,
            )
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InvalidInput(
            f"the file cannot be read: {exc}", where=str(path), hint="check its format"
        ) from None
    raise UsageError(
        f"cannot read {suffix or 'files without an extension'} files for drift",
        where=str(path),
        hint="give a .csv, .tsv, .parquet or .jsonl file",
    )


def from_table(
    raw: pd.DataFrame, version: ModelVersion, pipeline: Any | None, source: str
) -> Current:
    """Current data from raw rows: features coerced, predicted when every feature is there,
    and the target column, if present, as the actual values."""
    from core.serving.frames import model_frame

    schema = {entry["name"]: entry["type"] for entry in version.io_schema.get("inputs", [])}
    present = [name for name in schema if name in raw.columns]
    missing = [name for name in schema if name not in raw.columns]
    frame = model_frame(raw, schema, present)
    problems: list[str] = []
    prediction = None
    if missing:
        problems.append(f"no prediction drift: the data lacks {', '.join(missing)}")
    elif pipeline is not None and len(frame):
        prediction = _outcome(predict(pipeline, frame), version.task)
    actual = None
    if version.target in raw.columns:
        actual = _actuals(raw[version.target], version.task)
    return Current(frame, source, prediction, actual, tuple(problems))


def from_log(frame: pd.DataFrame, version: ModelVersion, source: str) -> Current:
    """Current data from :func:`core.serving.logreader.inputs_frame` rows (already coerced)."""
    kinds = feature_kinds(version.io_schema)
    columns = {}
    for name, kind in kinds.items():
        if name not in frame.columns:
            continue
        if kind == "numeric":
            columns[name] = pd.to_numeric(frame[name], errors="coerce").astype(np.float64)
        else:
            values = frame[name].astype(object)
            columns[name] = values.where(values.notna(), None)
    features = pd.DataFrame(columns, index=frame.index)
    prediction = actual = None
    if "prediction" in frame.columns and len(frame):
        prediction = _outcome(frame["prediction"], version.task)
    if "actual" in frame.columns and len(frame):
        actual = _actuals(frame["actual"], version.task)
    return Current(features, source, prediction, actual)


def _outcome(values: Any, task: str) -> Any:
    if task == "classification":
        return np.array([_label(v) for v in values], dtype=object)
    numbers = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _label(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return label_text(value)


def _actuals(values: Any, task: str) -> Any:
    """The actual values that were given (rows without feedback are left out)."""
    series = pd.Series(np.asarray(values, dtype=object))
    given = series[series.notna()]
    if given.empty:
        return None
    return _outcome(given.to_numpy(), task)


def log_rows(folder: Path, version: int, rows: int) -> pd.DataFrame:
    """The last ``rows`` predicted rows that ``version`` answered in a deployment's log."""
    from core.serving.logreader import inputs_frame

    asked = rows
    while True:
        frame = inputs_frame(folder, last=asked)
        served = frame[frame["version"] == version] if len(frame) else frame
        requests = frame["request_id"].nunique() if len(frame) else 0
        if len(served) >= rows or requests < asked:
            return served.tail(rows).reset_index(drop=True)
        asked *= 4
