"""CSV and TSV files: detected encoding and delimiter, parsed by pyarrow, typed by core.data.infer.

Every cell is read as text first (so "007" and "NA" survive parsing), then each column is typed
as a whole (:mod:`core.data.infer_fast`, which hands what it cannot prove to the rules of
:mod:`core.data.infer`). Rows with a different number of fields than the header
are never shifted into an index: by default they stop the import with their line numbers;
``bad_rows="skip"`` imports the rest and lists them in the report.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pyarrow as pa
import pyarrow.csv as pacsv

from core.data.arrow_pool import import_pool
from core.data.infer import TypingRules, column_facts, detect_decimal_comma
from core.data.infer_fast import type_text_column
from core.data.parallel import in_order, workers_for
from core.data.report import MAX_LISTED, ImportReport
from core.data.sniff import SAMPLE_BYTES, Encoding, SourceScan, read_sample, sniff_dialect
from core.errors import ImportFailed
from core.progress import CancelToken, ProgressFn

BLOCK_SIZE = 8 * 1024 * 1024
_LINE_END = re.compile(r"[\r\n]")  # "\r" alone ends lines too (old Mac exports)


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str | None
    decimal: str | None  # ".", "," or None (detect)
    bad_rows: str  # "error" or "skip"
    missing_tokens: frozenset[str]
    max_conflict_share: float


def read_csv(
    path: Path,
    scan: SourceScan,
    encoding: Encoding,
    options: CsvOptions,
    report: ImportReport,
    progress: ProgressFn,
    cancel: CancelToken,
) -> pa.Table:
    sample = read_sample(path, encoding)
    if not sample.strip():
        raise ImportFailed("the file is empty", where=str(path), hint="choose a file with data")
    dialect = sniff_dialect(sample, options.delimiter, path.suffix.lower())
    if scan.size <= SAMPLE_BYTES and not _LINE_END.search(sample.strip()):
        _refuse_header_only(path)  # pyarrow cannot parse a lone line without its newline
    width = len(dialect.header)
    report.detected.update(encoding=encoding.label, delimiter=dialect.delimiter)
    if encoding.note:
        report.add("encoding", encoding.note, severity="info")
    invalid: list[tuple[int, str]] = []
    table = _parse(path, scan, encoding, dialect.delimiter, width, invalid)
    cancel.raise_if_cancelled()
    names = _header(table, path)
    table = table.slice(1)
    if invalid:
        _handle_ragged(path, encoding, dialect.delimiter, width, invalid, options, report)
    if table.num_rows == 0:
        _refuse_header_only(path)
    line_of = _line_mapper(scan, encoding, table.num_rows, bool(invalid))
    decimal = options.decimal or (
        "," if detect_decimal_comma(table.columns, dialect.delimiter) else "."
    )
    report.detected["decimal"] = decimal
    rules = TypingRules(options.missing_tokens, decimal, options.max_conflict_share)
    columns = table.columns
    del table  # each text column is let go once typed, so that its memory serves the next
    typed = _type_columns(names, columns, rules, report, line_of, progress, cancel)
    return pa.table(typed, names=names)


def _type_columns(
    names: list[str],
    columns: list[pa.ChunkedArray | None],
    rules: TypingRules,
    report: ImportReport,
    line_of: Callable[[int], int | None],
    progress: ProgressFn,
    cancel: CancelToken,
) -> list[pa.ChunkedArray]:
    """Type every column (on all cores for long tables), reporting in column order."""
    facts = column_facts(columns, rules)

    def type_one(index: int) -> tuple[pa.ChunkedArray, ImportReport]:
        column, columns[index] = columns[index], None
        part = report.part()
        return type_text_column(names[index], column, rules, part, line_of, facts[index]), part

    typed = []
    rows = len(columns[0]) if columns else 0
    with closing(in_order(type_one, range(len(names)), workers_for(rows), cancel)) as done:
        for index, (column, part) in enumerate(done):
            report.absorb(part)
            typed.append(column)
            progress((index + 1) / len(names), f"typing column {index + 1} of {len(names)}")
    return typed


def _refuse_header_only(path: Path) -> NoReturn:
    raise ImportFailed(
        "the file has a header but no data rows",
        where=str(path),
        hint="add rows, or check that the right file was chosen",
    )


def _parse(
    path: Path,
    scan: SourceScan,
    encoding: Encoding,
    delimiter: str,
    width: int,
    invalid: list[tuple[int, str]],
) -> pa.Table:
    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append((row.actual_columns, row.text[:200]))
        return "skip"

    arrow_encoding = "utf8" if encoding.name in ("utf-8", "utf-8-sig") else encoding.name
    read_options = pacsv.ReadOptions(
        encoding=arrow_encoding,
        autogenerate_column_names=True,
        block_size=BLOCK_SIZE,
        use_threads=True,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        newlines_in_values=scan.has_quotes,
        ignore_empty_lines=True,
        invalid_row_handler=on_invalid,
    )
    convert_options = pacsv.ConvertOptions(
        column_types={f"f{i}": pa.string() for i in range(width)},
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        check_utf8=True,
    )
    try:
        return pacsv.read_csv(
            path,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
            memory_pool=import_pool(),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ImportFailed(
            f"the file cannot be parsed as delimited text: {_first_line(exc)}",
            where=str(path),
            hint="check the delimiter (--delimiter) and encoding (--encoding)",
        ) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def _header(table: pa.Table, path: Path) -> list[str]:
    if table.num_rows == 0:
        raise ImportFailed("the file is empty", where=str(path), hint="choose a file with data")
    names = [
        str(table.column(i)[0].as_py()).lstrip("\ufeff").strip() for i in range(table.num_columns)
    ]
    return check_column_names(names, str(path))


def check_column_names(names: list[str], where: str) -> list[str]:
    """Name unnamed columns ``column_N``; refuse duplicate names (naming them and positions)."""
    named = [name or f"column_{i + 1}" for i, name in enumerate(names)]
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(named, start=1):
        seen.setdefault(name, []).append(position)
    duplicates = {name: where_ for name, where_ in seen.items() if len(where_) > 1}
    if duplicates:
        listed = "; ".join(
            f"{name!r} at columns {', '.join(map(str, pos))}"
            for name, pos in list(duplicates.items())[:5]
        )
        raise ImportFailed(
            f"duplicate column names: {listed}",
            where=where,
            hint="rename the columns so that every name is unique, then import again",
        )
    return named


def _handle_ragged(
    path: Path,
    encoding: Encoding,
    delimiter: str,
    width: int,
    invalid: list[tuple[int, str]],
    options: CsvOptions,
    report: ImportReport,
) -> None:
    lines = _ragged_lines(path, encoding, delimiter, width)
    listed = ", ".join(f"{line} ({fields} fields)" for line, fields in lines[:10]) or "?"
    more = f" and {len(invalid) - 10} more" if len(invalid) > 10 else ""
    rows = "1 row does" if len(invalid) == 1 else f"{len(invalid)} rows do"
    lines_word = "line" if len(lines) == 1 else "lines"
    message = f"{rows} not have the header's {width} fields: {lines_word} {listed}{more}"
    if options.bad_rows != "skip":
        raise ImportFailed(
            message,
            where=str(path),
            hint="fix those lines (a missing quote or delimiter?), or pass --bad-rows skip "
            "to import the file without them",
            details=[{"line": line, "fields": fields} for line, fields in lines],
        )
    report.add(
        "ragged_rows",
        message + "; they were skipped",
        count=len(invalid),
        lines=[line for line, _ in lines],
    )


def _ragged_lines(
    path: Path, encoding: Encoding, delimiter: str, width: int
) -> list[tuple[int, int]]:
    """Physical line numbers of the first rows whose field count differs (error path only)."""
    found: list[tuple[int, int]] = []
    with open(path, encoding=encoding.name, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        start = 1
        for row in reader:
            if row and len(row) != width:
                found.append((start, len(row)))
                if len(found) >= MAX_LISTED:
                    break
            start = reader.line_num + 1
    return found


def _line_mapper(
    scan: SourceScan, encoding: Encoding, rows: int, skipped: bool
) -> Callable[[int], int | None]:
    """Row index → physical line, when every record is exactly one line (else unknown).

    The scan counted 0x0A bytes, which are newlines only in ASCII-compatible encodings.
    """
    if encoding.name.startswith(("utf-16", "utf_16")):
        return lambda index: None
    lines = scan.newlines + (0 if scan.ends_with_newline else 1)
    if not skipped and lines == rows + 1:
        return lambda index: index + 2
    return lambda index: None
