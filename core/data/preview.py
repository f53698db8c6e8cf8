"""What importing a file would read, from its head: a preview that stores nothing.

Text files are read from their first :data:`PREVIEW_BYTES` (cut at a line end) by the
importer's own sniffing, parsing and typing, so the preview shows the detected encoding,
delimiter, decimal mark and column types an import would use. Other formats are read whole
(within the project's ``[data]`` limits).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.config import DataSettings
from core.data import importer
from core.data.column_roles import identifier_columns, suggest_target
from core.data.csv_reader import CsvOptions, read_csv
from core.data.importer import ImportOptions
from core.data.infer import TypingRules, shipway_type
from core.data.profile import profile_table
from core.data.readers import read_excel, read_jsonl, read_parquet
from core.data.report import ImportReport
from core.data.sniff import decide_encoding, scan_file
from core.errors import ShipwayError
from core.progress import CancelToken, no_progress

PREVIEW_BYTES = 512 * 1024


@dataclass(frozen=True)
class FilePreview:
    """The head of a file as an import would read it.

    ``rows`` are the first rows as text (``None`` for missing), ``sample_rows`` how many rows
    the preview read, ``profile`` the statistics of each column over those rows, ``problems``
    the import report's entries (dicts with ``kind``, ``severity``, ``message``...),
    ``identifiers`` the columns that identify rows over those rows (name → reason in plain
    words: not features by default, never the suggested target) and ``target`` the suggested
    target (:func:`core.data.column_roles.suggest_target`).
    """

    format: str
    detected: dict[str, Any]
    columns: tuple[str, ...]
    types: dict[str, str]
    rows: tuple[tuple[str | None, ...], ...]
    sample_rows: int
    profile: dict[str, dict[str, Any]]
    problems: tuple[dict[str, Any], ...]
    identifiers: dict[str, str] = field(default_factory=dict)
    target: str | None = None


def preview_file(
    path: Path,
    options: ImportOptions = ImportOptions(),
    rows: int = 50,
    limits: DataSettings = DataSettings(),
) -> FilePreview:
    """What importing ``path`` with ``options`` would read; the first ``rows`` rows shown."""
    source = importer.check_source(Path(path))
    fmt = importer.detect_format(source, options.format)
    tokens = frozenset(
        options.missing_tokens if options.missing_tokens is not None
        else importer.missing_tokens(limits)
    )  # fmt: skip
    report = ImportReport(format=fmt, source=str(source))
    rules = TypingRules(tokens, options.decimal or ".", 0.01, options.date_order)
    if fmt in ("csv", "tsv"):
        table = _preview_text(source, fmt, options, tokens, report)
    elif fmt == "parquet":
        table = read_parquet(source, report, limits)
    elif fmt == "excel":
        table = read_excel(source, options.sheet, rules, report, limits)
    else:
        table = read_jsonl(source, options.encoding or "utf-8-sig", rules, report)
    shown = table.slice(0, rows).to_pylist()
    profile = profile_table(table)
    types = {f.name: shipway_type(f.type) for f in table.schema}
    identifiers = identifier_columns(table, profile)
    return FilePreview(
        format=fmt,
        detected=dict(report.detected),
        columns=tuple(table.column_names),
        types=types,
        rows=tuple(tuple(None if v is None else str(v) for v in row.values()) for row in shown),
        sample_rows=table.num_rows,
        profile=profile,
        problems=tuple(report.problems),
        identifiers=identifiers,
        target=suggest_target(table.column_names, types, identifiers),
    )


def _preview_text(
    source: Path, fmt: str, options: ImportOptions, tokens: frozenset[str], report: ImportReport
) -> pa.Table:
    """Parse the head of a text file through the importer's CSV reader (bad rows skipped)."""
    with tempfile.TemporaryDirectory(prefix="shipway-preview-") as folder:
        head = Path(folder) / source.name
        with open(source, "rb") as handle:
            data = handle.read(PREVIEW_BYTES)
        if len(data) == PREVIEW_BYTES and b"\n" in data:
            data = data[: data.rindex(b"\n") + 1]
        head.write_bytes(data)
        try:
            scan = scan_file(head)
            encoding = decide_encoding(head, scan, options.encoding)
            delimiter = options.delimiter or ("\t" if fmt == "tsv" else None)
            csv_options = CsvOptions(
                delimiter, options.decimal, "skip", tokens, 0.01, options.date_order
            )
            return read_csv(head, scan, encoding, csv_options, report, no_progress, CancelToken())
        except ShipwayError as exc:  # name the user's file, not the temporary copy
            exc.message = exc.message.replace(str(head), str(source))
            exc.where = exc.where and exc.where.replace(str(head), str(source))
            exc.args = (exc.message,)
            raise
