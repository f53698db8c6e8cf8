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


def _text(values: pd.Series | np.ndarray) -> np.ndarray:
    """The column as an object array of ``str``, ``None`` where a value is missing."""
    cells = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    cells = np.asarray(cells, dtype=object)
    missing = pd.isna(cells)
    if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):
        text = cells.copy()  # already text: no round trip through pandas' string type
    else:
        series = pd.Series(cells, dtype=object)
        text = series.astype(str).to_numpy(dtype=object)
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
    The frame is put together from its arrays at once, under column names held as plain
    Python strings: with pandas 3, a one-row frame of four numbers and two texts took 1.6 ms
    as a frame of numbers joined to a frame of texts and put in order (each step inferring
    pandas' Arrow-backed string type for the names, and for the texts), and 0.21 ms so
    (benchmarks/bench_frames.py).
    """
    parts = [
        _numeric(columns[name], schema[name]) if schema[name] in NUMERIC_TYPES
        else pd.Series(_text(columns[name]), index=index, dtype=object, copy=False)
        for name in features
    ]  # fmt: skip
    names = pd.Index(features, dtype=object)
    try:  # pandas' own constructor from columns: one float64 block, the texts kept as objects
        return pd.DataFrame._from_arrays(parts, columns=names, index=index)
    except (AttributeError, TypeError):  # pragma: no cover - a pandas without it
        return frame_of_parts(parts, names, index)


def frame_of_parts(
    parts: list[np.ndarray | pd.Series], names: pd.Index, index: pd.Index
) -> pd.DataFrame:
    """:func:`columns_frame`'s frame of its parts (float64 arrays, object Series of text)
    through pandas' public API: the numbers as one block, each text column inserted."""
    numeric = [position for position, part in enumerate(parts) if isinstance(part, np.ndarray)]
    block = np.column_stack([parts[p] for p in numeric]) if numeric else None
    out = pd.DataFrame(block, columns=names[numeric], index=index)
    for position, part in enumerate(parts):
        if isinstance(part, pd.Series):
            out.insert(position, names[position], part)
    return out
