"""ws.service: whether the always-on service runs, started detached, never twice; and the
service's tables of shipway.toml saved through ws.project.save_settings, checked as read."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from core.config import SETTINGS_FILE
from core.errors import ShipwayError
from core.operations.lock import AlreadyRunning
from core.services import Workspace


def wait_for(condition, timeout_s: float = 60.0, step_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step_s)
    return bool(condition())


@pytest.fixture
def workspace(tmp_path: Path):
    ws = Workspace.create(tmp_path / "ops", name="ops")
    yield ws
    ws.close()


@pytest.mark.skipif(os.name != "posix", reason="the service lock is tested with flock")
def test_start_detached_runs_once_and_a_second_is_refused(workspace: Workspace) -> None:
    assert workspace.service.state().text == "not running"
    started = workspace.service.start()
    try:
        assert started.running and started.pid is not None
        assert started.pid != os.getpid()
        assert started.text.startswith("running (pid")
        with pytest.raises(AlreadyRunning, match="already runs for this project"):
            workspace.service.start()
        # another process starting one anyway is refused by the engine's lock, in one line
        second = subprocess.run(
            workspace.service.command(), capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 1
        assert f"pid {started.pid}" in second.stderr and "already runs" in second.stderr
        assert workspace.service.state().pid == started.pid
    finally:
        os.kill(started.pid, signal.SIGTERM)
    assert wait_for(lambda: not workspace.service.state().running)
    assert "stopped cleanly" in workspace.service.state().text


def test_a_service_that_ends_at_once_says_why(workspace: Workspace) -> None:
    settings = workspace.root / SETTINGS_FILE
    settings.write_text(
        settings.read_text(encoding="utf-8") + '\n[database]\nurl = "nosuch://x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ShipwayError) as raised:
        workspace.service.start()
    assert raised.value.code == "service_start"
    assert "the service ended at once" in raised.value.message
    assert not workspace.service.state().running


def test_service_tables_are_checked_as_the_service_reads_them(workspace: Workspace) -> None:
    path = workspace.root / SETTINGS_FILE
    path.write_text(path.read_text(encoding="utf-8") + "\n# ours\n", encoding="utf-8")
    workspace.project.save_settings(
        tables={
            "monitor": {"every": "10m", "keep": "90d"},
            "retrain": {"on_drift": True, "every": "30d"},
            "notify": {"webhook": {"url_env": "SHIPWAY_TEST_HOOK_NOT_SET"}, "desktop": True},
        }
    )
    tables = workspace.project.tables("monitor", "retrain", "notify", "imports")
    assert tables["monitor"] == {"every": "10m", "keep": "90d"}
    assert tables["retrain"] == {"on_drift": True, "every": "30d"}
    assert tables["notify"]["webhook"] == {"url_env": "SHIPWAY_TEST_HOOK_NOT_SET"}
    assert tables["imports"] == {}
    before = path.read_text(encoding="utf-8")
    assert "# ours" in before
    with pytest.raises(ShipwayError) as raised:
        workspace.project.save_settings(tables={"retrain": {"every": "soon"}})
    assert "every must be a duration" in raised.value.message
    line = int(raised.value.where.removeprefix("shipway.toml line "))
    assert path.read_text(encoding="utf-8").splitlines()[line - 1].startswith("every")
    assert path.read_text(encoding="utf-8") == before
    with pytest.raises(ShipwayError, match=r"password never goes in shipway\.toml"):
        workspace.project.save_settings(
            tables={"notify": {"email": {"to": ["a@b.c"], "host": "h", "password": "x"}}}
        )
    assert path.read_text(encoding="utf-8") == before
