"""Engines and session scopes.

SQLite is opened in WAL mode with a busy timeout. Python's sqlite3 module is put in autocommit
mode so that SQLAlchemy's ``begin`` event can emit the BEGIN itself: ``BEGIN IMMEDIATE`` for
writers (so a writer takes the write lock up front and waits for it, instead of failing with
"database is locked" halfway through), a plain deferred ``BEGIN`` for readers. Two engines on the
same file keep the two kinds apart.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import Conflict, ProjectError, ShipwayError, StoreError

BUSY_TIMEOUT_S = 60.0
PASSWORD_VARIABLE = "SHIPWAY_DB_PASSWORD"
KEYRING_SERVICE = "shipway"
RETRIES = 6
#: SQLSTATEs after which the whole unit of work is run again: serialization failure, deadlock,
#: and (PostgreSQL) a unique key another writer took first, e.g. two first imports of a name.
RETRYABLE_STATES = frozenset({"40001", "40P01", "23505"})
Method = TypeVar("Method", bound=Callable[..., Any])


def sqlite_url(path: str) -> str:
    return f"sqlite:///{path}"


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def check_no_password(url: str, where: str) -> None:
    """A URL written to shipway.toml may name a user, never a password."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ProjectError(
            f"{url!r} is not a database URL",
            where=where,
            hint="write e.g. postgresql+psycopg://alice@db.example.org/shipway",
        ) from None
    if parsed.password:
        raise ProjectError(
            "the database URL holds a password, which must never be written to shipway.toml",
            where=where,
            hint=f"remove it from the URL and set ${PASSWORD_VARIABLE} (or PGPASSWORD, "
            "~/.pgpass, or the OS keyring under the service 'shipway')",
        )


def connection_url(url: str) -> str | URL:
    """The URL to connect with: the password from $SHIPWAY_DB_PASSWORD or the OS keyring
    (PostgreSQL also reads PGPASSWORD and ~/.pgpass on its own)."""
    if _is_sqlite(url):
        return url
    parsed = make_url(url)
    password = os.environ.get(PASSWORD_VARIABLE) or _keyring_password(parsed)
    return parsed.set(password=password) if password else parsed


def _keyring_password(parsed: URL) -> str | None:
    try:
        import keyring
    except ImportError:
        return None
    account = f"{parsed.username}@{parsed.host}:{parsed.port or 5432}/{parsed.database}"
    try:
        return keyring.get_password(KEYRING_SERVICE, account)
    except Exception:  # no keyring backend on this machine
        return None


def make_engine(url: str, *, immediate: bool = False) -> Engine:
    """Create an engine; for SQLite, configure WAL, busy timeout and the BEGIN flavour."""
    if not _is_sqlite(url):
        return create_engine(
            connection_url(url), pool_pre_ping=True, pool_size=10, max_overflow=20, future=True
        )
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


def retrying(method: Method) -> Method:
    """Run a repository's write method again when the database asks for it.

    PostgreSQL may abort a transaction that collided with another writer (a serialization
    failure, a deadlock, a unique key taken meanwhile); the whole unit of work then runs again
    after a short, growing, jittered pause, and sees the other writer's result. SQLite's
    ``BEGIN IMMEDIATE`` writers never collide like that, so nothing there is retryable.
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(RETRIES):
            try:
                return method(*args, **kwargs)
            except ShipwayError as error:
                if not getattr(error, "retryable", False) or attempt == RETRIES - 1:
                    raise
                time.sleep(0.02 * 2**attempt * (1 + random.random()))
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def translate_error(exc: SQLAlchemyError, url: str) -> ShipwayError:
    """Turn a database exception into a ShipwayError that says what to do."""
    where = _safe_url(url)
    original = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(original).splitlines()[0] if str(original) else type(original).__name__
    state = getattr(original, "sqlstate", None)
    error = _classify(exc, text, where)
    error.retryable = state in RETRYABLE_STATES and not _is_sqlite(url)
    return error


def _classify(exc: SQLAlchemyError, text: str, where: str) -> ShipwayError:
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
