"""Content-addressed blobs under ``objects/``.

A blob is written to ``objects/tmp/`` first, flushed and fsynced, renamed to
``objects/ab/cdef…`` (its sha256), and the folder is fsynced; only then may a database row refer
to it. A crash therefore leaves either nothing, a swept temporary, or a complete unreferenced blob
- never a row pointing at half a file. Readers verify the hash before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import CorruptObject, NotFound

CHUNK = 4 * 1024 * 1024
TMP_DIR = "tmp"
STALE_TMP_AGE_S = 24 * 3600


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size_bytes: int
    path: Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Blobs named by their sha256 under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / TMP_DIR
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    @contextlib.contextmanager
    def new_temp(self, suffix: str = ".part") -> Iterator[Path]:
        """A temporary path in objects/tmp named after this host and process, removed on error."""
        name = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}{suffix}"
        path = self.tmp / name
        try:
            yield path
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def commit_temp(self, temp: Path) -> StoredBlob:
        """Hash a finished temporary file and move it to its content address, durably."""
        sha = sha256_file(temp)
        size = temp.stat().st_size
        target = self.path_of(sha)
        if target.is_file() and target.stat().st_size == size:
            temp.unlink(missing_ok=True)  # identical content is already stored
            return StoredBlob(sha, size, target)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        _fsync_dir(target.parent)
        return StoredBlob(sha, size, target)

    def put_bytes(self, data: bytes, suffix: str = ".part") -> StoredBlob:
        with self.new_temp(suffix) as temp:
            temp.write_bytes(data)
            return self.commit_temp(temp)

    def read_verified(self, sha256: str) -> bytes:
        """The blob's bytes, after checking they still hash to ``sha256``."""
        path = self.path_of(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(
                f"blob {sha256[:12]} is missing from the object store",
                where=str(path),
                hint="restore objects/ from a backup",
            ) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise CorruptObject(
                f"blob {sha256[:12]} is corrupt: its content hashes to {actual[:12]}",
                where=str(path),
                hint="restore this file from a backup or re-import the data; it will not be used",
            )
        return data

    def verify(self, sha256: str) -> str | None:
        """None when the blob is intact, else a sentence saying what is wrong."""
        path = self.path_of(sha256)
        if not path.is_file():
            return f"missing: {path}"
        actual = sha256_file(path)
        return None if actual == sha256 else f"corrupt: {path} hashes to {actual[:12]}"

    def sweep_temporaries(self) -> list[Path]:
        """Remove temporaries left by dead processes of this host, or older than a day."""
        removed: list[Path] = []
        host = socket.gethostname()
        now = time.time()
        for path in self.tmp.iterdir():
            if _is_abandoned(path, host, now):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
        return removed


def _is_abandoned(path: Path, host: str, now: float) -> bool:
    try:
        age = now - path.stat().st_mtime
    except OSError:
        return False
    if age > STALE_TMP_AGE_S:
        return True
    parts = path.name.split("-")
    if len(parts) < 3:
        return False
    pid_text = parts[-2]
    name_host = "-".join(parts[:-2])
    if name_host != host or not pid_text.isdigit():
        return False
    return not _pid_alive(int(pid_text))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True  # on Windows signal 0 is not a probe; stale files go by age there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True
