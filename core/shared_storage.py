"""Where a project's files live, and whether that place suits its metadata database.

SQLite's write-ahead log relies on shared memory and POSIX locks that network file systems
(NFS, SMB/CIFS, sshfs, ...) and cloud-sync folders (Dropbox, OneDrive, Google Drive, iCloud)
do not provide faithfully: two people opening a project there can corrupt ``shipway.db``. A
project that keeps SQLite in such a place is opened, with a warning that names the place and
says what to do (use PostgreSQL). The blobs under ``objects/`` are safe on a shared path
(written under unique temporary names and renamed): ``[storage] objects`` in shipway.toml
may point at one.
"""

from __future__ import annotations

import os
from pathlib import Path

NETWORK_FILE_SYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "sshfs", "9p", "afs", "ceph",
     "glusterfs", "fuse.glusterfs", "lustre", "fuse.rclone", "davfs", "fuse.s3fs", "fuse.gcsfuse",
     "fuse.juicefs", "ncpfs", "coda"}
)  # fmt: skip
CLOUD_SYNC_FOLDERS = (
    "dropbox", "onedrive", "google drive", "googledrive", "my drive", "icloud drive",
    "mobile documents", "nextcloud", "owncloud", "box sync", "pcloud", "mega", "seafile",
)  # fmt: skip


def filesystem_type(path: Path, mounts: str | None = None) -> str | None:
    """The type of the file system holding ``path`` (Linux ``/proc/mounts``), or None."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    best, kind = "", None
    target = str(path)
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def cloud_sync_folder(path: Path) -> str | None:
    """The name of a cloud-sync folder ``path`` lies in, if any."""
    for part in path.parts:
        lowered = part.lower()
        if any(lowered == name or lowered.startswith(name + " ") for name in CLOUD_SYNC_FOLDERS):
            return part
    return None


def sqlite_placement_warning(folder: Path, mounts: str | None = None) -> str | None:
    """A warning when SQLite metadata in ``folder`` is unsafe for a team, else None."""
    if os.name == "nt" and str(folder).startswith("\\\\"):
        where = "a network share"
    else:
        kind = filesystem_type(folder, mounts)
        synced = cloud_sync_folder(folder)
        if kind in NETWORK_FILE_SYSTEMS:
            where = f"a network file system ({kind})"
        elif synced:
            where = f"a cloud-sync folder ({synced})"
        else:
            return None
    return (
        f"this project keeps its SQLite metadata on {where}, where two people (or two "
        "machines) opening it can corrupt shipway.db; a team should put the metadata on "
        "PostgreSQL: `shipway init DIR --db postgresql+psycopg://USER@HOST/DB` (docs/team.md)"
    )
