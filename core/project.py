"""A project on disk: shipway.toml, the metadata database, objects/ and deployments/.

Opening a project finds its settings, connects to its database (SQLite beside shipway.toml unless
the settings name another URL), upgrades an older schema after backing it up, sweeps
temporaries left behind by processes that died, and removes the blobs such processes stored but
never recorded, once past an hour (:func:`core.store.gc.collect_pending`, which reads only the
short list of blobs being stored, never the whole store).
"""

from __future__ import annotations

import os
import re
from contextlib import AbstractContextManager
from pathlib import Path

from core.config import (
    DEFAULT_DB_FILE,
    SETTINGS_FILE,
    Settings,
    current_user,
    load_settings,
    set_database_url,
    write_new_settings,
)
from core.errors import ProjectError, UsageError
from core.serving.missing import DEFAULT_MISSING_TOKENS
from core.shared_storage import sqlite_placement_warning
from core.store import migrate
from core.store.alert_repository import AlertRepository
from core.store.blobs import BlobStore
from core.store.database import Database, check_no_password, sqlite_url
from core.store.deployment_repository import DeploymentRepository
from core.store.gc import collect_pending, is_own_folder
from core.store.job_repository import JobRepository
from core.store.model_repository import ModelRepository
from core.store.repository import Repository
from core.store.review_repository import ReviewRepository
from core.store.run_repository import RunRepository

OBJECTS_DIR = "objects"
DEPLOYMENTS_DIR = "deployments"
BACKUPS_DIR = "backups"
_NAME = re.compile(r"^[\w][\w .-]{0,99}$")


class Project(AbstractContextManager["Project"]):
    """An open project. Create with :meth:`init` or :meth:`open`; close when done (``with``
    closes it)."""

    def __init__(self, root: Path, settings: Settings, database: Database, user: str) -> None:
        self.root = root
        self.settings = settings
        self.database = database
        self.user = user
        self.blobs = BlobStore(objects_folder(root, settings))
        self.warnings: list[str] = []
        self.repo = Repository(database, user)
        self.runs = RunRepository(database, user)
        self.models = ModelRepository(database, user)
        self.reviews = ReviewRepository(database, user)
        self.deployments = DeploymentRepository(database, user)
        self.alerts = AlertRepository(database, user)
        self.jobs = JobRepository(database, user)

    # -- creating and opening --------------------------------------------------------------

    @classmethod
    def init(cls, folder: Path, name: str | None = None, db_url: str | None = None) -> Project:
        """Create a new project in ``folder`` (created if missing, must not hold a project)."""
        folder = folder.expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise ProjectError("not a folder", where=str(folder), hint="choose a folder path")
        if (folder / SETTINGS_FILE).exists():
            raise ProjectError(
                "a Shipway project already exists here",
                where=str(folder),
                hint="open it instead, or choose another folder",
            )
        name = (name or folder.name).strip()
        if not _NAME.match(name):
            raise UsageError(
                f"project name {name!r} is not usable",
                hint="use letters, digits, spaces, '.', '-' or '_' (at most 100 characters)",
            )
        if db_url:
            check_no_password(db_url, "--db")
        folder.mkdir(parents=True, exist_ok=True)
        write_new_settings(folder, name, DEFAULT_MISSING_TOKENS)
        if db_url:
            set_database_url(folder, db_url)
        for sub in (OBJECTS_DIR, DEPLOYMENTS_DIR):
            (folder / sub).mkdir(exist_ok=True)
        project = cls.open(folder)
        project.repo.record_event("project.init", "project", name, path=str(folder))
        return project

    @classmethod
    def open(cls, folder: Path, *, upgrade: str = "auto") -> Project:
        """Open the project in ``folder``.

        ``upgrade`` says what to do with an older schema: ``"auto"`` backs up and upgrades it,
        ``"refuse"`` raises, ``"defer"`` leaves it for :meth:`upgrade_schema` (a newer schema
        is always refused).
        """
        folder = folder.expanduser().resolve()
        settings = load_settings(folder)
        if settings.db_url:
            check_no_password(settings.db_url, f"{folder / SETTINGS_FILE} [database] url")
        url = settings.db_url or sqlite_url(str(folder / DEFAULT_DB_FILE))
        database = Database(url)
        try:
            project = cls(folder, settings, database, current_user())
            if url.startswith("sqlite"):
                warning = sqlite_placement_warning(folder)
                project.warnings += [warning] if warning else []
            project._prepare_schema(upgrade)
            project.blobs.sweep_temporaries()
            if migrate.current_revision(database.reader) == migrate.head_revision():
                project.runs.fail_abandoned()
                if is_own_folder(project.blobs.root, folder):
                    collect_pending(project.blobs, database)  # blobs a killed process left
        except BaseException:
            database.dispose()
            raise
        return project

    def _prepare_schema(self, upgrade: str) -> None:
        engine = self.database.writer
        if not migrate.needs_upgrade(engine):
            return
        current = migrate.current_revision(engine)
        if current is not None and upgrade == "defer":
            return
        if current is not None and upgrade == "refuse":
            raise ProjectError(
                f"the project database has schema {current}, this Shipway uses "
                f"{migrate.head_revision()}",
                where=str(self.root),
                hint="run `shipway db upgrade` (a backup is taken first)",
            )
        self.upgrade_schema(current)

    def upgrade_schema(self, current: str | None = None) -> str | None:
        """Back up (SQLite) and migrate to the newest schema; returns the backup path, if any."""
        backup = None
        db_path = self.sqlite_path
        if current is not None and db_path is not None and db_path.exists():
            backup = str(migrate.backup_sqlite(db_path, self.root / BACKUPS_DIR, current))
        migrate.upgrade(self.database.writer)
        if current is not None:
            self.repo.record_event(
                "db.upgrade",
                "project",
                self.settings.name,
                from_revision=current,
                to_revision=migrate.head_revision(),
                backup=backup,
            )
        return backup

    @property
    def sqlite_path(self) -> Path | None:
        url = self.database.url
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    @property
    def schema_revision(self) -> str | None:
        return migrate.current_revision(self.database.reader)

    def close(self) -> None:
        self.database.dispose()

    def __exit__(self, *exc: object) -> None:
        self.close()


def objects_folder(root: Path, settings: Settings) -> Path:
    """``objects/`` of the project, or the shared folder ``[storage] objects`` names."""
    storage = settings.raw.get("storage", {})
    shared = storage.get("objects") if isinstance(storage, dict) else None
    if not shared:
        return root / OBJECTS_DIR
    path = Path(str(shared)).expanduser()
    return path if path.is_absolute() else (root / path).resolve()


def find_project_root(start: Path | None = None) -> Path:
    """``$SHIPWAY_PROJECT``, else the nearest folder upwards from ``start`` with shipway.toml."""
    env = os.environ.get("SHIPWAY_PROJECT")
    if start is None and env:
        return Path(env).expanduser().resolve()
    here = (start or Path.cwd()).expanduser().resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    raise ProjectError(
        "no Shipway project here or in any parent folder",
        where=str(here),
        hint="pass --project DIR, set SHIPWAY_PROJECT, or run `shipway init DIR`",
    )
