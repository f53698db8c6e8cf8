"""Parquet, Excel, JSON lines and SQL sources, normalised to the same column types as CSV.

Every reader returns a pyarrow Table whose columns are int64, float64, bool, string or
timestamp. Typed sources keep their types; cells of mixed type (a workbook column holding numbers
and text, JSON values of several kinds) go through the same rules as CSV text
(:mod:`core.data.infer`), so a column never ends up mixed. Parquet files and workbooks are
checked against shipway.toml's ``[data]`` limits before they are read (:mod:`core.data.limits`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from core.config import DataSettings
from core.data.csv_reader import check_column_names
from core.data.infer import TypingRules, type_column
from core.data.limits import check_parquet, check_workbook_archive
from core.data.report import ImportReport
from core.data.sniff import codec_name
from core.errors import ImportFailed

DEFAULT_LIMITS = DataSettings()
NO_LINE: Callable[[int], int | None] = lambda index: None  # noqa: E731


def normalise_arrow_column(name: str, column: pa.ChunkedArray, where: str) -> pa.ChunkedArray:
    """Map a typed Arrow column onto Shipway's five column types."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return normalise_arrow_column(name, pc.cast(column, kind.value_type), where)
    if pa.types.is_integer(kind):
        if kind == pa.uint64() and (pc.max(column).as_py() or 0) > 2**63 - 1:
            return pc.cast(column, pa.float64())
        return pc.cast(column, pa.int64())
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pc.cast(column, pa.float64())
    if pa.types.is_boolean(kind):
        return column
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_timestamp(kind):
        return pc.cast(column, pa.timestamp("us", tz=kind.tz))
    if pa.types.is_date(kind):
        return pc.cast(pc.cast(column, pa.timestamp("s")), pa.timestamp("us"))
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.nulls(len(column), pa.string())])
    raise ImportFailed(
        f"column {name!r} has type {kind}, which Shipway cannot use as a feature",
        where=where,
        hint="flatten or convert that column (lists, structs and binary are not supported)",
    )


# -- Parquet -------------------------------------------------------------------------------


def read_parquet(
    path: Path, report: ImportReport, limits: DataSettings = DEFAULT_LIMITS
) -> pa.Table:
    """A Parquet file's table, once its footer passes ``limits`` (before any row is read)."""
    import pyarrow.parquet as pq

    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(max(path.stat().st_size - 4, 0))
        tail = handle.read(4)
    if head != b"PAR1" or tail != b"PAR1":
        raise ImportFailed(
            "not a complete Parquet file (the PAR1 markers at its start and end are missing; "
            "it may be truncated)",
            where=str(path),
            hint="copy the file again from its source, or pass --format for another format",
        )
    try:
        # Names first: reading a file whose columns share a name fails obscurely.
        with pq.ParquetFile(path) as parquet:
            schema = parquet.schema_arrow
            names = check_column_names([str(n) for n in schema.names], str(path))
            check_parquet(path, parquet.metadata, schema, limits)
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ImportFailed(
            f"the Parquet file cannot be read: {first}",
            where=str(path),
            hint="the file is damaged; copy it again from its source",
        ) from None
    columns = [
        normalise_arrow_column(name, table.column(i), str(path)) for i, name in enumerate(names)
    ]
    return pa.table(columns, names=names)


# -- Excel --------------------------------------------------------------------------------


def _unreadable_workbook(path: Path, exc: Exception) -> ImportFailed:
    """The refusal for a workbook that openpyxl (through defusedxml) would not read."""
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__module__.startswith("defusedxml"):
            return ImportFailed(
                "the workbook's XML declares entities or a DTD, which Shipway refuses to expand "
                f"(an XML bomb?): {type(cause).__name__}",
                where=str(path),
                hint="do not trust this file; if it is yours, save it again from Excel",
            )
        cause = cause.__cause__ or cause.__context__
    first = (str(exc).splitlines() or [""])[0][:300]
    return ImportFailed(
        f"the workbook cannot be read: {type(exc).__name__}: {first}",
        where=str(path),
        hint="save it again from Excel, or export the sheet as CSV",
    )


def read_excel(
    path: Path,
    sheet: str | None,
    rules: TypingRules,
    report: ImportReport,
    limits: DataSettings = DEFAULT_LIMITS,
) -> pa.Table:
    """The sheet's table, once every part of the workbook passes ``limits`` (before openpyxl)."""
    check_workbook_archive(path, limits)
    import openpyxl

    if not openpyxl.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise ImportFailed("defusedxml is not installed", hint="pip install defusedxml")
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds; defusedxml's refusals among them
        raise _unreadable_workbook(path, exc) from None
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise ImportFailed(
                f"no sheet named {sheet!r}",
                where=str(path),
                hint=f"sheets in this workbook: {', '.join(workbook.sheetnames)}",
            )
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        report.detected["sheet"] = worksheet.title
        # Read-only sheets are parsed lazily, here: the same refusals can happen now.
        rows = [list(row) for row in worksheet.iter_rows(values_only=True)]
    except ImportFailed:
        raise
    except Exception as exc:
        raise _unreadable_workbook(path, exc) from None
    finally:
        workbook.close()
    rows = [row for row in rows if any(cell is not None and cell != "" for cell in row)]
    if not rows:
        raise ImportFailed("the sheet is empty", where=f"{path} [{worksheet.title}]")
    header = [("" if cell is None else str(cell)).strip() for cell in rows[0]]
    return table_from_records(header, rows[1:], f"{path} [{worksheet.title}]", rules, report)


# -- JSON lines ---------------------------------------------------------------------------


def read_jsonl(path: Path, encoding: str, rules: TypingRules, report: ImportReport) -> pa.Table:
    records: list[dict[str, Any]] = []
    keys: dict[str, None] = {}
    for number, line in _json_lines(path, encoding):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFailed(
                f"line {number} is not valid JSON: {exc.msg} (column {exc.colno})",
                where=f"{path}:{number}",
                hint="each line of a JSON-lines file must be one JSON object",
            ) from None
        if not isinstance(record, dict):
            raise ImportFailed(
                f"line {number} holds a JSON {type(record).__name__}, not an object",
                where=f"{path}:{number}",
                hint="each line of a JSON-lines file must be one JSON object",
            )
        keys.update(dict.fromkeys(record))
        records.append(record)
    if not records:
        raise ImportFailed(
            "the file holds no JSON objects", where=str(path), hint="choose a file with data"
        )
    names = list(keys)
    rows = [[record.get(name) for name in names] for record in records]
    return table_from_records(names, rows, str(path), rules, report)


def _json_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """Numbered, decoded lines; a line that does not decode is refused by its number."""
    codec = codec_name(encoding, "JSON lines are UTF-8; omit --encoding")
    if codec not in ("utf-8", "utf-8-sig"):
        yield from _json_lines_other(path, encoding)
        return
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else codec)
            except UnicodeDecodeError as exc:
                raise ImportFailed(
                    f"line {number} is not valid UTF-8: byte 0x{raw[exc.start]:02x} at column "
                    f"{exc.start + 1}",
                    where=f"{path}:{number}",
                    hint="JSON lines must be UTF-8; repair that line",
                ) from None


def _json_lines_other(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    try:
        with open(path, encoding=encoding) as handle:
            lines = handle.readlines()
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            f"the file is not valid {encoding} text: {exc.reason}",
            where=str(path),
            hint="pass the file's real --encoding",
        ) from None
    yield from enumerate(lines, start=1)


# -- SQL ----------------------------------------------------------------------------------


def read_sql(query: str, url: str, rules: TypingRules, report: ImportReport) -> pa.Table:
    """The rows of ``query`` on the database at ``url``, typed like any imported table."""
    from core.store.sql_source import query_rows

    names, rows, safe = query_rows(query, url)
    report.detected["url"] = safe
    return table_from_records(names, rows, safe, rules, report)


# -- records of Python values ------------------------------------------------------------


def table_from_records(
    header: list[str], rows: list[list[Any]], where: str, rules: TypingRules, report: ImportReport
) -> pa.Table:
    """Column-wise typing of row-wise Python values (workbook cells, JSON values, SQL rows)."""
    width = max([len(header), *(len(row) for row in rows)]) if rows else len(header)
    if width > len(header):
        header = header + [""] * (width - len(header))
    names = check_column_names(header, where)
    if not rows:
        raise ImportFailed("the source has a header but no data rows", where=where, hint="add rows")
    columns = []
    for index, name in enumerate(names):
        cells = [row[index] if index < len(row) else None for row in rows]
        columns.append(_type_cells(name, cells, rules, report))
    return pa.table(columns, names=names)


def _type_cells(
    name: str, cells: list[Any], rules: TypingRules, report: ImportReport
) -> pa.ChunkedArray:
    cells = [None if _is_missing_value(c) else c for c in cells]
    kinds = {_kind(c) for c in cells if c is not None}
    if kinds == {"bool"}:
        return pa.chunked_array([pa.array(cells, pa.bool_())])
    if kinds == {"int"}:
        return pa.chunked_array([pa.array(cells, pa.int64())])
    if kinds and kinds <= {"int", "float"}:
        return pa.chunked_array([pa.array(cells, pa.float64())])
    if kinds == {"datetime"}:
        values = [None if c is None else _naive_utc(c) for c in cells]
        return pa.chunked_array([pa.array(values, pa.timestamp("us"))])
    text = pa.chunked_array([pa.array([_as_text(c) for c in cells], pa.string())])
    return type_column(name, text, rules, report, NO_LINE)


def _is_missing_value(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if abs(value) < 2**63 else "float"
    if isinstance(value, float):
        return "float"
    if isinstance(value, dt.datetime | dt.date):
        return "datetime"
    return "text"


def _naive_utc(value: dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)
