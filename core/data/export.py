"""Exporting a version to CSV or Parquet.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return) are prefixed with a single quote, as OWASP recommends against CSV
injection. Column names are cells of the header row and are treated alike. Only text is touched:
numbers such as -3 are written as they are.
Float columns are written so that they read back as floats ("2.0", not "2"): an exported
version re-imports with the same column types.
The file is written beside its target and renamed into place, so a failed export leaves nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.errors import UsageError

FORMULA_PATTERN = r"^[=+\-@\t\r]"


def neutralise_name(name: str) -> str:
    """A column name as the header cell a spreadsheet will not run as a formula."""
    return "'" + name if re.match(FORMULA_PATTERN, name) else name


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Formula-like text cells, and column names, prefixed with a single quote."""
    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type):
            risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_PATTERN), False)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.table(columns, names=[neutralise_name(name) for name in table.column_names])


def floats_as_text(table: pa.Table) -> pa.Table:
    """Float columns as text that keeps them floats on re-import: 2.0 → "2.0", not "2"."""
    columns = []
    for column in table.columns:
        if pa.types.is_floating(column.type):
            text = pc.cast(column, pa.string())
            integral = pc.match_substring_regex(text, r"^-?\d+$")
            column = pc.if_else(integral, pc.binary_join_element_wise(text, ".0", ""), text)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def export_table(table: pa.Table, target: Path, fmt: str | None = None) -> Path:
    fmt = fmt or ("parquet" if target.suffix.lower() in (".parquet", ".pq") else "csv")
    if fmt not in ("csv", "parquet"):
        raise UsageError(f"cannot export to {fmt!r}", hint="export to .csv or .parquet")
    target = target.expanduser().resolve()
    if target.is_dir():
        raise UsageError("the target is a folder", where=str(target), hint="name a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        if fmt == "csv":
            pacsv.write_csv(floats_as_text(neutralise_formulas(table)), temp)
        else:
            pq.write_table(table, temp, compression="zstd")
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target
