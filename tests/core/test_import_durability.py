"""Imports that are killed, or that run two at a time, leave a consistent project."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.services import Workspace


def _write_csv(path: Path, rows: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "id": np.arange(rows),
            "amount": rng.normal(100, 15, rows).round(2),
            "city": rng.choice(["Lyon", "Oslo", "Graz", "Porto"], rows),
            "score": rng.integers(0, 1000, rows),
        }
    )
    frame.to_csv(path, index=False)
    return path


def _import_command(project: Path, csv: Path, name: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "core.cli",
        "--project",
        str(project),
        "data",
        "import",
        str(csv),
        "--name",
        name,
        "--json",
    ]


def test_two_processes_importing_at_once_both_land(project_dir: Path, tmp_path: Path) -> None:
    files = [_write_csv(tmp_path / f"part{i}.csv", 50_000, seed=i) for i in range(2)]
    processes = [
        subprocess.Popen(
            _import_command(project_dir, f, "sales"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    results = [p.communicate(timeout=120) for p in processes]
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr
        assert "locked" not in stderr
    with Workspace.open(project_dir) as ws:
        versions = ws.data.versions("sales")
        assert [v.version for v in versions] == [1, 2]
        assert versions[1].parent_version == 1
        assert {v.source_sha256 for v in versions} == {
            ws.data.version("sales@1").source_sha256,
            ws.data.version("sales@2").source_sha256,
        }
        assert len(ws.project.audit(action="dataset.import")) == 2


def _objects(project: Path) -> set[Path]:
    return {p for p in (project / "objects").rglob("*") if p.is_file()}


def _kill_during_import(project: Path, csv: Path, delay: float | None) -> None:
    """Start an import and SIGKILL it after ``delay`` s, or as soon as its temp blob appears."""
    process = subprocess.Popen(
        _import_command(project, csv, "big"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    tmp = project / "objects" / "tmp"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if delay is None and any(tmp.iterdir()):
            break
        if delay is not None and time.monotonic() > deadline - 60 + delay:
            break
        time.sleep(0.002)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.mark.parametrize("delay", [None, 0.3, 0.8, 1.5])
def test_an_import_killed_midway_leaves_old_state_or_the_whole_version(
    project_dir: Path, tmp_path: Path, delay: float | None
) -> None:
    csv = _write_csv(tmp_path / "big.csv", 300_000, seed=7)
    before = _objects(project_dir)
    _kill_during_import(project_dir, csv, delay)
    with Workspace.open(project_dir) as ws:  # the next start sweeps temporaries
        assert list((project_dir / "objects" / "tmp").iterdir()) == []
        datasets = ws.data.datasets()
        if datasets:  # the import finished before the kill: the version must be whole
            version = ws.data.version("big")
            assert version.rows == 300_000
            assert ws.data.verify(version) is None
            assert len(ws.data.read("big")) == 300_000
        outcome = ws.data.import_file(csv, _options("big"))
        assert outcome.version.rows == 300_000
        assert ws.data.verify(outcome.version) is None
    assert before <= _objects(project_dir)


def _options(name: str):
    from core.services import ImportOptions

    return ImportOptions(name=name)


def test_a_flipped_byte_is_reported_and_never_used(workspace: Workspace, tmp_path: Path) -> None:
    csv = _write_csv(tmp_path / "small.csv", 1000, seed=1)
    version = workspace.data.import_file(csv).version
    blob = workspace.root / "objects" / version.sha256[:2] / version.sha256[2:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x10
    blob.write_bytes(bytes(data))
    assert "corrupt" in (workspace.data.verify(version) or "")
    from core.errors import CorruptObject

    with pytest.raises(CorruptObject, match="corrupt"):
        workspace.data.read("small")
    with pytest.raises(CorruptObject):
        workspace.data.export("small", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "core.cli",
            "--project",
            str(workspace.root),
            "data",
            "show",
            "small",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert '"ok": false' in result.stdout
    assert result.stderr.count("\n") == 1 and "corrupt" in result.stderr
