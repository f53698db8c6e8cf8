"""``shipway log prune`` (keep what [monitor] keep says, by hand) and ``shipway log erase``
(remove a person's requests from a deployment's prediction log and its caches, audited)."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.output import emit_json, human_size
from core.cli.parsing import DEPLOYMENT_HELP, Commands
from core.cli.project_cmds import open_workspace
from core.errors import ShipwayError, UsageError

WAIT_S = 10.0


def register(commands: Commands) -> None:
    log = commands.action_group("log", "prune or erase rows of a deployment's prediction log")
    prune = log.add(
        "prune", cmd_prune, help="remove requests older than a duration, and reclaim the space"
    )
    prune.add_argument(
        "deployment", nargs="?", metavar="DEPLOYMENT", help="one deployment (default: all)"
    )
    prune.add_argument(
        "--older-than", metavar="DURATION", help='e.g. "90d", "12h" (default: [monitor] keep)'
    )
    _maintenance_options(prune)

    erase = log.add(
        "erase",
        cmd_erase,
        help="erase requests by id or by an input value, with their feedback and caches",
    )
    erase.add_argument("deployment", metavar="DEPLOYMENT", help=DEPLOYMENT_HELP)
    erase.add_argument("--request-id", dest="request_ids", action="append", default=[],
                       metavar="ID", help="a request id (repeat for more)")  # fmt: skip
    erase.add_argument("--where", metavar="COLUMN=VALUE", help="an input column's value")
    _maintenance_options(erase)


def _maintenance_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vacuum",
        action="store_true",
        help="rewrite the log file (VACUUM) even while it serves: the server's writes wait",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=WAIT_S,
        metavar="SECONDS",
        help=f"how long to wait for a locked log (default {WAIT_S:g})",
    )


def _older_than(args: argparse.Namespace, workspace: Any) -> float:
    from core.operations.config import parse_duration

    if args.older_than is None:
        from core.config import load_settings
        from core.operations.config import load_operations_config

        keep = load_operations_config(workspace.root, load_settings(workspace.root).raw).keep_s
        if keep is None:
            raise UsageError("give --older-than, or set keep in [monitor] of shipway.toml",
                             hint='e.g. --older-than 90d, or [monitor] keep = "90d"')  # fmt: skip
        return keep
    try:
        return parse_duration(args.older_than)
    except ValueError:
        raise UsageError(f"--older-than must be a positive duration, not {args.older_than!r}",
                         hint='e.g. "90d", "12h", "30m"') from None  # fmt: skip


def cmd_prune(args: argparse.Namespace) -> int:
    """Remove the requests (with their feedback) logged before now minus --older-than, and the
    drift bucket cache files of buckets that ended before then; then give the space back to the
    disk. The always-on service does this on its own with [monitor] keep."""
    vacuum = True if args.vacuum else None
    results, problems = [], []
    with open_workspace(args) as workspace:
        keep = _older_than(args, workspace)
        if args.deployment is not None:
            ids = [workspace.deployments.get(args.deployment).id]
        else:
            ids = [d.id for d in workspace.deployments.list(include_stopped=True)]
        for deployment in ids:
            try:
                results.append(workspace.monitoring.prune_log(deployment, keep, vacuum=vacuum,
                                                              busy_timeout=args.wait))  # fmt: skip
            except ShipwayError as error:
                if args.deployment is not None:
                    raise
                problems.append(error.one_line())
    if args.json:
        emit_json({"deployments": [r.to_dict() for r in results], "problems": problems})
        return 1 if problems else 0
    for result in results:
        print(f"{result.deployment}: pruned {result.requests:,} requests and "
              f"{result.feedback:,} feedback rows logged before {result.before}, "
              f"{result.bucket_files} drift cache files; "
              f"{human_size(result.bytes_reclaimed)} reclaimed")  # fmt: skip
        for note in result.notes:
            print(f"  note: {note}")
    if not ids:
        print("No deployment in this project: nothing to prune.")
    for problem in problems:
        print(f"  problem: {problem}")
    return 1 if problems else 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase the requests chosen by id, or whose logged inputs hold COLUMN=VALUE (an input
    column of the model), with their feedback and the drift bucket cache files that summarised
    them. Recorded in the audit trail as log.erase (the value as a sha256, never in clear)."""
    vacuum = True if args.vacuum else None
    with open_workspace(args) as workspace:
        result = workspace.monitoring.erase_from_log(
            args.deployment, args.request_ids, args.where, vacuum=vacuum, busy_timeout=args.wait
        )
    if args.json:
        emit_json(result.to_dict())
        return 0
    if not result.requests:
        print(f"No request in the log of {result.deployment} matched: nothing erased "
              f"({result.feedback} feedback rows removed). Recorded in the audit trail "
              f"as log.erase.")  # fmt: skip
    else:
        print(f"Erased {result.requests:,} request(s) and {result.feedback:,} feedback rows "
              f"from the log of {result.deployment}; {result.bucket_files} drift cache files "
              f"dropped; {human_size(result.bytes_reclaimed)} reclaimed. Recorded in the "
              f"audit trail as log.erase.")  # fmt: skip
    for note in result.notes:
        print(f"  note: {note}")
    return 0
