"""Imports that type and profile columns on several threads, and write the blob alongside.

The result must not depend on the number of threads, and a cancel or a failure while the
Parquet writer runs must leave the project as it was.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.data import importer, parallel
from core.errors import Cancelled
from core.services import ImportOptions, Workspace


def mixed_csv(path: Path, rows: int = 3000) -> Path:
    """Columns for every typing path: codes, tokens, conflicts, booleans, dates, ids."""
    rng = random.Random(11)
    lines = ["id,code,amount,score,flag,day,word,late"]
    for i in range(rows):
        lines.append(
            ",".join(
                [
                    f"r{i}",
                    f"{rng.randint(0, 999):03d}",
                    "NA" if i % 17 == 0 else f"{rng.uniform(0, 99):.2f}",
                    "" if i % 5 == 0 else str(rng.randint(-9, 9)),
                    rng.choice(["true", "false", "TRUE"]),
                    f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    rng.choice(["a", "b", "N/A", ""]),
                    "x12" if i == rows - 1 else str(i),
                ]
            )
        )
    lines += lines[1:4]  # three duplicate rows
    path.write_text("\n".join(lines) + "\n")
    return path


def test_threads_do_not_change_the_version(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = mixed_csv(tmp_path / "mixed.csv")
    monkeypatch.setattr(parallel, "MIN_ROWS", 10**9)
    alone = workspace.data.import_file(path, ImportOptions(name="alone"))
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel, "MAX_WORKERS", 3)
    together = workspace.data.import_file(path, ImportOptions(name="together"))
    assert together.version.sha256 == alone.version.sha256  # the same Parquet bytes
    first, second = alone.to_dict(), together.to_dict()
    assert second["report"] == first["report"] and second["schema"] == first["schema"]
    assert together.version.profile == alone.version.profile
    kinds = {p["kind"] for p in first["report"]["problems"]}
    assert {"kept_as_text", "type_conflict", "duplicate_rows"} <= kinds


def test_a_cancel_while_profiling_waits_for_the_writer_and_stores_nothing(
    workspace: Workspace, tmp_path: Path, refused
) -> None:
    path = mixed_csv(tmp_path / "cancel.csv")
    cancel = importer.CancelToken()

    def progress(fraction: float | None, message: str) -> None:
        if message.startswith("profiling"):
            cancel.cancel()

    refused(lambda: workspace.data.import_file(path, progress=progress, cancel=cancel), Cancelled)


def test_a_failing_writer_leaves_no_temporary_file(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused
) -> None:
    path = mixed_csv(tmp_path / "fail.csv")
    write_table = pq.write_table

    def broken_write(table, where, **options) -> None:
        write_table(table.slice(0, 10), where, **options)  # part of a file, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", broken_write)
    error = refused(lambda: workspace.data.import_file(path), OSError)
    assert "No space" in str(error)


def test_the_import_pool_falls_back_to_the_default_without_jemalloc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyarrow as pa

    from core.data import arrow_pool

    def missing() -> pa.MemoryPool:
        raise pa.ArrowNotImplementedError("This Arrow build does not enable jemalloc")

    arrow_pool.import_pool.cache_clear()
    monkeypatch.setattr(pa, "jemalloc_memory_pool", missing)
    try:
        assert arrow_pool.import_pool().backend_name == pa.default_memory_pool().backend_name
    finally:
        arrow_pool.import_pool.cache_clear()
    assert isinstance(arrow_pool.import_pool(), pa.MemoryPool)
