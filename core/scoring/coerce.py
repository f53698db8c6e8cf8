"""A chunk of input, typed as the model reads its columns, and the values that do not fit.

Typed sources (a data set version, a Parquet file) keep their columns as they are: they were
typed by the import, as the training rows were. Text (a CSV file, text columns of Parquet) and
SQL values are typed by the model's input schema, value by value with the rules serving judges a
request by (:mod:`core.serving.validation`): numbers are decimal text (an exponent, ``inf``
and ``nan`` as pyarrow reads them), booleans ``true``/``false`` (any case) or 0/1, date-times
text pandas parses, categories any text. Cells equal to a missing token were made missing when
the file was read. Text typed here is stored as float64 for numbers (integer and float: what
the model reads), bool, timestamp (UTC) or text.

A value that does not fit is a problem (``not_a_number``, ``not_a_boolean``,
``not_a_datetime``, ``not_finite`` for an infinity unless the model's training made them
missing), reported per column with its count and first rows; with ``invalid="missing"`` it is
scored as a missing value instead. Missing values are scored: every pipeline imputes them.

The model then reads the typed columns through :func:`core.serving.frames.columns_frame`
(:func:`~core.serving.frames.model_frame` without a DataFrame in between), the coercion training
and serving use, from the same pandas conversion training makes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.scoring.spec import ScorerSpec
from core.serving.frames import columns_frame, utc_datetimes

SHOWN_ROWS = 10
_NUMBER = r"(?i)^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)$"
_TRUE = ("true", "1", "1.0")
_FALSE = ("false", "0", "0.0")


def _plain(column: pa.ChunkedArray) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        array = array.cast(pa.string())
    return array


def _mask(values: Any) -> np.ndarray:
    """A pyarrow boolean array as numpy, nulls False."""
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


def _numbers_from_text(text: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Floats of decimal text (surrounding spaces allowed), and the cells that are not."""
    try:
        return pc.cast(text, pa.float64()), np.zeros(len(text), bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        trimmed = pc.utf8_trim_whitespace(text)
    fits = pc.match_substring_regex(trimmed, _NUMBER)
    numbers = pc.cast(pc.if_else(fits, trimmed, pa.scalar(None, pa.string())), pa.float64())
    return numbers, _mask(pc.and_(pc.is_valid(text), pc.invert(fits)))


def _numeric(array: pa.Array) -> tuple[pa.Array, pa.Array, np.ndarray, str]:
    """(stored column, its float64 values, invalid cells, problem) of a numeric input."""
    if pa.types.is_string(array.type):
        numbers, bad = _numbers_from_text(array)
        return numbers, numbers, bad, "not_a_number"
    if (
        pa.types.is_integer(array.type)
        or pa.types.is_floating(array.type)
        or (pa.types.is_boolean(array.type) or pa.types.is_decimal(array.type))
    ):
        return array, pc.cast(array, pa.float64()), np.zeros(len(array), bool), "not_a_number"
    nulls = pa.nulls(len(array), pa.float64())
    return nulls, nulls, _mask(pc.is_valid(array)), "not_a_number"


def _boolean(array: pa.Array) -> tuple[pa.Array, np.ndarray]:
    if pa.types.is_boolean(array.type):
        return array, np.zeros(len(array), bool)
    if pa.types.is_string(array.type):
        words = pc.utf8_lower(pc.utf8_trim_whitespace(array))
    elif pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        words = pc.cast(pc.cast(array, pa.float64()), pa.string())
    else:
        return pa.nulls(len(array), pa.bool_()), _mask(pc.is_valid(array))
    true = _mask(pc.is_in(words, pa.array(_TRUE)))
    false = _mask(pc.is_in(words, pa.array(_FALSE)))
    valid = _mask(pc.is_valid(array))
    values = pa.array(true, pa.bool_(), mask=~(true | false))
    return values, valid & ~(true | false)


def _datetime(array: pa.Array) -> tuple[pa.Array, np.ndarray]:
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        return array, np.zeros(len(array), bool)
    if not pa.types.is_string(array.type):
        return pa.nulls(len(array), pa.timestamp("us")), _mask(pc.is_valid(array))
    texts = pd.Series(array.to_numpy(zero_copy_only=False), dtype=object)
    stamps = utc_datetimes(texts)
    bad = stamps.isna().to_numpy() & texts.notna().to_numpy()
    naive = stamps.dt.tz_convert(None).astype("datetime64[us]")
    return pa.array(naive, pa.timestamp("us"), from_pandas=True), bad


def _text(array: pa.Array) -> pa.Array:
    if pa.types.is_string(array.type):
        return array
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = [None if v is None else str(v) for v in array.to_pylist()]
        return pa.array(values, pa.string())


def _typed(array: pa.Array, kind: str, spec: ScorerSpec) -> tuple[pa.Array, list[tuple]]:
    """The stored column and its problems as (problem, invalid-cells mask) pairs."""
    if kind in ("integer", "float"):
        stored, numbers, bad, problem = _numeric(array)
        found = [(problem, bad)]
        if not spec.infinite_as_missing:
            infinite = _mask(pc.is_inf(numbers))
            found.append(("not_finite", infinite))
        return stored, found
    if kind == "boolean":
        stored, bad = _boolean(array)
        return stored, [("not_a_boolean", bad)]
    if kind == "datetime":
        stored, bad = _datetime(array)
        return stored, [("not_a_datetime", bad)]
    return _text(array), []


def _nulled(array: pa.Array, cells: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(cells), pa.scalar(None, array.type), array)


def type_chunk(spec: ScorerSpec, table: pa.Table, start: int) -> tuple[pa.Table, list[dict]]:
    """The chunk's columns to store (kept ones first, then the model's inputs) and the invalid
    values found, rows counted from the first data row of the input (0)."""
    problems: list[dict[str, Any]] = []
    columns: dict[str, pa.Array] = {
        name: _plain(table.column(name)) for name in spec.keep if name not in spec.schema
    }
    for name, kind in spec.inputs:
        stored, found = _typed(_plain(table.column(name)), kind, spec)
        for problem, cells in found:
            if not cells.any():
                continue
            rows = np.flatnonzero(cells)
            problems.append(
                {
                    "column": name,
                    "problem": problem,
                    "count": int(rows.size),
                    "rows": (rows[:SHOWN_ROWS] + start).tolist(),
                }
            )
            if spec.invalid == "missing":
                stored = _nulled(stored, cells)
        columns[name] = stored
    return pa.table(columns), problems


def features_frame(spec: ScorerSpec, typed: pa.Table) -> pd.DataFrame:
    """What the pipeline predicts on: the typed inputs as training reads a stored version.

    Float64 columns go to the model's float block straight from pyarrow (nulls as NaN, as
    ``to_pandas`` gives them); the others through pandas, as a stored version is read. The
    frame of the whole chunk that ``to_pandas`` built first, only for :func:`model_frame` to
    copy its columns out again, cost a second copy of every number.
    """
    columns = {name: _column(typed.column(name)) for name in spec.features}
    index = pd.RangeIndex(typed.num_rows)
    out = columns_frame(columns, index, spec.schema, spec.features)
    if spec.infinite_as_missing:
        out = out.replace([np.inf, -np.inf], np.nan)
    return out


def _column(column: pa.ChunkedArray) -> np.ndarray | pd.Series:
    if pa.types.is_float64(column.type):
        return column.to_numpy()
    return column.to_pandas()
