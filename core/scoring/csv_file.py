"""A CSV or TSV file to score, read as text in blocks while its bytes are hashed.

The encoding is the one asked for, else the BOM's, else UTF-8 when the head of the file is
UTF-8, else Windows-1252 (the import's choices, judged on the head rather than a whole pass).
The delimiter and header come from the import's sniffing (:mod:`core.data.sniff`). Cells equal
to one of the project's missing tokens, and empty cells, are missing. pyarrow's streaming reader
reads the file through :class:`HashingFile`, which hashes each block as it is read (the input's
sha256 for the lineage, in the same pass) and stays :data:`READ_AHEAD` blocks ahead of the
batches taken, so a long file costs a few blocks of memory.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from core.data.csv_source import PacedFile
from core.data.sniff import Encoding, read_sample, sniff_dialect
from core.errors import InvalidInput, UsageError

BLOCK_SIZE = 4 * 1024 * 1024
READ_AHEAD = 4
HEAD_BYTES = 256 * 1024


class HashingFile(PacedFile):
    """A file whose blocks are hashed as pyarrow reads them, at most :data:`READ_AHEAD` blocks
    ahead of the batches taken (:meth:`taken`), paced as the import's files are."""

    read_ahead = READ_AHEAD

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._digest = hashlib.sha256()
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        self._wait_turn()
        data = self._file.read() if size < 0 else self._file.read(size)
        self._digest.update(data)
        self.bytes_read += len(data)
        return data

    def finish(self) -> None:
        """Hash whatever the reader left unread (nothing, or a last newline), at once."""
        while data := self._file.read(BLOCK_SIZE):
            self._digest.update(data)
            self.bytes_read += len(data)

    def sha256(self) -> str:
        """The hash of every byte read; the whole file's once the reader reached its end."""
        return self._digest.hexdigest()


def choose_encoding(path: Path, requested: str | None) -> Encoding:
    if requested:
        try:
            return Encoding(codecs.lookup(requested).name, requested)
        except LookupError:
            raise UsageError(
                f"unknown encoding {requested!r}", hint="use e.g. utf-8, cp1252, latin-1, utf-16"
            ) from None
    with open(path, "rb") as handle:
        head = handle.read(HEAD_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return Encoding("utf-8-sig", "utf-8 (BOM)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Encoding("utf-16", "utf-16 (BOM)")
    try:
        head.decode("utf-8") if len(head) < HEAD_BYTES else head[:-4].decode("utf-8")
    except UnicodeDecodeError:
        return Encoding("cp1252", "windows-1252")
    return Encoding("utf-8", "utf-8")


class CsvFile:
    """An open CSV file: its header, then its rows as tables of text."""

    def __init__(
        self,
        path: Path,
        tokens: tuple[str, ...],
        delimiter: str | None = None,
        encoding: str | None = None,
    ) -> None:
        self.path = path
        self.tokens = tokens
        self.encoding = choose_encoding(path, encoding)
        sample = read_sample(path, self.encoding)
        self.dialect = sniff_dialect(sample, delimiter, path.suffix.lower())
        self.columns = [str(name) for name in self.dialect.header]
        self.quoted = '"' in sample
        self.size = path.stat().st_size
        self._file: HashingFile | None = None

    def fraction(self) -> float | None:
        if self._file is None or not self.size:
            return None
        return min(1.0, self._file.bytes_read / self.size)

    def sha256(self) -> str:
        assert self._file is not None
        return self._file.sha256()

    def batches(self, columns: list[str]) -> Iterator[pa.Table]:
        """The file's rows, ``columns`` only, as text (missing tokens made missing)."""
        self._file = HashingFile(self.path)
        try:
            reader = self._open(columns)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                    raise self._unreadable(exc) from None
                self._file.taken()
                yield pa.Table.from_batches([batch])
            self._file.finish()
        finally:
            self._file.close()

    def _open(self, columns: list[str]) -> Any:
        name = self.encoding.name
        options = (
            pacsv.ReadOptions(
                encoding="utf8" if name in ("utf-8", "utf-8-sig") else name,
                block_size=BLOCK_SIZE,
                use_threads=True,
            ),
            pacsv.ParseOptions(delimiter=self.dialect.delimiter, newlines_in_values=self.quoted),
            pacsv.ConvertOptions(
                include_columns=columns,
                column_types={c: pa.string() for c in columns},
                null_values=["", *self.tokens],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        assert self._file is not None
        try:
            return pacsv.open_csv(
                pa.PythonFile(self._file, mode="r"),
                read_options=options[0],
                parse_options=options[1],
                convert_options=options[2],
            )
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: BaseException) -> InvalidInput:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return InvalidInput(
            f"the file cannot be read as {self.encoding.label} CSV: {first}",
            where=str(self.path),
            hint="check the file (a row with the wrong number of fields?), or give --encoding "
            "or --delimiter",
        )
