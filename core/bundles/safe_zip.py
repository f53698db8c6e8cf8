"""Reading a zip archive that may be hostile, before anything in it is extracted or unpickled.

:func:`snapshot` first copies the archive into a private temporary folder (owner-only) and
every later step reads that copy: what is verified is what is extracted, so swapping or
rewriting the original file after (or during) verification changes nothing that is served.

:func:`inspect` looks at the central directory and refuses, naming the entry: names that leave
the folder (``..``, absolute paths, drive letters, backslashes, NUL), links and other
non-regular files, encrypted entries, compression methods other than stored and deflate,
duplicate or case-colliding names, a local header that disagrees with the central directory
(see :mod:`core.bundles.zip_headers`), a total unpacked size over the limit, and an entry whose
compression ratio passes :data:`MAX_RATIO`. Reading an entry (:func:`stream`) then checks that
it unpacks to its declared size with the right CRC-32, so a lying header cannot blow up memory
either. A damaged archive (bad CRC, corrupt deflate data, cut short) is refused the same way:
every error :mod:`zipfile` and :mod:`zlib` raise on bad bytes becomes :class:`BundleRefused`.
:func:`extract` hashes every entry as it writes it, refuses one whose sha256 is not the one
verified, and writes into a new temporary folder beside the target that is renamed into place:
a refused archive writes nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from core.bundles import zip_headers
from core.errors import InvalidInput

MAX_TOTAL_BYTES = 4 * 1024**3
MAX_ARCHIVE_BYTES = MAX_TOTAL_BYTES + 64 * 1024**2  # stored entries plus their headers
MAX_ENTRIES = 10_000
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 64 * 1024  # smaller entries may compress better (a page of zeros is fine)
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
CHUNK = 1 << 20
#: What zipfile and zlib raise on a damaged archive (bad CRC, bad data, cut short, bad fields).
DAMAGED = (
    zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, struct.error, OSError,
    ValueError, RuntimeError, IndexError, OverflowError,
)  # fmt: skip
REFUSED_HINT = (
    "this archive is not a bundle Shipway exported, or it was changed; nothing was extracted"
)
DAMAGED_HINT = (
    "the file is damaged (a broken download or copy?): copy or export it again; nothing was "
    "extracted"
)


class BundleRefused(InvalidInput, code="bundle_refused"):
    """A bundle archive is unsafe, damaged or not a bundle; nothing was extracted or loaded."""


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    compressed: int


@dataclass(frozen=True)
class Snapshot:
    """A private copy of an archive; errors name ``origin``, every read goes to ``path``."""

    origin: Path
    path: Path
    sha256: str
    size: int


def _refuse(archive: Path, entry: str, why: str, hint: str | None = None) -> BundleRefused:
    return BundleRefused(
        f"{why}: {entry!r}",
        where=str(archive),
        hint=hint or REFUSED_HINT,
    )


def _damaged(source: Snapshot, entry: str | None, error: BaseException) -> BundleRefused:
    detail = " ".join(str(error).split()) or type(error).__name__
    if entry is None:
        return BundleRefused(
            f"not a readable zip archive ({detail})", where=str(source.origin), hint=DAMAGED_HINT
        )
    return BundleRefused(
        f"the archive is damaged, {entry!r} cannot be read ({detail})",
        where=str(source.origin),
        hint=DAMAGED_HINT,
    )


@contextmanager
def snapshot(archive: Path) -> Iterator[Snapshot]:
    """Copy ``archive`` into a private temporary folder, removed again on leaving."""
    folder = Path(tempfile.mkdtemp(prefix="shipway-bundle-"))  # mode 0o700
    try:
        copy = folder / "bundle.zip"
        digest, size = _copy(archive, copy)
        yield Snapshot(archive, copy, digest, size)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _copy(archive: Path, copy: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with _open_source(archive) as source, open(copy, "xb") as target:
        while chunk := _read_source(archive, source):
            size += len(chunk)
            if size > MAX_ARCHIVE_BYTES:
                raise BundleRefused(
                    f"the archive is larger than {MAX_ARCHIVE_BYTES:,} bytes",
                    where=str(archive),
                    hint="this is not a bundle Shipway exported",
                )
            digest.update(chunk)
            target.write(chunk)
    return digest.hexdigest(), size


@contextmanager
def _open_source(archive: Path) -> Iterator[BinaryIO]:
    try:
        handle = open(archive, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise BundleRefused("no such bundle", where=str(archive), hint="check the path") from None
    except OSError as exc:
        raise _unreadable(archive, exc, "check the path and its permissions") from None
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise BundleRefused(
                "the bundle is not a regular file", where=str(archive), hint="check the path"
            )
        yield handle


def _read_source(archive: Path, handle: BinaryIO) -> bytes:
    try:
        return handle.read(CHUNK)
    except OSError as exc:
        raise _unreadable(archive, exc, "check the disk and copy the bundle again") from None


def _unreadable(archive: Path, exc: OSError, hint: str) -> BundleRefused:
    return BundleRefused(
        f"cannot read the bundle ({exc.strerror or exc})", where=str(archive), hint=hint
    )


def _check_name(archive: Path, name: str) -> None:
    if not name or "\x00" in name:
        raise _refuse(archive, name, "an entry has an empty name or a NUL byte")
    if "\\" in name:
        raise _refuse(archive, name, "an entry name holds a backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise _refuse(archive, name, "an entry has an absolute path or a drive letter")
    parts = PurePosixPath(name).parts
    if any(part in ("..", ".") for part in parts) or name.endswith("/.."):
        raise _refuse(archive, name, "an entry leaves the bundle's folder")
    if len(name) > 400 or any(len(part) > 255 for part in parts):
        raise _refuse(archive, name, "an entry name is too long")


def _check_kind(archive: Path, info: zipfile.ZipInfo) -> None:
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0: no type recorded, a plain file
    if info.create_system == 3 and kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refuse(archive, info.filename, "an entry is a link or a special file")
    if info.flag_bits & 0x1:
        raise _refuse(archive, info.filename, "an entry is encrypted")
    if info.compress_type not in METHODS:
        raise _refuse(
            archive,
            info.filename,
            f"an entry uses compression method {info.compress_type} (a bundle uses deflate)",
        )


def _check_headers(source: Snapshot, infos: list[zipfile.ZipInfo]) -> None:
    with open(source.path, "rb") as raw:
        for info in infos:
            try:
                problem = zip_headers.local_problem(raw, info, source.size)
            except DAMAGED as exc:
                raise _damaged(source, info.filename, exc) from None
            if problem:
                raise _refuse(source.origin, info.filename, problem)


def _infos(source: Snapshot) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(source.path) as zipped:
            return zipped.infolist()
    except DAMAGED as exc:
        raise _damaged(source, None, exc) from None


def inspect(source: Snapshot, max_total: int = MAX_TOTAL_BYTES) -> list[Entry]:
    """The archive's regular files, or BundleRefused naming the first unsafe entry."""
    archive, infos = source.origin, _infos(source)
    if len(infos) > MAX_ENTRIES:
        raise _refuse(archive, f"{len(infos)} entries", "the archive has too many entries")
    entries, seen, total = [], {}, 0
    for info in infos:
        _check_name(archive, info.orig_filename)  # zipfile cuts a name at its first NUL
        _check_kind(archive, info)
        folded = info.filename.rstrip("/").casefold()
        if folded in seen:
            why = "an entry name appears twice" if seen[folded] == info.filename else (
                f"an entry name collides with {seen[folded]!r} when case is ignored"
            )  # fmt: skip
            raise _refuse(archive, info.filename, why)
        seen[folded] = info.filename
        if info.is_dir():
            continue
        total += info.file_size
        if total > max_total:
            raise _refuse(
                archive, info.filename, f"the archive unpacks to over {max_total:,} bytes"
            )
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise _refuse(archive, info.filename, f"an entry compresses more than {MAX_RATIO}:1")
        entries.append(Entry(info.filename, info.file_size, info.compress_size))
    _check_headers(source, infos)
    return entries


@contextmanager
def _opened(source: Snapshot, entry: Entry) -> Iterator[BinaryIO]:
    try:
        zipped = zipfile.ZipFile(source.path)
    except DAMAGED as exc:
        raise _damaged(source, entry.name, exc) from None
    with zipped:
        try:
            handle = zipped.open(entry.name)
        except DAMAGED as exc:
            raise _damaged(source, entry.name, exc) from None
        with handle:
            yield handle


def _chunk(source: Snapshot, entry: Entry, handle: BinaryIO) -> bytes:
    try:
        return handle.read(CHUNK)
    except DAMAGED as exc:
        raise _damaged(source, entry.name, exc) from None


def stream(source: Snapshot, entry: Entry, sink: Callable[[bytes], Any]) -> str:
    """Feed ``entry``'s bytes to ``sink`` chunk by chunk and return their sha256; refuses an
    entry that is damaged or does not unpack to its declared size."""
    digest, got = hashlib.sha256(), 0
    with _opened(source, entry) as handle:
        while chunk := _chunk(source, entry, handle):
            got += len(chunk)
            if got > entry.size:
                break
            digest.update(chunk)
            sink(chunk)
    if got != entry.size:
        raise _refuse(
            source.origin, entry.name, "an entry does not unpack to its declared size", DAMAGED_HINT
        )
    return digest.hexdigest()


def read(source: Snapshot, entry: Entry) -> bytes:
    """One entry's bytes (see :func:`stream`)."""
    parts: list[bytes] = []
    stream(source, entry, parts.append)
    return b"".join(parts)


def extract(
    source: Snapshot, entries: list[Entry], target: Path, digests: Mapping[str, str]
) -> Path:
    """Write ``entries`` under ``target`` (which must not exist), all or nothing; each entry's
    sha256 must be its ``digests`` value, the one verification computed."""
    if target.exists():
        raise BundleRefused(
            "the folder to extract into exists already",
            where=str(target),
            hint="choose a new folder",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=target.parent))
    try:
        for entry in entries:
            _extract_one(source, entry, staging, digests.get(entry.name))
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _extract_one(source: Snapshot, entry: Entry, staging: Path, expected: str | None) -> None:
    path = staging.joinpath(*PurePosixPath(entry.name).parts)
    if staging.resolve() not in path.resolve().parents:
        raise _refuse(source.origin, entry.name, "an entry leaves the bundle's folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as handle:
        digest = stream(source, entry, handle.write)
    if expected is None or digest != expected:
        raise _refuse(source.origin, entry.name, "an entry is not the one that was verified")
    os.chmod(path, 0o644)
