"""The files that make ``shipway service run --all-projects`` a per-user service of the operating
system, and the command line they start.

- Linux: a systemd user unit, ``shipway.service`` (:func:`systemd_unit`);
- macOS: a launchd agent, ``com.shipway.service.plist`` (:func:`launchd_plist`);
- Windows: a Task Scheduler task, ``Shipway`` (:func:`task_xml`).

Each starts the same command (:func:`service_command`): the ``shipway`` executable beside the
running one in the packaged app, the ``shipway`` script beside the virtualenv's Python, else
``python -m core.cli``. On Windows the windowless executable starts it (the packaged app's
``shipway-desktop.exe -m core.cli``, or ``pythonw.exe``), so that no console window opens at
log-on. The templates in ``packaging/service/`` are these files written for the default install
folders; a test holds them equal.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

UNIT_NAME = "shipway.service"
LAUNCHD_LABEL = "com.shipway.service"
TASK_NAME = "Shipway"
RUN_ARGS = ("service", "run", "--all-projects")
DESCRIPTION = "Shipway: keep the models of the listed projects served, watched and retrained"
RESTART_S = 10
TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"


def service_command(
    platform: str = sys.platform,
    executable: str = sys.executable,
    frozen: bool = bool(getattr(sys, "frozen", False)),
) -> tuple[str, ...]:
    """The program and arguments that run the service for every listed project.

    ``executable`` is not resolved: in a virtualenv it is the environment's own interpreter (a
    link), and resolving it would leave the environment.
    """
    here = Path(os.path.abspath(executable)).parent
    windows = platform == "win32"
    if frozen:
        desktop = here / "shipway-desktop.exe"
        if windows and desktop.is_file():
            return (str(desktop), "-m", "core.cli", *RUN_ARGS)
        return (str(here / ("shipway.exe" if windows else "shipway")), *RUN_ARGS)
    if windows:
        windowless = here / "pythonw.exe"
        python = str(windowless) if windowless.is_file() else os.path.abspath(executable)
        return (python, "-m", "core.cli", *RUN_ARGS)
    script = here / "shipway"
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script), *RUN_ARGS)
    return (os.path.abspath(executable), "-m", "core.cli", *RUN_ARGS)


def systemd_quote(word: str, program: bool = False) -> str:
    """One word of an ``ExecStart=`` line, quoted when it holds a space, quote or backslash
    (systemd.service, "Command lines"). Specifiers (``%``) are escaped in every word; variables
    (``$``) only in arguments, where systemd expands them: it leaves the program's path as it
    is, and ``$$`` there would name another file (``systemd-analyze verify`` says so)."""
    escaped = word.replace("%", "%%")
    if not program:
        escaped = escaped.replace("$", "$$")
    if escaped and not any(c in escaped for c in " \t\"'\\;"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(command: Sequence[str]) -> str:
    """The systemd user unit: restarted 10 s after a failure, started with the user's manager.

    ``KillMode=mixed``: stopping sends SIGTERM to the service alone, so that it stops the
    servers it started itself; whatever is left after ``TimeoutStopSec`` is killed.
    ``ConditionFileIsExecutable``: once Shipway is removed (``apt remove shipway``) the unit is
    skipped at log-in instead of failing and restarting every 10 s.
    """
    words = [systemd_quote(command[0], program=True)]
    exec_start = " ".join(words + [systemd_quote(word) for word in command[1:]])
    return (
        "# Written by `shipway service install`; `shipway service uninstall` removes it.\n"
        "[Unit]\n"
        f"Description={DESCRIPTION}\n"
        f"ConditionFileIsExecutable={command[0].replace('%', '%%')}\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={exec_start}\n"
        "Restart=on-failure\n"
        f"RestartSec={RESTART_S}\n"
        "Environment=PYTHONUNBUFFERED=1\n"
        "KillMode=mixed\n"
        "TimeoutStopSec=30\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(command: Sequence[str], log_file: Path) -> bytes:
    """The launchd agent: started at log-in, started again when it exits with an error.

    launchd expands neither ``~`` nor variables, so ``log_file`` is absolute; it receives what
    the service prints before its own log (``<project>/.shipway/service.log``) is open.
    """
    agent = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": RESTART_S,
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1"},
        "StandardOutPath": str(log_file),
        "StandardErrorPath": str(log_file),
    }
    return plistlib.dumps(agent, sort_keys=False)


def task_xml(command: Sequence[str], user: str | None) -> str:
    """The Task Scheduler task: started at ``user``'s log-on, restarted every minute after a
    failure (up to 255 times, the schema's limit), never stopped for running long.

    Written to a file as UTF-16 (what ``schtasks /Create /XML`` reads); no time limit
    (``PT0S``), no stop on battery power, one instance at a time.
    """
    ET.register_namespace("", TASK_NS)
    task = _element(None, "Task", version="1.2")
    info = _element(task, "RegistrationInfo")
    _element(info, "Description", text=DESCRIPTION)
    _element(info, "URI", text="\\" + TASK_NAME)
    logon = _element(_element(task, "Triggers"), "LogonTrigger")
    _element(logon, "Enabled", text="true")
    principal = _element(_element(task, "Principals"), "Principal", id="Author")
    if user:
        _element(logon, "UserId", text=user)
        _element(principal, "UserId", text=user)
    _element(principal, "LogonType", text="InteractiveToken")
    _element(principal, "RunLevel", text="LeastPrivilege")
    settings = _element(task, "Settings")
    for name, value in (
        ("MultipleInstancesPolicy", "IgnoreNew"),
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("StartWhenAvailable", "true"),
        ("AllowStartOnDemand", "true"),
        ("Enabled", "true"),
        ("ExecutionTimeLimit", "PT0S"),
    ):
        _element(settings, name, text=value)
    restart = _element(settings, "RestartOnFailure")
    _element(restart, "Interval", text="PT1M")
    _element(restart, "Count", text="255")
    execute = _element(_element(task, "Actions", Context="Author"), "Exec")
    _element(execute, "Command", text=command[0])
    _element(execute, "Arguments", text=subprocess.list2cmdline(list(command[1:])))
    ET.indent(task)
    body = ET.tostring(task, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + body + "\n"


def _element(parent: ET.Element | None, tag: str, text: str | None = None, **attributes: str):
    name = f"{{{TASK_NS}}}{tag}"
    node = (
        ET.Element(name, attributes) if parent is None else ET.SubElement(parent, name, attributes)
    )
    node.text = text
    return node
