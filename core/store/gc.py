"""Collecting blobs no row names, and temporaries nobody will finish.

A blob is put in place before the row that names it is written (:mod:`core.store.blobs`), so a
process killed between the two leaves a complete blob that nothing names, and one killed earlier
leaves a temporary in ``objects/tmp``. Neither is ever used; this module removes them.

What is never removed:

- a blob that any row names, through any column called ``sha256`` or ``*_sha256`` of any table
  (data set versions, runs, model versions and their monitoring references, the blob rows; a
  table or column added later is covered the day it is added);
- a blob or temporary younger than the minimum age (default :data:`MIN_AGE_S`, one hour): an
  import or a training run may be between writing it and recording it. A blob that is stored
  again (identical content) gets a fresh modification time, so an old unreferenced blob that an
  import is about to name counts as young;
- whatever a live process of this host announced in ``objects/pending`` or is still writing in
  ``objects/tmp``, for up to a day (after that, its process id may name another process).

A blob is re-checked just before it is deleted (still old). What remains is a window of
microseconds in which another process could store identical content between that check and the
deletion; the minimum age makes it matter only for content an import re-creates an hour after a
crash left it behind.

Two entry points:

- :func:`collect_garbage` (``shipway gc``) scans the whole store: one query per column naming
  blobs, one directory listing per two-hex-digit folder.
- :func:`collect_pending` runs each time a project is opened. It looks only at
  ``objects/pending``, the notes that processes write just before putting a blob in place: a
  note whose process is gone (or, from another host, older than the minimum age) names a blob
  to delete if no row names it and it is past the minimum age. Its cost is one directory listing
  and, when there are notes, one query per column for their few sha256s; it never scans the
  store, so opening a large project stays as fast as before.

Both act only on a project's own ``objects/`` folder. A folder that ``[storage] objects`` names
may be used by other projects, whose rows this project's database does not hold: ``shipway gc``
collects there only when told (``--shared``) that every project using it shares this database.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Collection, Iterator
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack

from sqlalchemy import Column, select

from core.errors import ProjectError
from core.store.blobs import STALE_TMP_AGE_S, BlobStore, is_sha256, owner_state
from core.store.database import Database
from core.store.orm import Base

MIN_AGE_S = 3600.0
_QUERY_CHUNK = 500


@dataclass(frozen=True)
class Removal:
    """A file removed (or, in a dry run, that would be): a blob or a temporary."""

    kind: str  # "blob" | "temporary"
    name: str  # the blob's sha256, or the temporary's file name
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "size_bytes": self.size_bytes}


@dataclass(frozen=True)
class GcReport:
    """What a collection removed and what it kept."""

    dry_run: bool
    min_age_s: float
    removed: tuple[Removal, ...] = ()
    kept_young: int = 0  # unreferenced, but younger than the minimum age or still being written
    referenced: int = 0  # blobs found in the store that a row names
    notes_cleared: int = 0  # pending notes that had served their purpose
    seconds: float = 0.0

    @property
    def bytes_freed(self) -> int:
        return sum(r.size_bytes for r in self.removed)

    def count(self, kind: str) -> int:
        return sum(1 for r in self.removed if r.kind == kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "min_age_s": self.min_age_s,
            "blobs_removed": self.count("blob"),
            "temporaries_removed": self.count("temporary"),
            "bytes_freed": self.bytes_freed,
            "kept_young": self.kept_young,
            "referenced": self.referenced,
            "notes_cleared": self.notes_cleared,
            "removed": [r.to_dict() for r in self.removed],
            "seconds": round(self.seconds, 3),
        }


# -- what rows name --------------------------------------------------------------------------


def blob_columns() -> list[Column]:
    """Every column of every table that names a blob by its sha256."""
    return [
        column
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if column.name == "sha256" or column.name.endswith("_sha256")
    ]


def referenced_sha256s(database: Database, among: Collection[str] | None = None) -> set[str]:
    """The sha256s some row names; only those in ``among`` when it is given."""
    found: set[str] = set()
    with database.session(write=False) as session:
        for column in blob_columns():
            if among is None:
                found.update(session.scalars(select(column).distinct()))
                continue
            wanted = sorted(among)
            for start in range(0, len(wanted), _QUERY_CHUNK):
                chunk = wanted[start : start + _QUERY_CHUNK]
                found.update(session.scalars(select(column).where(column.in_(chunk)).distinct()))
    found.discard(None)  # type: ignore[arg-type]
    return found


# -- the store's files -----------------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    path: Path
    size_bytes: int
    mtime: float


def _stat(path: Path) -> _File | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return _File(path, info.st_size, info.st_mtime)


def _blob_files(store: BlobStore) -> Iterator[tuple[str, _File]]:
    """(sha256, file) of every blob in the store; files of any other name are left alone."""
    for folder in sorted(_listing(store.root)):
        if len(folder.name) != 2 or not folder.is_dir():
            continue
        for path in _listing(folder):
            sha = folder.name + path.name
            found = _stat(path) if is_sha256(sha) else None
            if found is not None:
                yield sha, found


def _listing(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


class GcOptions(TypedDict, total=False):
    """How a collection runs: ``min_age_s``, the age under which a blob or a temporary is kept
    (default :data:`MIN_AGE_S`); ``dry_run``, count what would go and remove nothing; ``now``,
    the time taken as now, in seconds since 1970 (default: the clock's)."""

    min_age_s: float
    dry_run: bool
    now: float | None


@dataclass
class _Pass:
    """One collection: its store and options, this host, and what it removed and kept."""

    store: BlobStore
    min_age_s: float = MIN_AGE_S
    dry_run: bool = False
    now: InitVar[float | None] = None  # None: the clock's time as the pass starts
    host: str = field(default_factory=socket.gethostname)
    started: float = field(default_factory=time.monotonic)
    removed: list[Removal] = field(default_factory=list)
    kept_young: int = 0
    referenced: int = 0
    notes_cleared: int = 0
    clock: float = field(init=False)  # what the pass takes as now

    def __post_init__(self, now: float | None) -> None:
        self.clock = now or time.time()

    def age(self, found: _File) -> float:
        return self.clock - found.mtime

    def remove(self, found: _File) -> bool:
        """Unlink ``found`` if it is still there and still old; False if it was kept."""
        again = _stat(found.path)
        if again is None or self.age(again) < self.min_age_s:
            return False
        try:
            found.path.unlink()
        except FileNotFoundError:
            return True
        except OSError:
            return False  # not ours to delete (a shared folder): left for its owner
        return True

    def finished(self, note: _Note) -> bool:
        """The note's process will record nothing more: gone, or (another host) long silent."""
        return _abandoned(note.owner, self.age(note.file), self.min_age_s)

    def report(self) -> GcReport:
        return GcReport(
            self.dry_run,
            self.min_age_s,
            tuple(self.removed),
            self.kept_young,
            self.referenced,
            self.notes_cleared,
            time.monotonic() - self.started,
        )


# -- pending notes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Note:
    file: _File
    sha256: str  # "" when the note does not hold a sha256
    owner: str  # "alive" | "dead" | "unknown" (see blobs.owner_state)


def _notes(sweep: _Pass) -> list[_Note]:
    notes = []
    for path in _listing(sweep.store.pending):
        found = _stat(path)
        if found is None:
            continue
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            text = ""
        owner = owner_state(path.name, sweep.host)
        notes.append(_Note(found, text if is_sha256(text) else "", owner))
    return notes


def _abandoned(owner: str, age: float, min_age_s: float) -> bool:
    """Whether a file a process named after itself is abandoned: its process is gone, or it is
    older than the minimum age and its process cannot be probed (another host). A live owner
    keeps it for a day at most, as temporaries are kept, in case its id now names another."""
    if owner == "alive":
        return age > STALE_TMP_AGE_S
    return owner == "dead" or age >= min_age_s


def _settle_notes(sweep: _Pass, notes: list[_Note], named: set[str]) -> None:
    """Clear the notes that have served: their blob is named by a row, or removed, or (their
    process finished) gone."""
    removed = {r.name for r in sweep.removed if r.kind == "blob"}
    for note in notes:
        done = note.sha256 in named or note.sha256 in removed
        if not done and sweep.finished(note):
            done = not note.sha256 or not sweep.store.path_of(note.sha256).exists()
        if done and not sweep.dry_run:
            with contextlib.suppress(OSError):
                note.file.path.unlink(missing_ok=True)
        sweep.notes_cleared += int(done)


def collect_pending(store: BlobStore, database: Database, **options: Unpack[GcOptions]) -> GcReport:
    """Remove the blobs that processes announced and never recorded (the cheap pass on open)."""
    sweep = _Pass(store, **options)
    notes = _notes(sweep)
    if not notes:
        return sweep.report()
    named = referenced_sha256s(database, {n.sha256 for n in notes if n.sha256})
    for sha in {n.sha256 for n in notes if n.sha256 and sweep.finished(n)} - named:
        if any(n.sha256 == sha and not sweep.finished(n) for n in notes):
            continue  # another, live process is about to record the same content
        found = _stat(store.path_of(sha))
        if found is None:
            continue
        if sweep.age(found) < sweep.min_age_s or (not sweep.dry_run and not sweep.remove(found)):
            sweep.kept_young += 1
            continue
        sweep.removed.append(Removal("blob", sha, found.size_bytes))
    _settle_notes(sweep, notes, named)
    return sweep.report()


# -- the whole store -------------------------------------------------------------------------


def _collect_temporaries(sweep: _Pass) -> None:
    for path in _listing(sweep.store.tmp):
        found = _stat(path)
        if found is None:
            continue
        if not _abandoned(owner_state(path.name, sweep.host), sweep.age(found), sweep.min_age_s):
            sweep.kept_young += 1
            continue
        if not sweep.dry_run:
            try:
                path.unlink()
            except FileNotFoundError:
                continue  # its process finished it after all
            except OSError:
                sweep.kept_young += 1
                continue
        sweep.removed.append(Removal("temporary", path.name, found.size_bytes))


def collect_garbage(store: BlobStore, database: Database, **options: Unpack[GcOptions]) -> GcReport:
    """Remove every blob no row names and every abandoned temporary, past ``min_age_s``."""
    sweep = _Pass(store, **options)
    _collect_temporaries(sweep)
    # In this order: a listed blob's note was written before the blob was put in place, so it
    # is read here; a row written after the listing is seen by the query.
    stored = list(_blob_files(store))
    notes = _notes(sweep)
    in_flight = {n.sha256 for n in notes if not sweep.finished(n)}
    named = referenced_sha256s(database)
    for sha, found in stored:
        if sha in named:
            sweep.referenced += 1
        elif sha in in_flight or sweep.age(found) < sweep.min_age_s:
            sweep.kept_young += 1
        elif sweep.dry_run or sweep.remove(found):
            sweep.removed.append(Removal("blob", sha, found.size_bytes))
        else:
            sweep.kept_young += 1
    _settle_notes(sweep, notes, named)
    return sweep.report()


def is_own_folder(objects_root: Path, project_root: Path) -> bool:
    """True when the blobs live in the project's own ``objects/`` (no ``[storage] objects``)."""
    return objects_root.resolve() == (project_root / "objects").resolve()


def check_own_folder(objects_root: Path, project_root: Path, shared_ok: bool) -> None:
    """Refuse to collect in a folder other projects may use, unless told they share the database."""
    if shared_ok or is_own_folder(objects_root, project_root):
        return
    raise ProjectError(
        "this project keeps its blobs in a shared folder ([storage] objects); collecting there "
        "would delete the blobs of any other project using it whose database this one is not",
        where=str(objects_root),
        hint="if every project using that folder shares this project's database, run "
        "`shipway gc --shared`",
    )
