"""Looking at a text file before parsing it: one pass for hash, lines and encoding; a sample for
the delimiter and the header.

The single pass over the bytes computes the sha256 (the version's source hash) in a worker
thread while counting newlines, looking for quotes and NUL bytes, and validating UTF-8 only when
it meets a non-ASCII chunk, so a plain ASCII file costs about as much as hashing it.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from core.errors import ImportFailed, UsageError
from core.progress import ProgressFn, no_progress

CHUNK = 8 * 1024 * 1024
_NEWLINE = ord("\n")
SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
# Bytes that Windows-1252 leaves undefined: a file holding them is not cp1252 either.
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
# A well-formed multi-byte UTF-8 sequence: a file holding one is meant to be UTF-8.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


@dataclass(frozen=True)
class SourceScan:
    """What one pass over a file's bytes found."""

    sha256: str
    size: int
    newlines: int
    has_quotes: bool  # a double quote anywhere: records may then span lines
    bom: str | None
    utf8_error_offset: int | None
    ends_with_newline: bool
    first_nul_offset: int | None = None


def scan_file(path: Path, progress: ProgressFn = no_progress) -> SourceScan:
    """Hash, count newlines and validate UTF-8 in one read of the file.

    The sha256 runs in a worker thread (hashlib releases the GIL on large buffers) while this
    thread looks at the same chunk, so the scan costs about one hash. Each chunk is read into a
    buffer of its own: the hash of the previous chunk may still be running.
    """
    digest = hashlib.sha256()
    size = path.stat().st_size
    facts = _ChunkFacts()
    offset = 0
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as hasher, open(path, "rb") as handle:
        hashing: Future[None] | None = None
        while chunk := handle.read(CHUNK):
            if hashing is not None:
                hashing.result()
            hashing = hasher.submit(digest.update, chunk)
            facts.add(chunk, offset)
            offset += len(chunk)
            progress(offset / size if size else 1.0, "reading")
        if hashing is not None:
            hashing.result()
    return facts.finish(digest.hexdigest(), offset)


class _ChunkFacts:
    """Newlines, quotes, NUL bytes and UTF-8 validity, chunk by chunk."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.newlines = 0
        self.quotes = False
        self.error_offset: int | None = None
        self.nul_offset: int | None = None
        self.head = b""
        self.last = b""

    def add(self, chunk: bytes, offset: int) -> None:
        if not self.head:
            self.head = chunk[:4]
        self.newlines += int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == _NEWLINE))
        self.quotes = self.quotes or b'"' in chunk
        if self.nul_offset is None and (found := chunk.find(b"\x00")) >= 0:
            self.nul_offset = offset + found
        # A multi-byte sequence cut by the chunk boundary must meet its next chunk.
        if self.error_offset is None and (not chunk.isascii() or self.decoder.getstate()[0]):
            self.error_offset = _utf8_error(self.decoder, chunk, offset)
        self.last = chunk[-1:]

    def finish(self, sha256: str, size: int) -> SourceScan:
        error_offset, nul_offset = self.error_offset, self.nul_offset
        if error_offset is None:  # a truncated last character
            error_offset = _utf8_error(self.decoder, b"", size, final=True)
        bom = _bom(self.head)
        if bom == "utf-16":
            error_offset = nul_offset = None  # not UTF-8 at all; decoded through its BOM
        return SourceScan(
            sha256,
            size,
            self.newlines,
            self.quotes,
            bom,
            error_offset,
            self.last == b"\n",
            nul_offset,
        )


def _utf8_error(
    decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, final: bool = False
) -> int | None:
    pending = decoder.getstate()[0]
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        return offset - len(pending) + exc.start
    return None


def _bom(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


@dataclass(frozen=True)
class Encoding:
    name: str  # a Python codec name
    label: str  # what the report says
    note: str | None = None


def codec_name(encoding: str, hint: str) -> str:
    """Python's name of the codec ``encoding`` names; a usage error (with ``hint``) if none."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(f"unknown encoding {encoding!r}", hint=hint) from None


def decide_encoding(path: Path, scan: SourceScan, requested: str | None) -> Encoding:
    """The file's encoding: the one asked for, else BOM, UTF-8, or Windows-1252 (explained)."""
    if requested:
        name = codec_name(requested, "use e.g. utf-8, cp1252, latin-1, utf-16")
        return Encoding(name, name)
    if scan.bom == "utf-16":
        return Encoding("utf-16", "utf-16 (BOM)")
    if scan.first_nul_offset is not None:
        _refuse_nul_bytes(path, scan.first_nul_offset)
    offset = scan.utf8_error_offset
    if scan.bom == "utf-8":
        if offset is not None:  # the BOM declares UTF-8: no other encoding is guessed
            facts = _ByteFacts.collect(path, offset)
            _refuse_invalid_utf8(path, offset, facts, "a file that starts with a UTF-8 BOM")
        return Encoding("utf-8-sig", "utf-8 (BOM)")
    if offset is None:
        return Encoding("utf-8", "utf-8")
    return _not_utf8(path, offset)


def _refuse_nul_bytes(path: Path, offset: int) -> NoReturn:
    raise ImportFailed(
        f"the file holds NUL bytes (the first at byte offset {offset}), so it is not plain "
        "text: UTF-16 text without a byte-order mark, or a binary file",
        where=str(path),
        hint="for UTF-16 text pass --encoding utf-16-le (or utf-16-be); for a workbook or "
        "Parquet file pass --format",
    )


@dataclass(frozen=True)
class _ByteFacts:
    """What a non-UTF-8 file holds, found in one streamed pass (the file may be large)."""

    byte: str  # the offending byte, in hex
    line: int  # its line, from 1
    has_utf8_multibyte: bool
    cp1252_undefined_at: int | None

    @classmethod
    def collect(cls, path: Path, offset: int) -> _ByteFacts:
        line, position, tail = 1, 0, b""
        byte = ""
        multibyte = False
        undefined: int | None = None
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                if position <= offset < position + len(chunk):
                    byte = chunk[offset - position : offset - position + 1].hex()
                if position < offset:
                    line += chunk.count(b"\n", 0, offset - position)
                multibyte = multibyte or bool(_UTF8_MULTIBYTE.search(tail + chunk))
                if undefined is None and (found := _CP1252_UNDEFINED.search(chunk)):
                    undefined = position + found.start()
                tail = chunk[-3:]
                position += len(chunk)
        return cls(byte or "??", line, multibyte, undefined)


def _refuse_invalid_utf8(path: Path, offset: int, facts: _ByteFacts, what: str) -> NoReturn:
    raise ImportFailed(
        f"invalid UTF-8: byte 0x{facts.byte} at byte offset {offset} (line {facts.line}) "
        f"breaks {what}",
        where=f"{path}:{facts.line}",
        hint="repair that line, or pass --encoding (e.g. --encoding cp1252) if the file "
        "really uses another encoding",
    )


def _not_utf8(path: Path, offset: int) -> Encoding:
    facts = _ByteFacts.collect(path, offset)
    if facts.has_utf8_multibyte:
        _refuse_invalid_utf8(path, offset, facts, "a file that is otherwise UTF-8")
    where = f"byte 0x{facts.byte} at offset {offset}, line {facts.line}"
    if facts.cp1252_undefined_at is not None:
        at = facts.cp1252_undefined_at
        raise ImportFailed(
            f"the file is neither UTF-8 ({where}) nor Windows-1252 (it holds a byte that "
            f"Windows-1252 leaves undefined at offset {at})",
            where=str(path),
            hint="pass --encoding with the file's real encoding, e.g. --encoding latin-1",
        )
    return Encoding("cp1252", "windows-1252", f"not UTF-8 ({where}); read as Windows-1252")


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    header: list[str]
    sample_rows: list[list[str]]


def read_sample(path: Path, encoding: Encoding) -> str:
    with open(path, "rb") as handle:
        raw = handle.read(SAMPLE_BYTES)
    text = raw.decode(encoding.name, errors="replace")
    if len(raw) == SAMPLE_BYTES:
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut > 0 else text
    return text.lstrip("\ufeff")


def sniff_dialect(sample: str, requested: str | None, suffix: str) -> Dialect:
    """Choose the delimiter whose field count is the most consistent over the sample rows."""
    if requested:
        delimiter = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(
            requested, requested
        )
        if len(delimiter) != 1:
            raise UsageError(f"delimiter must be one character, got {requested!r}")
        rows = _rows(sample, delimiter)
        return Dialect(delimiter, rows[0] if rows else [], rows[1:])
    best: tuple[tuple[float, int, int], str, list[list[str]]] | None = None
    for delimiter in DELIMITERS:
        rows = _rows(sample, delimiter)
        if not rows:
            continue
        width = len(rows[0])
        consistent = sum(1 for row in rows if len(row) == width) / len(rows)
        preferred = 1 if (delimiter == "\t") == (suffix in (".tsv", ".tab")) else 0
        score = (consistent if width > 1 else 0.0, preferred, width)
        if best is None or score > best[0]:
            best = (score, delimiter, rows)
    if best is None:
        return Dialect("\t" if suffix in (".tsv", ".tab") else ",", [], [])
    (_, _, width), delimiter, rows = best
    if width <= 1:
        # No delimiter splits the header: one column. Its values may hold '@', '.', ';'...
        # A header that does split keeps its delimiter even when many rows are ragged, so that
        # those rows are reported instead of the whole file becoming one column.
        delimiter = "\t" if suffix in (".tsv", ".tab") else ","
        rows = _rows(sample, delimiter)
    return Dialect(delimiter, rows[0], rows[1:])


def _rows(sample: str, delimiter: str, limit: int = 200) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows
