"""The ``shipway`` command line: the automation and test surface of everything the app does.

Every command takes ``--json`` (one JSON document on stdout) and ``--project DIR``. Exit codes:
0 done, 1 error (one line on stderr saying what, where and what to do), 2 usage, 3 a gate
blocked the action, 130 cancelled.

Commands that train start their worker process before importing the heavy parts of the engine,
so that the worker's scikit-learn imports overlap with this process's own start-up.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import ShipwayError

Handler = Callable[[argparse.Namespace], int]
TRAINING_COMMANDS = (("train",), ("runs", "reproduce"))
_prewarmed: Any = None


def prewarmed_executor() -> Any:
    """The local executor started ahead of time for this command, if any."""
    return _prewarmed


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default_json: Any = argparse.SUPPRESS if suppress else False
    default_project: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--json",
        action="store_true",
        default=default_json,
        help="print one JSON document on stdout",
    )
    parser.add_argument(
        "--project",
        metavar="DIR",
        default=default_project,
        help="the project folder (default: $SHIPWAY_PROJECT or the nearest "
        "folder upwards holding shipway.toml)",
    )


def build_parser() -> argparse.ArgumentParser:
    from core.cli import (
        bundle_cmds,
        data_cmds,
        deploy_cmds,
        drift_cmds,
        experiment_cmds,
        handoff_cmds,
        jobs_cmds,
        log_cmds,
        model_cmds,
        monitor_cmds,
        notify_cmds,
        project_cmds,
        score_cmds,
        service_cmds,
    )
    from core.cli.parsing import Commands

    parser = argparse.ArgumentParser(
        prog="shipway",
        description="Shipway: versioned data, tracked experiments, gated models, local serving.",
    )
    parser.add_argument("--version", action="version", version=f"shipway {__version__}")
    _common(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _common(common, suppress=True)
    actions = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands = Commands(actions, common)
    project_cmds.register(commands)
    data_cmds.register(commands)
    experiment_cmds.register(commands)
    model_cmds.register(commands)
    deploy_cmds.register(commands)
    drift_cmds.register(commands)
    score_cmds.register(commands)
    monitor_cmds.register(commands)
    log_cmds.register(commands)
    jobs_cmds.register(commands)
    bundle_cmds.register(commands)
    handoff_cmds.register(commands)
    notify_cmds.register(commands)
    service_cmds.register(commands)
    return parser


def _prewarm(argv: Sequence[str]) -> None:
    """Start one local worker now when this command is going to train.

    Only light modules are imported before the worker is spawned (the project is found and its
    shipway.toml read with :mod:`core.config`, which needs tomllib only), so the worker's
    scikit-learn imports start within a fraction of a second of the process.
    """
    global _prewarmed
    words = _command_words(argv)
    if not any(tuple(words[: len(c)]) == c for c in TRAINING_COMMANDS):
        return
    if _option(argv, "--executor") == "dask":
        return
    try:
        from core.config import load_settings

        settings = load_settings(_project_root(argv)).executor
        if settings.kind != "local":
            return
        from core.experiments.executors import LocalExecutor

        _prewarmed = LocalExecutor(workers=settings.workers)
        _prewarmed.warm(1)
    except Exception:  # the command itself will report what is wrong
        _prewarmed = None


#: Options given before the command that take a value in the next word.
_VALUE_OPTIONS = ("--project",)


def _command_words(argv: Sequence[str]) -> list[str]:
    """The words that are neither options nor an option's value (``--project DIR``)."""
    words: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    return words


def _project_root(argv: Sequence[str]) -> Path:
    """The project folder as :func:`core.project.find_project_root` finds it, without importing
    core.project (SQLAlchemy, Alembic): ``--project``, ``$SHIPWAY_PROJECT``, else the nearest
    folder upwards holding shipway.toml."""
    from core.config import SETTINGS_FILE

    given = _option(argv, "--project") or os.environ.get("SHIPWAY_PROJECT")
    if given:
        return Path(given).expanduser().resolve()
    here = Path.cwd().resolve()
    return next((f for f in (here, *here.parents) if (f / SETTINGS_FILE).is_file()), here)


def _option(argv: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _prewarm(argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        handler: Handler = args.handler
        try:
            return handler(args)
        except ShipwayError as error:
            return _fail(args, error)
        except KeyboardInterrupt:
            sys.stderr.write("shipway: cancelled\n")
            return 130
        except BrokenPipeError:
            return 1
    finally:
        if _prewarmed is not None:
            _prewarmed.shutdown()


def _fail(args: argparse.Namespace, error: ShipwayError) -> int:
    if getattr(args, "json", False):
        from core.cli.output import emit_json

        emit_json(error.to_dict())
    sys.stderr.write(f"shipway: error: {error.one_line()}\n")
    return error.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
