"""A version's drift reference, as the server reads it: per feature, the training rows' bins.

``reference.bin`` (Shipway's reference format 1, written by :mod:`core.monitoring` when a
version is registered) holds a JSON header and the arrays of every feature's statistics. The
server needs only the bins: quantile edges (or the values themselves, for at most 20 distinct
ones) and their counts for numbers, categories and their counts for text. :class:`Bins` counts a
window's column into the same bins, and :meth:`Bins.psi` gives the population stability index
of summed counts against the reference, computed as ``shipway drift`` computes it (missing
values left out, each unseen category a bin of its own, Evidently's smoothing of empty bins).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.serving.model import REFERENCE_FILE, LoadedModel
from core.serving.reference_blob import read_array, split
from core.serving.smoothing import fill_zeroes

MAX_UNSEEN = 1000  # distinct unseen categories counted per feature; the rest share one bin
OVERFLOW = "(more unseen categories)"


@dataclass(frozen=True, eq=False)
class Bins:
    """One feature's reference counts and how to count current values into the same bins."""

    name: str
    kind: str  # "numeric" | "categorical"
    counts: np.ndarray
    edges: np.ndarray | None = None  # numeric: interior edges of quantile bins
    values: np.ndarray | None = None  # numeric: the distinct values, when at most 20
    categories: tuple[str, ...] = ()
    other: int = 0  # categorical: reference values pooled as "(other)"

    def count(self, column: pd.Series) -> dict[str, Any]:
        """Counts of one window column: ``{"counts": [...], "unseen": {text: n}}``."""
        if self.kind == "numeric":
            array = np.asarray(column, dtype=np.float64)
            array = array[np.isfinite(array)]
            if self.values is None:
                slots = np.searchsorted(self.edges, array, side="right")
                return {"counts": np.bincount(slots, minlength=self.counts.size).tolist()}
            known = [(array == value).sum() for value in self.values]
            return {"counts": [*map(int, known), int(array.size - sum(known))]}
        texts = [_text(value) for value in column.tolist() if not _missing(value)]
        index = {category: i for i, category in enumerate(self.categories)}
        counts = [0] * (len(self.categories) + (1 if self.other else 0))
        unseen: dict[str, int] = {}
        for text in texts:
            position = index.get(text)
            if position is not None:
                counts[position] += 1
            elif self.other:
                counts[-1] += 1
            else:
                key = text if text in unseen or len(unseen) < MAX_UNSEEN else OVERFLOW
                unseen[key] = unseen.get(key, 0) + 1
        return {"counts": counts, "unseen": unseen}

    def psi(self, parts: list[dict[str, Any]]) -> float | None:
        """PSI of the summed ``parts`` against the reference (None: no current value)."""
        current = np.sum([np.asarray(p["counts"], dtype=np.float64) for p in parts], axis=0)
        if self.kind == "numeric":
            reference = np.asarray(self.counts, dtype=np.float64)
            if self.values is not None:
                reference = np.append(reference, 0.0)
                if current[-1] == 0:
                    reference, current = reference[:-1], current[:-1]
        else:
            unseen: dict[str, float] = {}
            for part in parts:
                for key, n in part.get("unseen", {}).items():
                    unseen[key] = unseen.get(key, 0.0) + n
            reference = np.concatenate(
                (self.counts, [self.other] if self.other else [], np.zeros(len(unseen)))
            )
            current = np.concatenate((current, list(unseen.values())))
        if current.sum() == 0 or reference.sum() == 0:
            return None
        return psi(reference, current)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _text(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def psi(reference_counts: np.ndarray, current_counts: np.ndarray) -> float:
    """Population stability index of two histograms (Evidently's, as core.monitoring has it)."""
    ref = fill_zeroes(reference_counts / reference_counts.sum())
    cur = fill_zeroes(current_counts / current_counts.sum())
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def read_reference(data: bytes) -> list[Bins]:
    """The features' bins of a drift reference blob (Shipway's reference format 1)."""
    header, body = split(data, 1)
    return [_bins(item, body) for item in header["features"]]


def _bins(item: dict[str, Any], body: memoryview) -> Bins:
    arrays = {key: _array(entry, body) for key, entry in item.get("arrays", {}).items()}
    if item["kind"] == "numeric":
        values = arrays.get("values")
        counts = arrays.get("value_counts") if values is not None else arrays["psi_counts"]
        return Bins(item["name"], "numeric", counts, edges=arrays["psi_edges"], values=values)
    return Bins(
        item["name"],
        "categorical",
        arrays["counts"],
        categories=tuple(item["categories"]),
        other=int(item.get("other", 0)),
    )


def _array(entry: list[Any] | None, body: memoryview) -> np.ndarray | None:
    return None if entry is None else read_array(entry, body)


def load_bins(model: LoadedModel) -> list[Bins] | None:
    """The bins of ``model``'s reference.bin (hash-checked), or None when it has none."""
    if not model.reference_sha256:
        return None
    data = (Path(model.directory) / REFERENCE_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != model.reference_sha256:
        raise ValueError(f"{REFERENCE_FILE} does not match reference_sha256 in model.json")
    return read_reference(data)
