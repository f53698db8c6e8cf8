"""The operating system's service managers, as :mod:`core.operations.install` drives them: the
files each needs written, and the commands that enable, restart, stop and query the service.

- :class:`SystemdUser` (Linux): ``~/.config/systemd/user/shipway.service`` (``$XDG_CONFIG_HOME``
  honoured), ``systemctl --user``. Reachable when ``systemctl --user show-environment`` answers,
  i.e. a user manager runs; containers and CI have none, and then nothing is run.
- :class:`Launchd` (macOS): ``~/Library/LaunchAgents/com.shipway.service.plist``,
  ``launchctl bootstrap|bootout|kickstart gui/UID``.
- :class:`TaskScheduler` (Windows): ``%APPDATA%\\Shipway\\shipway-service.xml``, registered as
  the task ``Shipway`` with ``schtasks /Create /XML``.

A :class:`Step` is one command; a step that may fail (stopping what is not running) says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.operations.unit_files import (
    LAUNCHD_LABEL,
    TASK_NAME,
    UNIT_NAME,
    launchd_plist,
    systemd_unit,
    task_xml,
)
from core.operations.user_config import config_file, home, xdg_config_home

COMMAND_TIMEOUT_S = 60


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    may_fail: bool = False

    @property
    def text(self) -> str:
        """The command as a person types it (the program by its name, not its path)."""
        words = (os.path.basename(self.argv[0]), *self.argv[1:])
        return subprocess.list2cmdline(words) if os.name == "nt" else _shell(words)


@dataclass(frozen=True)
class Answer:
    returncode: int
    stdout: str
    stderr: str


def _shell(argv: tuple[str, ...]) -> str:
    import shlex

    return " ".join(shlex.quote(word) for word in argv)


def run(step: Step, env: Mapping[str, str]) -> Answer:
    """Run one command, its output captured; a missing program or a hang is a failed answer."""
    try:
        done = subprocess.run(
            list(step.argv),
            capture_output=True,
            text=True,
            env=dict(env),
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return Answer(127, "", str(error))
    return Answer(done.returncode, done.stdout.strip(), done.stderr.strip())


@dataclass(frozen=True)
class Manager:
    """What every manager knows: where its file goes, and the environment commands run in."""

    env: Mapping[str, str]
    command: tuple[str, ...]

    kind = ""
    label = ""
    unreachable = ""

    @property
    def unit_file(self) -> Path:
        raise NotImplementedError

    def content(self) -> bytes:
        raise NotImplementedError

    def program(self) -> str | None:
        raise NotImplementedError

    def ask(self, *args: str) -> Answer:
        program = self.program()
        if program is None:
            return Answer(127, "", f"{self.kind}: command not found")
        return run(Step((program, *args)), self.env)


@dataclass(frozen=True)
class SystemdUser(Manager):
    kind = "systemd"
    label = "systemd user unit"
    unreachable = "no systemd user instance is reachable here (`systemctl --user` cannot connect)"

    @property
    def unit_file(self) -> Path:
        return xdg_config_home(self.env) / "systemd" / "user" / UNIT_NAME

    def content(self) -> bytes:
        return systemd_unit(self.command).encode("utf-8")

    def program(self) -> str | None:
        return shutil.which("systemctl", path=self.env.get("PATH"))

    def reachable(self) -> bool:
        return self.ask("--user", "show-environment").returncode == 0

    def running(self) -> bool:
        return self.ask("--user", "is-active", UNIT_NAME).stdout == "active"

    def enabled(self) -> bool:
        return self.ask("--user", "is-enabled", UNIT_NAME).stdout == "enabled"

    def start_steps(self, was_running: bool, changed: bool) -> list[Step]:
        steps = [self._step("daemon-reload"), self._step("enable", "--now", UNIT_NAME)]
        return steps + ([self._step("restart", UNIT_NAME)] if was_running and changed else [])

    def restart_steps(self) -> list[Step]:
        return [self._step("try-restart", UNIT_NAME)]

    def stop_steps(self) -> list[Step]:
        return [self._step("disable", "--now", UNIT_NAME)]

    def after_removal_steps(self) -> list[Step]:
        return [self._step("daemon-reload")]

    def _step(self, *args: str) -> Step:
        return Step((self.program() or "systemctl", "--user", *args))


@dataclass(frozen=True)
class Launchd(Manager):
    kind = "launchd"
    label = "launchd agent"
    unreachable = "launchd's domain of this user's session is not reachable (no GUI log-in?)"
    uid: int = 0

    @property
    def unit_file(self) -> Path:
        return home(self.env) / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    @property
    def log_file(self) -> Path:
        return home(self.env) / "Library" / "Logs" / "Shipway" / "service.log"

    def content(self) -> bytes:
        return launchd_plist(self.command, self.log_file)

    def program(self) -> str | None:
        return shutil.which("launchctl", path=self.env.get("PATH"))

    @property
    def target(self) -> str:
        return f"gui/{self.uid}/{LAUNCHD_LABEL}"

    def reachable(self) -> bool:
        return self.ask("print", f"gui/{self.uid}").returncode == 0

    def running(self) -> bool:
        return self.ask("print", self.target).returncode == 0

    def enabled(self) -> bool:
        return self.running()

    def start_steps(self, was_running: bool, changed: bool) -> list[Step]:
        steps = [self._step("enable", self.target)]
        if was_running and changed:
            steps.append(self._step("bootout", self.target))
        if changed or not was_running:
            steps.append(self._step("bootstrap", f"gui/{self.uid}", str(self.unit_file)))
        return steps

    def restart_steps(self) -> list[Step]:
        return [self._step("kickstart", "-k", self.target)]

    def stop_steps(self) -> list[Step]:
        return [Step(self._step("bootout", self.target).argv, may_fail=True)]

    def after_removal_steps(self) -> list[Step]:
        return []

    def _step(self, *args: str) -> Step:
        return Step((self.program() or "launchctl", *args))


@dataclass(frozen=True)
class TaskScheduler(Manager):
    kind = "task-scheduler"
    label = "Task Scheduler task"
    unreachable = "schtasks is not on PATH"
    user: str | None = None

    @property
    def unit_file(self) -> Path:
        return config_file("win32", self.env).with_name("shipway-service.xml")

    def content(self) -> bytes:
        return task_xml(self.command, self.user).encode("utf-16")

    def program(self) -> str | None:
        return shutil.which("schtasks", path=self.env.get("PATH"))

    def reachable(self) -> bool:
        return self.program() is not None

    def running(self) -> bool:
        answer = self.ask("/Query", "/TN", TASK_NAME, "/FO", "CSV", "/NH")
        return answer.returncode == 0 and '"Running"' in answer.stdout

    def enabled(self) -> bool:
        return self.ask("/Query", "/TN", TASK_NAME).returncode == 0

    def start_steps(self, was_running: bool, changed: bool) -> list[Step]:
        steps = [self._step("/Create", "/XML", str(self.unit_file), "/TN", TASK_NAME, "/F")]
        if was_running and changed:
            steps.append(Step(self._step("/End", "/TN", TASK_NAME).argv, may_fail=True))
        return [*steps, self._step("/Run", "/TN", TASK_NAME)]

    def restart_steps(self) -> list[Step]:
        end = Step(self._step("/End", "/TN", TASK_NAME).argv, may_fail=True)
        return [end, self._step("/Run", "/TN", TASK_NAME)]

    def stop_steps(self) -> list[Step]:
        end = Step(self._step("/End", "/TN", TASK_NAME).argv, may_fail=True)
        return [end, self._step("/Delete", "/TN", TASK_NAME, "/F")]

    def after_removal_steps(self) -> list[Step]:
        return []

    def _step(self, *args: str) -> Step:
        return Step((self.program() or "schtasks", *args))


ServiceManager = SystemdUser | Launchd | TaskScheduler


def windows_user(env: Mapping[str, str]) -> str | None:
    """``DOMAIN\\name`` of the user, as a task's log-on trigger names it."""
    name, domain = env.get("USERNAME"), env.get("USERDOMAIN")
    if not name:
        return None
    return f"{domain}\\{name}" if domain else name
