"""Typing text columns: from the strings of a CSV (or mixed cells of a workbook) to one type.

Every column ends with exactly one Shipway type: ``integer``, ``float``, ``boolean``,
``datetime`` or ``string``. Never a mixed column. The rules, in order:

1. Cells equal to a missing token (or empty) become missing; the report counts them per token.
2. All values are integers → ``integer``, unless some have leading zeros ("007"): those are
   codes, kept as ``string`` and noted. This holds on every numeric path below too, so a column
   of zip codes with one stray word never loses its zeros. ("0x1F" is not a number at all.)
3. All values are numbers (with the file's decimal mark; "1.234,5" and "1.234" in decimal-comma
   files) → ``float``.
4. ``true``/``false`` in any case → ``boolean``; dates and times written one way in every cell
   (ISO 8601, ``2012/01/31``, ``31/01/2012``, ``Jan 31 2012``...) → ``datetime``; a column of
   dates that cannot be read one way (several layouts, an impossible date, day and month in an
   order the values do not settle) stays ``string`` and the report says why
   (:mod:`core.data.dates`). Integers written YYYYMMDD in a column named like a date are dates.
5. Numbers except for a small share (``max_type_conflict_share``, default 1%) → numeric; the
   other cells become missing and the report names them with their first rows. A column with
   more text than that stays ``string``.

All work is vectorised with pyarrow.compute; Python only looks at a small sample.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data import dates
from core.data.arrow_pool import import_pool
from core.data.dates import DateProblem
from core.data.report import ImportReport
from core.data.text_bytes import LEADING_ZERO_PATTERN, leading_zero_count

NUMBER_PATTERN = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
COMMA_NUMBER_PATTERN = r"^\s*[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?\s*$"
NUMBER = re.compile(NUMBER_PATTERN)
_COMMA_NUMBER = re.compile(COMMA_NUMBER_PATTERN)
_COMMA_DECIMAL = re.compile(r"^\s*[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+\s*$")
_DOT_DECIMAL = re.compile(r"^\s*[+-]?\d+\.\d+\s*$")
# "1.234" is a decimal in one country and a thousand in another: it decides nothing.
_THOUSANDS_ONLY = re.compile(r"^\s*[+-]?\d{1,3}(\.\d{3})+\s*$")
SAMPLE = 1000

TYPE_NAMES = {
    pa.int64(): "integer",
    pa.float64(): "float",
    pa.bool_(): "boolean",
    pa.string(): "string",
}


def shipway_type(arrow_type: pa.DataType) -> str:
    """The Shipway name of a normalised Arrow type."""
    if pa.types.is_timestamp(arrow_type):
        return "datetime"
    return TYPE_NAMES.get(arrow_type, "string")


@dataclass(frozen=True)
class TypingRules:
    missing_tokens: frozenset[str]
    decimal: str = "."  # "." or ","
    max_conflict_share: float = 0.01
    date_order: str = "auto"  # "auto", "day_first" or "month_first" (see core.data.dates)


@dataclass(frozen=True)
class ColumnFacts:
    """Counts over a whole text column that typing needs; ``None`` means "count it yourself"."""

    missing: int | None = None  # cells equal to a missing token (or empty)
    leading_zeros: int | None = None  # other cells written as numbers with leading zeros


NO_FACTS = ColumnFacts()
# Wide tables are typed in batches: a few pyarrow calls per column cost more than the data.
BATCH_MIN_COLUMNS = 64
BATCH_MAX_CELLS = 4_000_000


def column_facts(columns: list[pa.ChunkedArray], rules: TypingRules) -> list[ColumnFacts]:
    """The facts of many text columns of equal length, in a few calls over all their cells.

    Returns :data:`NO_FACTS` for each column when batching would not pay (narrow tables) or
    would cost too much memory (a byte per cell, twice).
    """
    rows = len(columns[0]) if columns else 0
    if len(columns) < BATCH_MIN_COLUMNS or rows * len(columns) > BATCH_MAX_CELLS or rows == 0:
        return [NO_FACTS] * len(columns)
    cells = pa.chunked_array([c for column in columns for c in column.chunks], pa.string())
    missing = _as_matrix(pc.is_in(cells, value_set=_token_array(rules.missing_tokens)), rows)
    zeros = _as_matrix(pc.match_substring_regex(cells, LEADING_ZERO_PATTERN), rows) & ~missing
    return [
        ColumnFacts(int(m), int(z))
        for m, z in zip(missing.sum(axis=1), zeros.sum(axis=1), strict=True)
    ]


def _as_matrix(flags: pa.ChunkedArray, rows: int) -> np.ndarray:
    """One row of booleans per column (nulls count as False)."""
    return pc.fill_null(flags, False).to_numpy(zero_copy_only=False).reshape(-1, rows)


def detect_decimal_comma(columns: list[pa.ChunkedArray], delimiter: str) -> bool:
    """True when the file writes decimals with a comma (European spreadsheet exports)."""
    if delimiter == ",":
        return False
    comma = dot = 0
    for column in columns:
        for value in column.slice(0, SAMPLE).to_pylist():
            if value is None:
                continue
            if _COMMA_DECIMAL.match(value):
                comma += 1
            elif _DOT_DECIMAL.match(value) and not _THOUSANDS_ONLY.match(value):
                dot += 1
    return comma > 0 and comma >= 10 * dot


def type_column(
    name: str,
    values: pa.ChunkedArray,
    rules: TypingRules,
    report: ImportReport,
    line_of: Callable[[int], int | None],
    facts: ColumnFacts = NO_FACTS,
) -> pa.ChunkedArray:
    """Turn one column of strings into one typed column, reporting what was changed.

    ``facts`` are counts already made over the whole column (see :func:`column_facts`).
    """
    values = _apply_missing_tokens(name, values, rules, report, facts)
    present = len(values) - values.null_count
    if present == 0:
        return values
    sample = values.slice(0, SAMPLE * 10).drop_null().slice(0, SAMPLE).to_pylist()
    zeros = facts.leading_zeros
    for attempt in (_as_integer, _as_float, _as_boolean):
        typed = attempt(name, values, sample, rules, report, zeros)
        if typed is not None:
            return typed
    dated = dates.read_dates(values, sample, rules.date_order)
    if isinstance(dated, DateProblem):
        dates.report_dates(name, values, dated, report, line_of)
        return values
    if dated is not None:
        return dated
    return _numeric_with_conflicts(name, values, sample, present, rules, report, line_of, zeros)


def _apply_missing_tokens(
    name: str,
    values: pa.ChunkedArray,
    rules: TypingRules,
    report: ImportReport,
    facts: ColumnFacts,
) -> pa.ChunkedArray:
    if facts.missing == 0:
        return values
    is_missing = pc.is_in(values, value_set=_token_array(rules.missing_tokens))
    if not pc.any(is_missing).as_py():
        return values
    counts = pc.value_counts(pc.filter(values, is_missing))
    report.note_missing(
        name,
        {str(item["values"]): int(item["counts"]) for item in counts.to_pylist()},
    )
    return pc.if_else(is_missing, pa.scalar(None, pa.string()), values, memory_pool=import_pool())


@functools.cache
def boolean_words() -> pa.Array:
    """``true`` and ``false`` (made on first use: no pyarrow work at import)."""
    return pa.array(["true", "false"])


@functools.lru_cache(maxsize=8)
def _token_array(tokens: frozenset[str]) -> pa.Array:
    return pa.array(sorted(tokens | {""}), pa.string())


def try_cast(values: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray | None:
    try:
        return pc.cast(values, target, memory_pool=import_pool())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def sample_casts(sample: list[str], target: pa.DataType) -> bool:
    """Whether every sampled value casts to ``target``; if one does not, neither does the column.

    A failed cast of a whole column costs about as much as a successful one (~10 ms per million
    cells); the sample's costs microseconds.
    """
    return try_cast(pa.array(sample, pa.string()), target) is not None


def _as_integer(name, values, sample, rules, report, zeros):
    if not all(v.strip().lstrip("+-").isdigit() for v in sample):
        return None
    typed = try_cast(values, pa.int64())
    if typed is None:
        return None
    dated = dates.compact_dates(name, typed)
    if dated is not None:
        return dated
    return values if kept_as_codes(name, values, report, zeros) else typed


def kept_as_codes(
    name: str, values: pa.ChunkedArray, report: ImportReport, zeros: int | None
) -> bool:
    """True (and noted) when some numbers are written with leading zeros, as codes are."""
    if zeros is None:
        zeros = leading_zero_count(values)
    if zeros:
        report.add(
            "kept_as_text",
            f"column {name!r} kept as text: {zeros} values have leading zeros, so they are "
            "codes rather than numbers",
            severity="info",
            column=name,
            count=zeros,
        )
    return bool(zeros)


def _as_float(name, values, sample, rules, report, zeros):
    typed = None
    # Before the plain cast: in a decimal-comma file "1.234" is one thousand two hundred...
    if (
        rules.decimal == ","
        and sample
        and all(_COMMA_NUMBER.match(v) for v in sample)
        and pc.all(pc.match_substring_regex(values, COMMA_NUMBER_PATTERN)).as_py()
    ):
        typed = try_cast(_comma_to_dot(values), pa.float64())
    if typed is None and sample_casts(sample, pa.float64()):
        typed = try_cast(values, pa.float64())
    if typed is None or kept_as_codes(name, values, report, zeros):
        return None if typed is None else values
    return typed


def _comma_to_dot(values: pa.ChunkedArray) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(values)
    no_thousands = pc.replace_substring(trimmed, ".", "")
    return pc.replace_substring(no_thousands, ",", ".")


def _as_boolean(name, values, sample, rules, report, zeros):
    if not sample or any(v.lower() not in ("true", "false") for v in sample):
        return None
    lowered = pc.utf8_lower(values, memory_pool=import_pool())
    # Missing cells are nulls, dropped here.
    if not pc.all(pc.is_in(lowered.drop_null(), value_set=boolean_words())).as_py():
        return None
    return pc.equal(lowered, "true")


def _numeric_with_conflicts(
    name: str,
    values: pa.ChunkedArray,
    sample: list[str],
    present: int,
    rules: TypingRules,
    report: ImportReport,
    line_of: Callable[[int], int | None],
    zeros: int | None,
) -> pa.ChunkedArray:
    """A mostly-numeric column: numbers stay, the few other cells become missing (reported)."""
    comma = rules.decimal == ","
    pattern = COMMA_NUMBER_PATTERN if comma else NUMBER_PATTERN
    matcher = _COMMA_NUMBER if comma else NUMBER
    if not sample or sum(1 for v in sample if matcher.match(v)) < 0.5 * len(sample):
        return values
    is_number = pc.match_substring_regex(values, pattern)
    bad = present - (pc.sum(is_number).as_py() or 0)
    if bad > rules.max_conflict_share * present or kept_as_codes(name, values, report, zeros):
        return values
    not_number = pc.fill_null(pc.invert(is_number), False)
    cleaned = pc.if_else(not_number, pa.scalar(None, pa.string()), values) if bad else values
    cleaned = _comma_to_dot(cleaned) if comma else pc.utf8_trim_whitespace(cleaned)
    typed = try_cast(cleaned, pa.int64())
    if typed is None or (comma and pc.any(pc.match_substring(values, ",")).as_py()):
        typed = try_cast(cleaned, pa.float64())
    if typed is None:
        return values
    if bad:
        _report_conflict(name, values, not_number, bad, report, line_of)
    return typed


def _report_conflict(name, values, not_number, bad, report, line_of) -> None:
    report.add_listed(
        "type_conflict",
        name,
        values,
        not_number,
        line_of,
        lambda count, tokens, where: (
            f"column {name!r} holds numbers, but {count} cells are "
            f"not numbers ({tokens}), first at {where}; they became missing values"
        ),
    )
