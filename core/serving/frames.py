"""One set of rules turning incoming columns into what a fitted pipeline expects.

Training and serving both go through :func:`model_frame`, so a value means the same thing in a
training row and in a request: numbers (integer, float, boolean, datetime) become float64 (a
datetime counts as seconds since 1970-01-01 UTC), text becomes Python ``str`` in an object
column, and anything missing becomes NaN/None.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

NUMERIC_TYPES = ("integer", "float", "boolean", "datetime")
CATEGORICAL_TYPES = ("string",)


def numeric_columns(schema: Mapping[str, str], features: list[str]) -> list[str]:
    return [name for name in features if schema[name] in NUMERIC_TYPES]


def categorical_columns(schema: Mapping[str, str], features: list[str]) -> list[str]:
    return [name for name in features if schema[name] in CATEGORICAL_TYPES]


def _numeric(series: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        stamps = pd.to_datetime(series, errors="coerce", utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    if kind == "boolean" and series.dtype == object:
        mapped = series.map(lambda v: _bool_value(v))
        return mapped.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _bool_value(value: object) -> float:
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return float(value.lower() == "true")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan


def _text(series: pd.Series) -> np.ndarray:
    missing = series.isna().to_numpy()
    text = series.astype(object).astype(str).to_numpy(dtype=object)
    text[missing] = None
    return text


def model_frame(
    frame: pd.DataFrame, schema: Mapping[str, str], features: list[str]
) -> pd.DataFrame:
    """The feature columns of ``frame``, in ``features`` order, coerced by their Shipway type."""
    columns: dict[str, pd.Series] = {}
    for name in features:
        kind = schema[name]
        if kind in NUMERIC_TYPES:
            columns[name] = pd.Series(_numeric(frame[name], kind), index=frame.index)
        else:  # object dtype on purpose: pandas' string dtype is not what the encoders expect
            columns[name] = pd.Series(_text(frame[name]), index=frame.index, dtype=object)
    return pd.DataFrame(columns, index=frame.index)
