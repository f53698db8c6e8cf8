"""The prediction log: entries queued by requests, written to SQLite by one writer thread.

A request only puts an entry on a bounded queue (``put_nowait``); when the queue is full the
entry is dropped and counted, so a slow disk or a locked database never slows an answer. The
writer drains the queue in batches into ``predictions.db`` (WAL) in the log folder; JSON
encoding of inputs and outputs happens there, off the request path. After the first entry of a
batch it waits ``flush_interval`` seconds (0.25 by default) for more, so a busy server writes a
few transactions a second instead of one per request (a transaction of its own costs an entry
about five times what its insert into a shared one does, and a deployment's worker processes
share the file). :meth:`PredictionLog.close` writes what is queued and stops the thread.
Tables (``PRAGMA user_version`` 1):

- ``requests``: request_id, time (ISO 8601 UTC, ``...Z``), model, version, latency_ms, status,
  rows, inputs (JSON list of records, NULL when raw logging is off or the request failed),
  outputs (JSON ``{"predictions", "probabilities"}``), error (the error code, NULL when answered).
- ``feedback``: id, request_id, time, actual (JSON).
- ``challenger``: one row per request of a deployment with a challenger
  (:mod:`core.serving.challenger`): request_id, time, mode (``shadow``/``split``), side (which
  side answered), version (the challenger's), latency_ms (the challenger's), status (``ok``,
  ``timeout``, ``failed``, ``refused``, ``dropped``) and, in shadow mode, outputs (the
  challenger's ``{"predictions", "probabilities"}``, never returned to the client).
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from core.serving.encoding import attributes, dumps
from core.serving.processes import name_os_thread
from core.serving.restarts import RestartingThread, error_text

LOG_FILE = "predictions.db"
SCHEMA_VERSION = 1
BATCH = 500
FLUSH_INTERVAL = 0.25
WRITER_THREAD = "shipway-predlog"  # the writer's thread name, in Python and the OS
CAPACITY_BYTES = 64 * 1024 * 1024  # the queue's bound in bytes, beside its bound in entries
BACKLOG_SECONDS = 30.0  # an entry waiting longer than this makes /health say "degraded"
log = logging.getLogger("shipway.serving")

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    model TEXT NOT NULL,
    version INTEGER NOT NULL,
    latency_ms REAL NOT NULL,
    status INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    inputs TEXT,
    outputs TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS requests_time ON requests (time);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL,
    time TEXT NOT NULL,
    actual TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_request ON feedback (request_id);
CREATE TABLE IF NOT EXISTS challenger (
    request_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    mode TEXT NOT NULL,
    side TEXT NOT NULL,
    version INTEGER NOT NULL,
    latency_ms REAL,
    status TEXT NOT NULL,
    outputs TEXT
);
CREATE INDEX IF NOT EXISTS challenger_time ON challenger (time);
"""


def now_iso() -> str:
    """The current UTC time in the fixed-width form the log sorts and compares by."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LoggedRequest:
    """One ``POST /predict`` answer, as queued by a request and as read back from the log.

    Queued, ``inputs`` is the model input as a DataFrame (encoded to JSON by the writer) and
    ``size`` what the entry holds in memory (its request body's length, for the queue's bound
    in bytes). Read back (:mod:`core.serving.logreader`), ``inputs`` and ``outputs`` are
    decoded JSON and ``actual`` / ``feedback_time`` hold the latest feedback, if any.
    """

    request_id: str
    time: str
    model: str
    version: int
    latency_ms: float
    status: int
    rows: int
    inputs: pd.DataFrame | list[dict[str, Any]] | None = field(default=None, repr=False)
    outputs: dict[str, Any] | None = field(default=None, repr=False)
    error: str | None = None
    actual: Any = None
    feedback_time: str | None = None
    size: int = field(default=0, repr=False, compare=False)

    def row(self) -> tuple:
        """The row of the ``requests`` table, its inputs and outputs encoded as JSON."""
        outputs = dumps(self.outputs) if self.outputs is not None else None
        return (self.request_id, self.time, self.model, self.version, self.latency_ms,
                self.status, self.rows, _inputs_json(self.inputs), outputs, self.error)  # fmt: skip


@dataclass(frozen=True)
class FeedbackEntry:
    """The true value (``actual``) of what an answer predicted, sent back by a client."""

    request_id: str
    time: str
    actual: Any
    size: int = 0

    def row(self) -> tuple:
        """The row of the ``feedback`` table."""
        return (self.request_id, self.time, dumps(self.actual))


@dataclass(frozen=True)
class ChallengerEntry:
    """What the challenger did for one request (see the ``challenger`` table)."""

    request_id: str
    time: str
    mode: str
    side: str
    version: int
    latency_ms: float | None
    status: str
    outputs: dict[str, Any] | None = None
    size: int = 256

    def row(self) -> tuple:
        """The row of the ``challenger`` table."""
        outputs = dumps(self.outputs) if self.outputs is not None else None
        return (self.request_id, self.time, self.mode, self.side, self.version,
                self.latency_ms, self.status, outputs)  # fmt: skip


Entry = LoggedRequest | FeedbackEntry | ChallengerEntry
_UNSAID = ("alive", "written")  # WriterStatus fields its to_dict leaves out (alive: "writer")


@dataclass(frozen=True)
class WriterStatus:
    """What ``/health`` and ``/metrics`` say of the writer: alive, behind, restarted, failing."""

    alive: bool
    queue_depth: int
    queue_bytes: int
    oldest_seconds: float
    restarts: int
    bad_entries: int
    dropped: int
    written: int
    last_error: str | None

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.alive:
            found.append("the prediction log writer is not running: " + (self.last_error or "?"))
        if self.oldest_seconds > BACKLOG_SECONDS:
            found.append(
                f"the prediction log is {self.oldest_seconds:.0f} s behind "
                f"({self.queue_depth} entries waiting)"
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        figures = {name: value for name, value in asdict(self).items() if name not in _UNSAID}
        figures["oldest_seconds"] = round(self.oldest_seconds, 3)
        return {"writer": "running" if self.alive else "stopped", **figures}


def connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def create_schema(path: Path) -> None:
    connection = connect(path)
    try:
        connection.executescript(SCHEMA)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    finally:
        connection.close()


def _inputs_json(frame: pd.DataFrame | list[dict[str, Any]] | None) -> str | None:
    if frame is None:
        return None
    if not isinstance(frame, pd.DataFrame):
        return dumps(frame)
    try:
        return frame.to_json(orient="records", date_format="iso", double_precision=15)
    except Exception as exc:  # e.g. text pandas cannot encode; the row is kept without inputs
        log.warning("prediction log: inputs not logged (%s)", type(exc).__name__)
        return None


class PredictionLog(RestartingThread):
    """A bounded queue in front of a SQLite writer thread (started on construction).

    The writer never stops for one entry: an entry that cannot be encoded or stored is dropped
    and counted in ``bad_entries``. Should the thread end all the same, :meth:`status` (which
    ``/health`` and ``/metrics`` call) and every :meth:`put` start another one, a few times a
    minute at most (:mod:`core.serving.restarts`), and the death is logged and counted.
    """

    THREAD = WRITER_THREAD
    ROLE = "prediction log writer"

    def __init__(
        self,
        folder: str | Path,
        capacity: int = 10_000,
        log_inputs: bool = True,
        flush_interval: float = FLUSH_INTERVAL,
        capacity_bytes: int = CAPACITY_BYTES,
    ):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / LOG_FILE
        self.log_inputs = log_inputs
        self.flush_interval = flush_interval
        self.capacity_bytes = capacity_bytes
        create_schema(self.path)  # here, so that a folder we cannot write fails at start
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._queued_bytes = 0
        self._oldest: deque[float] = deque()  # enqueue times, oldest first
        self.dropped = 0
        self.written = 0
        self.transactions = 0
        self.bad_entries = 0
        self._init_thread()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    @property
    def queued_bytes(self) -> int:
        with self._lock:
            return self._queued_bytes

    def put(self, entry: Entry) -> bool:
        """Queue ``entry`` without waiting; ``False`` (and counted) when the queue is full."""
        if isinstance(entry, LoggedRequest) and not self.log_inputs and entry.inputs is not None:
            entry = replace(entry, inputs=None)
        if self._stop.is_set():
            return False
        self.ensure_writer()
        with self._lock:
            if self._queued_bytes + entry.size > self.capacity_bytes and self._queued_bytes:
                self.dropped += 1
                return False
            try:
                self._queue.put_nowait(entry)
            except queue.Full:
                self.dropped += 1
                return False
            self._queued_bytes += entry.size
            self._oldest.append(time.monotonic())
        return True

    ensure_writer = RestartingThread.ensure_running  # put() calls it: no call in between

    def status(self) -> WriterStatus:
        """The writer's state; starts a new writer first when the last one ended."""
        self.ensure_writer()
        with self._lock:
            oldest = time.monotonic() - self._oldest[0] if self._oldest else 0.0
            return WriterStatus(
                alive=self._thread.is_alive(),
                queue_depth=self._queue.qsize(),
                queue_bytes=self._queued_bytes,
                oldest_seconds=oldest,
                **attributes(self, "restarts bad_entries dropped written last_error"),
            )

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, then stop the writer (waits at most ``timeout`` seconds)."""
        self._stop.set()
        if not self._thread.is_alive() and self._queue.qsize():
            self._thread = self._start_thread()  # a dead writer still owes the queue's entries
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("prediction log writer did not stop within %.0f s", timeout)

    def _taken(self, batch: list[Entry]) -> None:
        with self._lock:
            self._queued_bytes -= sum(entry.size for entry in batch)
            for _ in batch:
                if self._oldest:
                    self._oldest.popleft()

    def _take(self) -> list[Entry]:
        """The next batch: the first entry, and what else arrives within ``flush_interval``."""
        try:
            batch = [self._queue.get(timeout=0.1)]
        except queue.Empty:
            return []
        if self._queue.qsize() < BATCH - 1:
            self._stop.wait(self.flush_interval)  # a stop ends the wait: close() flushes at once
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        self._taken(batch)
        return batch

    def _run(self) -> None:
        name_os_thread(WRITER_THREAD)
        batch: list[Entry] = []
        try:
            connection = connect(self.path)
            try:
                while True:
                    batch = self._take()
                    if batch:
                        self._write(connection, batch)
                        batch = []
                    elif self._stop.is_set():
                        break
            finally:
                connection.close()
        except BaseException as exc:  # counted and shown; status() and put() start another
            with self._lock:
                self.last_error = error_text(exc)
                self.dropped += len(batch)
            log.error("prediction log writer failed: %s", self.last_error)
            if not isinstance(exc, Exception):
                raise

    def _encode(self, batch: list[Entry]) -> tuple[list[tuple], list[tuple]]:
        """Rows to insert; an entry that cannot be encoded is dropped and counted. Challenger
        rows travel with the feedback rows, told apart by their length."""
        requests, feedback = [], []
        for entry in batch:
            try:
                (requests if isinstance(entry, LoggedRequest) else feedback).append(entry.row())
            except Exception as exc:  # not a log entry, too
                self._bad(entry, exc)
        return requests, feedback

    def _bad(self, entry: object, exc: Exception) -> None:
        with self._lock:
            self.bad_entries += 1
            self.last_error = f"bad entry dropped: {error_text(exc)}"
        log.error(
            "prediction log: entry %s dropped (%s: %s)",
            getattr(entry, "request_id", "?"),
            type(exc).__name__,
            str(exc)[:200],
        )

    def _write(self, connection: sqlite3.Connection, batch: list[Entry]) -> None:
        requests, feedback = self._encode(batch)
        if not requests and not feedback:
            return
        deadline = time.monotonic() + 30.0
        while True:
            try:
                self._insert(connection, requests, feedback)
                with self._lock:
                    self.written += len(requests) + len(feedback)
                    self.transactions += 1
                return
            except sqlite3.Error as exc:  # locked for longer than the busy timeout, disk full
                if self._stop.is_set() and time.monotonic() > deadline:
                    log.error("prediction log: %d entries lost: %s", len(batch), exc)
                    with self._lock:
                        self.dropped += len(requests) + len(feedback)
                    return
                log.warning("prediction log: retrying a write (%s)", exc)
                time.sleep(0.2)
            except Exception:  # a row sqlite cannot bind: insert one by one, drop the bad ones
                self._insert_one_by_one(connection, requests, feedback)
                return

    def _insert_one_by_one(
        self, connection: sqlite3.Connection, requests: list, feedback: list
    ) -> None:
        for row, is_request in [(r, True) for r in requests] + [(f, False) for f in feedback]:
            try:
                self._insert(connection, [row] if is_request else [], [] if is_request else [row])
                with self._lock:
                    self.written += 1
                    self.transactions += 1
            except Exception as exc:
                self._bad(SimpleNamespace(request_id=row[0]), exc)

    @staticmethod
    def _insert(connection: sqlite3.Connection, requests: list, feedback: list) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", requests
            )
            connection.executemany(
                "INSERT INTO feedback (request_id, time, actual) VALUES (?, ?, ?)",
                [row for row in feedback if len(row) == 3],
            )
            connection.executemany(
                "INSERT OR REPLACE INTO challenger VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [row for row in feedback if len(row) == 8],
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def logged_request(path: Path, request_id: str) -> tuple[int, int] | None:
    """``(status, rows)`` of the logged request with this id, or ``None`` (read-only)."""
    if not path.exists():
        return None
    connection = sqlite3.connect(path, timeout=2.0)
    try:
        row = connection.execute(
            "SELECT status, rows FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return None if row is None else (int(row[0]), int(row[1]))
