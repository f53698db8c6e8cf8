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

from core.data import dates
from core.data.csv_source import CsvSource
from core.data.csv_stream import Streamed
from core.data.infer import NO_FACTS, TypingRules, column_facts, detect_decimal_comma
from core.data.infer_fast import type_text_column
from core.data.parallel import in_order, workers_for
from core.data.report import MAX_LISTED, ImportReport
from core.data.sniff import SAMPLE_BYTES, Encoding, SourceScan, read_sample, sniff_dialect
from core.errors import ImportFailed
from core.progress import CancelToken, ProgressFn

_LINE_END = re.compile(r"[\r\n]")  # "\r" alone ends lines too (old Mac exports)


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str | None
    decimal: str | None  # ".", "," or None (detect)
    bad_rows: str  # "error" or "skip"
    missing_tokens: frozenset[str]
    max_conflict_share: float
    date_order: str = "auto"


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
    source = CsvSource(path, scan, encoding, dialect.delimiter, width)
    reader = source.open(invalid)
    try:
        head = source.head(reader)
        names = _header(head, path)
        head = head.slice(1)
        decimal = options.decimal or (
            "," if detect_decimal_comma(head.columns, dialect.delimiter) else "."
        )
        rules = TypingRules(
            options.missing_tokens, decimal, options.max_conflict_share, options.date_order
        )
        expected = max(scan.newlines, 1)
        streamed = source.stream(
            reader,
            head,
            rules,
            lambda rows: progress(min(rows / expected, 1.0), "reading"),
            cancel,
        )
    finally:
        source.close(reader)
    cancel.raise_if_cancelled()
    if invalid:
        _handle_ragged(path, encoding, dialect.delimiter, width, invalid, options, report)
    if streamed.rows == 0:
        _refuse_header_only(path)
    report.detected["decimal"] = decimal
    line_of = _line_mapper(scan, encoding, streamed.rows, bool(invalid))
    columns: list[pa.ChunkedArray | None] = list(streamed.text)
    for index, column in zip(streamed.demoted, source.read_again(streamed.demoted), strict=True):
        columns[index] = column
    typed = _type_columns(names, columns, streamed, rules, report, line_of, progress, cancel)
    return pa.table(typed, names=names)


def _type_columns(
    names: list[str],
    columns: list[pa.ChunkedArray | None],
    streamed: Streamed,
    rules: TypingRules,
    report: ImportReport,
    line_of: Callable[[int], int | None],
    progress: ProgressFn,
    cancel: CancelToken,
) -> list[pa.ChunkedArray]:
    """Type every column (on all cores for long tables), reporting in column order.

    ``streamed.numbers`` holds the columns the stream typed already (with their count of empty
    cells); ``columns`` holds the text of the others.
    """
    numbers = streamed.numbers
    text = [column for column in columns if column is not None]
    facts = iter(column_facts(text, rules))
    column_facts_of = [None if column is None else next(facts) for column in columns]

    def type_one(index: int) -> tuple[pa.ChunkedArray, ImportReport]:
        part = report.part()
        if index in numbers:
            typed, empties = numbers[index]
            if empties:
                part.note_missing(names[index], {"": empties})
            dated = dates.compact_dates(names[index], typed) if typed.type == pa.int64() else None
            return (typed if dated is None else dated), part
        column, columns[index] = columns[index], None
        facts_here = column_facts_of[index] or NO_FACTS
        return type_text_column(names[index], column, rules, part, line_of, facts_here), part

    typed = []
    workers = workers_for(streamed.rows)
    with closing(in_order(type_one, range(len(names)), workers, cancel)) as done:
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
