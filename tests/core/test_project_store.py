"""The project workspace, migrations, repository sessions and the blob store, on real files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from core.errors import Conflict, CorruptObject, ProjectError, SchemaVersionError
from core.project import Project, find_project_root
from core.services import Workspace
from core.store import migrate
from core.store.blobs import BlobStore
from core.store.database import Database, sqlite_url
from core.store.orm import Base, DatasetRow


def test_init_writes_settings_database_and_objects(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "churn", name="Churn model") as ws:
        info = ws.project.info()
    root = tmp_path / "churn"
    assert (root / "shipway.toml").read_text().count('name = "Churn model"') == 1
    assert (root / "shipway.db").is_file()
    assert (root / "objects").is_dir()
    assert info.schema_revision == migrate.head_revision()


def test_init_refuses_an_existing_project(tmp_path: Path) -> None:
    Workspace.create(tmp_path / "p").close()
    with pytest.raises(ProjectError, match="already exists"):
        Workspace.create(tmp_path / "p")


def test_sqlite_runs_in_wal_mode_with_foreign_keys(workspace: Workspace) -> None:
    connection = sqlite3.connect(workspace.root / "shipway.db")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    connection.close()


def test_migrations_and_orm_agree(tmp_path: Path) -> None:
    database = Database(sqlite_url(str(tmp_path / "m.db")))
    migrate.upgrade(database.writer)
    with database.reader.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    database.dispose()
    assert differences == []


def _make_project_at(tmp_path: Path, revision: str) -> Path:
    """A project folder whose database was created by an earlier schema."""
    Workspace.create(tmp_path / "old").close()
    root = tmp_path / "old"
    (root / "shipway.db").unlink()
    database = Database(sqlite_url(str(root / "shipway.db")))
    migrate.upgrade(database.writer, revision)
    with database.writer.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_events (at, user, action, object_type, object_ref, detail) "
                "VALUES ('2026-01-01 00:00:00', 'ada', 'project.init', 'project', 'old', '{}')"
            )
        )
    database.dispose()
    return root


def test_opening_an_older_project_backs_up_and_upgrades(tmp_path: Path) -> None:
    root = _make_project_at(tmp_path, "0001")
    with Workspace.open(root) as ws:
        assert ws.project.info().schema_revision == migrate.head_revision()
        entries = ws.project.audit()
        assert ws.data.datasets() == []
    backups = list((root / "backups").iterdir())
    assert len(backups) == 1 and ".0001." in backups[0].name
    kept = sqlite3.connect(backups[0]).execute("SELECT version_num FROM alembic_version")
    assert kept.fetchone()[0] == "0001"
    assert [e.action for e in entries][:1] == ["db.upgrade"]
    assert any(e.user == "ada" for e in entries)  # old rows survive the upgrade


def test_refuse_mode_names_the_upgrade_command(tmp_path: Path) -> None:
    root = _make_project_at(tmp_path, "0001")
    with pytest.raises(ProjectError, match="shipway db upgrade"):
        Workspace.open(root, upgrade="refuse")


def test_db_upgrade_command_reports_the_backup(tmp_path: Path) -> None:
    root = _make_project_at(tmp_path, "0001")
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(root), "db", "upgrade", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert '"upgraded": true' in result.stdout and "backups" in result.stdout


def test_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    Workspace.create(tmp_path / "p").close()
    db = tmp_path / "p" / "shipway.db"
    connection = sqlite3.connect(db)
    connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.commit()
    connection.close()
    with pytest.raises(SchemaVersionError, match="newer Shipway"):
        Workspace.open(tmp_path / "p")
    assert not (tmp_path / "p" / "backups").exists()


def test_find_project_root_walks_upwards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.create(tmp_path / "p").close()
    deep = tmp_path / "p" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.delenv("SHIPWAY_PROJECT", raising=False)
    assert find_project_root(deep) == (tmp_path / "p").resolve()
    with pytest.raises(ProjectError, match="shipway init"):
        find_project_root(tmp_path)


def test_a_failed_write_rolls_back_and_becomes_a_conflict(workspace: Workspace) -> None:
    project: Project = workspace._project
    with project.database.session(write=True) as session:
        session.add(DatasetRow(name="dup", created_at=_now(), created_by="t"))
    with pytest.raises(Conflict), project.database.session(write=True) as session:
        session.add(DatasetRow(name="other", created_at=_now(), created_by="t"))
        session.flush()
        session.add(DatasetRow(name="dup", created_at=_now(), created_by="t"))
    with project.database.session(write=False) as session:
        names = sorted(row.name for row in session.query(DatasetRow))
    assert names == ["dup"]  # "other" was rolled back with the failing insert


def _now():
    from core.store.repository import utcnow

    return utcnow()


def test_blob_store_verifies_hashes(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "objects")
    blob = store.put_bytes(b"hello")
    assert store.read_verified(blob.sha256) == b"hello"
    assert store.put_bytes(b"hello").path == blob.path  # content-addressed: stored once
    data = bytearray(blob.path.read_bytes())
    data[0] ^= 0x01
    blob.path.write_bytes(bytes(data))
    assert "corrupt" in (store.verify(blob.sha256) or "")
    with pytest.raises(CorruptObject, match="corrupt"):
        store.read_verified(blob.sha256)
    assert list(store.tmp.iterdir()) == []


def test_sweep_removes_temporaries_of_dead_processes_only(tmp_path: Path) -> None:
    import socket

    store = BlobStore(tmp_path / "objects")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host = socket.gethostname()
    orphan = store.tmp / f"{host}-{dead.stdout.strip()}-abc.parquet"
    mine = store.tmp / f"{host}-{os.getpid()}-def.parquet"
    foreign = store.tmp / f"another-host-{dead.stdout.strip()}-ghi.parquet"
    for path in (orphan, mine, foreign):
        path.write_bytes(b"partial")
    removed = store.sweep_temporaries()
    assert removed == [orphan]
    assert mine.exists() and foreign.exists()
