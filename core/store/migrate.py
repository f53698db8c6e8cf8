"""Schema upgrades through the Alembic migrations shipped inside the package.

A project made by an older Shipway is upgraded when it is opened, after a backup copy of the
SQLite file has been taken (``backups/shipway.db.<revision>.<UTC time>``). A project made by a
*newer* Shipway is refused rather than damaged.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from core.errors import SchemaVersionError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


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
