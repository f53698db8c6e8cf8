"""Reading a zip archive that may be hostile, before anything in it is extracted or unpickled.

:func:`inspect` looks only at the central directory and refuses, naming the entry: names that
leave the folder (``..``, absolute paths, drive letters, backslashes, NUL), links and other
non-regular files, duplicate or case-colliding names, a total unpacked size over the limit, and
an entry whose compression ratio passes :data:`MAX_RATIO`. Reading an entry then checks that it
really unpacks to its declared size, so a lying header cannot blow up memory either.
:func:`extract` writes every entry into a new temporary folder beside the target and renames
it into place: a refused archive writes nothing.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.errors import InvalidInput

MAX_TOTAL_BYTES = 4 * 1024**3
MAX_ENTRIES = 10_000
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 64 * 1024  # smaller entries may compress better (a page of zeros is fine)


class BundleRefused(InvalidInput):
    """A bundle archive is unsafe or not a bundle; nothing was extracted or loaded."""

    code = "bundle_refused"


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    compressed: int


def _refuse(archive: Path, entry: str, why: str) -> BundleRefused:
    return BundleRefused(
        f"{why}: {entry!r}",
        where=str(archive),
        hint="this archive is not a bundle Shipway exported, or it was changed; nothing was "
        "extracted",
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


def inspect(archive: Path, max_total: int = MAX_TOTAL_BYTES) -> list[Entry]:
    """The archive's regular files, or BundleRefused naming the first unsafe entry."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            infos = zipped.infolist()
    except FileNotFoundError:
        raise BundleRefused("no such bundle", where=str(archive), hint="check the path") from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise BundleRefused(
            f"not a readable zip archive ({exc})", where=str(archive), hint="export it again"
        ) from None
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
    return entries


def read(archive: Path, entry: Entry) -> bytes:
    """One entry's bytes, refusing one that unpacks to more than its declared size."""
    with zipfile.ZipFile(archive) as zipped, zipped.open(entry.name) as handle:
        data = handle.read(entry.size + 1)
    if len(data) != entry.size:
        raise _refuse(archive, entry.name, "an entry does not unpack to its declared size")
    return data


def extract(archive: Path, entries: list[Entry], target: Path) -> Path:
    """Write ``entries`` under ``target`` (which must not exist), all or nothing."""
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
            path = staging.joinpath(*PurePosixPath(entry.name).parts)
            if staging.resolve() not in path.resolve().parents:
                raise _refuse(archive, entry.name, "an entry leaves the bundle's folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(read(archive, entry))
            os.chmod(path, 0o644)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
