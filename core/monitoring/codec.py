"""The reference blob: one JSON header and the numeric arrays as raw little-endian bytes.

::

    b"SHIPWAY-REFERENCE\\n" | header length (8 bytes, little endian) | header (UTF-8 JSON)
    | arrays, each at an offset that is a multiple of 8

The header holds every scalar and category; each array is ``[dtype, offset, length]`` relative
to the end of the header. Nothing is pickled, so a blob from anywhere can be read safely, and the
same statistics always give the same bytes (the blob's sha256 is its name).
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from core.errors import CorruptObject
from core.monitoring.reference import (
    FORMAT,
    CategoricalReference,
    ColumnReference,
    NumericReference,
    Reference,
)
from core.serving.reference_blob import DTYPES, MAGIC, read_array, split

_ARRAYS = ("sample", "psi_edges", "psi_counts", "values", "value_counts", "counts")


def encode(reference: Reference) -> bytes:
    chunks: list[bytes] = []
    offset = 0

    def put(array: np.ndarray) -> list[Any]:
        nonlocal offset
        code = "f8" if array.dtype.kind == "f" else "i8"
        data = np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
        entry = [code, offset, int(array.size)]
        chunks.append(data)
        offset += len(data)
        return entry

    def column(ref: ColumnReference | None) -> dict[str, Any] | None:
        if ref is None:
            return None
        data: dict[str, Any] = {"kind": ref.kind}
        for key, value in vars(ref).items():
            if isinstance(value, np.ndarray):
                data.setdefault("arrays", {})[key] = put(value)
            elif key in _ARRAYS:
                data.setdefault("arrays", {})[key] = None
            else:
                data[key] = list(value) if isinstance(value, tuple) else value
        return data

    header = {
        "format": FORMAT,
        "task": reference.task,
        "rows": reference.rows,
        "classes": list(reference.classes),
        "meta": reference.meta,
        "features": [column(ref) for ref in reference.features],
        "prediction": column(reference.prediction),
        "target": column(reference.target),
    }
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()
    text += b" " * (-len(text) % 8)
    return MAGIC + struct.pack("<Q", len(text)) + text + b"".join(chunks)


def decode(data: bytes) -> Reference:
    """The reference in ``data``; a blob that is not one raises CorruptObject."""
    try:
        header, body = split(data, FORMAT)
        return Reference(
            task=header["task"],
            rows=int(header["rows"]),
            features=tuple(_column(item, body) for item in header["features"]),
            prediction=_column(header["prediction"], body),
            target=_column(header["target"], body),
            classes=tuple(header["classes"]),
            meta=dict(header["meta"]),
        )
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        raise CorruptObject(
            f"the reference statistics cannot be read: {exc}",
            hint="they are recomputed from the training rows when the blob is removed",
        ) from None


def _column(item: dict[str, Any] | None, body: memoryview) -> Any:
    if item is None:
        return None
    item = dict(item)
    kind = item.pop("kind")
    for key, entry in item.pop("arrays", {}).items():
        item[key] = None if entry is None else read_array(entry, body)
    if kind == "numeric":
        return NumericReference(**item)
    item["categories"] = tuple(item["categories"])
    return CategoricalReference(**item)
