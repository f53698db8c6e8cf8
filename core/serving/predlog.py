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
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.serving.processes import name_os_thread
from core.serving.scoring import dumps

LOG_FILE = "predictions.db"
SCHEMA_VERSION = 1
BATCH = 500
FLUSH_INTERVAL = 0.25
WRITER_THREAD = "shipway-predlog"  # the writer's thread name, in Python and the OS
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
"""


def now_iso() -> str:
    """The current UTC time in the fixed-width form the log sorts and compares by."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RequestEntry:
    """One answered ``/predict`` request, as queued (encoded to JSON by the writer)."""

    request_id: str
    time: str
    model: str
    version: int
    latency_ms: float
    status: int
    rows: int
    inputs: pd.DataFrame | None = field(default=None, repr=False)
    outputs: dict[str, Any] | None = field(default=None, repr=False)
    error: str | None = None


@dataclass(frozen=True)
class FeedbackEntry:
    request_id: str
    time: str
    actual: Any


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


def _inputs_json(frame: pd.DataFrame | None) -> str | None:
    if frame is None:
        return None
    try:
        return frame.to_json(orient="records", date_format="iso", double_precision=15)
    except Exception as exc:  # e.g. text pandas cannot encode; the row is kept without inputs
        log.warning("prediction log: inputs not logged (%s)", type(exc).__name__)
        return None


def _request_row(entry: RequestEntry) -> tuple:
    outputs = dumps(entry.outputs) if entry.outputs is not None else None
    return (
        entry.request_id,
        entry.time,
        entry.model,
        entry.version,
        entry.latency_ms,
        entry.status,
        entry.rows,
        _inputs_json(entry.inputs),
        outputs,
        entry.error,
    )


class PredictionLog:
    """A bounded queue in front of a SQLite writer thread (started on construction)."""

    def __init__(
        self,
        folder: str | Path,
        capacity: int = 10_000,
        log_inputs: bool = True,
        flush_interval: float = FLUSH_INTERVAL,
    ):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / LOG_FILE
        self.log_inputs = log_inputs
        self.flush_interval = flush_interval
        create_schema(self.path)  # here, so that a folder we cannot write fails at start
        self._queue: queue.Queue = queue.Queue(maxsize=capacity)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.dropped = 0
        self.written = 0
        self.transactions = 0
        self._thread = threading.Thread(target=self._run, name=WRITER_THREAD)
        self._thread.daemon = True
        self._thread.start()

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def put(self, entry: RequestEntry | FeedbackEntry) -> bool:
        """Queue ``entry`` without waiting; ``False`` (and counted) when the queue is full."""
        if isinstance(entry, RequestEntry) and not self.log_inputs and entry.inputs is not None:
            entry = replace(entry, inputs=None)
        if self._stop.is_set():
            return False
        try:
            self._queue.put_nowait(entry)
            return True
        except queue.Full:
            with self._lock:
                self.dropped += 1
            return False

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, then stop the writer (waits at most ``timeout`` seconds)."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("prediction log writer did not stop within %.0f s", timeout)

    def _take(self) -> list:
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
        return batch

    def _run(self) -> None:
        name_os_thread(WRITER_THREAD)
        connection = connect(self.path)
        try:
            while True:
                batch = self._take()
                if batch:
                    self._write(connection, batch)
                elif self._stop.is_set():
                    break
        finally:
            connection.close()

    def _write(self, connection: sqlite3.Connection, batch: list) -> None:
        requests = [_request_row(e) for e in batch if isinstance(e, RequestEntry)]
        feedback = [
            (e.request_id, e.time, dumps(e.actual)) for e in batch if isinstance(e, FeedbackEntry)
        ]
        deadline = time.monotonic() + 30.0
        while True:
            try:
                self._insert(connection, requests, feedback)
                with self._lock:
                    self.written += len(batch)
                    self.transactions += 1
                return
            except sqlite3.Error as exc:  # locked for longer than the busy timeout, disk full
                if self._stop.is_set() and time.monotonic() > deadline:
                    log.error("prediction log: %d entries lost: %s", len(batch), exc)
                    with self._lock:
                        self.dropped += len(batch)
                    return
                log.warning("prediction log: retrying a write (%s)", exc)
                time.sleep(0.2)

    @staticmethod
    def _insert(connection: sqlite3.Connection, requests: list, feedback: list) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(
                "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", requests
            )
            connection.executemany(
                "INSERT INTO feedback (request_id, time, actual) VALUES (?, ?, ?)", feedback
            )
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise


def known_request(path: Path, request_id: str) -> bool:
    """Whether the log file holds an answered request with this id (read-only, short-lived)."""
    if not path.exists():
        return False
    connection = sqlite3.connect(path, timeout=2.0)
    try:
        row = connection.execute(
            "SELECT 1 FROM requests WHERE request_id = ? AND status = 200", (request_id,)
        ).fetchone()
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return row is not None
