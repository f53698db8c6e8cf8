"""The frozen entry script's dispatch: which command lines run what, and which are refused."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.conftest import PACKAGING, ROOT

LOKY_WORKER = "joblib.externals.loky.backend.popen_loky_posix"


def test_the_executable_name_chooses_the_cli_or_the_app(entry) -> None:
    assert entry.plan(["/opt/shipway/shipway", "--version"]) == (
        "module",
        "core.cli",
        ["--version"],
    )
    assert entry.plan(["/usr/bin/shipway-desktop", "--demo"]) == (
        "module",
        "desktop.app",
        ["--demo"],
    )
    assert entry.plan(["C:\\Shipway\\Shipway-Desktop.EXE"])[1] == "desktop.app"
    assert entry.plan(["shipway", "--frozen-self-test"]) == ("self-test", "", [])


def test_a_link_with_another_name_falls_back_to_the_file_it_points_at(entry) -> None:
    assert entry.plan(["/tmp/sw", "init", "x"], executable="/opt/shipway/shipway")[1] == "core.cli"
    with pytest.raises(entry.Refused, match="unknown executable name 'python3'"):
        entry.plan(["/usr/bin/python3", "x"], executable="/usr/bin/python3")


def test_the_engines_child_command_lines_are_recognised(entry, tmp_path: Path) -> None:
    serving = ["x", "-m", "core.serving", "--watch", "current.json", "--port", "0"]
    assert entry.plan(serving) == ("module", "core.serving", serving[3:])
    assert entry.plan(["x", "-m", "core.registry.smoke", str(tmp_path)])[1] == "core.registry.smoke"
    assert entry.plan(["x", "-m", "core.cli", "train"]) == ("module", "core.cli", ["train"])
    worker = ["x", "-m", LOKY_WORKER, "--process-name", "LokyProcess-1", "--pipe", "9"]
    assert entry.plan(worker) == ("module", LOKY_WORKER, worker[3:])


def test_lokys_resource_tracker_is_recognised_as_loky_writes_it(entry) -> None:
    from joblib.externals.loky.backend import resource_tracker

    # The very f-string loky's ResourceTracker.ensure_running uses to start it.
    code = f"from {resource_tracker.main.__module__} import main; main({7}, {False})"
    flags = entry.interpreter_flags()
    assert entry.plan(["x", *flags, "-c", code]) == ("tracker", "7", ["False"])
    with pytest.raises(entry.Refused):
        entry.plan(["x", "-B", "-c", code], flags=[])


def test_lokys_worker_module_is_the_one_it_starts() -> None:
    from joblib.externals.loky.backend import popen_loky_posix

    assert popen_loky_posix.Popen.__module__ == LOKY_WORKER


def test_every_module_the_engine_starts_with_sys_executable_is_dispatched(entry) -> None:
    started = set()
    for path in (ROOT / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        started |= set(re.findall(r'sys\.executable,\s*"-m",\s*"([\w.]+)"', text))
    assert started, "no child process found: the pattern above needs updating"
    # pip is run by `bundle export --with-wheels` to download wheels: that needs a Python with
    # pip (a source install of Shipway); the installed app does not dispatch it.
    started.discard("pip")
    assert started <= set(entry.CHILD_MODULES)


@pytest.mark.parametrize(
    "argv",
    [
        ["shipway", "-m", "os"],
        ["shipway", "-m"],
        ["shipway-desktop", "-m", "http.server"],
        ["shipway", "-c", "import os; os.system('x')"],
        ["shipway", "-c"],
        ["shipway", "-m", "core.registry.smoke"],
        ["shipway", "-m", "core.registry.smoke", "/no/such/folder"],
    ],
)
def test_anything_else_that_looks_like_an_interpreter_is_refused(entry, argv) -> None:
    with pytest.raises(entry.Refused):
        entry.plan(argv)


def test_a_refusal_exits_2_with_one_line(entry, capsys) -> None:
    assert entry.main(["shipway", "-m", "os"]) == 2
    assert capsys.readouterr().err.strip() == (
        "shipway: refusing to run module 'os': not one of Shipway's own"
    )


def test_a_project_file_opens_its_folder(entry, tmp_path: Path) -> None:
    (tmp_path / "shipway.toml").write_text("")
    (tmp_path / "Penguins.shipway").write_text("")
    args = [str(tmp_path / "shipway.toml"), "--theme", "dark", str(tmp_path / "Penguins.shipway")]
    assert entry.project_folders(args) == [str(tmp_path), "--theme", "dark", str(tmp_path)]
    assert entry.project_folders([str(tmp_path), "--demo"]) == [str(tmp_path), "--demo"]


def test_the_entry_script_runs_a_module_as_python_m_would() -> None:
    script = str(PACKAGING / "entry.py")
    found = subprocess.run(
        [sys.executable, script, "-m", "core.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert found.returncode == 0 and found.stdout.startswith("shipway "), found.stderr
    refused = subprocess.run(
        [sys.executable, script, "-m", "core.registry.smoke", "a", "b"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert refused.returncode == 2 and "exactly one model directory" in refused.stderr


def test_lokys_windows_worker_is_told_from_multiprocessings(entry) -> None:
    assert entry.is_loky_windows_worker(["x.exe", "--multiprocessing-fork", "1234"], "win32")
    spawn = ["x.exe", "--multiprocessing-fork", "parent_pid=1", "pipe_handle=2"]
    assert not entry.is_loky_windows_worker(spawn, "win32")
    assert not entry.is_loky_windows_worker(["x", "--multiprocessing-fork", "1234"], "linux")


def test_dash_c_as_a_cli_argument_value_is_not_an_interpreter_line(entry) -> None:
    argv = ["shipway", "data", "import", "a.csv", "--delimiter", "-c"]
    assert entry.plan(argv) == ("module", "core.cli", argv[1:])
