"""Limits checked before a source that unpacks is read: Parquet files and Excel workbooks.

Both formats can hold far more than their size on disk. A 0.9 MB Parquet file of one constant
column holds 100 million rows (dictionary and run-length encoding), and importing it took 6.7 GB
of memory; a workbook is a ZIP archive whose parts can unpack a thousand times over. So the
figures a file declares are checked against shipway.toml's ``[data]`` limits first, and a file
past one is refused before a single row is decoded, with the figure, the limit and the setting
to raise.

- Parquet: the row count (the footer's and the sum of its row groups', whichever is larger) and
  the column data's size once decoded. That size is the larger of what the footer declares
  (the column chunks' ``total_uncompressed_size``) and a floor computed from the schema: the
  rows times the bytes each column takes in memory once Shipway has normalised it (8 for
  numbers and timestamps, the 4-byte offsets of text, a bit per boolean). The floor is what
  catches a run-length-encoded file, whose declared size is tiny.
- Workbooks: every part's unpacked size and compression ratio, and the whole archive's.
  A ratio is judged only for parts larger than :data:`RATIO_FLOOR_BYTES` (a small part that
  compresses very well is harmless), so one huge, highly compressible part cannot hide behind
  an incompressible one (a picture, random bytes) that brings the archive's overall ratio
  down. The sizes a ZIP directory declares bound what reading the part can produce: Python's
  ``zipfile``, which openpyxl reads through, stops at the declared size and fails the CRC check.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.config import DataSettings
from core.errors import ImportFailed

RATIO_FLOOR_BYTES = 1024**2
_SETTINGS_HINT = "shipway.toml's [data] table"


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover - the loop returns


# -- Parquet ---------------------------------------------------------------------------------


def _decoded_width(kind: pa.DataType) -> float:
    """Bytes a value of ``kind`` takes per row once normalised (a floor: text data not counted)."""
    if pa.types.is_dictionary(kind):
        return _decoded_width(kind.value_type)
    if pa.types.is_boolean(kind):
        return 1 / 8
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return 4
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return 8
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return 8
    return 0  # nested and binary columns are refused after this check


def parquet_figures(metadata: Any, schema: pa.Schema) -> tuple[int, int, int]:
    """(rows, declared uncompressed bytes, decoded floor in bytes) from a Parquet footer."""
    groups = [metadata.row_group(i) for i in range(metadata.num_row_groups)]
    rows = max(metadata.num_rows, sum(group.num_rows for group in groups), 0)
    declared = sum(
        max(group.column(j).total_uncompressed_size, 0)
        for group in groups
        for j in range(group.num_columns)
    )
    floor = int(rows * sum(_decoded_width(field.type) for field in schema))
    return rows, declared, floor


def check_parquet(path: Path, metadata: Any, schema: pa.Schema, limits: DataSettings) -> None:
    """Refuse a Parquet file whose footer declares more than ``limits`` allow."""
    rows, declared, floor = parquet_figures(metadata, schema)
    if rows > limits.max_parquet_rows:
        raise ImportFailed(
            f"the Parquet file holds {rows:,} rows ({human_bytes(path.stat().st_size)} on disk), "
            f"more than the {limits.max_parquet_rows:,} allowed ([data] max_parquet_rows)",
            where=str(path),
            hint=f"import a part of it, or raise max_parquet_rows in {_SETTINGS_HINT} if this "
            "machine has the memory (about 60 bytes a row, more with every column)",
        )
    size = max(declared, floor)
    if size > limits.max_parquet_bytes:
        raise ImportFailed(
            f"the Parquet file's columns take {human_bytes(size)} once decoded ({rows:,} rows × "
            f"{len(schema)} columns, {human_bytes(path.stat().st_size)} on disk), more than the "
            f"{human_bytes(limits.max_parquet_bytes)} allowed ([data] max_parquet_bytes)",
            where=str(path),
            hint=f"import fewer columns or rows, or raise max_parquet_bytes in {_SETTINGS_HINT} "
            "if this machine has the memory (an import peaks at about twice that size)",
        )


# -- Excel workbooks -------------------------------------------------------------------------


def check_workbook_archive(path: Path, limits: DataSettings) -> None:
    """Refuse a workbook that is no ZIP archive, or that would unpack past ``limits``."""
    if not zipfile.is_zipfile(path):
        raise ImportFailed(
            "not an Excel workbook: .xlsx files are ZIP archives and this file is not one",
            where=str(path),
            hint="if it is CSV text, rename it to .csv or pass --format csv",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFailed(
            f"the workbook's ZIP directory cannot be read: {exc}",
            where=str(path),
            hint="the file is damaged; save it again from Excel",
        ) from None
    for info in infos:
        _check_part(path, info, limits)
    unpacked = sum(info.file_size for info in infos)
    packed = max(sum(info.compress_size for info in infos), 1)
    _check_sizes(path, "the workbook", unpacked, packed, limits, judge_ratio=True)


def _check_part(path: Path, info: zipfile.ZipInfo, limits: DataSettings) -> None:
    judge = info.file_size > RATIO_FLOOR_BYTES
    what = f"the workbook's part {info.filename!r}"
    _check_sizes(path, what, info.file_size, max(info.compress_size, 1), limits, judge)


def _check_sizes(
    path: Path, what: str, unpacked: int, packed: int, limits: DataSettings, judge_ratio: bool
) -> None:
    ratio = unpacked / packed
    if unpacked > limits.max_xlsx_bytes:
        setting, allowed = "max_xlsx_bytes", f"{human_bytes(limits.max_xlsx_bytes)} allowed"
    elif judge_ratio and ratio > limits.max_xlsx_ratio:
        setting, allowed = "max_xlsx_ratio", f"a ratio of {limits.max_xlsx_ratio:g} allowed"
    else:
        return
    raise ImportFailed(
        f"{what} would unpack to {human_bytes(unpacked)} from {human_bytes(packed)} "
        f"({ratio:,.0f} times), more than the {allowed} ([data] {setting}): a compression bomb?",
        where=str(path),
        hint="do not trust this file; if it is yours, export the sheet as CSV, or raise "
        f"{setting} in {_SETTINGS_HINT}",
    )
