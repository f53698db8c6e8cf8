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
    if series.dtype == np.float64:
        return series.to_numpy()
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
    """The feature columns of ``frame``, in ``features`` order, coerced by their Shipway type.

    Numeric columns become one float64 block (one allocation, which keeps a one-row request
    cheap); text columns are object columns of ``str`` (pandas' string dtype is not what the
    encoders expect).
    """
    numeric = [name for name in features if schema[name] in NUMERIC_TYPES]
    block = np.empty((len(frame), len(numeric)), dtype=np.float64)
    for position, name in enumerate(numeric):
        block[:, position] = _numeric(frame[name], schema[name])
    out = pd.DataFrame(block, columns=numeric, index=frame.index)
    if len(numeric) == len(features):
        return out
    text = {
        name: pd.Series(_text(frame[name]), index=frame.index, dtype=object)
        for name in features
        if schema[name] not in NUMERIC_TYPES
    }
    return pd.concat([out, pd.DataFrame(text, index=frame.index)], axis=1)[list(features)]
