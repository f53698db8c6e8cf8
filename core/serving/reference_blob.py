"""The framing of a drift reference blob, read by the server and by the monitoring floor.

A reference blob is :data:`MAGIC`, the length of a JSON header (8 bytes, little-endian), the
header (padded to 8 bytes) and a body of arrays that the header names as ``[dtype code, offset,
size]``. :mod:`core.monitoring.codec` writes it and reads all of it; a server
(:mod:`core.serving.drift_reference`) reads only the features' bins. It imports numpy alone,
and a bundle ships it.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

MAGIC = b"SHIPWAY-REFERENCE\n"
DTYPES = {"f8": np.dtype("<f8"), "i8": np.dtype("<i8")}


def split(data: bytes, fmt: int) -> tuple[dict[str, Any], memoryview]:
    """The header and the body of a reference blob of format ``fmt``; ValueError (or
    struct.error) when ``data`` is not one."""
    if not data.startswith(MAGIC):
        raise ValueError("not a reference blob")
    start = len(MAGIC) + 8
    (length,) = struct.unpack_from("<Q", data, len(MAGIC))
    header = json.loads(data[start : start + length])
    if header.get("format") != fmt:
        raise ValueError(f"reference format {header.get('format')!r} is not {fmt}")
    return header, memoryview(data)[start + length :]


def read_array(entry: list[Any], body: memoryview) -> np.ndarray:
    """The array that the header's ``entry`` names in ``body`` (a view, no copy)."""
    code, offset, size = entry
    dtype = DTYPES[code]
    end = offset + size * dtype.itemsize
    if end > len(body):
        raise ValueError("an array runs past the end of the blob")
    return np.frombuffer(body[offset:end], dtype=dtype)
