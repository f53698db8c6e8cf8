"""What changed between two versions of a data set.

Schema changes (columns added, removed, retyped), row counts, and per common column the shift
of its distribution: the Population Stability Index (PSI; 0.1 worth a look, 0.2 a real shift),
computed on the first version's deciles for numbers (values equal to an edge binned apart, so
point masses count) and on categories for text, plus the change of mean and of missing share,
and categories that appeared or vanished.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from core.entities import DatasetVersion

PSI_WARNING = 0.1
PSI_SHIFT = 0.2
_EPS = 1e-4


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI of two count vectors over the same bins."""
    e = np.maximum(expected / max(expected.sum(), 1), _EPS)
    a = np.maximum(actual / max(actual.sum(), 1), _EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts below, at and between the sorted ``edges`` and above them (2k + 1 bins).

    Values equal to an edge get their own bin, so point masses count: a constant first version
    (one edge) still shows a shift when the second moved away from that value.
    """
    index = np.searchsorted(edges, values, "left") + np.searchsorted(edges, values, "right")
    return np.bincount(index, minlength=2 * edges.size + 1)


def _numeric_shift(a: pa.ChunkedArray, b: pa.ChunkedArray) -> dict[str, Any]:
    va = pc.cast(a.drop_null(), pa.float64()).to_numpy()
    vb = pc.cast(b.drop_null(), pa.float64()).to_numpy()
    va, vb = va[np.isfinite(va)], vb[np.isfinite(vb)]
    if va.size == 0 or vb.size == 0:
        return {"psi": None}
    edges = np.unique(np.quantile(va, np.linspace(0, 1, 11)))
    ca, cb = _bin_counts(va, edges), _bin_counts(vb, edges)
    return {
        "psi": psi(ca.astype(float), cb.astype(float)),
        "mean": [float(va.mean()), float(vb.mean())],
        "std": [float(va.std()), float(vb.std())],
    }


def _categorical_shift(a: pa.ChunkedArray, b: pa.ChunkedArray) -> dict[str, Any]:
    def counts(column: pa.ChunkedArray) -> dict[Any, int]:
        tallies = pc.value_counts(column.drop_null())
        values, counts = tallies.field("values"), tallies.field("counts")
        return dict(zip(values.to_pylist(), counts.to_pylist(), strict=True))

    ca, cb = counts(a), counts(b)
    keys = sorted(set(ca) | set(cb), key=str)
    ea = np.array([ca.get(k, 0) for k in keys], dtype=float)
    eb = np.array([cb.get(k, 0) for k in keys], dtype=float)
    return {
        "psi": psi(ea, eb) if keys else None,
        "new_categories": [str(k) for k in keys if k not in ca][:20],
        "vanished_categories": [str(k) for k in keys if k not in cb][:20],
    }


@dataclass(frozen=True)
class DatasetDiff:
    """Two versions side by side: rows, schema changes, and per-column shift.

    ``columns`` holds one entry per shared column: ``name``, ``type`` (a, b), ``missing_share``
    (a, b), ``psi``, ``shift`` ("stable", "warning", "shift" or "n/a") and the numeric or
    categorical details of the shift.
    """

    a: str
    b: str
    rows: tuple[int, int]
    rows_delta: int
    schema: dict[str, dict[str, Any]]
    columns: tuple[dict[str, Any], ...]
    shifted: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Every field, its tuples as lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def diff_tables(va: DatasetVersion, ta: pa.Table, vb: DatasetVersion, tb: pa.Table) -> DatasetDiff:
    sa, sb = va.schema, vb.schema
    common = [name for name in sa if name in sb]
    columns = []
    for name in common:
        a, b = ta.column(name), tb.column(name)
        entry: dict[str, Any] = {"name": name, "type": [sa[name], sb[name]]}
        entry["missing_share"] = [
            a.null_count / max(len(a), 1),
            b.null_count / max(len(b), 1),
        ]
        numeric = {"integer", "float"}
        if sa[name] in numeric and sb[name] in numeric:
            entry.update(_numeric_shift(a, b))
        elif sa[name] == sb[name]:
            entry.update(_categorical_shift(a, b))
        else:
            entry["psi"] = None
        value = entry.get("psi")
        entry["shift"] = (
            "n/a" if value is None else
            "shift" if value >= PSI_SHIFT else "warning" if value >= PSI_WARNING else "stable"
        )  # fmt: skip
        columns.append(entry)
    return DatasetDiff(
        a=va.ref,
        b=vb.ref,
        rows=(va.rows, vb.rows),
        rows_delta=vb.rows - va.rows,
        schema={
            "added": {n: sb[n] for n in sb if n not in sa},
            "removed": {n: sa[n] for n in sa if n not in sb},
            "retyped": {n: [sa[n], sb[n]] for n in common if sa[n] != sb[n]},
        },
        columns=tuple(columns),
        shifted=tuple(c["name"] for c in columns if c["shift"] == "shift"),
    )
