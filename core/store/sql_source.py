"""A SQL query on another database, for ``shipway data import --sql QUERY --url URL``.

Here because only the store floor talks to databases through SQLAlchemy. Errors name the URL
with its password hidden, never the password.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import ImportFailed, NotFound


def query_rows(query: str, url: str) -> tuple[list[str], list[list[Any]], str]:
    """(column names, rows, the URL with its password hidden) of ``query`` at ``url``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

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
        engine = create_engine(parsed)
    except (ArgumentError, ImportError) as exc:  # NoSuchModuleError is an ArgumentError
        raise ImportFailed(
            f"no database driver for {parsed.drivername!r}: {exc}",
            where=safe,
            hint="check the URL's dialect, or install its driver (e.g. psycopg for postgresql)",
        ) from None
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
