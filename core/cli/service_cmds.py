"""``shipway service install|uninstall|status|logs``: the always-on service as a per-user service
of the operating system (:mod:`core.operations.install`; the design is written there and in
docs/operations.md).

``shipway service run``, the service's loop itself (:mod:`core.operations.service`), belongs to
this group too: it registers beside the others in :func:`register`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

from core.cli.output import emit_json, table
from core.cli.parsing import Commands
from core.cli.service_run import register_run
from core.config import SETTINGS_FILE
from core.errors import NotFound, ProjectError, UsageError
from core.operations import install as installer
from core.operations.service_status import follow, service_files, tail_lines
from core.operations.user_config import config_file, read_projects


def register(commands: Commands) -> None:
    actions = commands.action_group(
        "service",
        "the always-on service: install it, see it, read its log",
        description="The always-on service keeps the kept deployments of its projects up and "
        "runs drift checks, retraining and imports on their schedules. Installed, it runs as "
        "a service of your user (systemd, launchd or Task Scheduler) for every project in "
        "your service.toml.",
    )
    actions.add(
        "install",
        cmd_install,
        help="serve this project from the service of your user, and start it",
    )
    uninstall = actions.add(
        "uninstall",
        cmd_uninstall,
        help="stop serving this project; remove the service when no project is left",
    )
    uninstall.add_argument(
        "--all", action="store_true", help="empty the list and remove the service"
    )
    actions.add(
        "status",
        cmd_status,
        help="whether the service is installed and which projects it serves now",
    )
    logs = actions.add("logs", cmd_logs, help="the end of the service's log of a project")
    logs.add_argument("--lines", "-n", type=int, default=50, metavar="N", help="default 50")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    register_run(actions)  # the loop itself: core/cli/service_run.py


def project_folder(args: argparse.Namespace) -> Path | None:
    """``--project``, ``$SHIPWAY_PROJECT``, else the nearest folder upwards with shipway.toml;
    None when there is none (nothing heavy is imported to find it)."""
    given = args.project or os.environ.get("SHIPWAY_PROJECT")
    if given:
        return Path(given).expanduser().resolve()
    here = Path.cwd().resolve()
    return next((f for f in (here, *here.parents) if (f / SETTINGS_FILE).is_file()), None)


def _required(args: argparse.Namespace, action: str) -> Path:
    folder = project_folder(args)
    if folder is None:
        raise ProjectError(
            f"`service {action}` acts on a project, and there is no Shipway project here or "
            "in any parent folder",
            where=str(Path.cwd()),
            hint="run it inside a project or pass --project DIR"
            + (" (`--all` removes the service for every project)" if action == "uninstall" else ""),
        )
    return folder


def cmd_install(args: argparse.Namespace) -> int:
    """Add the project to your service.toml (created if missing), write the service for your
    user (Linux: a systemd user unit; macOS: a launchd agent; Windows: a Task Scheduler task at
    log-on) and enable and start it. Where no user service manager runs (a container, CI), the
    file is written and the commands to run are printed."""
    outcome = installer.install(_required(args, "install"))
    _warn(outcome.warnings)
    if args.json:
        emit_json(outcome.to_dict())
        return 0
    count = f"{len(outcome.projects)} project{'s' if len(outcome.projects) != 1 else ''}"
    verb = "Added" if outcome.list_changed else "Already listed:"
    print(f"{verb} {outcome.project} in {outcome.config} ({count})")
    print(f"Service file ({outcome.unit_state}): {outcome.unit_file}")
    _print_steps("Ran", outcome.ran)
    if outcome.to_run:
        _print_steps(
            "Where your user's service manager runs, enable and start it with", outcome.to_run
        )
    else:
        print("The service is enabled and started: `shipway service status` shows it.")
    if outcome.manager == "systemd" and not _lingering():
        print(
            "It stops when you log out, unless your user lingers: `loginctl enable-linger $USER`."
        )
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    """Remove the project from your service.toml. When no project is left (or with --all) the
    service is stopped, disabled and its file removed; otherwise it is restarted without the
    project."""
    folder = None if args.all else _required(args, "uninstall")
    outcome = installer.uninstall(folder, everything=args.all)
    _warn(outcome.warnings)
    if args.json:
        emit_json(outcome.to_dict())
        return 0
    if folder is not None:
        print(f"Removed {outcome.project} from {outcome.config}")
    elif outcome.list_changed:
        print(f"Emptied the list in {outcome.config}")
    if outcome.projects:
        print(f"The service keeps serving {len(outcome.projects)} other project(s).")
    elif outcome.unit_state == "removed":
        print(f"No project is left: removed {outcome.unit_file}")
    else:
        print("No project is left, and no service was installed.")
    _print_steps("Ran", outcome.ran)
    _print_steps("Where the service still runs, stop it with", outcome.to_run)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Whether the service of your user is installed, enabled and active, the projects listed in
    service.toml, and for each whether a service holds its lock now (pid, last heartbeat).
    Changes nothing."""
    report = installer.status(project_folder(args))
    if args.json:
        emit_json(report.to_dict())
        return 0
    print(f"Service: {_service_line(report)}")
    print(f"         {report.unit_file}")
    print(f"Projects: {report.config}")
    rows = [
        (p.path, "yes" if p.listed else "no", p.service.text if p.exists else "folder missing")
        for p in report.projects
    ]
    print(table(rows, ("project", "listed", "service")) if rows else "  (none listed)")
    return 0


def _service_line(report: installer.Status) -> str:
    if not report.installed:
        return "not installed"
    if not report.reachable:
        return f"installed ({report.manager}); whether it runs cannot be asked here"
    enabled = "enabled" if report.enabled else "not enabled"
    return f"installed ({report.manager}), {enabled}, {'active' if report.active else 'inactive'}"


def cmd_logs(args: argparse.Namespace) -> int:
    """Print the last lines of <project>/.shipway/service.log; with --follow, keep printing what
    the service appends until interrupted (Ctrl-C)."""
    if args.lines < 0:
        raise UsageError(
            "--lines takes a number of lines, 0 or more", where=str(args.lines), hint="e.g. -n 200"
        )
    if args.follow and args.json:
        raise UsageError(
            "--follow prints as the log grows: it cannot be one JSON document",
            hint="drop --json to follow, or drop --follow for the last lines as JSON",
        )
    root = _log_project(args)
    path = service_files(root)["log"]
    if not path.is_file():
        raise NotFound(
            "no service log for this project yet",
            where=str(path),
            hint="the service writes it once it runs for the project: `shipway service status`",
        )
    lines, size = tail_lines(path, args.lines)
    if args.json:
        emit_json({"project": str(root), "log": str(path), "lines": lines})
        return 0
    _journal_note()
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()
    if args.follow:
        _follow(path, size)
    return 0


def _follow(path: Path, offset: int) -> None:
    """Print what the log gains until Ctrl-C or SIGTERM, as ``shipway serve`` stops: by its own
    handlers, so a follower started with SIGINT ignored (a background job) still ends cleanly."""
    from core.serving.signals import install_signal_handlers

    stop = threading.Event()
    restore = install_signal_handlers(stop)
    try:
        for chunk in follow(path, offset, stop):
            sys.stdout.write(chunk)
            sys.stdout.flush()
    finally:
        restore()


def _log_project(args: argparse.Namespace) -> Path:
    """The project named or around; else the one project the service lists."""
    folder = project_folder(args)
    if folder is not None:
        return folder
    listed = read_projects(config_file())
    if len(listed) == 1:
        return listed[0]
    raise ProjectError(
        "no Shipway project here or in any parent folder"
        + (f", and the service lists {len(listed)}" if listed else ""),
        where=str(Path.cwd()),
        hint="pass --project DIR (`shipway service status` lists the service's projects)",
    )


def _journal_note() -> None:
    if (
        sys.platform.startswith("linux")
        and installer.manager_for(installer.Context.current()).unit_file.is_file()
    ):
        sys.stderr.write(
            "shipway: note: what the service printed before its log opened: "
            "journalctl --user -u shipway\n"
        )


def _lingering() -> bool:
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    return bool(user) and Path("/var/lib/systemd/linger", user).exists()


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        sys.stderr.write(f"shipway: warning: {warning}\n")


def _print_steps(title: str, steps: tuple[str, ...]) -> None:
    if title and steps:
        print(f"{title}:")
    for step in steps:
        print(f"    {step}")
