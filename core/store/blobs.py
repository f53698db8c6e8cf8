"""Content-addressed blobs under ``objects/``.

A blob is written to ``objects/tmp/`` first, flushed and fsynced, renamed to
``objects/ab/cdef…`` (its sha256), and the folder is fsynced; only then may a database row refer
to it. A crash therefore leaves either nothing, a swept temporary, or a complete unreferenced blob
- never a row pointing at half a file. Readers verify the hash before use.

Just before a blob is put in place, a small *pending* note naming it (``objects/pending/<host>-
<pid>-<random>``, holding the sha256) is written; a blob that is already in place gets a fresh
modification time instead of a second copy. The note says which blob a process was about to
record, so the blobs left by a process killed before its row landed are found without scanning
the store, and the fresh time tells garbage collection (:mod:`core.store.gc`) that a row is about
to name that blob.

A sha256 read back from the database becomes a path only if it is exactly 64 lowercase hex
digits: every member of a team can write the shared database, and a value such as ``../../x``
must not name a file outside the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import CorruptObject, NotFound
from core.serving.processes import process_alive

CHUNK = 4 * 1024 * 1024
TMP_DIR = "tmp"
PENDING_DIR = "pending"
STALE_TMP_AGE_S = 24 * 3600
SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(text: object) -> bool:
    """True for exactly 64 lowercase hex digits, the only text that names a blob."""
    return isinstance(text, str) and SHA256.fullmatch(text) is not None


def process_tag() -> str:
    """``<host>-<pid>-<random>``: the name of this process's temporaries and pending notes."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"


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
        self.pending = root / PENDING_DIR
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path_of(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives; refuses any text that is not a sha256."""
        if not is_sha256(sha256):
            shown = repr(sha256)[:80]
            raise CorruptObject(
                f"the project database names a blob {shown}, which is not a sha256 (64 "
                "lowercase hex digits); Shipway will not turn it into a path",
                where=str(self.root),
                hint="the database was altered by hand or by another program: restore it from a "
                "backup, or re-import the data and retrain the models that used that row",
            )
        return self.root / sha256[:2] / sha256[2:]

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    @contextlib.contextmanager
    def new_temp(self, suffix: str = ".part") -> Iterator[Path]:
        """A temporary path in objects/tmp named after this host and process, removed on error."""
        path = self.tmp / f"{process_tag()}{suffix}"
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
        self._note_pending(sha)
        if target.is_file() and target.stat().st_size == size and _touch(target):
            temp.unlink(missing_ok=True)  # identical content is already stored
            return StoredBlob(sha, size, target)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        _fsync_dir(target.parent)
        return StoredBlob(sha, size, target)

    def _note_pending(self, sha256: str) -> None:
        """Record that this process is about to have a row name ``sha256`` (see the module)."""
        self.pending.mkdir(exist_ok=True)
        (self.pending / process_tag()).write_text(sha256, encoding="ascii")

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


def _touch(path: Path) -> bool:
    """Give ``path`` a fresh modification time; False when it is gone or not ours to touch."""
    try:
        os.utime(path)
    except OSError:
        return False
    return True


def _is_abandoned(path: Path, host: str, now: float) -> bool:
    try:
        age = now - path.stat().st_mtime
    except OSError:
        return False
    if age > STALE_TMP_AGE_S:
        return True
    return owner_state(path.name, host) == "dead"


def owner_state(name: str, host: str) -> str:
    """Whether the process that named a file ``<host>-<pid>-...`` is "alive" or "dead" (both only
    for this host), or "unknown" (another host, or a name of another shape)."""
    parts = name.split("-")
    if len(parts) < 3:
        return "unknown"
    pid_text = parts[-2]
    name_host = "-".join(parts[:-2])
    if name_host != host or not pid_text.isdigit():
        return "unknown"
    if os.name != "posix" and int(pid_text) != os.getpid():
        return "unknown"  # no probe for other processes there (see _pid_alive): go by age
    return "alive" if _pid_alive(int(pid_text)) else "dead"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name != "posix":
        return True  # on Windows signal 0 is not a probe; stale files go by age there
    return process_alive(pid)
