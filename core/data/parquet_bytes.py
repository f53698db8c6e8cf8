"""Parquet held in memory (a blob already read and hash-checked) back into an Arrow table.

The bytes are first copied into a buffer that Arrow allocated. Handed to Arrow as they are, the
Python ``bytes`` get wrapped in a buffer whose release must take the GIL, and that release
happens wherever the last reference goes: often on one of Arrow's pool threads, after the read
has returned (a page reader freed late). When that falls into the interpreter's shutdown, the
pool thread is made to exit through native frames and the process aborts ("terminate called
without an active exception", exit -6) after its work is done and printed. With pyarrow 26,
``pq.read_table`` on the bytes aborted at exit in 24 of 60 short processes, and
``ParquetFile(...).read()`` on them still in about one in thirty when the machine was busy. The
copy costs one ``memcpy`` of the file, little beside decoding it; an Arrow-owned buffer is
released without the GIL.

:class:`pyarrow.parquet.ParquetFile` reads it rather than ``pq.read_table``, whose dataset
scanner keeps threads of its own running after it returns.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.parquet as pq


def arrow_owned(data: bytes) -> pa.Buffer:
    """A copy of ``data`` in memory that Arrow allocated (released without the GIL)."""
    buffer = pa.allocate_buffer(len(data))
    memoryview(buffer).cast("B")[:] = data
    return buffer


def read_parquet_bytes(data: bytes, columns: Sequence[str] | None = None) -> pa.Table:
    """The table (or the named ``columns`` of it) that the Parquet bytes ``data`` hold."""
    with pq.ParquetFile(pa.BufferReader(arrow_owned(data))) as parquet:
        return parquet.read(columns=list(columns) if columns is not None else None)
