"""``shipway init``, ``shipway audit``, ``shipway db upgrade``, ``shipway info``, ``shipway gc``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from core.cli.output import emit_json, human_size, reply, table
from core.cli.parsing import Commands
from core.errors import UsageError
from core.services import Workspace, find_project_root

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def open_workspace(args: argparse.Namespace) -> Workspace:
    """The project named by --project, $SHIPWAY_PROJECT or the nearest shipway.toml upwards."""
    root = Path(args.project) if args.project else find_project_root()
    workspace = Workspace.open(root)
    for warning in workspace.project.warnings():
        sys.stderr.write(f"shipway: warning: {warning}\n")
    return workspace


def register(commands: Commands) -> None:
    init = commands.add("init", cmd_init, help="create a project")
    init.add_argument("dir", help="folder for the new project (created if missing)")
    init.add_argument("--name", help="project name (default: the folder's name)")
    init.add_argument("--db", metavar="URL", help="metadata database URL (default: SQLite)")

    commands.add("info", cmd_info, help="show the project")

    audit = commands.add("audit", cmd_audit, help="who changed what, and when")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--action", help="only this action, e.g. dataset.import")

    db_commands = commands.group("db", "metadata database maintenance")
    db_commands.add("upgrade", cmd_db_upgrade, help="upgrade the schema (after a backup)")

    gc = commands.add("gc", cmd_gc, help="unreferenced blobs left by a crash")
    gc.add_argument("--dry-run", action="store_true", help="list what would go, remove nothing")
    when = gc.add_mutually_exclusive_group()
    when.add_argument(
        "--age",
        default="1h",
        help="only what is older than this: seconds, or e.g. 30m, 2h, 1d (default: 1h)",
    )
    when.add_argument(
        "--now", action="store_true", help="no minimum age (no import may be running elsewhere)"
    )
    gc.add_argument(
        "--shared",
        action="store_true",
        help="collect in a [storage] objects folder: every project using it shares this database",
    )


def cmd_init(args: argparse.Namespace) -> int:
    with Workspace.create(Path(args.dir), name=args.name, db_url=args.db) as workspace:
        info = workspace.project.info()
    return reply(
        args,
        info.to_dict(),
        f"Created project {info.name!r} in {info.path}\n"
        f"Next: shipway --project {info.path} data import FILE",
    )


def cmd_info(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        info = workspace.project.info()
    if args.json:
        emit_json(info.to_dict())
    else:
        for key, value in info.to_dict().items():
            print(f"{key:16} {value}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        entries = workspace.project.audit(limit=args.limit, action=args.action)
    if args.json:
        emit_json({"entries": [e.to_dict() for e in entries]})
        return 0
    rows = [(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.user, e.action, e.object_ref) for e in entries]
    print(table(rows, ("when (UTC)", "who", "what", "object")))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    root = Path(args.project) if args.project else find_project_root()
    with Workspace.open(root, upgrade="defer") as workspace:
        result = workspace.project.upgrade_database()
    if args.json:
        emit_json(result.to_dict())
    elif result.upgraded:
        print(
            f"Upgraded schema {result.revision_from} → {result.revision_to}; "
            f"backup: {result.backup}"
        )
    else:
        print(f"Schema is current ({result.revision_to})")
    return 0


def parse_age(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``2h``, ``1d`` as seconds."""
    match = _AGE.match(text)
    if match is None:
        raise UsageError(
            f"--age {text!r} is not a duration", hint="write seconds, or e.g. 30m, 2h, 1d"
        )
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def cmd_gc(args: argparse.Namespace) -> int:
    """Remove the blobs in objects/ that no row names and the temporaries of imports and runs
    that died. Nothing younger than --age is touched (an import may be between storing a blob
    and recording it), nor anything a live process of this host is writing."""
    from core.project import Project
    from core.store.gc import check_own_folder, collect_garbage

    min_age_s = 0.0 if args.now else parse_age(args.age)
    with Project.open(Path(args.project) if args.project else find_project_root()) as project:
        for warning in project.warnings:
            sys.stderr.write(f"shipway: warning: {warning}\n")
        check_own_folder(project.blobs.root, project.root, args.shared)
        report = collect_garbage(
            project.blobs, project.database, min_age_s=min_age_s, dry_run=args.dry_run
        )
        if report.removed and not args.dry_run:
            project.repo.record_event(
                "objects.gc",
                "project",
                project.settings.name,
                blobs=report.count("blob"),
                temporaries=report.count("temporary"),
                bytes_freed=report.bytes_freed,
            )
    if args.json:
        emit_json(report.to_dict())
        return 0
    verb = "Would remove" if args.dry_run else "Removed"
    print(
        f"{verb} {report.count('blob')} unreferenced blob(s) and {report.count('temporary')} "
        f"temporary file(s), {human_size(report.bytes_freed)}; kept {report.referenced} "
        f"blob(s) that rows name and {report.kept_young} file(s) younger than "
        f"{_age_text(min_age_s)} or still being written"
    )
    for removal in report.removed:
        print(f"  {removal.kind:9}  {removal.name}  {human_size(removal.size_bytes)}")
    return 0


def _age_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"
