"""The store on both backends: SQLite beside shipway.toml, and a real PostgreSQL server.

Every test here runs twice (the ``db_url`` fixture); PostgreSQL is a throwaway server started
for the session (tests/pg.py) that requires a password, which reaches Shipway only through
$SHIPWAY_DB_PASSWORD.
"""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from core.errors import Conflict, ProjectError
from core.services import TrainRequest, Workspace
from core.store import migrate
from core.store.database import Database
from core.store.orm import Base

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
THREADS, RUNS_PER_THREAD = 8, 6


def test_migrations_from_empty_agree_with_the_orm(db_url: str | None, tmp_path: Path) -> None:
    url = db_url or f"sqlite:///{tmp_path / 'm.db'}"
    database = Database(url)
    migrate.upgrade(database.writer)
    with database.reader.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert migrate.current_revision(database.reader) == migrate.head_revision()
    database.dispose()
    assert differences == []


def test_a_project_of_the_previous_schema_is_upgraded(db_url: str | None, tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "p", db_url=db_url) as ws:
        ws.data.import_file(PENGUINS)
        url = ws.project.info().db_url
    database = Database(url)
    graph = migrate._revision_graph()
    previous = graph[migrate.head_revision()][0]
    _alembic_downgrade(database, previous)
    assert migrate.current_revision(database.reader) == previous
    database.dispose()
    with Workspace.open(tmp_path / "p") as ws:
        assert ws.project.info().schema_revision == migrate.head_revision()
        assert ws.data.version("penguins").rows == 344  # the data survived the upgrade


def _alembic_downgrade(database: Database, revision: str) -> None:
    from alembic import command

    with database.writer.begin() as connection:
        config = migrate._config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_whole_loop_runs_on_each_backend(db_url: str | None, tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "p", db_url=db_url) as ws:
        assert ws.data.import_file(PENGUINS).created
        assert not ws.data.import_file(PENGUINS).created
        run = ws.runs.train(
            TrainRequest("penguins", "species", estimator="logistic_regression")
        ).result()
        assert run.status == "done"
        version = ws.lifecycle.register(run.id, "penguins")
        promotion = ws.lifecycle.promote(version.ref, "staging")
        assert promotion.version.aliases == ("staging",)
        with pytest.raises(Conflict):
            ws.lifecycle.promote(version.ref, "staging")
        actions = {entry.action for entry in ws.project.audit()}
        assert {"dataset.import", "run.done", "model.register", "model.promote"} <= actions


def test_a_password_is_never_written_to_shipway_toml(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="holds a password") as caught:
        Workspace.create(tmp_path / "p", db_url="postgresql+psycopg://ann:secret@db/shipway")
    assert "SHIPWAY_DB_PASSWORD" in caught.value.hint
    assert not (tmp_path / "p" / "shipway.toml").exists()


def _writer(root: str, process: int, barrier, errors) -> None:
    """THREADS threads, each recording RUNS_PER_THREAD finished runs with metrics."""
    with Workspace.open(Path(root)) as ws:
        project = ws._project
        version = ws.data.version("penguins")
        spec = {"task": "classification", "estimator": "dummy", "target": "species",
                "dataset": "penguins", "dataset_version": 1}  # fmt: skip

        def work(thread: int) -> None:
            barrier.wait()
            try:
                for number in range(RUNS_PER_THREAD):
                    run = project.runs.create(
                        spec=spec, dataset_version_id=version.id,
                        dataset_sha256=version.sha256, executor="local",
                    )  # fmt: skip
                    project.runs.mark_running(run)
                    project.runs.finish(run, "done", metrics={"f1": process + thread / 10})
                    project.repo.record_event("test.write", "run", f"{process}/{thread}/{number}")
            except Exception as exc:  # reported to the test, which fails on any
                errors.put(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


@pytest.mark.slow
def test_two_processes_of_eight_threads_lose_nothing(db_url: str | None, tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "p", db_url=db_url) as ws:
        ws.data.import_file(PENGUINS)
    context = multiprocessing.get_context("spawn")
    barrier, errors = context.Barrier(2 * THREADS), context.Queue()
    workers = [
        context.Process(target=_writer, args=(str(tmp_path / "p"), p, barrier, errors))
        for p in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert errors.empty(), errors.get()
    expected = 2 * THREADS * RUNS_PER_THREAD
    with Workspace.open(tmp_path / "p") as ws:
        runs = ws.runs.list(all_runs=True)
        assert len(runs) == expected and {run.status for run in runs} == {"done"}
        assert len({run.id for run in runs}) == expected
        assert len(ws.project.audit(limit=10_000, action="test.write")) == expected
        assert len(ws.project.audit(limit=10_000, action="run.done")) == expected


def _importer(root: str, path: str, barrier, out) -> None:
    with Workspace.open(Path(root)) as ws:
        barrier.wait()
        try:
            from core.services import ImportOptions

            outcome = ws.data.import_file(path, ImportOptions(name="shared"))
            out.put(("ok", outcome.version.version))
        except Exception as exc:
            out.put(("error", f"{type(exc).__name__}: {exc}"))


def test_two_first_imports_of_one_name_at_once(db_url: str | None, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_csv(PENGUINS)
    paths = []
    for index in range(2):
        path = tmp_path / f"part{index}.csv"
        frame.iloc[index * 100 : index * 100 + 150].to_csv(path, index=False)
        paths.append(str(path))
    Workspace.create(tmp_path / "p", db_url=db_url).close()
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_importer, args=(str(tmp_path / "p"), path, barrier, out))
        for path in paths
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(300)
    outcomes = sorted(out.get(timeout=10) for _ in workers)
    assert outcomes == [("ok", 1), ("ok", 2)]


def _promote(root: str, number: int, barrier, out) -> None:
    with Workspace.open(Path(root)) as ws:
        barrier.wait()
        try:
            ws._project.models.move_alias("m", "production", number, expected=None,
                                          kind="promote")  # fmt: skip
            out.put(("moved", number))
        except Conflict as conflict:
            out.put(("conflict", conflict.message))


def test_two_people_promoting_at_once_one_wins(db_url: str | None, tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "p", db_url=db_url) as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(TrainRequest("penguins", "species", estimator="dummy")).result()
        ws.lifecycle.register(run.id, "m")
        ws.lifecycle.register(run.id, "m")
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_promote, args=(str(tmp_path / "p"), number, barrier, out))
        for number in (1, 2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    outcomes = sorted(out.get(timeout=10) for _ in workers)
    assert [kind for kind, _ in outcomes] == ["conflict", "moved"]
    with Workspace.open(tmp_path / "p") as ws:
        assert len(ws.registry.history("m", "production")) == 1


def test_a_failed_write_rolls_back_on_each_backend(db_url: str | None, tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "p", db_url=db_url) as ws:
        before = len(ws.project.audit())
        database = ws._project.database
        with pytest.raises(Conflict), database.session(write=True) as session:
            session.execute(text("INSERT INTO datasets (name, created_at, created_by) "
                                 "VALUES ('x', CURRENT_TIMESTAMP, 'a')"))  # fmt: skip
            session.execute(text("INSERT INTO datasets (name, created_at, created_by) "
                                 "VALUES ('x', CURRENT_TIMESTAMP, 'a')"))  # fmt: skip
        assert ws.data.datasets() == [] and len(ws.project.audit()) == before
