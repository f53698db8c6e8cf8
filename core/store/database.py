"""Engines and session scopes.

SQLite is opened in WAL mode with a busy timeout. Python's sqlite3 module is put in autocommit
mode so that SQLAlchemy's ``begin`` event can emit the BEGIN itself: ``BEGIN IMMEDIATE`` for
writers (so a writer takes the write lock up front and waits for it, instead of failing with
"database is locked" halfway through), a plain deferred ``BEGIN`` for readers. Two engines on the
same file keep the two kinds apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import Conflict, ShipwayError, StoreError

BUSY_TIMEOUT_S = 60.0


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """Create an engine; for SQLite, configure WAL, busy timeout and the BEGIN flavour."""
    if not _is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, future=True)
    engine = create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """A reader engine and a writer engine over one metadata database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.reader = make_engine(url)
        self.writer = make_engine(url, immediate=True) if _is_sqlite(url) else self.reader
        self._read_sessions = sessionmaker(self.reader, expire_on_commit=False)
        self._write_sessions = sessionmaker(self.writer, expire_on_commit=False)

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error, translates errors."""
        session = (self._write_sessions if write else self._read_sessions)()
        try:
            yield session
            session.commit()
        except ShipwayError:
            session.rollback()
            raise
        except SQLAlchemyError as exc:
            session.rollback()
            raise translate_error(exc, self.url) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.reader.dispose()
        if self.writer is not self.reader:
            self.writer.dispose()


def translate_error(exc: SQLAlchemyError, url: str) -> ShipwayError:
    """Turn a database exception into a ShipwayError that says what to do."""
    where = _safe_url(url)
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(original).splitlines()[0] if str(original) else type(original).__name__
    if isinstance(exc, IntegrityError):
        return Conflict(
            f"the change collides with existing records: {text}",
            where=where,
            hint="reload and try again; another user may have made the same change",
        )
    if isinstance(exc, OperationalError) and "locked" in text.lower():
        return StoreError(
            "the project database stayed locked by another process for too long",
            where=where,
            hint="wait for the other Shipway process to finish, then retry",
        )
    return StoreError(f"metadata database error: {text}", where=where, hint="check the database")


def _safe_url(url: str) -> str:
    """The URL without a password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "database"
