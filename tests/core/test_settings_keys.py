"""shipway.toml: keys nothing reads are warned about (naming key and line), and the settings the
app edits are written with the file's comments kept, checked as their readers read them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ShipwayError
from core.services import Workspace
from tests.e2e.cli import shipway


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "p"
    Workspace.create(folder, name="p").close()
    return folder


def _edit(folder: Path, change) -> None:
    path = folder / "shipway.toml"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def _line(folder: Path, needle: str) -> int:
    lines = (folder / "shipway.toml").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(needle))


def test_unknown_and_misplaced_keys_are_named_with_their_line(project: Path) -> None:
    _edit(project, lambda t: t.replace("[data]\n", "[data]\nmissing_tokenz = []\n", 1)
          + "\n[drift]\ndrift_buckets = 3\n\n[monitorr]\nevery = '5m'\n")  # fmt: skip
    with Workspace.open(project) as ws:
        warnings = ws.project.warnings()
    assert f"shipway.toml line {_line(project, 'missing_tokenz')}: unknown key 'missing_tokenz' " \
        "in [data]" in warnings  # fmt: skip
    misplaced = next(w for w in warnings if "drift_buckets" in w)
    assert misplaced.endswith("it belongs in [triggers]")
    assert f"line {_line(project, 'drift_buckets')}" in misplaced
    assert any(w.startswith(f"shipway.toml line {_line(project, '[monitorr]')}: unknown table")
               for w in warnings)  # fmt: skip


def test_a_clean_file_has_no_warning_and_the_cli_shows_them(project: Path) -> None:
    with Workspace.open(project) as ws:
        assert ws.project.warnings() == []
    _edit(project, lambda t: t + "\n[serving]\nworkers = 2\nthreads = 4\n")
    result = shipway(project, "info")
    assert result.returncode == 0
    assert "unknown key 'threads' in [serving]" in result.stderr


def test_settings_are_written_with_comments_kept_and_checked(project: Path) -> None:
    before = (project / "shipway.toml").read_text(encoding="utf-8")
    comments = [line for line in before.splitlines() if line.startswith("#")]
    with Workspace.open(project) as ws:
        ws.project.save_settings(
            tables={
                "triggers": {"drift_buckets": 3, "live_metrics": {"f1": ">= 0.8"}, "retrain": True},
                "drift": {"bucket_seconds": 600},
            }
        )
        config = ws.monitoring.trigger_config()
        assert (config.drift_buckets, config.retrain) == (3, True)
        assert ws.monitoring.drift_config().bucket_seconds == 600
        written = (project / "shipway.toml").read_text(encoding="utf-8")
        with pytest.raises(ShipwayError, match="drift_bucketz"):
            ws.project.save_settings(tables={"triggers": {"drift_bucketz": 2}})
        assert (project / "shipway.toml").read_text(encoding="utf-8") == written  # put back
        ws.project.save_settings(tables={"triggers": {"retrain": None}})  # None removes a key
        assert ws.monitoring.trigger_config().retrain is False
    after = (project / "shipway.toml").read_text(encoding="utf-8")
    assert all(line in after for line in comments)
