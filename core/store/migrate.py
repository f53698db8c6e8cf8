"""Schema upgrades through the Alembic migrations shipped inside the package.

A project made by an older Shipway is upgraded when it is opened, after a backup copy of the
SQLite file has been taken (``backups/shipway.db.<revision>.<UTC time>``). A project made by a
*newer* Shipway is refused rather than damaged.

Checking whether a schema is current happens on every open, so it does not import Alembic
(~0.3 s): the revisions are read from the shipped migration files (their ``revision`` and
``down_revision`` assignments, parsed, never executed) and the database's revision from the
``alembic_version`` table. Alembic is imported only to upgrade.
"""

from __future__ import annotations

import ast
import functools
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, inspect, text

from core.errors import SchemaVersionError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _revision_graph() -> dict[str, tuple[str, ...]]:
    """Every shipped revision and the revisions it follows (``down_revision``).

    Parsed again whenever a migration file was added or changed (as Alembic would read them
    again), else taken from a cache: parsing costs ~10 ms, a look at the folder ~0.1 ms.
    """
    files = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    return dict(_parsed_graph(tuple((str(f), f.stat().st_mtime_ns) for f in files)))


@functools.lru_cache(maxsize=4)
def _parsed_graph(files: tuple[tuple[str, int], ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    graph: dict[str, tuple[str, ...]] = {}
    for name, _ in files:
        values = _module_constants(Path(name), ("revision", "down_revision"))
        revision = values.get("revision")
        if not isinstance(revision, str):
            continue  # __init__.py, or not a migration
        down = values.get("down_revision")  # None, one revision, or several (a merge)
        if isinstance(down, list | tuple):
            graph[revision] = tuple(down)
        else:
            graph[revision] = (down,) if down else ()
    return tuple(graph.items())


def _module_constants(path: Path, names: tuple[str, ...]) -> dict[str, Any]:
    """The literal values assigned to ``names`` at the top level of a Python file."""
    found: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in names and node.value is not None:
            found[target.id] = ast.literal_eval(node.value)
    return found


def head_revision() -> str:
    """The newest shipped revision (the one no other revision follows)."""
    graph = _revision_graph()
    followed = {down for downs in graph.values() for down in downs}
    heads = sorted(set(graph) - followed)
    if len(heads) > 1:
        raise RuntimeError(f"the shipped migrations have several heads: {', '.join(heads)}")
    return heads[0] if heads else ""


def known_revisions() -> set[str]:
    return set(_revision_graph())


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (``alembic_version``); None for an empty database."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    if len(rows) > 1:
        raise SchemaVersionError(
            f"the project's database names {len(rows)} schema revisions",
            where=engine.url.render_as_string(hide_password=True),
            hint="restore the database from a backup (backups/)",
        )
    return rows[0][0] if rows else None


def needs_upgrade(engine: Engine) -> bool:
    """True when the schema is older than this Shipway's; raises when it is newer."""
    current = current_revision(engine)
    if current is not None and current not in known_revisions():
        raise SchemaVersionError(
            f"this project's database has schema revision {current}, made by a newer Shipway",
            where=engine.url.render_as_string(hide_password=True),
            hint="install the newer Shipway release to open it",
        )
    return current != head_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (default: the newest) in one transaction."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def backup_sqlite(db_path: Path, backups: Path, revision: str | None) -> Path:
    """Copy a live SQLite database consistently (the backup API sees committed WAL pages)."""
    backups.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = backups / f"{db_path.name}.{revision or 'empty'}.{stamp}"
    source = sqlite3.connect(db_path)
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
    finally:
        source.close()
    return target
