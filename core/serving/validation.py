"""Checking a request's rows against the model's input schema, and building the model input.

Every column is judged value by value with the same rules for every request form: numbers may
come as JSON numbers or numeric text (``"3.5"``), booleans as ``true``/``false``, their text, or
0/1, date-times as text pandas parses, categories as text. A value that fits none of its column's
forms, a missing value where training saw none, and NaN or Infinity (never a missing value:
that is ``null``, an empty CSV cell or a missing token) are schema problems (422), reported per
column with the rows (0-based) that have them, never with the values. Categories not seen in
training, and numbers outside the training range, are accepted and reported as warnings. The
accepted values then go through :func:`core.serving.frames.columns_frame`, the coercion training
uses (:func:`~core.serving.frames.model_frame`), without a DataFrame in between.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.serving.errors import SchemaMismatch
from core.serving.forms import CSV_MISSING, RawTable
from core.serving.frames import _bool_value, columns_frame, utc_datetimes
from core.serving.model import InputColumn, LoadedModel

SHOWN_ROWS = 10
MAX_DETAILS = 100
#: Numbers beyond this many times the largest magnitude seen in training are refused: they are
#: junk or unit errors, and scaled by the pipeline they overflow the float32 that tree models
#: compute in (and the model would fail with a 500).
RANGE_FACTOR = 1e6
_NO_RANGE_LIMIT = 1e32
#: Text read as a number: a plain ASCII decimal (no exponent, no separators).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)", re.ASCII)
_INFINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_TRUE_FALSE = {"true": 1.0, "false": 0.0}

PROBLEMS = {
    "missing_value": "a missing value, and training saw none in this column",
    "not_finite": "NaN or Infinity; send null (or leave the cell empty) for a missing value",
    "not_a_number": "not a number",
    "not_a_boolean": "not a boolean (true/false, 0/1)",
    "not_a_datetime": "not a date/time",
    "not_a_scalar": "a list or object instead of a single value",
    "out_of_range": f"more than {RANGE_FACTOR:.0e} times the largest magnitude seen in training",
}


def magnitude_limit(column: InputColumn) -> float:
    """The largest absolute value accepted in a numeric column."""
    if column.minimum is None or column.maximum is None:
        return _NO_RANGE_LIMIT
    return RANGE_FACTOR * max(abs(column.minimum), abs(column.maximum), 1.0)


@dataclass(frozen=True)
class ModelInput:
    """What the pipeline predicts on, plus what the client should hear about its request."""

    frame: pd.DataFrame = field(repr=False)
    rows: int
    warnings: tuple[dict[str, Any], ...] = ()
    ignored_columns: tuple[str, ...] = ()


class _Problems:
    """Rows per (column, problem), in the order found."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, column: str, problem: str, row: int) -> None:
        self.rows[(column, problem)].append(row)

    def details(self) -> list[dict[str, Any]]:
        return [
            {"column": column, "problem": problem, "rows": rows[:SHOWN_ROWS], "count": len(rows)}
            for (column, problem), rows in self.rows.items()
        ]


def _missing(value: Any) -> bool:
    """``None``, or text that is exactly a missing token (as a CSV cell is judged)."""
    return value is None or (isinstance(value, str) and value in CSV_MISSING)


def _number(value: Any) -> tuple[float, str | None]:
    """A float and no problem, NaN for missing, or NaN and the problem's code."""
    if isinstance(value, bool):
        return math.nan, "not_a_number"
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond a double's range: never a missing value
            return math.nan, "out_of_range"
        return (number, None) if math.isfinite(number) else (math.nan, "not_finite")
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):  # digits that overflow a double are out of range
            number = float(text)
            return (number, None) if math.isfinite(number) else (math.nan, "out_of_range")
        if text.lower() in _INFINITE:
            return math.nan, "not_finite"
        return math.nan, "not_a_number"
    return math.nan, "not_a_scalar"


def _boolean(value: Any) -> tuple[float, str | None]:
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, str) and value.strip().lower() in _TRUE_FALSE:
        return _bool_value(value.strip()), None
    number, problem = _number(value)
    return (number, None) if problem is None else (math.nan, _bool_problem(problem))


def _bool_problem(problem: str) -> str:
    return "not_a_boolean" if problem == "not_a_number" else problem


_PLAIN_NUMBERS = frozenset({int, float})


def _clean_numbers(values: list[Any], limit: float) -> np.ndarray | None:
    """The column as floats when every value is a finite JSON number within ``limit``, else None.

    The common case, checked in C: a request of numbers needs no per-value look. Anything else
    (a string, a bool, a null, NaN, a huge value) returns None and takes the per-value path,
    which finds and names the problems.
    """
    if not set(map(type, values)) <= _PLAIN_NUMBERS:
        return None
    try:
        numbers = np.array(values, dtype=float)
    except OverflowError:  # an integer beyond float range
        return None
    if not np.isfinite(numbers).all() or (numbers.size and np.abs(numbers).max() > limit):
        return None
    return numbers


def _floats(
    column: InputColumn, values: list[Any], convert: Callable, problems: _Problems
) -> np.ndarray:
    limit = magnitude_limit(column)
    if convert is _number:
        numbers = _clean_numbers(values, limit)
        if numbers is not None:
            return numbers
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values):
        if _missing(value):
            if not column.nullable:
                problems.add(column.name, "missing_value", row)
            continue
        number, problem = convert(value)
        if problem is None and abs(number) > limit:
            problem = "out_of_range"
        if problem:
            problems.add(column.name, problem, row)
        else:
            out[row] = number
    return out


def _texts(column: InputColumn, values: list[Any], problems: _Problems) -> pd.Series:
    clean: list[Any] = []
    for row, value in enumerate(values):
        if isinstance(value, list | dict):
            problems.add(column.name, "not_a_scalar", row)
            value = None
        elif value is None or (isinstance(value, float) and math.isnan(value)):
            if not column.nullable:
                problems.add(column.name, "missing_value", row)
            value = None
        clean.append(value)
    return pd.Series(clean, dtype=object)


def _datetimes(column: InputColumn, values: list[Any], problems: _Problems) -> pd.Series:
    texts = _texts(column, [None if _missing(v) else v for v in values], problems)
    bad = texts.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)
    candidates = texts.where(~bad, None)
    stamps = utc_datetimes(candidates)
    unparsed = bad | (stamps.isna().to_numpy() & candidates.notna().to_numpy())
    for row in np.flatnonzero(unparsed).tolist():
        problems.add(column.name, "not_a_datetime", row)
    return stamps


def _coerce(column: InputColumn, values: list[Any], problems: _Problems) -> Any:
    if column.type in ("integer", "float"):
        return _floats(column, values, _number, problems)
    if column.type == "boolean":
        return _floats(column, values, _boolean, problems)
    if column.type == "datetime":
        return _datetimes(column, values, problems)
    return _texts(column, values, problems)


def _range_warning(column: InputColumn, numbers: np.ndarray) -> dict[str, Any] | None:
    if column.minimum is None or column.maximum is None or column.type == "boolean":
        return None
    with np.errstate(invalid="ignore"):
        outside = (numbers < column.minimum) | (numbers > column.maximum)
    rows = np.flatnonzero(outside).tolist()
    return _warning(column, "outside_training_range", rows, "outside the range seen in training")


def _category_warning(column: InputColumn, texts: pd.Series) -> dict[str, Any] | None:
    known = column.categories
    if not known or len(known) >= 1000:  # the schema keeps at most 1000: unknown is unsure
        return None
    seen = set(known)
    rows = [i for i, v in enumerate(texts) if v is not None and str(v) not in seen]
    unseen = "not seen in training, encoded as unknown (as training's encoder does)"
    return _warning(column, "unseen_category", rows, unseen)


def _warning(
    column: InputColumn, problem: str, rows: list[int], values_are: str
) -> dict[str, Any] | None:
    """The warning of ``column`` about ``rows`` (None if there are none): ``values_are`` says
    what the values in those rows are."""
    if not rows:
        return None
    return {
        "column": column.name,
        "problem": problem,
        "rows": rows[:SHOWN_ROWS],
        "count": len(rows),
        "message": f"column {column.name!r}: {len(rows)} value(s) {values_are}",
    }


def _shown(name: str) -> str:
    return name if len(name) <= 100 else name[:97] + "..."


def _columns_check(model: LoadedModel, table: RawTable, extra_policy: str) -> tuple[str, ...]:
    wanted = set(model.features)
    missing = [name for name in model.features if name not in table.columns]
    extra = tuple(_shown(str(n)) for n in table.names if n not in wanted)
    details = [{"column": name, "problem": "missing_column"} for name in missing]
    if extra_policy == "reject":
        details += [{"column": name, "problem": "unknown_column"} for name in extra]
    if details:
        first = details[0]
        raise SchemaMismatch(
            f"{len(details)} column problem(s); first: column {first['column']!r} is "
            + ("missing" if first["problem"] == "missing_column" else "not an input of the model"),
            details[:MAX_DETAILS],
        )
    return extra


def _message(details: list[dict[str, Any]]) -> str:
    first = details[0]
    text = f"column {first['column']!r}, row {first['rows'][0]}: {PROBLEMS[first['problem']]}"
    more = sum(d["count"] for d in details) - 1
    return text + (f" (and {more} more problem(s))" if more else "")


def validate(model: LoadedModel, table: RawTable, extra_policy: str = "ignore") -> ModelInput:
    """The model input for ``table``, or :class:`SchemaMismatch` with one detail per problem.

    Details are ``{"column", "problem", "rows", "count"}`` (at most ten rows shown, 0-based);
    warnings have the same keys plus a ``message``.
    """
    ignored = _columns_check(model, table, extra_policy)
    lane = _plain_numbers(model, table)
    if lane is not None:
        return ModelInput(lane[0], table.rows, lane[1], ignored)
    problems = _Problems()
    notes: list[dict[str, Any]] = []
    clean: dict[str, Any] = {}
    for column in model.inputs:
        values = _coerce(column, table.columns[column.name], problems)
        clean[column.name] = values
        if column.type == "string":
            note = _category_warning(column, values)
        elif column.type in ("integer", "float"):
            note = _range_warning(column, values)
        else:
            note = None
        if note:
            notes.append(note)
    details = problems.details()
    if details:
        for detail in details:
            detail["message"] = _message([detail])
        raise SchemaMismatch(_message(details), details[:MAX_DETAILS])
    index = pd.RangeIndex(table.rows)
    features = columns_frame(clean, index, model.schema, model.features)
    return ModelInput(features, table.rows, tuple(notes), ignored)


_NUMBER_TYPES = ("integer", "float")


def _plain_numbers(
    model: LoadedModel, table: RawTable
) -> tuple[pd.DataFrame, tuple[dict[str, Any], ...]] | None:
    """The common request at once: every input a number column, every value a finite JSON
    number within its column's limit. Then one float64 block holds the same values, and gets
    the same range warnings, as the column-by-column path; for anything else this answers None
    and that path finds and names the problems."""
    inputs = model.inputs
    if not all(column.type in _NUMBER_TYPES for column in inputs):
        return None
    values = [value for column in inputs for value in table.columns[column.name]]
    if not set(map(type, values)) <= _PLAIN_NUMBERS:
        return None
    try:
        block = np.array(values, dtype=np.float64).reshape(len(inputs), table.rows).T
    except OverflowError:  # an integer beyond float range
        return None
    limits = np.array([magnitude_limit(column) for column in inputs])
    if not np.isfinite(block).all() or (np.abs(block).max(axis=0, initial=0.0) > limits).any():
        return None
    names = pd.Index(model.features, dtype=object)  # as columns_frame names them: plain str
    frame = pd.DataFrame(block, columns=names, index=pd.RangeIndex(table.rows))
    return frame, _range_warnings(inputs, block)


def _range_warnings(inputs: tuple[InputColumn, ...], block: np.ndarray) -> tuple[dict, ...]:
    """:func:`_range_warning` of every column of ``block``, looking at the block once."""
    low = np.array([np.nan if c.minimum is None else c.minimum for c in inputs])
    high = np.array([np.nan if c.maximum is None else c.maximum for c in inputs])
    outside = np.flatnonzero(((block < low) | (block > high)).any(axis=0)).tolist()
    notes = (_range_warning(inputs[position], block[:, position]) for position in outside)
    return tuple(note for note in notes if note is not None)
