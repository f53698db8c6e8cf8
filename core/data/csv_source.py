"""The CSV file as pyarrow reads it: every field as text, block by block, rows of the wrong
width set aside.

:class:`CsvSource` opens pyarrow's streaming reader on the file, reads the head, hands the rest
to :mod:`core.data.csv_stream`, and reads columns again when the stream demoted them.

pyarrow's streaming reader reads the file in a background thread up to 32 blocks (256 MiB)
ahead of the batches taken; :class:`PacedFile` holds it to :data:`READ_AHEAD` blocks, so that
the stream's memory is a few blocks and the slab being typed. The blocks and their batches are
the same as a whole read's, so the table (and its Parquet blob) is byte for byte the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.csv as pacsv

from core.data import csv_stream
from core.data.arrow_pool import import_pool
from core.data.csv_stream import Streamed
from core.data.infer import TypingRules
from core.data.sniff import Encoding, SourceScan
from core.errors import ImportFailed
from core.progress import CancelToken

BLOCK_SIZE = 8 * 1024 * 1024
READ_AHEAD = 3  # blocks the reader may read beyond the batches handed out
READ_WAIT = 2.0  # seconds a read waits for a batch to be taken before it goes ahead anyway


class PacedFile:
    """A file whose reads run at most :data:`READ_AHEAD` blocks ahead of the batches taken.

    The reader's background thread calls :meth:`read` once per block; the consumer calls
    :meth:`taken` once per batch. A read that would run further ahead waits for a batch to be
    taken, at most :data:`READ_WAIT` seconds: a batch never needs more than the block it ends
    in and the one before (pyarrow refuses a row that spans more), so the wait always ends with
    a batch taken, and the limit only guards against a reader that works otherwise.
    Scoring's :class:`core.scoring.csv_file.HashingFile` is one too, with reads of its own.
    """

    read_ahead: ClassVar[int] = READ_AHEAD

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._turn = threading.Condition()
        self._reads = 0
        self._taken = 0
        self.overruns = 0  # reads that went ahead without waiting for a batch to be taken

    @property
    def closed(self) -> bool:
        return self._file.closed

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def _wait_turn(self) -> None:
        """Wait until this read is at most ``read_ahead`` blocks ahead (or for ``READ_WAIT``)."""
        with self._turn:
            ahead = self.read_ahead
            if not self._turn.wait_for(lambda: self._reads - self._taken < ahead, READ_WAIT):
                self.overruns += 1
            self._reads += 1

    def read(self, size: int = -1) -> bytes | pa.Buffer:
        self._wait_turn()
        if size < 0:
            return self._file.read()
        # Into the import's pool, which reuses freed blocks (Python's bytes would be malloc's)
        buffer = pa.allocate_buffer(size, memory_pool=import_pool(), resizable=True)
        done = self._file.readinto(memoryview(buffer).cast("B"))
        buffer.resize(done)
        return buffer

    def taken(self) -> None:
        with self._turn:
            self._taken += 1
            self._turn.notify_all()

    def close(self) -> None:
        self._file.close()


class CsvSource:
    """The file as pyarrow reads it: every field text, rows of the wrong width set aside."""

    def __init__(
        self, path: Path, scan: SourceScan, encoding: Encoding, delimiter: str, width: int
    ) -> None:
        self.path, self.scan, self.encoding = path, scan, encoding
        self.delimiter, self.width = delimiter, width
        self.valid_utf8 = encoding.name in ("utf-8", "utf-8-sig") and (
            scan.utf8_error_offset is None
        )

    def _options(
        self, invalid: list[tuple[int, str]], columns: list[int] | None = None
    ) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
        """pyarrow's options for this file (all columns, or those at ``columns``)."""

        def on_invalid(row: pacsv.InvalidRow) -> str:
            invalid.append((row.actual_columns, row.text[:200]))
            return "skip"

        name = self.encoding.name
        read_options = pacsv.ReadOptions(
            encoding="utf8" if name in ("utf-8", "utf-8-sig") else name,
            autogenerate_column_names=True,
            block_size=BLOCK_SIZE,
            use_threads=True,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=self.delimiter,
            quote_char='"',
            double_quote=True,
            newlines_in_values=self.scan.has_quotes,
            ignore_empty_lines=True,
            invalid_row_handler=on_invalid,
        )
        convert_options = pacsv.ConvertOptions(
            column_types={f"f{i}": pa.string() for i in range(self.width)},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            # The scan validated every byte of a UTF-8 file already: a fifth of the read's CPU.
            check_utf8=not self.valid_utf8,
        )
        if columns is not None:
            convert_options.include_columns = [f"f{i}" for i in columns]
        return read_options, parse_options, convert_options

    def open(self, invalid: list[tuple[int, str]]) -> pacsv.CSVStreamingReader:
        """A reader of the whole file, block by block; rows of the wrong width go to
        ``invalid``. Call :meth:`next_batch` for its batches, and :meth:`close`."""
        options = self._options(invalid)
        self.paced = PacedFile(self.path)
        return self._read(pacsv.open_csv, pa.PythonFile(self.paced, mode="r"), options)

    def _read(self, read: Callable[..., Any], source: Any, options: tuple) -> Any:
        """``read`` (pyarrow's ``open_csv`` or ``read_csv``) of ``source`` with ``options``;
        a file pyarrow cannot parse is an :class:`ImportFailed` naming the file."""
        read_options, parse_options, convert_options = options
        try:
            return read(
                source,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
                memory_pool=import_pool(),
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _unparsable(self.path, exc) from None

    def head(self, reader: pacsv.CSVStreamingReader) -> pa.Table:
        """The first ``HEAD_ROWS`` lines (or all of a shorter file), header included."""
        batches = []
        rows = 0
        while rows < csv_stream.HEAD_ROWS:
            batch = self.next_batch(reader)
            if batch is None:
                break
            batches.append(batch)
            rows += batch.num_rows
        return pa.Table.from_batches(batches, reader.schema)

    def stream(
        self,
        reader: pacsv.CSVStreamingReader,
        head: pa.Table,
        rules: TypingRules,
        progress: Callable[[int], None],
        cancel: CancelToken,
    ) -> Streamed:
        """The rest of the file after ``head`` (its data rows), number columns typed by slab.

        A file no longer than its head plans nothing: every column keeps its text.
        """
        long = head.num_rows >= csv_stream.HEAD_ROWS - 1
        plans = csv_stream.plan_columns(head.columns, rules) if long else [None] * head.num_columns
        return csv_stream.stream_columns(head, self._batches(reader), plans, progress, cancel)

    def _batches(self, reader: pacsv.CSVStreamingReader) -> Iterator[pa.RecordBatch]:
        while (batch := self.next_batch(reader)) is not None:
            yield batch

    def next_batch(self, reader: pacsv.CSVStreamingReader) -> pa.RecordBatch | None:
        """The reader's next batch, or None at the end."""
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return None
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise _unparsable(self.path, exc) from None
        self.paced.taken()
        return batch

    def close(self, reader: pacsv.CSVStreamingReader) -> None:
        reader.close()
        self.paced.close()

    def read_again(self, indices: list[int]) -> list[pa.ChunkedArray]:
        """The text of some columns (data rows only), from a second read of the file."""
        if not indices:
            return []
        table = self._read(pacsv.read_csv, self.path, self._options([], indices))
        return [column.slice(1) for column in table.columns]


def _unparsable(path: Path, exc: BaseException) -> ImportFailed:
    return ImportFailed(
        f"the file cannot be parsed as delimited text: {_first_line(exc)}",
        where=str(path),
        hint="check the delimiter (--delimiter) and encoding (--encoding)",
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
