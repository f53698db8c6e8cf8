"""Shipway's always-on service as a per-user service of the operating system: install, remove,
and say how it is (``shipway service install|uninstall|status|logs``).

Which projects
    ``shipway --project DIR service run`` serves one project; the installed service runs
    ``shipway service run --all-projects``, which serves every project listed in the user's
    ``service.toml`` (:mod:`core.operations.user_config`: ``~/.config/shipway/service.toml`` on
    Linux, ``$XDG_CONFIG_HOME`` honoured; ``~/Library/Application Support/Shipway/`` on macOS;
    ``%APPDATA%\\Shipway\\`` on Windows). :func:`install` adds the project to that list and
    installs and enables the service; :func:`uninstall` removes the project, and the service
    when no project is left (or with ``everything``).

Which service manager (:mod:`core.operations.service_managers`)
    Linux: a systemd *user* unit, enabled with ``systemctl --user enable --now``. Where no user
    manager runs (containers, CI, a session without systemd) the unit is written, nothing is
    run, and the result carries a warning and the exact commands to run later: installing still
    succeeds. macOS: a launchd agent (``launchctl bootstrap gui/UID``). Windows: a Task
    Scheduler task at log-on (``schtasks /Create /XML``). Nothing is installed for other users,
    and nothing needs administrator rights.

When the list changes
    The service reads the list when it starts, so a change of the list (or of the unit file)
    restarts a running service; a service that is not running is only started.

Order
    Everything is checked before anything is written (the project, the list, the platform);
    then the list is written, then the unit, then the manager is asked. A command that fails
    raises :class:`ServiceInstallError` naming it; the files written stay, and the message says
    what to run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core.config import SETTINGS_FILE, load_settings
from core.errors import NotFound, ProjectError, ShipwayError, UsageError
from core.operations.service_managers import (
    Launchd,
    Manager,
    ServiceManager,
    Step,
    SystemdUser,
    TaskScheduler,
    run,
    windows_user,
)
from core.operations.service_status import ProjectServiceState, project_state
from core.operations.unit_files import service_command
from core.operations.user_config import config_file, read_projects, write_projects


class ServiceInstallError(ShipwayError, code="service_install"):
    """The operating system's service manager refused a step of installing or removing."""


@dataclass(frozen=True)
class Context:
    """Where and as whom: the platform, the environment, the command the service runs."""

    platform: str
    env: Mapping[str, str]
    command: tuple[str, ...]

    @classmethod
    def current(cls) -> Context:
        return cls(sys.platform, dict(os.environ), service_command())


def manager_for(context: Context) -> ServiceManager:
    """The service manager of ``context.platform``."""
    if context.platform.startswith("linux"):
        return SystemdUser(context.env, context.command)
    if context.platform == "darwin":
        uid = os.getuid() if hasattr(os, "getuid") else 0
        return Launchd(context.env, context.command, uid=uid)
    if context.platform == "win32":
        return TaskScheduler(context.env, context.command, user=windows_user(context.env))
    raise ServiceInstallError(
        f"Shipway knows no per-user service manager on {context.platform}",
        hint="start `shipway service run --all-projects` from this system's own init system",
    )


@dataclass(frozen=True)
class Outcome:
    """What :func:`install` or :func:`uninstall` did, and what is left for the user to run."""

    action: str
    project: Path | None
    config: Path
    projects: tuple[Path, ...]
    list_changed: bool
    manager: str
    unit_file: Path
    unit_state: str  # "written" | "unchanged" | "removed" | "absent" | "kept"
    ran: tuple[str, ...] = ()
    to_run: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "project": None if self.project is None else str(self.project),
            "config": str(self.config),
            "projects": [str(p) for p in self.projects],
            "list_changed": self.list_changed,
            "manager": self.manager,
            "unit_file": str(self.unit_file),
            "unit_state": self.unit_state,
            "ran": list(self.ran),
            "to_run": list(self.to_run),
            "warnings": list(self.warnings),
        }


def check_project(folder: Path) -> Path:
    """``folder`` as an absolute path, once it is a Shipway project whose settings read."""
    root = folder.expanduser().resolve()
    if not (root / SETTINGS_FILE).is_file():
        raise ProjectError(
            f"not a Shipway project: no {SETTINGS_FILE} in this folder",
            where=str(root),
            hint="run the command inside a project, pass --project DIR, "
            "or create one with `shipway init DIR`",
        )
    load_settings(root)
    return root


def same_folder(a: Path, b: Path) -> bool:
    return os.path.normcase(str(a.resolve())) == os.path.normcase(str(b.resolve()))


def install(folder: Path, context: Context | None = None) -> Outcome:
    """Add the project in ``folder`` to the list; write, enable and (re)start the service."""
    context = context or Context.current()
    manager = manager_for(context)
    root = check_project(folder)
    config = config_file(context.platform, context.env)
    listed = read_projects(config)
    added = not any(same_folder(root, p) for p in listed)
    projects = (*listed, root) if added else listed
    if added or not config.exists():
        write_projects(config, projects)
    unit_state = "written" if _write_unit(manager) else "unchanged"
    outcome = Outcome(
        "install", root, config, projects, added, manager.kind, manager.unit_file, unit_state
    )
    if not manager.reachable():
        steps = manager.start_steps(False, True)
        warning = f"{manager.unreachable}: the {manager.label} is written but not enabled"
        return replace(outcome, to_run=tuple(s.text for s in steps), warnings=(warning,))
    steps = manager.start_steps(manager.running(), added or unit_state == "written")
    return replace(outcome, ran=_run_all(steps, manager, "install"))


def uninstall(
    folder: Path | None, everything: bool = False, context: Context | None = None
) -> Outcome:
    """Remove the project in ``folder`` from the list (``everything``: empty the list); remove
    the service when no project is left, else restart it without that project."""
    context = context or Context.current()
    manager = manager_for(context)
    config = config_file(context.platform, context.env)
    listed = read_projects(config)
    root = None if folder is None else folder.expanduser().resolve()
    if everything:
        remaining: tuple[Path, ...] = ()
    else:
        if root is None:
            raise UsageError("name the project to remove (--project DIR), or pass --all")
        if not any(same_folder(root, p) for p in listed):
            raise NotFound(
                "this project is not in the service's project list",
                where=f"{root} (list: {config})",
                hint="`shipway service status` shows the list; "
                "`shipway service uninstall --all` removes the service",
            )
        remaining = tuple(p for p in listed if not same_folder(root, p))
    changed = remaining != listed
    if changed:
        write_projects(config, remaining)
    if remaining:
        return _restart_for(manager, root, config, remaining)
    return _remove(manager, root, config, changed)


def _restart_for(
    manager: ServiceManager, root: Path | None, config: Path, projects: tuple[Path, ...]
):
    ran: tuple[str, ...] = ()
    if manager.unit_file.exists() and manager.reachable() and manager.running():
        ran = _run_all(manager.restart_steps(), manager, "uninstall")
    return Outcome(
        "uninstall", root, config, projects, True, manager.kind, manager.unit_file, "kept", ran=ran
    )


def _remove(manager: ServiceManager, root: Path | None, config: Path, changed: bool) -> Outcome:
    present = manager.unit_file.exists()
    reachable = manager.reachable()
    ran: tuple[str, ...] = ()
    if reachable and (present or manager.enabled()):
        ran = _run_all(manager.stop_steps(), manager, "uninstall")
    manager.unit_file.unlink(missing_ok=True)
    if reachable and present:
        ran += _run_all(manager.after_removal_steps(), manager, "uninstall")
    warnings: tuple[str, ...] = ()
    to_run: tuple[str, ...] = ()
    if present and not reachable:
        to_run = tuple(s.text for s in manager.stop_steps() + manager.after_removal_steps())
        warnings = (
            f"{manager.unreachable}: the {manager.label} file is removed; where the "
            "service still runs, stop it with the commands shown",
        )
    return Outcome(
        "uninstall",
        root,
        config,
        (),
        changed,
        manager.kind,
        manager.unit_file,
        "removed" if present else "absent",
        ran,
        to_run,
        warnings,
    )


def _write_unit(manager: Manager) -> bool:
    """Write the manager's file when its content differs; True when it did."""
    path, content = manager.unit_file, manager.content()
    try:
        if path.read_bytes() == content:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(manager, Launchd):
        manager.log_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(content)
    temporary.chmod(0o644)  # whatever the umask: systemd warns of a world-writable unit
    os.replace(temporary, path)
    return True


def _run_all(steps: list[Step], manager: Manager, action: str) -> tuple[str, ...]:
    ran = []
    for step in steps:
        answer = run(step, manager.env)
        ran.append(step.text)
        if answer.returncode != 0 and not step.may_fail:
            detail = answer.stderr or answer.stdout or f"exit status {answer.returncode}"
            raise ServiceInstallError(
                f"`{step.text}` failed: {detail.splitlines()[0]}",
                where=str(manager.unit_file),
                hint=f"the {manager.label} file is in place; run the command yourself to see "
                f"why, or `shipway service {action}` again",
            )
    return tuple(ran)


@dataclass(frozen=True)
class ProjectStatus:
    path: Path
    listed: bool
    exists: bool
    service: ProjectServiceState

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "listed": self.listed,
            "exists": self.exists,
            **self.service.to_dict(),
        }


@dataclass(frozen=True)
class Status:
    manager: str
    unit_file: Path
    installed: bool
    reachable: bool
    enabled: bool | None
    active: bool | None
    config: Path
    projects: tuple[ProjectStatus, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        document = {k: getattr(self, k) for k in ("manager", "installed", "reachable")}
        document |= {"enabled": self.enabled, "active": self.active}
        document |= {"unit_file": str(self.unit_file), "config": str(self.config)}
        return document | {"projects": [p.to_dict() for p in self.projects]}


def status(folder: Path | None = None, context: Context | None = None) -> Status:
    """The installed service and, per listed project (and ``folder``), whether one serves it.
    A read: nothing is written or started."""
    context = context or Context.current()
    manager = manager_for(context)
    config = config_file(context.platform, context.env)
    listed = read_projects(config)
    rows = [_project_status(p, True) for p in listed]
    if folder is not None and not any(same_folder(folder, p) for p in listed):
        rows.append(_project_status(folder.expanduser().resolve(), False))
    reachable = manager.reachable()
    return Status(
        manager=manager.kind,
        unit_file=manager.unit_file,
        installed=manager.unit_file.is_file(),
        reachable=reachable,
        enabled=manager.enabled() if reachable else None,
        active=manager.running() if reachable else None,
        config=config,
        projects=tuple(rows),
    )


def _project_status(path: Path, listed: bool) -> ProjectStatus:
    return ProjectStatus(path, listed, (path / SETTINGS_FILE).is_file(), project_state(path))
