"""Importing a file (or a SQL query) as a new, immutable data set version.

The order of work is what keeps a project consistent when an import fails or is killed:

1. one pass over the source bytes (sha256, lines, encoding); an unchanged file imported with the
   same options returns its existing version right here, at the cost of that hash;
2. parse and type the columns (nothing written yet: any problem raises
   :class:`~core.errors.ImportFailed` and leaves the project as it was);
3. profile them and run the table checks while a worker thread writes the Parquet blob to
   ``objects/tmp``; then fsync it and rename it to its content address;
4. one write transaction inserts the blob row, the version row and the audit row.

A process killed in 1–3 leaves at most a temporary file that the next start sweeps; killed
during 4, SQLite rolls the transaction back. Identical content returns the existing version.
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.config import DataSettings
from core.data import readers
from core.data.column_roles import identifier_columns
from core.data.csv_reader import CsvOptions, read_csv
from core.data.dates import check_date_order
from core.data.infer import TypingRules, shipway_type
from core.data.profile import profile_table
from core.data.report import ImportReport
from core.data.sniff import decide_encoding, scan_file
from core.data.table_checks import RowHasher, check_table
from core.entities import DatasetVersion
from core.errors import ImportFailed, NotFound, UsageError
from core.progress import CancelToken, ProgressFn, Stage, no_progress
from core.project import Project
from core.serving.missing import DEFAULT_MISSING_TOKENS
from core.store.blobs import StoredBlob, sha256_file
from core.store.repository import NewVersion
from core.times import Laps

FORMATS = ("csv", "tsv", "parquet", "excel", "jsonl")
_SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_DATASET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]{0,199}$")
PARQUET_COMPRESSION = "zstd"


@dataclass(frozen=True)
class ImportOptions:
    """What the user may choose; ``None`` means "detect"."""

    name: str | None = None
    format: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | None = None
    missing_tokens: tuple[str, ...] | None = None
    bad_rows: str = "error"
    # Dates like 01/02/2012 whose values fit both orders: "auto" leaves them text (and says so),
    # "day_first" or "month_first" reads them so ("day-first" is accepted too).
    date_order: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "date_order", check_date_order(self.date_order))

    def key(self, effective_tokens: tuple[str, ...], conflict_share: float) -> str:
        """A hash of everything that changes the result (the name does not).

        ``date_order`` counts only when it is not "auto", so that the keys of versions imported
        before the option existed still match.
        """
        data = asdict(self) | {"missing_tokens": sorted(effective_tokens), "share": conflict_share}
        data.pop("name")
        if data["date_order"] == "auto":
            data.pop("date_order")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def chosen(self) -> dict[str, Any]:
        """The options a user set (what a version records): no name, no defaults left unset."""
        return {
            k: v
            for k, v in asdict(self).items()
            if v is not None and k != "name" and not (k == "date_order" and v == "auto")
        }


@dataclass(frozen=True)
class ImportOutcome:
    version: DatasetVersion
    created: bool
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = self.version.summary()
        data.update(created=self.created, report=self.version.report, schema=self.version.schema)
        return data


def dataset_name_for(path: Path, name: str | None) -> str:
    candidate = (name or re.sub(r"[^A-Za-z0-9_.\- ]", "_", path.stem)).strip()
    if not _DATASET_NAME.match(candidate):
        raise UsageError(
            f"data set name {candidate!r} is not usable",
            hint="use letters, digits, '_', '-', '.' or spaces (no '@'), at most 200 characters",
        )
    return candidate


def detect_format(path: Path, requested: str | None) -> str:
    if requested:
        if requested not in FORMATS:
            raise UsageError(
                f"unknown format {requested!r}", hint=f"use one of {', '.join(FORMATS)}"
            )
        return requested
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == b"PAR1":
        return "parquet"
    suffix = _SUFFIXES.get(path.suffix.lower())
    if suffix:
        return suffix
    return "excel" if head.startswith(b"PK\x03\x04") else "csv"


def check_source(path: Path) -> Path:
    path = path.expanduser()
    if not path.exists():
        raise NotFound("file not found", where=str(path), hint="check the path and try again")
    if path.is_dir():
        raise ImportFailed("this is a folder, not a file", where=str(path), hint="choose a file")
    if path.stat().st_size == 0:
        raise ImportFailed("the file is empty", where=str(path), hint="choose a file with data")
    return path.resolve()


@dataclass(frozen=True)
class ImportJob:
    """One import's project and choices, with its progress callback, cancel token and clock."""

    project: Project
    options: ImportOptions = ImportOptions()
    progress: ProgressFn = no_progress
    cancel: CancelToken = field(default_factory=CancelToken)
    clock: Laps = field(default_factory=Laps)

    def typing(self) -> tuple[TypingRules, str]:
        """The typing rules (the options over the project's settings) and the options key."""
        settings = self.project.settings.data
        tokens = self.options.missing_tokens
        tokens = tuple(missing_tokens(settings) if tokens is None else tokens)
        share = settings.max_type_conflict_share
        decimal = self.options.decimal or "."
        rules = TypingRules(frozenset(tokens), decimal, share, self.options.date_order)
        return rules, self.options.key(tokens, share)


def import_file(job: ImportJob, path: Path) -> ImportOutcome:
    """Import ``path`` into the job's project as a new version of a data set (or find its twin)."""
    project, options, progress = job.project, job.options, job.progress
    path = check_source(path)
    name = dataset_name_for(path, options.name)
    fmt = detect_format(path, options.format)
    rules, key = job.typing()
    scan = scan_file(path, Stage(progress, 0.0, 0.1, "hashing")) if fmt in ("csv", "tsv") else None
    source_sha = scan.sha256 if scan else sha256_file(path)
    job.clock.lap("hash")
    existing = project.repo.find_version_by_source(name, source_sha, key)
    if existing is not None:
        progress(1.0, "unchanged: already imported")
        return ImportOutcome(existing, created=False, seconds=job.clock.laps)
    job.cancel.raise_if_cancelled()
    report = ImportReport(format=fmt, source=str(path))
    parse_stage = Stage(progress, 0.1, 0.55, "reading")
    if fmt in ("csv", "tsv"):
        encoding = decide_encoding(path, scan, options.encoding)
        delimiter = options.delimiter or ("\t" if fmt == "tsv" else None)
        csv_options = CsvOptions(
            delimiter,
            options.decimal,
            options.bad_rows,
            rules.missing_tokens,
            rules.max_conflict_share,
            options.date_order,
        )
        table = read_csv(path, scan, encoding, csv_options, report, parse_stage, job.cancel)
    elif fmt == "parquet":
        table = readers.read_parquet(path, report, project.settings.data)
    elif fmt == "excel":
        table = readers.read_excel(path, options.sheet, rules, report, project.settings.data)
    else:
        table = readers.read_jsonl(path, options.encoding or "utf-8-sig", rules, report)
    job.clock.lap("parse")
    return _store(job, table, report, name, str(path), fmt, source_sha, key)


def import_sql(job: ImportJob, query: str, url: str, name: str) -> ImportOutcome:
    """Import the result of ``query`` on the database at ``url`` as a version of ``name``."""
    name = dataset_name_for(Path(name), name)
    rules, key = job.typing()
    report = ImportReport(format="sql", source=query)
    job.progress(None, "running the query")
    table = readers.read_sql(query, url, rules, report)
    job.clock.lap("parse")
    source = f"{report.detected.get('url', 'sql')}: {query}"
    source_sha = hashlib.sha256(source.encode()).hexdigest()
    return _store(job, table, report, name, source, "sql", source_sha, key)


def missing_tokens(settings: DataSettings) -> tuple[str, ...]:
    """The cells that mean "missing" on import: shipway.toml's list, else pandas' defaults."""
    if settings.missing_tokens is None:
        return DEFAULT_MISSING_TOKENS
    return settings.missing_tokens


def _store(
    job: ImportJob,
    table: pa.Table,
    report: ImportReport,
    name: str,
    source: str,
    fmt: str,
    source_sha: str,
    key: str,
) -> ImportOutcome:
    """Check, profile and write ``table``, then record it as a version (or find its twin)."""
    if table.num_columns == 0:
        raise ImportFailed("the source has no columns", where=source, hint="choose another file")
    if table.num_rows == 0:
        raise ImportFailed("the source has no data rows", where=source, hint="add rows")
    profile, blob = _profile_and_write(job, table, report)
    report.identifiers = identifier_columns(table, profile)
    new = NewVersion(
        dataset=name,
        sha256=blob.sha256,
        size_bytes=blob.size_bytes,
        rows=table.num_rows,
        columns=table.num_columns,
        source=source,
        source_format=fmt,
        source_sha256=source_sha,
        options_key=key,
        options=job.options.chosen(),
        schema={n: shipway_type(table.schema.field(n).type) for n in table.column_names},
        profile=profile,
        report=report.to_dict(),
    )
    version, created = job.project.repo.add_version(new)
    job.clock.lap("record")
    job.progress(1.0, "done")
    return ImportOutcome(version, created, job.clock.laps)


def _profile_and_write(
    job: ImportJob, table: pa.Table, report: ImportReport
) -> tuple[dict[str, dict[str, Any]], StoredBlob]:
    """Profile and check the table while a worker thread writes its Parquet blob.

    Both spend their time in pyarrow and numpy, which release the GIL. The profile takes all
    cores beside the writer: which of the two is longer depends on the table (the sorts of
    many float columns outlast the writer), and the system shares the cores between the three
    threads, so neither waits for a core the other leaves idle. The timings say
    "profile" until the profile is done and "store" for what remains (the rest of the write,
    its hash, the fsyncs). A failure or a cancel waits for the writer, then removes its
    temporary file.
    """
    blobs, progress, cancel = job.project.blobs, job.progress, job.cancel
    with blobs.new_temp(".parquet") as temp:
        with ThreadPoolExecutor(1, thread_name_prefix="parquet") as writer:
            writing = writer.submit(pq.write_table, table, temp, compression=PARQUET_COMPRESSION)
            rows = RowHasher(table.num_rows)
            stage = Stage(progress, 0.55, 0.8, "profiling")
            profile = profile_table(table, stage, cancel, rows)
            check_table(table, profile, report, rows)
            job.clock.lap("profile")
            progress(0.8, "storing")
        writing.result()
        cancel.raise_if_cancelled()
        blob = blobs.commit_temp(temp)
    job.clock.lap("store")
    return profile, blob
