"""The profile of a scored version, read back from its written Parquet file column by column.

Up to :data:`PROFILE_ROWS` rows it is the import's profile (:func:`core.data.profile.
profile_column`), exact, computed on one column at a time (one per core: the workers are gone by
then). Its memory is then a column or two: 8 bytes a row for numbers, about three times that
while they are sorted. Beyond that, so that memory stays bounded whatever the row count, each
column is profiled on every k-th row (at most :data:`PROFILE_ROWS` rows, a stride through the
whole file): the row and missing counts stay exact (from the file's statistics), the other
figures (mean, quantiles, histogram, distinct values, top categories) are the stride's, and
every column says so with ``sampled_rows``.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.data.parallel import in_order, workers_for
from core.data.profile import profile_column
from core.progress import CancelToken, ProgressFn

PROFILE_ROWS = 5_000_000


def _stride(parquet: pq.ParquetFile, name: str, step: int) -> pa.ChunkedArray:
    """Rows 0, step, 2·step, … of one column, read a row group at a time."""
    pieces, offset = [], 0
    for group in range(parquet.metadata.num_row_groups):
        column = parquet.read_row_group(group, columns=[name], use_threads=False).column(0)
        first = (-offset) % step
        pieces.extend(column.take(pa.array(np.arange(first, len(column), step))).chunks)
        offset += len(column)
    return pa.chunked_array(pieces, type=parquet.schema_arrow.field(name).type)


def _missing(metadata: Any, index: int) -> int | None:
    """The column's null count from the file's statistics (None when one is not written)."""
    total = 0
    for group in range(metadata.num_row_groups):
        statistics = metadata.row_group(group).column(index).statistics
        if statistics is None or not statistics.has_null_count:
            return None
        total += statistics.null_count
    return total


def profile_file(
    path: Path,
    progress: ProgressFn,
    cancel: CancelToken,
    limit: int = PROFILE_ROWS,
) -> dict[str, dict[str, Any]]:
    """The profile of every column of the Parquet file at ``path`` (see the module)."""
    with pq.ParquetFile(path) as parquet:
        metadata, names = parquet.metadata, parquet.schema_arrow.names
    rows = metadata.num_rows
    step = max(1, math.ceil(rows / limit))

    def one(index: int) -> dict[str, Any]:
        with pq.ParquetFile(path) as parquet:  # a handle per thread
            if step == 1:
                return profile_column(parquet.read(columns=[names[index]]).column(0))
            stats = profile_column(_stride(parquet, names[index], step))
        sampled = stats["count"] + stats["missing"]
        missing = _missing(metadata, index)
        if missing is not None:
            stats.update(count=rows - missing, missing=missing, missing_share=missing / rows)
        return stats | {"sampled_rows": sampled}

    profile: dict[str, dict[str, Any]] = {}
    workers = workers_for(min(rows, limit))
    with contextlib.closing(in_order(one, range(len(names)), workers, cancel)) as done:
        for index, stats in enumerate(done):
            profile[names[index]] = stats
            progress((index + 1) / len(names), f"profiling {names[index]}")
    return profile
