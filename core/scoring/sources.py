"""The input of a scoring job, read in chunks: a data set version, a file, or a SQL query.

Every source says which columns it has before a row is read, so that a model input it lacks is
refused before any work (:func:`check_columns`), and hands out its rows as tables of
``chunk_rows`` rows (the last one shorter) through :func:`chunks`. A data set version is read
from its Parquet blob after the blob's hash check, row group by row group; a Parquet file by its
batches, normalised to Shipway's types as the import normalises them; a CSV file as text
(:mod:`core.scoring.csv_file`); a query's rows ``chunk_rows`` at a time through the store floor
(:func:`core.store.sql_source.stream_rows`), each value as its text (so every chunk has the same
types, whatever the driver returns).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.data import versions
from core.data.importer import check_source, detect_format, missing_tokens
from core.data.readers import normalise_arrow_column
from core.errors import CorruptObject, InvalidInput, UsageError
from core.project import Project
from core.scoring.csv_file import CsvFile
from core.scoring.spec import Chunk, ScoreRequest
from core.store.blobs import sha256_file

#: A CSV file up to this size is scored in this process (a pool's start-up would cost more).
SMALL_CSV_BYTES = 4 * 1024 * 1024


class Source:
    """What every input offers: columns, rows (when known), batches, progress and lineage."""

    kind = ""
    columns: list[str]
    rows: int | None = None
    stem = "input"

    def batches(self, columns: list[str]) -> Iterator[pa.Table]:
        raise NotImplementedError

    def fraction(self, rows_read: int) -> float | None:
        return None if not self.rows else min(1.0, rows_read / self.rows)

    def small(self, chunk_rows: int) -> bool:
        """Whether the input is one chunk at most: scored in this process, no workers."""
        return self.rows is not None and self.rows <= chunk_rows

    def lineage(self) -> dict[str, Any]:
        raise NotImplementedError


class DatasetSource(Source):
    kind = "dataset"

    def __init__(self, project: Project, ref: str) -> None:
        self.version = versions.resolve(project, ref)
        self.path = project.blobs.path_of(self.version.sha256)
        self.columns = list(self.version.schema)
        self.rows = self.version.rows
        self.stem = self.version.dataset
        self._blobs = project.blobs

    def batches(self, columns: list[str]) -> Iterator[pa.Table]:
        problem = self._blobs.verify(self.version.sha256)
        if problem is not None:
            raise CorruptObject(
                f"{self.version.ref} cannot be scored: its data is {problem}",
                where=self.version.ref,
                hint="restore objects/ from a backup, or import it again",
            )
        with pq.ParquetFile(self.path) as parquet:
            for batch in parquet.iter_batches(batch_size=64 * 1024, columns=columns):
                yield pa.Table.from_batches([batch])

    def lineage(self) -> dict[str, Any]:
        return {
            "kind": "dataset",
            "ref": self.version.ref,
            "sha256": self.version.sha256,
            "rows": self.version.rows,
        }


class ParquetSource(Source):
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path, self.stem = path, path.stem
        try:
            with pq.ParquetFile(path) as parquet:
                self.columns = [str(name) for name in parquet.schema_arrow.names]
                self.rows = parquet.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(path, exc) from None
        self._sha256: str | None = None

    def batches(self, columns: list[str]) -> Iterator[pa.Table]:
        self._sha256 = sha256_file(self.path)
        try:
            with pq.ParquetFile(self.path) as parquet:
                for batch in parquet.iter_batches(batch_size=64 * 1024, columns=columns):
                    yield pa.table(
                        [
                            normalise_arrow_column(n, batch.column(n), str(self.path))
                            for n in columns
                        ],
                        names=columns,
                    )
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(self.path, exc) from None

    def lineage(self) -> dict[str, Any]:
        return {
            "kind": "file",
            "path": str(self.path),
            "format": "parquet",
            "sha256": self._sha256,
            "rows": self.rows,
        }


def _unreadable(path: Path, exc: BaseException) -> InvalidInput:
    first = (str(exc).splitlines() or [type(exc).__name__])[0]
    return InvalidInput(
        f"the Parquet file cannot be read: {first}",
        where=str(path),
        hint="the file is damaged; copy it again from its source",
    )


class CsvSource(Source):
    kind = "file"

    def __init__(self, path: Path, tokens: tuple[str, ...], fmt: str) -> None:
        self.path, self.stem, self.format = path, path.stem, fmt
        self.file = CsvFile(path, tokens, "\t" if fmt == "tsv" else None)
        self.columns = self.file.columns

    def batches(self, columns: list[str]) -> Iterator[pa.Table]:
        return self.file.batches(columns)

    def fraction(self, rows_read: int) -> float | None:
        return self.file.fraction()

    def small(self, chunk_rows: int) -> bool:
        return self.file.size <= SMALL_CSV_BYTES

    def lineage(self) -> dict[str, Any]:
        return {
            "kind": "file",
            "path": str(self.path),
            "format": self.format,
            "sha256": self.file.sha256(),
        }


class SqlSource(Source):
    kind = "sql"
    stem = "query"

    def __init__(self, query: str, url: str, chunk_rows: int) -> None:
        from core.store.sql_source import stream_rows

        self.query = query
        self._stack = contextlib.ExitStack()
        self._stream = self._stack.enter_context(stream_rows(query, url, chunk_rows))
        self.columns = self._stream.names
        self.safe_url = self._stream.safe_url

    def batches(self, columns: list[str]) -> Iterator[pa.Table]:
        positions = [self.columns.index(name) for name in columns]
        for rows in self._stream.batches:
            yield pa.table(
                [pa.array([_text(row[i]) for row in rows], pa.string()) for i in positions],
                names=columns,
            )

    def lineage(self) -> dict[str, Any]:
        text = f"{self.safe_url}: {self.query}"
        return {
            "kind": "sql",
            "url": self.safe_url,
            "query": self.query,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
        }

    def close(self) -> None:
        self._stack.close()


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def open_source(project: Project, request: ScoreRequest) -> Source:
    """The request's input, opened far enough to know its columns (no row read yet)."""
    if request.dataset is not None:
        return DatasetSource(project, request.dataset)
    if request.sql is not None:
        assert request.url is not None
        return SqlSource(request.sql, request.url, request.chunk_rows)
    path = check_source(Path(request.file or ""))
    fmt = detect_format(path, None)
    if fmt == "parquet":
        return ParquetSource(path)
    if fmt in ("csv", "tsv"):
        return CsvSource(path, missing_tokens(project.settings.data), fmt)
    raise UsageError(
        f"cannot score {fmt} files",
        where=str(path),
        hint="give a CSV, TSV or Parquet file, or import it and use --data",
    )


def check_columns(source: Source, needed: list[str], model: str, keep: tuple[str, ...]) -> None:
    """Refuse, before any work, an input that lacks a column the model reads or one to keep."""
    have = set(source.columns)
    missing = [name for name in needed if name not in have]
    if not missing:
        return
    inputs = [name for name in missing if name not in keep]
    what = f"{model} reads" if inputs else "--keep-columns names"
    shown = ", ".join(repr(name) for name in missing[:20])
    more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
    raise InvalidInput(
        f"the input lacks {len(missing)} column(s) that {what}: {shown}{more}",
        where=_where(source),
        hint=f"its columns are {', '.join(source.columns[:30])}; columns are matched by name",
        details=[{"column": name, "problem": "missing_column"} for name in missing],
    )


def _where(source: Source) -> str:
    if isinstance(source, DatasetSource):
        return source.version.ref
    if isinstance(source, SqlSource):
        return source.safe_url
    return str(getattr(source, "path", ""))


def chunks(source: Source, columns: list[str], size: int) -> Iterator[Chunk]:
    """The source's rows as chunks of ``size`` rows, in order, numbered from 0."""
    pending: list[pa.Table] = []
    held = start = index = 0
    for table in source.batches(columns):
        pending.append(table)
        held += table.num_rows
        while held >= size:
            whole = pa.concat_tables(pending)
            yield Chunk(index, start, whole.slice(0, size).combine_chunks())
            index, start, held = index + 1, start + size, held - size
            pending = [whole.slice(size)] if held else []
    if held:
        yield Chunk(index, start, pa.concat_tables(pending).combine_chunks())
