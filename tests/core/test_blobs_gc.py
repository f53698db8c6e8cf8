"""Garbage collection of the object store, and the check that a sha256 read from the database is
one before it becomes a path.

Real projects, real imports, runs and registered models, real ``shipway gc`` processes, and a
real import killed with SIGKILL after it stored its blob and before it recorded it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import CorruptObject
from core.services import TrainRequest, Workspace
from core.store.gc import blob_columns

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
HOUR = 3600


def gc(project: Path, *args: str) -> dict:
    """``shipway gc --json ARGS`` in a fresh process; its document."""
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(project), "gc", "--json", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def blob_files(project: Path) -> set[str]:
    """The sha256 of every blob in the project's store."""
    objects = project / "objects"
    return {p.parent.name + p.name for p in objects.glob("??/*") if p.is_file()}


def age_everything(project: Path, seconds: float) -> None:
    """Make every file in objects/ look ``seconds`` old."""
    then = time.time() - seconds
    for path in (project / "objects").rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def put_orphan(project: Path, content: bytes) -> str:
    """A complete blob that no row names, as a crash of an older release would leave it."""
    sha = hashlib.sha256(content).hexdigest()
    path = project / "objects" / sha[:2] / sha[2:]
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    return sha


def dead_pid() -> int:
    """The id of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=60)
    return child.pid


# -- a project with every kind of blob ------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """penguins@1, a finished run and a registered version (with its monitoring reference)."""
    root = tmp_path_factory.mktemp("gc") / "penguins"
    with Workspace.create(root) as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(
            TrainRequest(data="penguins", target="species", estimator="logistic_regression")
        ).result()
        ws.lifecycle.register(run.id, "penguins")
    return root


@pytest.fixture
def ws(trained_project: Path, tmp_path: Path) -> Iterator[Workspace]:
    root = tmp_path / "copy"
    shutil.copytree(trained_project, root)
    workspace = Workspace.open(root)
    yield workspace
    workspace.close()


def named_blobs(ws: Workspace) -> set[str]:
    version = ws.registry.version("penguins@1")
    named = {ws.data.version("penguins@1").sha256, ws.runs.get(1).model_sha256}
    named |= {version.model_sha256, version.reference_sha256}
    assert None not in named and len(named) == 3  # data, model, reference
    return named


def test_every_column_that_names_a_blob_is_consulted() -> None:
    names = {f"{column.table.name}.{column.name}" for column in blob_columns()}
    assert {
        "blobs.sha256", "dataset_versions.sha256", "runs.model_sha256",
        "model_versions.model_sha256", "model_versions.reference_sha256",
    } <= names  # fmt: skip


def test_gc_removes_only_the_blob_no_row_names(ws: Workspace) -> None:
    root = ws.root
    named = named_blobs(ws)
    assert named <= blob_files(root)
    orphan = put_orphan(root, b"left behind by a crash")
    age_everything(root, 2 * HOUR)
    young = put_orphan(root, b"an import may be about to record this")

    planned = gc(root, "--dry-run")
    assert [(r["kind"], r["name"]) for r in planned["removed"]] == [("blob", orphan)]
    assert planned["dry_run"] is True and orphan in blob_files(root)

    done = gc(root)
    assert [(r["kind"], r["name"], r["size_bytes"]) for r in done["removed"]] == [
        ("blob", orphan, len(b"left behind by a crash"))
    ]
    assert (done["blobs_removed"], done["bytes_freed"]) == (1, 22)
    assert done["referenced"] == len(named) and done["kept_young"] == 1
    assert blob_files(root) == named | {young}
    assert ws.data.verify(ws.data.version("penguins@1")) is None
    assert ws.runs.verify_model(ws.runs.get(1)) is None
    assert len(ws.data.read("penguins")) == 344
    assert ws.project.audit(action="objects.gc")[0].detail["blobs"] == 1

    assert [r["name"] for r in gc(root, "--now")["removed"]] == [young]
    assert blob_files(root) == named


# -- a real import killed between storing its blob and recording it -------------------------------


def _write_csv(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"id": np.arange(rows), "x": rng.normal(size=rows).round(4)})
    frame.to_csv(path, index=False)
    return path


def _wait_for(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def kill_after_blob_is_stored(project: Path, csv: Path) -> str:
    """Import ``csv`` in a child process and SIGKILL it once its blob is in place but before its
    row is written; the sha256 of that blob.

    The child's temporary appearing means it is past opening the project; the test then takes
    the database's write lock, so the child stores its blob and waits for the lock to record it.
    """
    before = blob_files(project)
    child = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--project", str(project), "data", "import", str(csv)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    lock = sqlite3.connect(project / "shipway.db", isolation_level=None, timeout=120)
    try:
        tmp = project / "objects" / "tmp"
        _wait_for(lambda: any(tmp.iterdir()) or child.poll() is not None, "the temporary")
        lock.execute("BEGIN IMMEDIATE")
        _wait_for(lambda: blob_files(project) - before or child.poll() is not None, "the blob")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if lock.in_transaction:
            lock.execute("ROLLBACK")
        lock.close()
    assert child.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    [sha] = blob_files(project) - before
    return sha


def test_a_blob_left_by_a_killed_import_is_collected_by_gc(
    project_dir: Path, tmp_path: Path
) -> None:
    csv = _write_csv(tmp_path / "big.csv", 300_000)
    sha = kill_after_blob_is_stored(project_dir, csv)
    with Workspace.open(project_dir) as ws:
        assert ws.data.datasets() == []  # no row names the blob
    assert sha in blob_files(project_dir)  # young: opening kept it
    assert gc(project_dir)["removed"] == []  # so does gc, by default
    done = gc(project_dir, "--now")
    assert [(r["kind"], r["name"]) for r in done["removed"]] == [("blob", sha)]
    assert done["bytes_freed"] > 0 and done["notes_cleared"] == 1
    assert blob_files(project_dir) == set()
    assert list((project_dir / "objects" / "pending").iterdir()) == []
    with Workspace.open(project_dir) as ws:
        version = ws.data.import_file(csv).version  # the same data imports again, whole
        assert version.sha256 == sha and ws.data.verify(version) is None


def test_opening_a_project_collects_a_killed_imports_blob_past_the_age(
    workspace: Workspace, tmp_path: Path
) -> None:
    kept = workspace.data.import_file(PENGUINS).version.sha256
    root = workspace.root
    sha = kill_after_blob_is_stored(root, _write_csv(tmp_path / "big.csv", 300_000))
    age_everything(root, 2 * HOUR)
    with Workspace.open(root) as again:
        assert blob_files(root) == {kept}
        assert list((root / "objects" / "pending").iterdir()) == []
        assert len(again.data.read("penguins")) == 344
    assert sha not in blob_files(root)


# -- what a live process is writing, and temporaries ---------------------------------------------


def test_what_a_live_process_is_storing_is_kept_and_abandoned_temporaries_go(
    project_dir: Path,
) -> None:
    objects, host = project_dir / "objects", socket.gethostname()
    live_blob = put_orphan(project_dir, b"about to be recorded by a live process")
    pending = objects / "pending"
    pending.mkdir(exist_ok=True)
    (pending / f"{host}-{os.getpid()}-a").write_text(live_blob)
    (pending / f"{host}-{dead_pid()}-b").write_text("../../x")  # a note naming no blob
    temporaries = {
        "dead": f"{host}-{dead_pid()}-c.parquet",
        "live": f"{host}-{os.getpid()}-d.parquet",
        "old elsewhere": "otherhost-123-e.parquet",
        "young elsewhere": "otherhost-123-f.parquet",
    }
    for name in temporaries.values():
        (objects / "tmp" / name).write_bytes(b"partial")
    age_everything(project_dir, 2 * HOUR)
    os.utime(objects / "tmp" / temporaries["young elsewhere"])
    os.utime(objects / "tmp" / temporaries["dead"])  # a dead process's file goes at any age

    done = gc(project_dir)  # opening the project already swept the dead process's file
    assert [(r["kind"], r["name"]) for r in done["removed"]] == [
        ("temporary", temporaries["old elsewhere"])
    ]
    assert {p.name for p in (objects / "tmp").iterdir()} == {
        temporaries["live"], temporaries["young elsewhere"]
    }  # fmt: skip
    assert live_blob in blob_files(project_dir)
    assert [p.name for p in pending.iterdir()] == [f"{host}-{os.getpid()}-a"]
    assert [r["name"] for r in gc(project_dir, "--now")["removed"]] == [
        temporaries["young elsewhere"]
    ]
    assert live_blob in blob_files(project_dir)  # even with --now


def test_a_shared_objects_folder_is_collected_only_when_told(tmp_path: Path) -> None:
    root = tmp_path / "project"
    Workspace.create(root).close()
    settings = root / "shipway.toml"
    settings.write_text(settings.read_text() + '\n[storage]\nobjects = "../shared-objects"\n')
    with Workspace.open(root) as ws:
        ws.data.import_file(PENGUINS)
    shared = tmp_path / "shared-objects"
    sha = hashlib.sha256(b"another project's blob").hexdigest()
    (shared / sha[:2]).mkdir(exist_ok=True)
    (shared / sha[:2] / sha[2:]).write_bytes(b"another project's blob")
    (shared / "pending" / f"{socket.gethostname()}-{dead_pid()}-a").write_text(sha)
    age_everything(root, 2 * HOUR)
    Workspace.open(root).close()  # opening does not collect in a shared folder
    assert (shared / sha[:2] / sha[2:]).is_file()
    refused = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(root), "gc", "--now"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    [line] = refused.stderr.splitlines()
    assert "shared folder" in line and "gc --shared" in line
    assert (shared / sha[:2] / sha[2:]).is_file()
    done = gc(root, "--now", "--shared")
    assert [r["name"] for r in done["removed"]] == [sha]


# -- a sha256 from the database becomes a path only if it is one ---------------------------------


def test_a_sha256_that_is_not_one_never_becomes_a_path(
    workspace: Workspace, tmp_path: Path
) -> None:
    version = workspace.data.import_file(PENGUINS).version
    database = sqlite3.connect(workspace.root / "shipway.db")
    with database:
        database.execute(
            "UPDATE dataset_versions SET sha256 = '../../x' WHERE id = ?", (version.id,)
        )
    database.close()
    tampered = workspace.data.version("penguins@1")
    assert tampered.sha256 == "../../x"
    for action in (
        lambda: workspace.data.read("penguins@1"),
        lambda: workspace.data.verify(tampered),
        lambda: workspace.data.export("penguins@1", tmp_path / "out.csv"),
    ):
        with pytest.raises(CorruptObject) as caught:
            action()
        assert "'../../x', which is not a sha256" in caught.value.message
        assert "backup" in caught.value.hint
    assert not (tmp_path / "out.csv").exists()
    shown = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(workspace.root), "data", "show",
         "penguins@1", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shown.returncode == 1 and json.loads(shown.stdout)["error"] == "corrupt_object"
    assert "not a sha256" in shown.stderr and len(shown.stderr.splitlines()) == 1
    assert version.sha256 in blob_files(workspace.root)
    assert gc(workspace.root, "--now")["removed"] == []  # the blob row still names the blob


def test_an_age_that_is_not_a_duration_is_a_usage_error(project_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(project_dir), "gc", "--age", "soon"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "shipway: error: --age 'soon' is not a duration — write seconds, or e.g. 30m, 2h, 1d"
    ]
    assert gc(project_dir, "--age", "90m")["min_age_s"] == 5400
