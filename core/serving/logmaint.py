"""Upkeep of the prediction log: pruning old rows, erasing chosen ones, reclaiming the space.

The SQL lives here, beside the schema (:mod:`core.serving.predlog`); the monitoring floor
(:mod:`core.monitoring.retention`) decides what to remove and looks after the caches and the
audit trail. Standard library only. Like :mod:`core.serving.logreader` this module runs on the
host, never in a bundle: it is not in the bundle's module list.

A live server keeps writing to the same WAL file while this runs, so:

- **Prune** deletes in batches of :data:`BATCH_ROWS` requests (with their feedback), one short
  ``BEGIN IMMEDIATE`` transaction each: the server's writer waits milliseconds, never seconds.
- **Erase** finds its rows outside any lock (a read snapshot), then deletes them in ONE
  transaction that first looks again at the rows written since the snapshot: nothing is half
  erased, and a row logged during the search is not missed. ``PRAGMA secure_delete=ON``
  overwrites the deleted content with zeros, so erased text does not linger in free pages.
- **Reclaiming** (:func:`reclaim`): the freed pages are given back to the file system with
  ``PRAGMA incremental_vacuum`` in steps of :data:`VACUUM_PAGES` pages (short transactions),
  then ``PRAGMA wal_checkpoint(TRUNCATE)`` empties the WAL file (which still holds the old page
  images). ``auto_vacuum=INCREMENTAL`` can only be switched on by a full ``VACUUM``, which
  holds the write lock while it rewrites the file: it runs once, when a log that is not yet
  incremental has at least :data:`VACUUM_SHARE` of its pages free, holds at most
  :data:`VACUUM_MAX_BYTES` of data (a rewrite of seconds) and the server logged fewer than
  :data:`HEAVY_WRITES_PER_S` requests a second over the last ten seconds. Otherwise the free
  pages stay in the file, where new rows reuse them (the file stops growing), and the result
  says so; ``vacuum=True`` forces the ``VACUUM``. While it runs the server's writer retries,
  its entries waiting in its queue (10,000 entries): answers are never delayed.

A lock held longer than ``busy_timeout`` seconds raises :class:`LogLocked`; what was committed
before (whole batches of a prune, never part of an erasure) stays committed.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from core.serving.predlog import LOG_FILE, connect

BATCH_ROWS = 5_000
VACUUM_PAGES = 2_048
VACUUM_SHARE = 0.25
VACUUM_MIN_BYTES = 1024 * 1024
VACUUM_MAX_BYTES = 256 * 1024 * 1024
HEAVY_WRITES_PER_S = 200.0
BUSY_TIMEOUT_S = 10.0
_IDS_PER_QUERY = 500


class LogLocked(Exception):
    """The log stayed locked by another writer for longer than the busy timeout."""

    def __init__(self, message: str, removed: int = 0) -> None:
        super().__init__(message)
        self.removed = removed


@dataclass(frozen=True)
class Reclaimed:
    """The log's size (database and WAL files) before and after, and how it was reclaimed."""

    bytes_before: int
    bytes_after: int
    vacuum: str  # "none", "incremental" or "full"
    checkpointed: bool  # the WAL file was emptied
    notes: tuple[str, ...] = ()

    @property
    def bytes_reclaimed(self) -> int:
        return max(0, self.bytes_before - self.bytes_after)


@dataclass(frozen=True)
class Pruned:
    requests: int
    feedback: int
    batches: int
    space: Reclaimed


@dataclass(frozen=True)
class ErasedRow:
    request_id: str
    time: str
    version: int


@dataclass(frozen=True)
class Match:
    """What to erase: requests by id, or requests whose ``inputs`` hold ``column`` with a value
    equal to ``text`` (a JSON string), ``number`` (a JSON number) or ``boolean`` (1 or 0)."""

    request_ids: tuple[str, ...] = ()
    column: str | None = None
    text: str | None = None
    number: float | None = None
    boolean: int | None = None


@dataclass(frozen=True)
class Erased:
    rows: tuple[ErasedRow, ...]
    feedback: int
    space: Reclaimed
    notes: tuple[str, ...] = field(default=())


def stamp(epoch: float) -> str:
    """``epoch`` in the log's fixed-width time form (text order is time order)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log_size(path: Path) -> int:
    return sum(
        candidate.stat().st_size
        for candidate in (path, path.with_name(path.name + "-wal"))
        if candidate.exists()
    )


def _open(path: Path, busy_timeout: float) -> sqlite3.Connection:
    try:
        return connect(path, timeout=busy_timeout)
    except sqlite3.OperationalError as exc:
        if _is_locked(exc):
            raise LogLocked(f"the prediction log stayed locked for {busy_timeout:g} s") from exc
        raise


def _is_locked(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _begin(connection: sqlite3.Connection, busy_timeout: float, removed: int = 0) -> None:
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_locked(exc):
            raise LogLocked(
                f"the prediction log stayed locked by another writer for {busy_timeout:g} s",
                removed,
            ) from exc
        raise


def _rollback(connection: sqlite3.Connection) -> None:
    if connection.in_transaction:
        connection.execute("ROLLBACK")


# -- prune ----------------------------------------------------------------------------------


def prune(
    log_dir: str | Path,
    before: str,
    *,
    busy_timeout: float = BUSY_TIMEOUT_S,
    batch: int = BATCH_ROWS,
    vacuum: bool | None = None,
) -> Pruned:
    """Delete the requests logged before ``before`` (a :func:`stamp`) and their feedback, in
    transactions of ``batch`` requests, then :func:`reclaim` the space."""
    path = Path(log_dir) / LOG_FILE
    if not path.exists():
        return Pruned(0, 0, 0, Reclaimed(0, 0, "none", True))
    size = log_size(path)
    connection = _open(path, busy_timeout)
    try:
        requests = feedback = batches = 0
        while True:
            removed, answers = _prune_batch(connection, before, batch, busy_timeout, requests)
            if not removed and not answers:
                break
            requests, feedback, batches = requests + removed, feedback + answers, batches + 1
        space = reclaim(connection, path, size, busy_timeout, vacuum)
    finally:
        connection.close()
    return Pruned(requests, feedback, batches, space)


def _prune_batch(
    connection: sqlite3.Connection, before: str, batch: int, busy_timeout: float, done: int
) -> tuple[int, int]:
    """One transaction: up to ``batch`` old requests and their feedback; once no old request is
    left, old feedback whose request is not in the log."""
    _begin(connection, busy_timeout, done)
    try:
        ids = [row[0] for row in connection.execute(
            "SELECT request_id FROM requests WHERE time < ? ORDER BY time LIMIT ?",
            (before, batch),
        )]  # fmt: skip
        if ids:
            answers = _delete_ids(connection, ids)
        else:
            answers = connection.execute(
                "DELETE FROM feedback WHERE id IN (SELECT f.id FROM feedback f WHERE f.time < ? "
                "AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.request_id = f.request_id) "
                "LIMIT ?)",
                (before, batch),
            ).rowcount
        connection.execute("COMMIT")
    except BaseException:
        _rollback(connection)
        raise
    return len(ids), answers


def _delete_ids(connection: sqlite3.Connection, ids: Sequence[str]) -> int:
    """Delete these requests, their feedback and their challenger rows (in the caller's
    transaction); feedback rows deleted."""
    keys = [(request_id,) for request_id in ids]
    answers = connection.executemany("DELETE FROM feedback WHERE request_id = ?", keys).rowcount
    connection.executemany("DELETE FROM requests WHERE request_id = ?", keys)
    if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'challenger'").fetchone():
        connection.executemany("DELETE FROM challenger WHERE request_id = ?", keys)
    return max(answers, 0)


# -- erase ----------------------------------------------------------------------------------

_BY_VALUE = """
SELECT DISTINCT r.request_id, r.time, r.version
FROM requests r,
     json_each(CASE WHEN json_valid(r.inputs) THEN r.inputs ELSE '[]' END) AS record,
     json_each(CASE WHEN record.type = 'object' THEN record.value ELSE '{}' END) AS cell
WHERE r.rowid > ? AND r.inputs IS NOT NULL AND cell.key = ?
  AND ((cell.type = 'text' AND cell.value = ?)
       OR (cell.type IN ('integer', 'real') AND ? IS NOT NULL AND cell.value = ?)
       OR (cell.type IN ('true', 'false') AND ? IS NOT NULL AND cell.value = ?))
"""


def _by_value(connection: sqlite3.Connection, match: Match, after: int) -> list[ErasedRow]:
    params = (after, match.column, match.text, match.number, match.number, match.boolean,
              match.boolean)  # fmt: skip
    return [ErasedRow(*row) for row in connection.execute(_BY_VALUE, params)]


def _by_id(connection: sqlite3.Connection, ids: Sequence[str]) -> list[ErasedRow]:
    found: list[ErasedRow] = []
    for start in range(0, len(ids), _IDS_PER_QUERY):
        part = list(ids[start : start + _IDS_PER_QUERY])
        marks = ", ".join("?" * len(part))
        found += [ErasedRow(*row) for row in connection.execute(
            f"SELECT request_id, time, version FROM requests WHERE request_id IN ({marks})", part
        )]  # fmt: skip
    return found


def _snapshot(connection: sqlite3.Connection, match: Match) -> tuple[int, list[str]]:
    """The newest rowid and the ids of the requests that match, read outside any write lock."""
    connection.execute("BEGIN")
    try:
        newest = connection.execute("SELECT COALESCE(MAX(rowid), 0) FROM requests").fetchone()[0]
        found = [row.request_id for row in _by_value(connection, match, 0)]
    finally:
        connection.execute("COMMIT")
    return int(newest), found


def erase(
    log_dir: str | Path,
    match: Match,
    *,
    before_commit: Callable[[tuple[ErasedRow, ...], int], None] | None = None,
    busy_timeout: float = BUSY_TIMEOUT_S,
    vacuum: bool | None = None,
) -> Erased:
    """Delete the requests ``match`` selects and their feedback in ONE transaction, with
    ``secure_delete`` on, then :func:`reclaim` the space.

    ``before_commit(rows, feedback)`` runs inside the transaction, after the deletes: when it
    raises (e.g. the audit row cannot be written) nothing is erased.
    """
    path = Path(log_dir) / LOG_FILE
    if not path.exists():
        if before_commit is not None:
            before_commit((), 0)
        return Erased((), 0, Reclaimed(0, 0, "none", True), ("the deployment has no log yet",))
    size = log_size(path)
    connection = _open(path, busy_timeout)
    try:
        connection.execute("PRAGMA secure_delete = ON")
        newest, seen = (0, []) if match.column is None else _snapshot(connection, match)
        rows, feedback = _erase_in_one(connection, match, newest, seen, busy_timeout,
                                       before_commit)  # fmt: skip
        space = reclaim(connection, path, size, busy_timeout, vacuum)
    finally:
        connection.close()
    return Erased(tuple(rows), feedback, space)


def _erase_in_one(
    connection: sqlite3.Connection,
    match: Match,
    newest: int,
    seen: list[str],
    busy_timeout: float,
    before_commit: Callable[[tuple[ErasedRow, ...], int], None] | None,
) -> tuple[list[ErasedRow], int]:
    _begin(connection, busy_timeout)
    try:
        if match.column is None:
            rows = _by_id(connection, match.request_ids)
            ids = list(dict.fromkeys(match.request_ids))  # their feedback even when not logged
        else:  # the rows seen that are still there, and those logged since the snapshot
            rows = _by_id(connection, seen) + _by_value(connection, match, newest)
            rows = list({row.request_id: row for row in rows}.values())
            ids = [row.request_id for row in rows]
        feedback = _delete_ids(connection, ids) if ids else 0
        rows.sort(key=lambda row: (row.time, row.request_id))
        if before_commit is not None:
            before_commit(tuple(rows), feedback)
        connection.execute("COMMIT")
    except BaseException:
        _rollback(connection)
        raise
    return rows, feedback


# -- reclaiming the space -------------------------------------------------------------------


def _pragma(connection: sqlite3.Connection, name: str) -> int:
    return int(connection.execute(f"PRAGMA {name}").fetchone()[0])


def _recent_rate(connection: sqlite3.Connection, seconds: float = 10.0) -> float:
    since = stamp(time.time() - seconds)
    count = connection.execute("SELECT COUNT(*) FROM requests WHERE time >= ?", (since,))
    return count.fetchone()[0] / seconds


def _vacuum_kind(connection: sqlite3.Connection, vacuum: bool | None) -> tuple[str, str | None]:
    """Which vacuum to run, and a note when free space is kept in the file."""
    free, pages = _pragma(connection, "freelist_count"), _pragma(connection, "page_count")
    page = _pragma(connection, "page_size")
    if vacuum is True:
        return "full", None
    if free == 0 or vacuum is False:
        return "none", None
    if _pragma(connection, "auto_vacuum") == 2:
        return "incremental", None
    kept = f"{free * page:,} bytes of free pages kept in the file for new rows"
    if free < VACUUM_SHARE * pages or free * page < VACUUM_MIN_BYTES:
        return "none", None
    if (pages - free) * page > VACUUM_MAX_BYTES:
        return "none", f"{kept}: the log is too large to rewrite while it serves (use --vacuum)"
    if _recent_rate(connection) > HEAVY_WRITES_PER_S:
        return "none", f"{kept}: the server is logging heavily now (use --vacuum later)"
    return "full", None


def _incremental(connection: sqlite3.Connection) -> None:
    """Give free pages back in steps of VACUUM_PAGES pages, one short transaction each."""
    while True:
        free = _pragma(connection, "freelist_count")
        if not free:
            return
        connection.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
        if _pragma(connection, "freelist_count") >= free:
            return  # no progress: other writers took the pages


def _full(connection: sqlite3.Connection) -> None:
    """Rewrite the file, switching it to incremental auto-vacuum for every later reclaim."""
    connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
    connection.execute("VACUUM")


def _checkpoint(connection: sqlite3.Connection, busy_timeout: float) -> bool:
    """Empty the WAL file; retried while readers still use it, until ``busy_timeout``."""
    deadline = time.monotonic() + busy_timeout
    while True:
        busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def reclaim(
    connection: sqlite3.Connection,
    path: Path,
    size_before: int,
    busy_timeout: float,
    vacuum: bool | None,
) -> Reclaimed:
    """Vacuum as :func:`_vacuum_kind` decides, then empty the WAL; never raises for a lock (the
    rows are already gone: a busy log only keeps its free pages, and the result says so)."""
    notes: list[str] = []
    kind = "none"
    try:
        kind, note = _vacuum_kind(connection, vacuum)
        notes += [note] if note else []
        if kind == "incremental":
            _incremental(connection)
        elif kind == "full":
            _full(connection)
    except sqlite3.OperationalError as exc:
        notes.append(f"space not reclaimed now ({exc}); the free pages are reused by new rows")
        kind = "none"
    try:
        checkpointed = _checkpoint(connection, busy_timeout)
    except sqlite3.OperationalError:
        checkpointed = False
    if not checkpointed:
        notes.append("the WAL file could not be emptied now: readers were using it")
    return Reclaimed(size_before, log_size(path), kind, checkpointed, tuple(notes))


def log_versions(log_dir: str | Path, busy_timeout: float = BUSY_TIMEOUT_S) -> list[int]:
    """The model versions that answered requests in the log (read-only; none when the log
    cannot be read: the maintenance that follows reports why)."""
    path = Path(log_dir) / LOG_FILE
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(path, timeout=busy_timeout)
        try:
            rows = connection.execute("SELECT DISTINCT version FROM requests").fetchall()
        finally:
            connection.close()
    except sqlite3.Error:
        return []
    return [int(row[0]) for row in rows]
