"""Installing the always-on service for one user: the per-user project list, the systemd user
unit (checked by systemd's own ``systemd-analyze verify``), the commands given to ``systemctl
--user``, the macOS and Windows files, and every refusal.

The machines the tests run on have no systemd user manager (a container): the unit is verified
with ``systemd-analyze --user verify`` in a private runtime folder, and the commands are checked
through a stand-in ``systemctl`` on PATH that records what it is asked and answers like the real
one.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from core.config import write_new_settings
from core.errors import NotFound, ProjectError
from core.operations import install as installer
from core.operations.unit_files import (
    RUN_ARGS,
    TASK_NS,
    launchd_plist,
    service_command,
    systemd_unit,
    task_xml,
)
from core.operations.user_config import ServiceConfigError, config_file, read_projects

NS = {"t": TASK_NS}

# A systemctl that answers like one with a user manager: it records each call and keeps
# "active" in a file once `enable --now` or `restart` ran, until `disable --now`.
STAND_IN_SYSTEMCTL = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls.log"
state="$(dirname "$0")/active"
case "$*" in
  "--user show-environment") echo "HOME=$HOME" ;;
  "--user is-active shipway.service")
    if [ -f "$state" ]; then echo active; else echo inactive; exit 3; fi ;;
  "--user is-enabled shipway.service")
    if [ -f "$state" ]; then echo enabled; else echo disabled; exit 1; fi ;;
  "--user enable --now shipway.service"|"--user restart shipway.service") touch "$state" ;;
  "--user disable --now shipway.service") rm -f "$state" ;;
esac
exit 0
"""


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_project(folder: Path) -> Path:
    folder.mkdir(parents=True)
    write_new_settings(folder, folder.name, ())
    return folder


def linux_context(tmp_path: Path, systemctl: str | None, command=None) -> installer.Context:
    """A user whose home is under tmp_path; ``systemctl``: None (absent), or a stand-in's text."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    if systemctl is not None:
        executable(bin_dir / "systemctl", systemctl)
    env = {
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / "cfg"),
        # The stand-in needs the shell's tools; without it, no systemctl is on PATH at all.
        "PATH": str(bin_dir) + (os.pathsep + os.defpath if systemctl is not None else ""),
    }
    return installer.Context("linux", env, tuple(command or service_command()))


def calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "bin" / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def systemd_verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """``systemd-analyze --user verify UNIT``."""
    return systemd_analyze(tmp_path, "verify", str(unit))


def systemd_analyze(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``systemd-analyze --user ARGS`` for the user whose home is under tmp_path. A user
    manager's checks need a runtime folder (without one: "Failed to lookup RuntimeDirectory
    path"); a private one is enough, no manager has to run."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: install Debian's systemd package (scripts/test)")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / "cfg"),
        "XDG_RUNTIME_DIR": str(runtime),
    }
    return subprocess.run([tool, "--user", *args], capture_output=True, text=True, env=env)


# -- the unit -----------------------------------------------------------------------------------


def test_the_installed_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    project = make_project(tmp_path / "churn")
    context = linux_context(tmp_path, None)
    outcome = installer.install(project, context)
    unit = tmp_path / "home" / "cfg" / "systemd" / "user" / "shipway.service"
    assert outcome.unit_file == unit and outcome.unit_state == "written"
    text = unit.read_text()
    assert f"ExecStart={' '.join(service_command())}\n" in text
    for line in (
        "Type=simple",
        "Restart=on-failure",
        "RestartSec=10",
        "Environment=PYTHONUNBUFFERED=1",
        "WantedBy=default.target",
    ):
        assert f"\n{line}\n" in text
    checked = systemd_verify(unit, tmp_path)
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), checked


def test_the_unit_is_not_world_writable_whatever_the_umask(tmp_path: Path) -> None:
    project = make_project(tmp_path / "churn")
    previous = os.umask(0)
    try:
        outcome = installer.install(project, linux_context(tmp_path, None))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(outcome.unit_file.stat().st_mode) == 0o644


def test_a_program_path_with_spaces_percent_and_dollar_is_quoted_for_systemd(
    tmp_path: Path,
) -> None:
    program = executable(tmp_path / "odd %h $HOME dir" / "shipway", "#!/bin/sh\nexit 0\n")
    unit = tmp_path / "home" / "cfg" / "systemd" / "user" / "shipway.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(systemd_unit((str(program), *RUN_ARGS)))
    unit.chmod(0o644)  # as the installer writes it, whatever this process's umask
    checked = systemd_verify(unit, tmp_path)
    assert checked.returncode == 0 and not (checked.stdout + checked.stderr).strip(), checked
    # The same line written naively: systemd splits it and expands %h, and says so.
    naive = systemd_unit(("PLACEHOLDER", *RUN_ARGS)).replace("PLACEHOLDER", str(program))
    unit.write_text(naive)
    unit.chmod(0o644)
    refused = systemd_verify(unit, tmp_path)
    assert refused.returncode != 0 and "not executable" in refused.stderr


def test_once_the_program_is_removed_the_unit_is_skipped_not_failing(tmp_path: Path) -> None:
    program = executable(tmp_path / "opt %i" / "shipway", "#!/bin/sh\nexit 0\n")
    context = linux_context(tmp_path, None, command=(str(program), *RUN_ARGS))
    installer.install(make_project(tmp_path / "churn"), context)
    found = systemd_analyze(tmp_path, "condition", "--unit=shipway.service")
    assert found.returncode == 0 and "Conditions succeeded." in found.stderr, found
    program.unlink()  # the package was removed
    gone = systemd_analyze(tmp_path, "condition", "--unit=shipway.service")
    assert gone.returncode != 0 and "Conditions failed." in gone.stderr, gone


# -- the list and the commands ------------------------------------------------------------------


def test_install_and_uninstall_round_trip_the_list_and_keep_its_comments(tmp_path: Path) -> None:
    churn, penguins = make_project(tmp_path / "churn"), make_project(tmp_path / "pen guins")
    context = linux_context(tmp_path, None)
    config = config_file("linux", context.env)
    assert config == tmp_path / "home" / "cfg" / "shipway" / "service.toml"
    first = installer.install(churn, context)
    assert first.list_changed and read_projects(config) == (churn,)
    assert first.warnings and "systemctl --user enable --now shipway.service" in first.to_run
    config.write_text("# my note\n" + config.read_text() + "\n[extra]\nkeep = 1\n")
    installer.install(penguins, context)
    again = installer.install(churn, context)
    assert not again.list_changed and again.unit_state == "unchanged"
    assert read_projects(config) == (churn, penguins)

    kept = installer.uninstall(churn, context=context)
    assert kept.unit_state == "kept" and kept.unit_file.is_file()
    assert read_projects(config) == (penguins,)
    last = installer.uninstall(penguins, context=context)
    assert last.unit_state == "removed" and not last.unit_file.exists()
    assert read_projects(config) == ()
    text = config.read_text()
    assert "# my note" in text and "keep = 1" in text


def test_with_a_user_manager_install_enables_and_restarts_on_changes(tmp_path: Path) -> None:
    churn, penguins = make_project(tmp_path / "churn"), make_project(tmp_path / "penguins")
    context = linux_context(tmp_path, STAND_IN_SYSTEMCTL)
    first = installer.install(churn, context)
    assert not first.warnings and not first.to_run
    assert first.ran == (
        "systemctl --user daemon-reload",
        "systemctl --user enable --now shipway.service",
    )
    second = installer.install(penguins, context)  # running, and the list changed: restart
    assert second.ran[-1] == "systemctl --user restart shipway.service"
    third = installer.install(penguins, context)  # nothing changed: no restart
    assert third.ran[-1] == "systemctl --user enable --now shipway.service"

    report = installer.status(None, context)
    assert (report.installed, report.reachable, report.enabled, report.active) == (
        True,
        True,
        True,
        True,
    )
    installer.uninstall(churn, context=context)
    assert calls(tmp_path)[-1] == "--user try-restart shipway.service"
    installer.uninstall(penguins, context=context)
    assert calls(tmp_path)[-2:] == [
        "--user disable --now shipway.service",
        "--user daemon-reload",
    ]
    assert installer.status(None, context).active is False


def test_a_refused_systemctl_step_is_one_clear_error(tmp_path: Path) -> None:
    refusal = '  *enable*) echo "Access denied" >&2; exit 1 ;;\n'
    refusing = STAND_IN_SYSTEMCTL.replace('case "$*" in\n', 'case "$*" in\n' + refusal)
    context = linux_context(tmp_path, refusing)
    with pytest.raises(installer.ServiceInstallError) as caught:
        installer.install(make_project(tmp_path / "churn"), context)
    line = caught.value.one_line()
    assert "`systemctl --user enable --now shipway.service` failed: Access denied" in line
    assert "shipway.service" in (caught.value.where or "")


# -- refusals -----------------------------------------------------------------------------------


def test_install_outside_a_project_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    context = linux_context(tmp_path, None)
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectError) as caught:
        installer.install(tmp_path / "plain", context)
    assert "no shipway.toml" in caught.value.one_line()
    assert not (tmp_path / "home").exists()


def test_uninstall_of_a_project_not_listed_is_refused(tmp_path: Path) -> None:
    context = linux_context(tmp_path, None)
    installer.install(make_project(tmp_path / "churn"), context)
    with pytest.raises(NotFound) as caught:
        installer.uninstall(make_project(tmp_path / "other"), context=context)
    assert "not in the service's project list" in caught.value.one_line()
    assert read_projects(config_file("linux", context.env)) == (tmp_path / "churn",)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ('# list\nprojects = ["/a",\n  "/b"\n  "/c"]\n', 4, "not valid TOML"),
        ('\nprojects = "/a"\n', 2, "must be a list"),
        ('projects = ["/a", "relative/b"]\n', 1, "relative path"),
    ],
)
def test_a_corrupt_service_toml_names_its_file_and_line(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    context = linux_context(tmp_path, None)
    config = config_file("linux", context.env)
    config.parent.mkdir(parents=True)
    config.write_text(text)
    with pytest.raises(ServiceConfigError) as caught:
        installer.install(make_project(tmp_path / "churn"), context)
    message = caught.value.one_line()
    assert f"{config} line {line}" in message and says in message
    assert "\n" not in message
    assert config.read_text() == text  # nothing lost
    with pytest.raises(ServiceConfigError):
        installer.status(None, context)


# -- macOS and Windows: the files and the commands ----------------------------------------------


def test_the_launchd_agent_parses_and_runs_the_service(tmp_path: Path) -> None:
    command = ("/Applications/Shipway.app/Contents/MacOS/shipway", *RUN_ARGS)
    agent = plistlib.loads(launchd_plist(command, tmp_path / "Logs" / "service.log"))
    assert agent["Label"] == "com.shipway.service"
    assert agent["ProgramArguments"] == list(command)
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["StandardErrorPath"] == str(tmp_path / "Logs" / "service.log")

    env = {"HOME": str(tmp_path / "Users" / "ada"), "PATH": str(tmp_path)}
    manager = installer.manager_for(installer.Context("darwin", env, command))
    assert (
        manager.unit_file == tmp_path / "Users/ada/Library/LaunchAgents/com.shipway.service.plist"
    )
    steps = [s.argv for s in manager.start_steps(was_running=False, changed=True)]
    uid = os.getuid()
    assert steps[-1] == ("launchctl", "bootstrap", f"gui/{uid}", str(manager.unit_file))
    assert config_file("darwin", env) == (
        tmp_path / "Users/ada/Library/Application Support/Shipway/service.toml"
    )


def test_the_task_scheduler_task_parses_and_runs_the_service(tmp_path: Path) -> None:
    command = (
        r"C:\Users\Ada Lovelace\AppData\Local\Programs\Shipway\shipway-desktop.exe",
        "-m",
        "core.cli",
        *RUN_ARGS,
    )
    xml_file = tmp_path / "task.xml"
    xml_file.write_text(task_xml(command, r"HOST\ada"), encoding="utf-16")
    task = ET.parse(xml_file).getroot()
    assert task.find("t:Actions/t:Exec/t:Command", NS).text == command[0]
    assert task.find("t:Actions/t:Exec/t:Arguments", NS).text == (
        "-m core.cli service run --all-projects"
    )
    assert task.find("t:Triggers/t:LogonTrigger/t:UserId", NS).text == r"HOST\ada"
    assert task.find("t:Settings/t:RestartOnFailure/t:Interval", NS).text == "PT1M"
    assert task.find("t:Settings/t:ExecutionTimeLimit", NS).text == "PT0S"

    env = {"APPDATA": r"C:\Users\Ada\AppData\Roaming", "USERNAME": "ada", "USERDOMAIN": "HOST"}
    manager = installer.manager_for(installer.Context("win32", env, command))
    create = manager.start_steps(was_running=False, changed=True)[0].argv
    assert create == ("schtasks", "/Create", "/XML", str(manager.unit_file), "/TN", "Shipway", "/F")
    assert manager.content().startswith(b"\xff\xfe")  # UTF-16, as schtasks reads it


def test_the_service_command_is_the_shipway_beside_the_running_program(tmp_path: Path) -> None:
    frozen = tmp_path / "opt" / "shipway"
    executable(frozen / "shipway", "")
    executable(frozen / "shipway-desktop", "")
    from_desktop = service_command("linux", str(frozen / "shipway-desktop"), frozen=True)
    assert from_desktop == (str(frozen / "shipway"), *RUN_ARGS)
    venv = tmp_path / "venv" / "bin"
    executable(venv / "python", "")
    assert service_command("linux", str(venv / "python"), False)[0] == str(venv / "python")
    executable(venv / "shipway", "")
    assert service_command("linux", str(venv / "python"), False) == (
        str(venv / "shipway"),
        *RUN_ARGS,
    )
    executable(frozen / "shipway-desktop.exe", "")
    windowless = service_command("win32", str(frozen / "shipway.exe"), frozen=True)
    assert windowless == (str(frozen / "shipway-desktop.exe"), "-m", "core.cli", *RUN_ARGS)


def test_other_platforms_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    context = installer.Context("freebsd14", {"HOME": str(tmp_path / "home")}, (sys.executable,))
    with pytest.raises(installer.ServiceInstallError) as caught:
        installer.install(make_project(tmp_path / "churn"), context)
    assert "freebsd14" in caught.value.one_line()
    assert not (tmp_path / "home").exists()
