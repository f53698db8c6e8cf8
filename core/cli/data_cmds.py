"""``shipway data import | list | show | diff | export``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from core.cli import contract_cmds
from core.cli.output import TerminalProgress, emit_json, human_size, listing, reply, table
from core.cli.parsing import Commands, add_choice, call_with_args
from core.cli.project_cmds import open_workspace
from core.errors import CorruptObject, UsageError

if TYPE_CHECKING:  # the importers load pyarrow's readers: only `data import` needs them
    from core.services import ImportOptions

DATASET_HEADERS = ("data set", "latest", "versions", "rows", "cols", "updated")
NO_DATASETS = "No data sets yet. Import one with `shipway data import FILE`."


def register(commands: Commands) -> None:
    sub = commands.group("data", "versioned data sets")
    imp = sub.add("import", cmd_import, help="import a file or a SQL query")
    imp.add_argument("file", nargs="?", help="CSV/TSV, Parquet, Excel (.xlsx) or JSON lines")
    imp.add_argument("--name", help="data set name (default: the file's name)")
    imp.add_argument("--format", choices=("csv", "tsv", "parquet", "excel", "jsonl"))
    imp.add_argument("--sheet", help="Excel sheet (default: the first)")
    imp.add_argument("--encoding", help="text encoding (default: detected)")
    imp.add_argument("--delimiter", help="field delimiter: ',', ';', tab, '|' (default: detected)")
    imp.add_argument("--decimal", choices=(".", ","), help="decimal mark (default: detected)")
    imp.add_argument(
        "--missing-tokens",
        metavar="A,B,...",
        help="cells equal to one of these become missing (empty cells always do); "
        "default: shipway.toml [data] missing_tokens; '' for none",
    )
    add_choice(
        imp,
        "--bad-rows",
        ("error", "skip"),
        "rows with the wrong number of fields: stop (default) or skip them",
    )
    add_choice(
        imp,
        "--date-order",
        ("auto", "day-first", "month-first"),
        "dates like 01/02/2012 that fit both orders: day-first (1 February), month-first "
        "(2 January), or auto (default: such a column stays text and the report says so)",
    )
    imp.add_argument("--sql", metavar="QUERY", help="import the result of this query")
    imp.add_argument("--url", help="SQLAlchemy URL of the database for --sql")
    imp.add_argument(
        "--check",
        metavar="M@V",
        help="list the new version's violations of this model version's data contract",
    )

    lst = sub.add("list", cmd_list, help="data sets, or the versions of one")
    lst.add_argument("name", nargs="?", help="list the versions of this data set")

    show = sub.add("show", cmd_show, help="a version: schema, profile, report")
    show.add_argument("ref", help="NAME or NAME@VERSION")

    diff = sub.add("diff", cmd_diff, help="what changed between two versions")
    diff.add_argument("a", help="NAME@VERSION")
    diff.add_argument("b", help="NAME@VERSION")

    export = sub.add("export", cmd_export, help="write a version to CSV or Parquet")
    export.add_argument("ref", help="NAME or NAME@VERSION")
    export.add_argument("-o", "--output", required=True, help="target .csv or .parquet file")
    export.add_argument("--format", choices=("csv", "parquet"))


def _options(args: argparse.Namespace) -> ImportOptions:
    from core.services import ImportOptions

    tokens = None
    if args.missing_tokens is not None:
        tokens = tuple(t for t in args.missing_tokens.split(",") if t != "")
    date_order = args.date_order.replace("-", "_")
    return call_with_args(ImportOptions, args, missing_tokens=tokens, date_order=date_order)


def cmd_import(args: argparse.Namespace) -> int:
    if bool(args.file) == bool(args.sql):
        raise UsageError("give either FILE or --sql QUERY", hint="see `shipway data import -h`")
    if args.sql and not (args.url and args.name):
        raise UsageError("--sql needs --url and --name", hint="e.g. --url sqlite:///shop.db")
    progress = TerminalProgress(enabled=not args.json)
    with open_workspace(args) as workspace:
        if args.check:
            workspace.registry.version(args.check)  # an unknown model stops before the import
        try:
            if args.sql:
                outcome = workspace.data.import_sql(
                    args.sql, args.url, args.name, _options(args), progress
                )
            else:
                outcome = workspace.data.import_file(args.file, _options(args), progress)
        finally:
            progress.finish()
        check = None
        if args.check:
            found = workspace.registry.check_contract(args.check, outcome.version.ref)
            check = found.to_dict()
    if args.json:
        emit_json(outcome.to_dict() | ({"contract": check} if check is not None else {}))
        return 0
    version = outcome.version
    verb = "Imported" if outcome.created else "Unchanged, already imported as"
    print(
        f"{verb} {version.ref}: {version.rows:,} rows × {version.columns} columns, "
        f"sha256 {version.sha256[:12]}"
    )
    _print_report(version.report)
    if check is not None:
        contract_cmds.print_check(check)
    return 0


def _print_report(report: dict[str, Any]) -> None:
    detected = ", ".join(f"{k} {v!r}" for k, v in report.get("detected", {}).items())
    if detected:
        print(f"Detected: {detected}")
    for column, tokens in report.get("missing_tokens", {}).items():
        listed = ", ".join(f"{(t or '(empty)')!r} ×{n}" for t, n in tokens.items())
        print(f"  missing in {column!r}: {listed}")
    for problem in report.get("problems", []):
        print(f"  {problem['severity']}: {problem['message']}")
    for column, reason in report.get("identifiers", {}).items():
        print(f"  identifier {column!r}: {reason}; not a feature unless chosen")


def cmd_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        if args.name:
            found = workspace.data.versions(args.name)
            if args.json:
                emit_json({"dataset": args.name, "versions": [v.summary() for v in found]})
                return 0
            rows = [
                (
                    v.version,
                    f"{v.rows:,}",
                    v.columns,
                    v.sha256[:12],
                    v.created_by,
                    v.created_at.strftime("%Y-%m-%d %H:%M"),
                    v.source,
                )
                for v in found
            ]
            print(table(rows, ("version", "rows", "cols", "sha256", "by", "when", "source")))
            return 0
        datasets = workspace.data.datasets()
    return listing(args, "datasets", datasets, _dataset_row, DATASET_HEADERS, NO_DATASETS)


def _dataset_row(d: Any) -> tuple:
    updated = d.updated_at.strftime("%Y-%m-%d %H:%M")
    return (d.name, d.latest_version, d.versions, f"{d.latest_rows:,}", d.latest_columns, updated)


def cmd_show(args: argparse.Namespace) -> int:
    # (Not a docstring: that would be the command's description under -h.) A version whose blob
    # is damaged is still shown, then fails (exit 1). With --json that is still one document:
    # the version's, with ``integrity`` saying what is wrong and the error's keys (``error``,
    # ``message``, ``where``, ``hint``) beside them.
    with open_workspace(args) as workspace:
        version = workspace.data.version(args.ref)
        problem = workspace.data.verify(version)
    document = version.to_dict() | {"integrity": {"ok": problem is None, "problem": problem}}
    error = None
    if problem:
        error = CorruptObject(
            f"{version.ref} cannot be used: its stored data is {problem}",
            where=version.ref,
            hint="restore the project's objects/ folder from a backup, or import the file again",
        )
    if not args.json:
        _print_version(version, problem)
        if error is not None:
            raise error
        return 0
    emit_json(document | (error.to_dict() if error is not None else {}))
    if error is None:
        return 0
    sys.stderr.write(f"shipway: error: {error.one_line()}\n")
    return error.exit_code


def _print_version(version: Any, problem: str | None) -> None:
    print(
        f"{version.ref}  {version.rows:,} rows × {version.columns} columns  "
        f"{human_size(version.size_bytes)}  sha256 {version.sha256}"
    )
    print(
        f"source {version.source} ({version.source_format}); imported by {version.created_by} "
        f"at {version.created_at:%Y-%m-%d %H:%M}; parent {version.parent_version or '-'}"
    )
    print(f"integrity: {'ok' if problem is None else 'CORRUPT: ' + problem}")
    rows = []
    for name, kind in version.schema.items():
        stats = version.profile.get(name, {})
        summary = _stat_summary(stats)
        rows.append(
            (name, kind, f"{stats.get('missing_share', 0):.1%}", stats.get("distinct"), summary)
        )
    print(table(rows, ("column", "type", "missing", "distinct", "summary")))
    _print_report(version.report)


def _stat_summary(stats: dict[str, Any]) -> str:
    if "mean" in stats:
        return f"min {stats['min']:.4g}  mean {stats['mean']:.4g}  max {stats['max']:.4g}"
    if stats.get("top"):
        return ", ".join(f"{t['value']} ({t['count']})" for t in stats["top"][:3])
    if "min" in stats:
        return f"{stats['min']} … {stats['max']}"
    return ""


def cmd_diff(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        result = workspace.data.diff(args.a, args.b)
    if args.json:
        emit_json(result.to_dict())
        return 0
    print(f"{result.a} → {result.b}: rows {result.rows[0]:,} → {result.rows[1]:,}")
    schema = result.schema
    for name, kind in schema["added"].items():
        print(f"  + {name} ({kind})")
    for name, kind in schema["removed"].items():
        print(f"  - {name} ({kind})")
    for name, (old, new) in schema["retyped"].items():
        print(f"  ~ {name}: {old} → {new}")
    rows = [
        (c["name"], "-" if c.get("psi") is None else f"{c['psi']:.3f}", c["shift"])
        for c in result.columns
    ]
    print(table(rows, ("column", "PSI", "shift")))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        path = workspace.data.export(args.ref, args.output, args.format)
    return reply(args, {"path": str(path), "ref": args.ref}, f"Wrote {path}")
