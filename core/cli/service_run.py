"""``shipway service run``: the always-on service in the foreground (what the per-user service
of the operating system starts). One project (``--project`` or the one here), or every project
of your service.toml (``--all-projects``), each on a thread of its own with its own lock.

The process records itself as the user ``service`` in every project's audit trail, logs to
each project's ``.shipway/service.log`` (and to stderr), and stops cleanly on SIGTERM/SIGINT:
the running job is cancelled (its run recorded cancelled, nothing half-registered), then the
lock is let go.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from logging.handlers import RotatingFileHandler
from pathlib import Path

from core.cli.parsing import Commands
from core.errors import ShipwayError, UsageError

LOG_BYTES = 5 * 1024 * 1024
log = logging.getLogger("shipway.service")


def register_run(actions: Commands) -> None:
    run = actions.add("run", cmd_run, help="run the service in the foreground (Ctrl-C stops it)")
    run.add_argument(
        "--all-projects", action="store_true", help="every project of your service.toml"
    )
    run.add_argument("--tick", type=float, default=5.0, help="seconds between looks (5)")
    run.add_argument("--once", action="store_true", help="one look, then stop (for scripts)")


def cmd_run(args: argparse.Namespace) -> int:
    """Keep the kept deployments up, check drift on schedule, retrain and import as
    shipway.toml's [monitor], [retrain], [notify] and [imports] say, until stopped."""
    from core.cli.service_cmds import project_folder
    from core.operations.user_config import config_file, read_projects

    os.environ["SHIPWAY_USER"] = "service"  # who the audit trail says did it
    if sys.stdout is None or sys.stderr is None:  # started windowless (Windows)
        sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    if args.all_projects:
        projects = list(read_projects(config_file()))
        if not projects:
            raise UsageError(
                "your service.toml lists no project",
                where=str(config_file()),
                hint="`shipway service install` in a project adds it",
            )
    else:
        folder = project_folder(args)
        if folder is None:
            raise UsageError("no Shipway project here", hint="pass --project DIR")
        projects = [folder]
    _log_to_stderr()
    stop = threading.Event()
    from core.serving.signals import install_signal_handlers

    restore = install_signal_handlers(stop)
    try:
        if len(projects) == 1:
            _serve(Path(projects[0]), stop, args.tick, args.once)
        else:
            _serve_all([Path(p) for p in projects], stop, args.tick, args.once)
    finally:
        restore()
    return 0


def _serve(root: Path, stop: threading.Event, tick: float, once: bool) -> None:
    from core.operations.service import ServiceLoop
    from core.services import Workspace

    handler = _log_to_file(root)
    try:
        with Workspace.open(root) as workspace:
            loop = ServiceLoop(workspace)
            _start(loop)
            try:
                while True:
                    loop.tick()
                    if once or stop.wait(tick):
                        break
            finally:
                loop.stop()
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _start(loop) -> None:
    """Take the project's lock; a status probe holding it for an instant is waited out."""
    from core.operations.lock import AlreadyRunning

    deadline = time.monotonic() + 2.0
    while True:
        try:
            loop.start()
            return
        except AlreadyRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _serve_all(roots: list[Path], stop: threading.Event, tick: float, once: bool) -> None:
    """One thread per project; a project that cannot be served is logged, the others go on."""

    def serve(root: Path) -> None:
        try:
            _serve(root, stop, tick, once)
        except ShipwayError as error:
            log.error("%s: %s", root, error.one_line())
        except Exception:
            log.exception("%s: the service of this project ended", root)

    threads = [threading.Thread(target=serve, args=(root,), name=f"service-{root.name}")
               for root in roots]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _log_to_file(root: Path) -> logging.Handler:
    folder = root / ".shipway"
    folder.mkdir(exist_ok=True)
    handler = RotatingFileHandler(folder / "service.log", maxBytes=LOG_BYTES, backupCount=3,
                                  encoding="utf-8")  # fmt: skip
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(lambda record: record.name.startswith("shipway"))
    root_logger = logging.getLogger()
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.INFO)
    return handler


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(lambda record: record.name.startswith("shipway"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
