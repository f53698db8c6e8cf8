"""One set of rules turning incoming columns into what a fitted pipeline expects.

Training and serving both go through :func:`model_frame`, so a value means the same thing in a
training row and in a request: numbers (integer, float, boolean, datetime) become float64 (a
datetime counts as seconds since 1970-01-01 UTC), text becomes Python ``str`` in an object
column, and anything missing becomes NaN/None.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

NUMERIC_TYPES = ("integer", "float", "boolean", "datetime")
CATEGORICAL_TYPES = ("string",)


def numeric_columns(schema: Mapping[str, str], features: list[str]) -> list[str]:
    return [name for name in features if schema[name] in NUMERIC_TYPES]


def categorical_columns(schema: Mapping[str, str], features: list[str]) -> list[str]:
    return [name for name in features if schema[name] in CATEGORICAL_TYPES]


def _numeric(series: pd.Series | np.ndarray, kind: str) -> np.ndarray:
    if isinstance(series, np.ndarray):
        if series.dtype == np.float64 and kind != "datetime":
            return series
        series = pd.Series(series)
    if kind == "datetime":
        stamps = pd.to_datetime(series, errors="coerce", utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan)
    if kind == "boolean" and series.dtype == object:
        mapped = series.map(lambda v: _bool_value(v))
        return mapped.to_numpy(dtype=np.float64, na_value=np.nan)
    if series.dtype == np.float64:
        return series.to_numpy()
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def utc_datetimes(texts: pd.Series) -> pd.Series:
    """Text cells read as UTC instants, NaT where a cell does not read as one (all NaT when
    pandas refuses the column as a whole): what a request and a scored file both parse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it cannot infer one format
        try:
            return pd.to_datetime(texts, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=texts.index, dtype="datetime64[ns, UTC]")


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
    """The feature columns of ``frame``, in ``features`` order, coerced by their Shipway type.

    Numeric columns become one float64 block (one allocation, which keeps a one-row request
    cheap); text columns are object columns of ``str`` (pandas' string dtype is not what the
    encoders expect).
    """
    columns = {name: frame[name] for name in features}
    return columns_frame(columns, frame.index, schema, features)


def columns_frame(
    columns: Mapping[str, pd.Series | np.ndarray],
    index: pd.Index,
    schema: Mapping[str, str],
    features: list[str],
) -> pd.DataFrame:
    """:func:`model_frame` of columns already apart (Series, or arrays along ``index``).

    Serving's checks give a request's columns one by one, numbers as float64 arrays: building
    a DataFrame of them only to take it apart again cost more than the rest of the coercion.
    """
    numeric = [name for name in features if schema[name] in NUMERIC_TYPES]
    block = np.empty((len(index), len(numeric)), dtype=np.float64)
    for position, name in enumerate(numeric):
        block[:, position] = _numeric(columns[name], schema[name])
    out = pd.DataFrame(block, columns=numeric, index=index)
    if len(numeric) == len(features):
        return out
    text = {
        name: pd.Series(_text(_series(columns[name], index)), index=index, dtype=object)
        for name in features
        if schema[name] not in NUMERIC_TYPES
    }
    return pd.concat([out, pd.DataFrame(text, index=index)], axis=1)[list(features)]


def _series(values: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(values, index=index)
