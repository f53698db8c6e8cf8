"""``shipway init``, ``shipway audit``, ``shipway db upgrade``, ``shipway info``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.cli.output import emit_json, table
from core.services import Workspace, find_project_root


def open_workspace(args: argparse.Namespace) -> Workspace:
    """The project named by --project, $SHIPWAY_PROJECT or the nearest shipway.toml upwards."""
    root = Path(args.project) if args.project else find_project_root()
    workspace = Workspace.open(root)
    for warning in workspace.warnings():
        sys.stderr.write(f"shipway: warning: {warning}\n")
    return workspace


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    init = commands.add_parser("init", parents=[common], help="create a project")
    init.add_argument("dir", help="folder for the new project (created if missing)")
    init.add_argument("--name", help="project name (default: the folder's name)")
    init.add_argument("--db", metavar="URL", help="metadata database URL (default: SQLite)")
    init.set_defaults(handler=cmd_init)

    info = commands.add_parser("info", parents=[common], help="show the project")
    info.set_defaults(handler=cmd_info)

    audit = commands.add_parser("audit", parents=[common], help="who changed what, and when")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--action", help="only this action, e.g. dataset.import")
    audit.set_defaults(handler=cmd_audit)

    db = commands.add_parser("db", help="metadata database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="COMMAND")
    db_commands.required = True
    upgrade = db_commands.add_parser(
        "upgrade", parents=[common], help="upgrade the schema (after a backup)"
    )
    upgrade.set_defaults(handler=cmd_db_upgrade)


def cmd_init(args: argparse.Namespace) -> int:
    with Workspace.create(Path(args.dir), name=args.name, db_url=args.db) as workspace:
        info = workspace.info()
    if args.json:
        emit_json(info.to_dict())
    else:
        print(f"Created project {info.name!r} in {info.path}")
        print(f"Next: shipway --project {info.path} data import FILE")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        info = workspace.info()
    if args.json:
        emit_json(info.to_dict())
    else:
        for key, value in info.to_dict().items():
            print(f"{key:16} {value}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        entries = workspace.audit(limit=args.limit, action=args.action)
    if args.json:
        emit_json({"entries": [e.to_dict() for e in entries]})
        return 0
    rows = [(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.user, e.action, e.object_ref) for e in entries]
    print(table(rows, ("when (UTC)", "who", "what", "object")))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    root = Path(args.project) if args.project else find_project_root()
    with Workspace.open(root, upgrade="defer") as workspace:
        result = workspace.upgrade_database()
    if args.json:
        emit_json(result)
    elif result["upgraded"]:
        print(f"Upgraded schema {result['from']} → {result['to']}; backup: {result['backup']}")
    else:
        print(f"Schema is current ({result['to']})")
    return 0
