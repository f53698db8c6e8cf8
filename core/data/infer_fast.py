"""Typing a CSV column in the common cases without a pass over it per rule.

:func:`core.data.infer.type_column` applies the rules in order, and the first rule (missing
tokens become missing) costs a hash lookup per cell before any type is tried. Empty cells (the one
token always in force) are found with one cheap comparison; the rest of that work can often be
proved unnecessary:

- no missing token is written as an integer, a date, ``true`` or ``false``, and only the
  NaN spellings among them ("nan", "NaN", "-nan", "-NaN") parse as floats. So when a column casts
  (or parses) whole to one of those types (a float column without NaN), it holds no token, and
  its only missing cells are the empty ones;
- a type the rules would not choose is often ruled out by the sample (1,000 values) alone, or by
  casting only the sample: if a sampled value does not cast, the column does not;
- leading zeros are counted from the cells' first bytes (:mod:`core.data.text_bytes`).

When the shortcut cannot prove that its answer is the rules' answer (a failed cast in a column
that does hold tokens, numbers with a few words among them, decimal commas, dates that stay text
for a reason the report must give), it answers
``None`` without touching the report, and :func:`type_text_column` hands the column to the
rules.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from core.data import dates, infer
from core.data.arrow_pool import import_pool
from core.data.infer import NO_FACTS, SAMPLE, ColumnFacts, TypingRules
from core.data.report import ImportReport
from core.data.text_bytes import leading_zero_count

_UNSURE = object()  # a rule's outcome the shortcut cannot tell: the rules decide


def type_text_column(
    name: str,
    values: pa.ChunkedArray,
    rules: TypingRules,
    report: ImportReport,
    line_of: Callable[[int], int | None],
    facts: ColumnFacts = NO_FACTS,
) -> pa.ChunkedArray:
    """:func:`core.data.infer.type_column` of a column of text, the same result sooner."""
    if values.null_count == 0:
        empty = pc.equal(values, "")  # far cheaper than having the CSV reader look for them
        if pc.any(empty).as_py():
            nulled = pc.if_else(empty, None, values, memory_pool=import_pool())
        else:
            nulled = values
        typed = quick_type(name, nulled, rules, report, facts)
        if typed is not None:
            return typed
    return infer.type_column(name, values, rules, report, line_of, facts)


def quick_type(
    name: str,
    values: pa.ChunkedArray,
    rules: TypingRules,
    report: ImportReport,
    facts: ColumnFacts = NO_FACTS,
) -> pa.ChunkedArray | None:
    """The rules' typed column, or ``None`` (and nothing reported) when that is not proved.

    ``values`` is a text column whose nulls are its empty cells; ``facts``, when given, describe
    the column as read (empty cells counted as missing).
    """
    if rules.decimal != "." or len(values) == 0:
        return None
    empties = values.null_count
    if empties == len(values):
        _note_empties(name, empties, report)
        return values
    sample = rules_sample(values, rules.missing_tokens)
    if not sample:
        return None
    tokens = _Tokens(values, rules.missing_tokens, facts)
    for attempt in (_as_integer, _as_float, _as_boolean, _as_datetime):
        outcome = attempt(name, values, sample, tokens, rules)
        if outcome is _UNSURE:
            return None
        if outcome is not None:
            typed, check_zeros = outcome
            _note_empties(name, empties, report)
            if check_zeros:  # numbers written with leading zeros are codes: they stay text
                zeros = facts.leading_zeros
                if zeros is None:
                    zeros = leading_zero_count(values)
                if infer.kept_as_codes(name, values, report, zeros):
                    return values
            return typed
    if _mostly_numbers(sample) or not tokens.absent:
        return None  # numbers with some words (conflicts), or tokens to count: the rules
    _note_empties(name, empties, report)
    return values


def _note_empties(name: str, empties: int, report: ImportReport) -> None:
    if empties:
        report.note_missing(name, {"": empties})


class _Tokens:
    """Whether the column holds a missing token other than the empty cell, found out lazily."""

    def __init__(self, values: pa.ChunkedArray, tokens: frozenset[str], facts: ColumnFacts):
        self._values = values
        self._tokens = tokens
        self._facts = facts
        self._absent: bool | None = None

    @property
    def absent(self) -> bool:
        if self._absent is None:
            if self._facts.missing is not None:
                self._absent = self._facts.missing == self._values.null_count
            else:
                found = pc.is_in(self._values, value_set=_non_empty(self._tokens))
                self._absent = not pc.any(found).as_py()
        return self._absent


@functools.lru_cache(maxsize=8)
def _non_empty(tokens: frozenset[str]) -> pa.Array:
    return pa.array(sorted(tokens - {""}), pa.string())


def rules_sample(values: pa.ChunkedArray, tokens: frozenset[str]) -> list[str]:
    """The rules' sample: the first 1,000 present values among the first 10,000 cells."""
    head = values.slice(0, SAMPLE * 10).drop_null()
    sample: list[str] = []
    start = 0
    while len(sample) < SAMPLE and start < len(head):
        piece = head.slice(start, SAMPLE).to_pylist()
        sample.extend(v for v in piece if v not in tokens and v != "")
        start += SAMPLE
    return sample[:SAMPLE]


# A rule's outcome: (typed column, whether leading zeros keep it text), None (not this type)
# or _UNSURE.
Outcome = tuple[pa.ChunkedArray, bool] | object | None


def _failed(tokens: _Tokens) -> object | None:
    """A full cast failed: without tokens the rules' cast fails too; with them, who knows."""
    return None if tokens.absent else _UNSURE


def _as_integer(
    name: str, values: pa.ChunkedArray, sample: list[str], tokens: _Tokens, rules: TypingRules
) -> Outcome:
    if not all(v.strip().lstrip("+-").isdigit() for v in sample):
        return None
    typed = infer.try_cast(values, pa.int64())
    if typed is None:
        return _failed(tokens)
    dated = dates.compact_dates(name, typed)
    return (typed, True) if dated is None else (dated, False)


def _as_float(
    name: str, values: pa.ChunkedArray, sample: list[str], tokens: _Tokens, rules: TypingRules
) -> Outcome:
    if not infer.sample_casts(sample, pa.float64()):
        return None
    typed = infer.try_cast(values, pa.float64())
    if typed is None:
        return _failed(tokens)
    if pc.any(pc.is_nan(typed)).as_py() and not tokens.absent:
        return _UNSURE  # "NaN" cells may be tokens, which the rules make missing
    return typed, True


def _as_boolean(
    name: str, values: pa.ChunkedArray, sample: list[str], tokens: _Tokens, rules: TypingRules
) -> Outcome:
    if any(v.lower() not in ("true", "false") for v in sample):
        return None
    words = infer.boolean_words()
    present = len(values) - values.null_count
    if pc.sum(pc.is_in(values, value_set=words)).as_py() == present:  # as written, mostly
        return pc.equal(values, "true", memory_pool=import_pool()), False
    lowered = pc.utf8_lower(values, memory_pool=import_pool())
    if not pc.all(pc.is_in(lowered.drop_null(), value_set=words)).as_py():
        return _failed(tokens)
    return pc.equal(lowered, "true"), False


def _as_datetime(
    name: str, values: pa.ChunkedArray, sample: list[str], tokens: _Tokens, rules: TypingRules
) -> Outcome:
    """The rules' dates; a column of dates that stays text goes to the rules, which say why."""
    dated = dates.read_dates(values, sample, rules.date_order)
    if isinstance(dated, dates.DateProblem):
        return _UNSURE
    return None if dated is None else (dated, False)


def _mostly_numbers(sample: list[str]) -> bool:
    """The rules' test for trying numbers with conflicts (decimal point files)."""
    return sum(1 for v in sample if infer.NUMBER.match(v)) >= 0.5 * len(sample)
