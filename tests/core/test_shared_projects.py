"""Shared projects: blobs on a shared folder, warnings for SQLite in unsafe places, and the
change feed the app polls to see what teammates did."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.services import Workspace
from core.shared_storage import filesystem_type, sqlite_placement_warning

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
fileserver:/export/team /mnt/team nfs4 rw,vers=4.2 0 0
//nas/share /mnt/nas cifs rw 0 0
/dev/sdb1 /mnt/team/local ext4 rw 0 0
"""


def test_network_file_systems_are_recognised_by_their_mount() -> None:
    assert filesystem_type(Path("/mnt/team/projects/p"), MOUNTS) == "nfs4"
    assert filesystem_type(Path("/mnt/team/local/p"), MOUNTS) == "ext4"  # the deeper mount wins
    assert filesystem_type(Path("/mnt/teamwork/p"), MOUNTS) == "ext4"  # not a prefix match
    warning = sqlite_placement_warning(Path("/mnt/nas/p"), MOUNTS)
    assert "network file system (cifs)" in warning and "PostgreSQL" in warning
    assert sqlite_placement_warning(Path("/home/ann/p"), MOUNTS) is None


def test_sqlite_in_a_cloud_sync_folder_warns_on_open(tmp_path: Path) -> None:
    root = tmp_path / "Dropbox" / "penguins"
    with Workspace.create(root) as ws:
        assert "cloud-sync folder (Dropbox)" in ws.project.warnings()[0]
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "--project", str(root), "info"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and "shipway: warning: " in result.stderr
    with Workspace.create(tmp_path / "local") as ws:
        assert ws.project.warnings() == []


def test_objects_can_live_on_a_shared_folder(tmp_path: Path) -> None:
    root = tmp_path / "project"
    Workspace.create(root).close()
    settings = root / "shipway.toml"
    settings.write_text(settings.read_text() + '\n[storage]\nobjects = "../shared-objects"\n')
    with Workspace.open(root) as ws:
        version = ws.data.import_file(PENGUINS).version
    blob = tmp_path / "shared-objects" / version.sha256[:2] / version.sha256[2:]
    assert blob.is_file()
    with Workspace.open(root) as ws:
        assert ws.data.read("penguins").shape == (344, 8)


def test_changes_by_a_teammate_show_in_the_feed(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "p"
    monkeypatch.setenv("SHIPWAY_USER", "ann")
    with Workspace.create(root) as ann:
        cursor = ann.project.last_change()
        monkeypatch.setenv("SHIPWAY_USER", "bob")
        with Workspace.open(root) as bob:
            bob.data.import_file(PENGUINS)
        changes = ann.project.changes_since(cursor)
        assert [c.action for c in changes] == ["dataset.create", "dataset.import"]
        assert {c.user for c in changes} == {"bob"}
        assert ann.project.changes_since(ann.project.last_change()) == []
