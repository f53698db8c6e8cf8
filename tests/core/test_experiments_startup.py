"""What a training command does before its run: pre-start the worker, import little, check the
schema without Alembic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import core.cli
from core.project import find_project_root
from core.services import TrainRequest, Workspace
from core.store import migrate

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
HEAVY = ("sklearn", "scipy", "alembic")


@pytest.fixture
def no_prewarm_left():
    yield
    if core.cli._prewarmed is not None:
        core.cli._prewarmed.shutdown()
    core.cli._prewarmed = None


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--project", "DIR", "train", "--data", "d"], ["train", "d"]),
        (["--project=DIR", "train"], ["train"]),
        (["train", "--project", "DIR", "--json"], ["train"]),
        (["--json", "--project", "runs", "runs", "reproduce", "3"], ["runs", "reproduce", "3"]),
    ],
)
def test_command_words_skip_the_project_folder(argv: list[str], words: list[str]) -> None:
    assert core.cli._command_words(argv) == words


@pytest.mark.parametrize(
    "argv",
    [
        ["--project", "{root}", "train", "--data", "penguins", "--target", "species"],
        ["--project={root}", "train", "--data", "penguins", "--target", "species"],
        ["train", "--project", "{root}", "--data", "penguins", "--target", "species"],
        ["--project", "{root}", "runs", "reproduce", "1"],
    ],
)
def test_prewarm_starts_a_worker_wherever_the_project_is_given(
    project_dir: Path, argv: list[str], no_prewarm_left: None
) -> None:
    core.cli._prewarm([arg.format(root=project_dir) for arg in argv])
    executor = core.cli.prewarmed_executor()
    assert executor is not None and len(executor._all) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--project", "{root}", "runs", "list"],
        ["--project", "{root}", "train", "--executor", "dask", "--data", "x", "--target", "y"],
        ["--project", "{root}/missing", "train", "--data", "x", "--target", "y"],
    ],
)
def test_prewarm_starts_nothing_for_other_commands_or_executors(
    project_dir: Path, argv: list[str], no_prewarm_left: None
) -> None:
    core.cli._prewarm([arg.format(root=project_dir) for arg in argv])
    assert core.cli.prewarmed_executor() is None


def test_the_light_root_search_agrees_with_the_project_module(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = project_dir / "notebooks" / "drafts"
    deep.mkdir(parents=True)
    monkeypatch.delenv("SHIPWAY_PROJECT", raising=False)
    monkeypatch.chdir(deep)
    assert core.cli._project_root(["train"]) == find_project_root() == project_dir.resolve()
    monkeypatch.setenv("SHIPWAY_PROJECT", str(project_dir))
    assert core.cli._project_root(["train"]) == find_project_root() == project_dir.resolve()
    other = project_dir.parent / "other"
    assert core.cli._project_root(["--project", str(other), "train"]) == other.resolve()


def _modules_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running ``code``."""
    report = "import sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    script = f"{code}\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_prewarm_spawns_the_worker_before_any_heavy_import(project_dir: Path) -> None:
    loaded = _modules_after(
        "import core.cli\n"
        f"core.cli._prewarm(['--project', {str(project_dir)!r}, 'train'])\n"
        "assert core.cli.prewarmed_executor() is not None\n"
        "core.cli.prewarmed_executor().shutdown()"
    )
    assert not loaded & {"sqlalchemy", "alembic", "sklearn", "scipy", "pandas", "numpy"}


def test_the_command_process_imports_neither_sklearn_nor_alembic(project_dir: Path) -> None:
    with Workspace.open(project_dir) as workspace:
        workspace.data.import_file(PENGUINS)
        for _ in range(2):
            request = TrainRequest(data="penguins", target="species", estimator="dummy")
            assert workspace.runs.train(request).result().status == "done"
    commands = [
        ["train", "--data", "penguins", "--target", "species", "--model", "dummy"],
        ["runs", "list", "--sort", "f1"],
        ["runs", "show", "1"],
        ["runs", "compare", "1", "2"],
    ]
    calls = "".join(
        f"assert core.cli.main(['--project', {str(project_dir)!r}, *{argv!r}, '--json']) == 0\n"
        for argv in commands
    )
    loaded = _modules_after("import core.cli\n" + calls)
    assert not loaded & set(HEAVY)


def test_the_schema_check_reads_the_shipped_migrations_like_alembic() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate._config())
    assert migrate.head_revision() == scripts.get_current_head()
    assert migrate.known_revisions() == {rev.revision for rev in scripts.walk_revisions()}


def test_opening_a_current_project_does_not_import_alembic(project_dir: Path) -> None:
    loaded = _modules_after(
        "from core.services import Workspace\n"
        f"with Workspace.open({str(project_dir)!r}) as ws:\n"
        "    assert ws.project.info().schema_revision\n"
    )
    assert "alembic" not in loaded


def test_an_empty_database_has_no_revision(tmp_path: Path) -> None:
    from core.store.database import Database, sqlite_url

    database = Database(sqlite_url(str(tmp_path / "empty.db")))
    try:
        assert migrate.current_revision(database.reader) is None
        assert migrate.needs_upgrade(database.writer)
    finally:
        database.dispose()


def test_a_migration_added_later_is_seen_without_restarting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    head = migrate.head_revision()
    (copy / "versions" / "9000_later.py").write_text(
        f'"""Later."""\n\nrevision = "9000"\ndown_revision = {head!r}\n', encoding="utf-8"
    )
    assert migrate.head_revision() == "9000"
    assert migrate.known_revisions() >= {head, "9000"}
