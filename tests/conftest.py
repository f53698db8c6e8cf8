"""Shared fixtures. Qt runs offscreen in every test (set before any QApplication exists)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("SHIPWAY_USER", "tester")

from collections.abc import Callable
from pathlib import Path

import pytest

from core.errors import ImportFailed, ShipwayError
from core.services import Workspace


@pytest.fixture
def workspace(tmp_path: Path):
    """A fresh project on a real SQLite file, closed after the test."""
    ws = Workspace.create(tmp_path / "proj", name="proj")
    yield ws
    ws.close()


@pytest.fixture
def project_dir(workspace: Workspace) -> Path:
    return workspace.root


# -- data import: a refused import leaves the project exactly as it was --------------------


def stored_objects(root: Path) -> set[str]:
    """Every file under the project's objects/ folder (blobs and temporaries)."""
    objects = root / "objects"
    return {str(p.relative_to(objects)) for p in objects.rglob("*") if p.is_file()}


@pytest.fixture
def refused(workspace: Workspace) -> Callable[..., ShipwayError]:
    """``refused(action, error=ImportFailed)``: run an import that must fail, return the error.

    Also checks that the failure stored nothing: the same data sets and versions as before, no
    new blob under objects/, and nothing left in objects/tmp/.
    """

    def check(action: Callable[[], object], error: type[ShipwayError] = ImportFailed):
        datasets = [(d.name, d.versions) for d in workspace.data.datasets()]
        objects = stored_objects(workspace.root)
        with pytest.raises(error) as caught:
            action()
        assert [(d.name, d.versions) for d in workspace.data.datasets()] == datasets
        assert stored_objects(workspace.root) == objects
        assert not any((workspace.root / "objects" / "tmp").iterdir())
        return caught.value

    return check


# -- PostgreSQL: one throwaway server per test session, a fresh database per test ---------------


@pytest.fixture(scope="session")
def postgres_server():
    from tests.pg import PASSWORD, running_server

    with running_server() as server:
        previous = os.environ.get("SHIPWAY_DB_PASSWORD")
        os.environ["SHIPWAY_DB_PASSWORD"] = PASSWORD  # children inherit it too
        yield server
        if previous is None:
            os.environ.pop("SHIPWAY_DB_PASSWORD", None)
        else:
            os.environ["SHIPWAY_DB_PASSWORD"] = previous


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite beside shipway.toml) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_server").new_database()


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadfile`` that ends the run when a worker crashes (tests/xdist_crash.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.xdist_crash import CrashSafeLoadFile

    return CrashSafeLoadFile(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The two longest files first: with pytest-xdist's ``--dist loadfile`` (scripts/test) a
    worker takes the next whole file when it is free, so the installer test starts at once on
    one worker and the desktop tests on the other, and the short files fill in around them.
    Sorting is stable: the order inside each part is the usual one.

    (``--dist loadgroup`` cannot group here: pytest 9.2 made a test's node id read-only, so
    pytest-xdist 3.8's group suffix is silently dropped and every test is sent on its own; one
    file's tests then ran in both workers at once, and the installer was built twice into the
    same folder.)
    """
    items.sort(key=_longest_first)


def _longest_first(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    if path == "tests/packaging/test_deb.py":
        return 0
    return 1 if path.startswith("tests/desktop/") else 2
