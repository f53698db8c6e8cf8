"""Stored Parquet bytes read back, and the process that read them exits cleanly.

Read straight from the Python ``bytes``, a stored version's blob left Arrow's pool threads a
buffer to release under the GIL, and the process aborted at interpreter exit (-6) after its
work was done and printed: with ``pq.read_table`` in about four of ten short processes (pyarrow
26). Sixteen fresh processes read a blob and exit; on that path the chance that all sixteen
exit 0 is about 1 in 3,000.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.data.parquet_bytes import read_parquet_bytes

READ_AND_EXIT = """
import sys
from core.data.parquet_bytes import read_parquet_bytes
with open(sys.argv[1], "rb") as handle:
    table = read_parquet_bytes(handle.read())
print(table.num_rows)
"""


def _blob(path: Path, rows: int = 200_000) -> Path:
    table = pa.table(
        {
            "a": np.arange(rows),
            "b": np.linspace(0.0, 1.0, rows),
            "s": [f"v{i % 50}" for i in range(rows)],
        }
    )
    pq.write_table(table, path, compression="zstd", row_group_size=20_000)
    return path


def test_reads_the_whole_table_or_the_named_columns(tmp_path: Path) -> None:
    data = _blob(tmp_path / "blob.parquet", rows=1_000).read_bytes()
    whole = read_parquet_bytes(data)
    assert (whole.num_rows, whole.column_names) == (1_000, ["a", "b", "s"])
    some = read_parquet_bytes(data, ["s", "a"])
    assert some.column_names == ["s", "a"]
    assert some.column("a").to_pylist()[:3] == [0, 1, 2]


def test_a_process_that_read_stored_bytes_exits_cleanly(tmp_path: Path) -> None:
    blob = _blob(tmp_path / "blob.parquet")

    def run(_: int) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", READ_AND_EXIT, str(blob)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(run, range(16)))
    assert [(d.returncode, d.stdout.strip(), d.stderr) for d in done] == [(0, "200000", "")] * 16
