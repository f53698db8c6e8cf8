"""The ``shipway`` command line: the automation and test surface of everything the app does.

Every command takes ``--json`` (one JSON document on stdout) and ``--project DIR``. Exit codes:
0 done, 1 error (one line on stderr saying what, where and what to do), 2 usage, 3 a gate
blocked the action, 130 cancelled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core import __version__
from core.cli import data_cmds, project_cmds
from core.cli.output import emit_json
from core.errors import ShipwayError

Handler = Callable[[argparse.Namespace], int]


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
    parser = argparse.ArgumentParser(
        prog="shipway",
        description="Shipway: versioned data, tracked experiments, gated models, local serving.",
    )
    parser.add_argument("--version", action="version", version=f"shipway {__version__}")
    _common(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _common(common, suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    project_cmds.register(commands, common)
    data_cmds.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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


def _fail(args: argparse.Namespace, error: ShipwayError) -> int:
    if getattr(args, "json", False):
        emit_json(error.to_dict())
    sys.stderr.write(f"shipway: error: {error.one_line()}\n")
    return error.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
