"""Table-wide checks of a new version: empty and constant columns, duplicate rows.

Duplicate rows are found with a 64-bit hash per row, folded column by column from per-column
codes that are equal exactly when the cells are (numpy, no Python loop over rows). Text reuses
the dictionary encoding its profile made, numbers and datetimes use their own bits. A column
whose values are all distinct proves that no two rows are equal, so the rest is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.report import MAX_LISTED, ImportReport

_MIX = np.uint64(0x9E3779B97F4A7C15)
_NAN_CODE = np.uint64(0x7FF8DEADBEEF0001)  # every NaN (and missing float) as one value


class RowHasher:
    """One 64-bit hash per row, equal for equal rows (collisions are astronomically rare)."""

    def __init__(self, rows: int) -> None:
        self._hashes: np.ndarray | None = np.zeros(rows, dtype=np.uint64)
        self.distinct_rows = False  # proved by a column of distinct values

    def add(
        self,
        column: pa.ChunkedArray,
        stats: dict[str, Any],
        encoded: pa.DictionaryArray | None = None,
    ) -> None:
        """Fold in one column, given its profile (and its dictionary encoding, if it has one)."""
        self.fold(self.codes(column, stats, encoded))

    def codes(
        self,
        column: pa.ChunkedArray,
        stats: dict[str, Any],
        encoded: pa.DictionaryArray | None = None,
    ) -> list[np.ndarray] | None:
        """The column's codes for :meth:`fold`, or ``None`` when its values are all distinct.

        Safe to call from several threads; :meth:`fold` is not.
        """
        if proves_distinct_rows(stats):
            return None
        if self._hashes is None:
            return []  # already proved: nothing left to fold
        return list(row_codes(column, encoded))

    def fold(self, codes: list[np.ndarray] | None) -> None:
        """Mix in one column's codes (``None``: the column proved every row distinct)."""
        if self._hashes is None:
            return
        if codes is None:
            self._hashes, self.distinct_rows = None, True
            return
        for code in codes:
            _fold(self._hashes, code)

    def duplicated(self) -> np.ndarray:
        """True for every row that repeats an earlier one."""
        if self._hashes is None:
            return np.zeros(0, dtype=bool)
        import pandas as pd

        return pd.Series(self._hashes).duplicated(keep="first").to_numpy()


def proves_distinct_rows(stats: dict[str, Any]) -> bool:
    """Whether a column's profile shows that no two rows of the table can be equal.

    Its present values are pairwise different, and at most one is missing. Floats must have no
    missing value at all: their codes make NaN and missing one value. (A profile counts 0.0 and
    -0.0 as one value where the codes do not: that only errs towards hashing.)
    """
    distinct, count, missing = stats.get("distinct"), stats["count"], stats["missing"]
    allowed = 0 if stats["type"] == "float" else 1
    return distinct == count and missing <= allowed


def row_codes(
    column: pa.ChunkedArray, encoded: pa.DictionaryArray | None = None
) -> Iterator[np.ndarray]:
    """Per-row uint64 codes of one column: equal codes (all of them) exactly for equal cells."""
    kind = column.type
    if pa.types.is_floating(kind):
        values = pc.fill_null(column, np.nan).to_numpy()
        codes = values.view(np.uint64).copy()
        codes[np.isnan(values)] = _NAN_CODE
        yield codes
    elif pa.types.is_integer(kind) or pa.types.is_timestamp(kind):
        yield from _bits_and_validity(column)
    else:
        if encoded is None:
            encoded = pc.dictionary_encode(column).combine_chunks()
        indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        yield indices.astype(np.int64).view(np.uint64) + np.uint64(1)


def _bits_and_validity(column: pa.ChunkedArray) -> Iterator[np.ndarray]:
    """The 64 bits of each integer (or timestamp), then, if some are missing, which are."""
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.int64())
    if column.null_count == 0:
        yield column.to_numpy().astype(np.int64, copy=False).view(np.uint64)
        return
    yield pc.fill_null(column, 0).to_numpy().astype(np.int64, copy=False).view(np.uint64)
    yield column.is_null().to_numpy(zero_copy_only=False).astype(np.uint64)


def _fold(hashes: np.ndarray, codes: np.ndarray) -> None:
    """Mix one column's codes into the row hashes, in place."""
    with np.errstate(over="ignore"):
        hashes ^= codes
        hashes *= _MIX
        hashes ^= hashes >> np.uint64(29)


def check_table(
    table: pa.Table,
    profile: dict[str, dict[str, Any]],
    report: ImportReport,
    rows: RowHasher | None = None,
) -> None:
    """Report empty and constant columns and duplicate rows.

    ``rows`` is the hasher that :func:`core.data.profile.profile_table` fed; without it the
    rows are hashed here.
    """
    for name, stats in profile.items():
        if stats["count"] == 0:
            report.add("empty_column", f"column {name!r} has no values", column=name)
        elif stats.get("distinct") == 1 and stats["missing"] == 0:
            report.add(
                "constant_column",
                f"column {name!r} holds one value only, so it cannot inform a model",
                column=name,
            )
    if table.num_rows < 2 or table.num_columns == 0:
        return
    if rows is None:
        rows = RowHasher(table.num_rows)
        for column, stats in zip(table.columns, profile.values(), strict=True):
            rows.add(column, stats)
    duplicated = rows.duplicated()
    count = int(duplicated.sum())
    if count:
        rows_listed = (np.flatnonzero(duplicated)[:MAX_LISTED] + 1).tolist()
        report.add(
            "duplicate_rows",
            f"{count} rows repeat an earlier row exactly (first at row {rows_listed[0]})",
            count=count,
            rows=rows_listed,
        )
