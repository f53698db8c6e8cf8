"""``shipway models contract M@V [--set COLUMN.KEY=VALUE ...] [--file F] [--json]`` and the
contract check of ``shipway data import ... --check M@V``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.cli.output import emit_json, table
from core.cli.parsing import Commands, add_version
from core.cli.project_cmds import open_workspace


def register(sub: Commands) -> None:
    contract = sub.add("contract", cmd_contract, help="a version's data contract: show or edit it")
    add_version(contract)
    contract.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="COLUMN.KEY=VALUE",
        help="change one rule (keys: min, max, nullable, unique, categories; 'none' clears)",
    )
    contract.add_argument(
        "--file", type=Path, help="replace the contract by this JSON file (as --json prints it)"
    )


def cmd_contract(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        if args.set or args.file:
            kept = workspace.registry.edit_contract(args.ref, tuple(args.set), args.file)
        else:
            kept = workspace.registry.contract(args.ref)
    if args.json:
        emit_json(kept.to_dict())
        return 0
    edited = " (edited)" if args.set or args.file else ""
    print(f"Data contract of {kept.ref}{edited}, {kept.source}:")
    rows = [_row(column) for column in kept.contract.to_dict()["columns"]]
    print(table(rows, ("column", "type", "nullable", "min", "max", "categories", "unique")))
    return 0


def _row(column: dict[str, Any]) -> tuple[str, ...]:
    categories = column["categories"]
    shown = "" if categories is None else ", ".join(categories[:8])
    if categories is not None and len(categories) > 8:
        shown += f" … (+{len(categories) - 8})"
    return (
        column["name"],
        column["type"],
        "yes" if column["nullable"] else "no",
        "" if column["min"] is None else f"{column['min']:g}",
        "" if column["max"] is None else f"{column['max']:g}",
        shown,
        "yes" if column["unique"] else "",
    )


def print_check(check: dict[str, Any]) -> None:
    """The contract part of an import report."""
    if check["passed"]:
        print(f"Contract of {check['model']}: all {check['rows']:,} rows meet it")
        return
    print(f"Contract of {check['model']}: {len(check['violations'])} rule(s) broken")
    for violation in check["violations"]:
        rows = ", ".join(str(r) for r in violation["examples"])
        print(f"  violation {violation['rule']}: {violation['message']} (rows {rows}, 0-based)")
