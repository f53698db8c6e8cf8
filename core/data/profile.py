"""Column profiles, computed once per version and stored with it.

Per column: Shipway type, missing count and share, distinct count; for numbers min, max, mean,
std, quantiles, infinite count and a 20-bin histogram; for text and booleans the top categories
(and the text's shortest and longest length); for datetimes the range.

Text is hashed once per column: its dictionary encoding gives the distinct values, their counts
(a ``bincount`` of the indices) and, handed to :class:`core.data.table_checks.RowHasher`, the
codes that find duplicate rows. An id column (cells of one width, all different) is not hashed
at all, and proves the rows distinct. Numbers and datetimes are sorted instead of hashed.
"""

from __future__ import annotations

import math
import threading
from contextlib import closing
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.data.arrow_pool import import_pool
from core.data.infer import shipway_type
from core.data.parallel import in_order, workers_for
from core.data.table_checks import RowHasher
from core.data.text_bytes import all_distinct
from core.progress import CancelToken, ProgressFn, no_progress

HISTOGRAM_BINS = 20
TOP_CATEGORIES = 20
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def profile_table(
    table: pa.Table,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    rows: RowHasher | None = None,
    spare_threads: int = 0,
) -> dict[str, dict[str, Any]]:
    """The profile of every column, by name; ``rows``, when given, is fed every column.

    Columns are profiled on all cores for long tables, less ``spare_threads`` (cores left to
    other work running meanwhile); ``rows`` folds their codes in column order, in this thread.
    """
    batched = numeric_profiles_batched(table)

    def profile_one(index: int) -> tuple[dict[str, Any], list[np.ndarray] | None]:
        column = table.column(index)
        if index in batched:
            stats, encoded = batched[index], None
        else:
            stats, encoded = profile_and_encoding(column)
        return stats, None if rows is None else rows.codes(column, stats, encoded)

    profile: dict[str, dict[str, Any]] = {}
    names = table.column_names
    workers = max(1, workers_for(table.num_rows) - spare_threads)
    try:
        with closing(in_order(profile_one, range(len(names)), workers, cancel)) as done:
            for index, (stats, codes) in enumerate(done):
                profile[names[index]] = stats
                if rows is not None:
                    rows.fold(codes)
                progress((index + 1) / len(names), f"profiling column {index + 1}")
    finally:
        _SCRATCH.buffer = None  # this thread's (the workers' go with them)
    return profile


def encode(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """One dictionary encoding of the whole column (nulls stay nulls in the indices)."""
    pool = import_pool()
    encoded = pc.dictionary_encode(column, memory_pool=pool)
    return encoded.combine_chunks(memory_pool=pool)  # the chunks share one dictionary


def profile_column(column: pa.ChunkedArray) -> dict[str, Any]:
    """The profile of one column."""
    return profile_and_encoding(column)[0]


def profile_and_encoding(
    column: pa.ChunkedArray,
) -> tuple[dict[str, Any], pa.DictionaryArray | None]:
    """The profile of one column, and the dictionary encoding it was made from, if any.

    Text and booleans are encoded, except text whose cells :func:`all_distinct` proves
    different (an id column): its profile follows without hashing it.
    """
    kind = shipway_type(column.type)
    rows = len(column)
    missing = column.null_count
    stats: dict[str, Any] = {
        "type": kind,
        "count": rows - missing,
        "missing": missing,
        "missing_share": missing / rows if rows else 0.0,
    }
    encoded = None
    if kind in ("integer", "float"):
        stats.update(_numeric(column))
    elif kind == "datetime":
        stats.update(_datetime(column))
    elif kind == "string" and all_distinct(column):
        stats.update(_distinct_text(column))
    else:
        encoded = encode(column)
        stats.update(_categorical(column, encoded))
    return stats, encoded


def _numeric(column: pa.ChunkedArray) -> dict[str, Any]:
    """Numeric statistics from one sort, in few numpy calls (wide tables have 20,000 columns).

    Same results as ``np.quantile`` (linear) and ``np.histogram`` (last bin closed), without
    their per-call overhead, which dominated the import of wide tables.
    """
    values = column.drop_null().to_numpy().astype(np.float64, copy=False)
    size = values.size
    if values.flags.writeable:  # a copy of its own (several chunks, or integers): in place
        values.sort()  # -inf first, then numbers, +inf, NaN last
        ordered = values
    else:
        ordered = np.sort(values)
    finite, nan = _finite_part(ordered, pa.types.is_floating(column.type))
    out: dict[str, Any] = {
        "distinct": _distinct_sorted(ordered, nan, column),
        "infinite": int(size - finite.size - nan),
    }
    if finite.size == 0:
        return out
    low, high = float(finite[0]), float(finite[-1])
    span = high - low if high > low else 1.0
    edges = low + (span / HISTOGRAM_BINS) * np.arange(HISTOGRAM_BINS + 1)
    edges[-1] = low + span
    positions = np.searchsorted(finite, edges, side="left")
    positions[-1] = finite.size
    mean = float(finite.sum()) / finite.size
    spread = np.subtract(finite, mean, out=_scratch(finite.size))
    std = math.sqrt(float(spread @ spread) / (finite.size - 1)) if finite.size > 1 else 0.0
    out.update(
        min=low,
        max=high,
        mean=_finite(mean),
        std=_finite(std),
        quantiles=dict(zip(_QUANTILE_KEYS, _sorted_quantiles(finite), strict=True)),
        histogram={"edges": edges.tolist(), "counts": np.diff(positions).tolist()},
    )
    return out


_SCRATCH = threading.local()


def _scratch(size: int) -> np.ndarray:
    """A float array of ``size`` for intermediate results, reused by the thread's next column
    (a fresh array of a million floats costs its page faults every time)."""
    buffer = getattr(_SCRATCH, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = _SCRATCH.buffer = np.empty(max(size, 1024))
    return buffer[:size]


def _finite_part(ordered: np.ndarray, floating: bool) -> tuple[np.ndarray, int]:
    """The finite values of a sorted array (a view: they sit between the infinities) and the
    count of NaN (sorted last)."""
    if not floating:
        return ordered, 0
    nan = ordered.size - int(np.searchsorted(ordered, np.nan))
    low = int(np.searchsorted(ordered, -np.inf, side="right"))
    high = int(np.searchsorted(ordered[: ordered.size - nan], np.inf, side="left"))
    return ordered[low:high], nan


_QUANTILE_ARRAY = np.asarray(QUANTILES)
_QUANTILE_KEYS = [str(q) for q in QUANTILES]


def _sorted_quantiles(ordered: np.ndarray) -> list[float]:
    """``np.quantile(ordered, QUANTILES)`` (linear interpolation) of an already sorted array."""
    position = _QUANTILE_ARRAY * (ordered.size - 1)
    below = position.astype(np.int64)
    above = np.minimum(below + 1, ordered.size - 1)
    low = ordered[below]
    return (low + (ordered[above] - low) * (position - below)).tolist()


def _distinct_sorted(ordered: np.ndarray, nan: int, column: pa.ChunkedArray) -> int:
    core = ordered[: ordered.size - nan]
    if pa.types.is_integer(column.type) and core.size and max(-core[0], core[-1]) >= 2**53:
        return int(pc.count_distinct(column, mode="only_valid").as_py())  # beyond float's ints
    changes = int(np.count_nonzero(core[1:] != core[:-1])) + 1 if core.size else 0
    return changes + (1 if nan else 0)


# Wide tables: numeric columns are profiled together, as one matrix (see profile_column).
BATCH_MIN_COLUMNS = 64
BATCH_MAX_CELLS = 2_000_000


def numeric_profiles_batched(table: pa.Table) -> dict[int, dict[str, Any]]:
    """Profiles of a wide table's complete numeric columns, by column index, in one pass.

    The same statistics as :func:`profile_column`, for columns without missing, infinite or
    NaN values (and integers that float64 holds exactly); other columns are left out, to be
    profiled one by one. Narrow or large tables return nothing: there, batching does not pay.
    """
    rows = table.num_rows
    picked = [
        i
        for i, column in enumerate(table.columns)
        if column.null_count == 0
        and (pa.types.is_integer(column.type) or pa.types.is_floating(column.type))
    ]
    if rows < 2 or len(picked) < BATCH_MIN_COLUMNS or rows * len(picked) > BATCH_MAX_CELLS:
        return {}
    matrix = np.empty((rows, len(picked)))
    for j, index in enumerate(picked):
        matrix[:, j] = table.column(index).to_numpy()
    usable = np.isfinite(matrix).all(axis=0) & (np.abs(matrix).max(axis=0) < 2**53)
    matrix = matrix[:, usable]
    picked = [index for index, keep in zip(picked, usable, strict=True) if keep]
    if not picked:
        return {}
    kind = [shipway_type(table.column(index).type) for index in picked]
    return dict(zip(picked, _matrix_profiles(matrix, kind), strict=True))


def _matrix_profiles(matrix: np.ndarray, kinds: list[str]) -> list[dict[str, Any]]:
    rows = matrix.shape[0]
    ordered = np.sort(matrix, axis=0)
    low, high = ordered[0], ordered[-1]
    distinct = (ordered[1:] != ordered[:-1]).sum(axis=0) + 1
    mean = matrix.sum(axis=0) / rows
    std = np.sqrt(((matrix - mean) ** 2).sum(axis=0) / (rows - 1))
    position = _QUANTILE_ARRAY * (rows - 1)
    below = position.astype(np.int64)
    above = np.minimum(below + 1, rows - 1)
    fraction = (position - below)[:, None]
    quantiles = ordered[below] + (ordered[above] - ordered[below]) * fraction
    edges, counts = _matrix_histograms(matrix, low, high)
    return [
        {
            "type": kinds[j],
            "count": rows,
            "missing": 0,
            "missing_share": 0.0,
            "distinct": int(distinct[j]),
            "infinite": 0,
            "min": float(low[j]),
            "max": float(high[j]),
            "mean": _finite(float(mean[j])),
            "std": _finite(float(std[j])),
            "quantiles": dict(zip(_QUANTILE_KEYS, quantiles[:, j].tolist(), strict=True)),
            "histogram": {"edges": edges[:, j].tolist(), "counts": counts[j].tolist()},
        }
        for j in range(matrix.shape[1])
    ]


def _matrix_histograms(
    matrix: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per column: the edges of :func:`_numeric` and the counts ``np.histogram`` would give."""
    span = np.where(high > low, high - low, 1.0)
    edges = low + (span / HISTOGRAM_BINS) * np.arange(HISTOGRAM_BINS + 1)[:, None]
    edges[-1] = low + span
    bins = np.clip(
        ((matrix - low) / (span / HISTOGRAM_BINS)).astype(np.int64), 0, HISTOGRAM_BINS - 1
    )
    # The division can land one bin off next to an edge; the comparisons decide, as in _numeric.
    bins -= matrix < np.take_along_axis(edges, bins, axis=0)
    upper = np.take_along_axis(edges, np.minimum(bins + 1, HISTOGRAM_BINS), axis=0)
    bins += (matrix >= upper) & (bins < HISTOGRAM_BINS - 1)
    columns = matrix.shape[1]
    flat = (bins + np.arange(columns) * HISTOGRAM_BINS).ravel()
    counts = np.bincount(flat, minlength=columns * HISTOGRAM_BINS).reshape(columns, HISTOGRAM_BINS)
    return edges, counts


def _datetime(column: pa.ChunkedArray) -> dict[str, Any]:
    bounds = pc.min_max(column)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    ticks = np.sort(column.drop_null().to_numpy().view(np.int64))  # a sort beats a hash here
    return {
        "distinct": int(np.count_nonzero(ticks[1:] != ticks[:-1])) + 1 if ticks.size else 0,
        "min": low.isoformat() if low else None,
        "max": high.isoformat() if high else None,
    }


def _categorical(column: pa.ChunkedArray, encoded: pa.DictionaryArray) -> dict[str, Any]:
    """Distinct values, the most frequent ones (ties: first seen first) and text lengths.

    The same as ``pc.value_counts`` would give: its values come in the order in which they are
    first seen, as a dictionary encoding's do.
    """
    values = encoded.dictionary
    indices = encoded.indices.drop_null().to_numpy()
    tallies = np.bincount(indices, minlength=len(values))
    order = np.argsort(-tallies, kind="stable")[:TOP_CATEGORIES]
    top = [{"value": _text(values[int(i)].as_py()), "count": int(tallies[i])} for i in order]
    out: dict[str, Any] = {"distinct": len(values), "top": top}
    if pa.types.is_string(column.type) and len(values):
        bounds = pc.min_max(pc.utf8_length(values))  # each distinct value once
        out["length"] = {"min": bounds["min"].as_py(), "max": bounds["max"].as_py()}
    return out


def _distinct_text(column: pa.ChunkedArray) -> dict[str, Any]:
    """What :func:`_categorical` gives for text of distinct cells: each is seen once."""
    lengths = pc.min_max(pc.utf8_length(column))
    first = column.slice(0, TOP_CATEGORIES).to_pylist()
    return {
        "distinct": len(column),
        "top": [{"value": value, "count": 1} for value in first],
        "length": {"min": lengths["min"].as_py(), "max": lengths["max"].as_py()},
    }


def _text(value: Any) -> Any:
    return value if isinstance(value, str | int | float) or value is None else str(value)
