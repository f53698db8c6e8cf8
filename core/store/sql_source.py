"""A SQL query on another database, for ``shipway data import --sql QUERY --url URL``.

Here because only the store floor talks to databases through SQLAlchemy. Errors name the URL
with its password hidden, never the password.

:func:`query_rows` fetches every row at once (an import holds the table anyway);
:func:`stream_rows` hands them out ``size`` at a time with a server-side cursor where the driver
has one (``stream_results``), for ``shipway score --sql``, whose memory must not grow with the
result.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ImportFailed, NotFound


def query_rows(query: str, url: str) -> tuple[list[str], list[list[Any]], str]:
    """(column names, rows, the URL with its password hidden) of ``query`` at ``url``."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine, safe = _engine(url)
    try:
        with engine.connect() as connection:
            result = connection.execute(text(query))
            keys = result.keys()  # iterating the result itself would yield rows
            names = [str(name) for name in keys]
            rows = [list(row) for row in result]
    except SQLAlchemyError as exc:
        message = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise ImportFailed(
            f"the query failed: {message}", where=safe, hint="check the query and the URL"
        ) from None
    finally:
        engine.dispose()
    return names, rows, safe


def _engine(url: str) -> tuple[Any, str]:
    """A SQLAlchemy engine for ``url`` and the URL with its password hidden."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ImportFailed(
            "the database URL cannot be understood",
            where="--url",
            hint="write it as dialect+driver://user@host/db, e.g. sqlite:///data.db",
        ) from None
    safe = parsed.render_as_string(hide_password=True)
    _check_sqlite_file(parsed.get_backend_name(), parsed.database, safe)
    try:
        return create_engine(parsed), safe
    except (ArgumentError, ImportError) as exc:  # NoSuchModuleError is an ArgumentError
        raise ImportFailed(
            f"no database driver for {parsed.drivername!r}: {exc}",
            where=safe,
            hint="check the URL's dialect, or install its driver (e.g. psycopg for postgresql)",
        ) from None


@dataclass(frozen=True)
class RowStream:
    """An open query: its column names, the URL with its password hidden, and its rows in
    batches of at most ``size`` (each a list of row lists)."""

    names: list[str]
    safe_url: str
    batches: Iterator[list[list[Any]]]


@contextlib.contextmanager
def stream_rows(query: str, url: str, size: int) -> Iterator[RowStream]:
    """``query`` at ``url``, its rows fetched ``size`` at a time while the block is open.

    The connection is closed when the block ends, however it ends. A failure of the query or
    of a later fetch raises :class:`~core.errors.ImportFailed` naming the URL (password
    hidden).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine, safe = _engine(url)

    def failed(exc: SQLAlchemyError) -> ImportFailed:
        message = str(getattr(exc, "orig", exc)).splitlines()[0]
        return ImportFailed(
            f"the query failed: {message}", where=safe, hint="check the query and the URL"
        )

    def batches(result: Any) -> Iterator[list[list[Any]]]:
        while True:
            try:
                rows = result.fetchmany(size)
            except SQLAlchemyError as exc:
                raise failed(exc) from None
            if not rows:
                return
            yield [list(row) for row in rows]

    try:
        with engine.connect() as connection:
            try:
                streaming = connection.execution_options(stream_results=True)
                result = streaming.execute(text(query))
            except SQLAlchemyError as exc:
                raise failed(exc) from None
            keys = result.keys()  # iterating the result itself would yield rows
            yield RowStream([str(name) for name in keys], safe, batches(result))
    finally:
        engine.dispose()


def _check_sqlite_file(backend: str, database: str | None, safe: str) -> None:
    """Refuse a SQLite file that does not exist: connecting would create an empty one."""
    if backend != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return  # a URI filename; its own mode= option decides
    if not Path(database).expanduser().is_file():
        raise NotFound(
            "the SQLite database file does not exist",
            where=safe,
            hint="check the path: sqlite:///relative.db or sqlite:////absolute/path.db",
        )
