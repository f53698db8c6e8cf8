"""The challenger options of ``shipway deploy`` and ``shipway deployments compare|promote``.

``--challenger M@ALIAS --mode shadow|split --share PCT [--sticky COLUMN]`` puts a challenger
beside the deployed model (:mod:`core.deploy.challenger`); ``deployments compare ID`` prints the
comparison on live traffic (:mod:`core.monitoring.challenger`); ``deployments promote ID``
promotes the challenger to the alias the deployment follows, through the gates.
"""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.output import emit_json, reply, table
from core.cli.parsing import Commands
from core.cli.project_cmds import open_workspace


def add_deploy_options(deploy: argparse.ArgumentParser) -> None:
    deploy.add_argument(
        "--challenger",
        metavar="M@V|M@ALIAS",
        help="another version beside the deployed one (shadow or split)",
    )
    deploy.add_argument("--mode", choices=("shadow", "split"),
                        help="shadow: the challenger scores every request unseen (default); "
                        "split: it answers --share percent of them")  # fmt: skip
    deploy.add_argument(
        "--share",
        type=float,
        metavar="PCT",
        help="percent of requests the challenger answers in split mode (10)",
    )
    deploy.add_argument(
        "--sticky",
        metavar="COLUMN",
        help="split by this column's value: one key always gets one side",
    )
    deploy.add_argument("--challenger-timeout-ms", type=float, metavar="MS",
                        help="time limit of a challenger prediction (1000)")  # fmt: skip


def challenger_config(args: argparse.Namespace) -> Any:
    from core.errors import UsageError
    from core.services import ChallengerConfig

    options = {"mode": args.mode, "share": args.share, "sticky": args.sticky,
               "timeout_ms": args.challenger_timeout_ms}  # fmt: skip
    given = {name: value for name, value in options.items() if value is not None}
    if not args.challenger:
        if given:
            raise UsageError(
                f"--{next(iter(given)).replace('timeout_ms', 'challenger-timeout-ms')} "
                "describes a challenger, and none was given",
                hint="add --challenger M@ALIAS (e.g. M@staging)",
            )
        return None
    if args.sticky is not None and args.mode != "split":
        raise UsageError("--sticky applies to --mode split only", hint="add --mode split")
    return ChallengerConfig(ref=args.challenger, **given)


def register(listing: argparse.ArgumentParser, common: argparse.ArgumentParser) -> None:
    actions = Commands(listing.add_subparsers(dest="action", metavar="compare|promote"), common)
    compare = actions.add(
        "compare", cmd_compare, help="champion against challenger on live traffic"
    )
    compare.add_argument("id")
    compare.add_argument("--metric", help="live metric to compare (default: the primary one)")
    compare.add_argument("--confidence", type=float, default=0.95, help="(0.95)")
    promote = actions.add(
        "promote", cmd_promote, help="promote the challenger to the deployment's alias"
    )
    promote.add_argument("id")


def cmd_compare(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        found = workspace.monitoring.compare_challenger(args.id, args.metric, args.confidence)
    document = found.to_dict()
    if args.json:
        emit_json(document)
        return 0
    print(
        f"Deployment {found.deployment}: {found.model}@{found.champion} (champion) against "
        f"@{found.challenger} (challenger), {found.mode} mode, {found.requests} requests"
    )
    rows = [_side_row(side, found.metric) for side in document["sides"].values()]
    print(table(rows, ("side", "version", "requests", "rows", "p50 ms", "p95 ms",
                       found.metric, "interval", "mix")))  # fmt: skip
    if found.agreement is not None:
        print(f"agreement: {found.agreement:.1%} of {found.agreement_rows} rows")
    test = found.test
    p = "n/a" if test.p_value is None else f"{test.p_value:.3g}"
    print(
        f"test: {test.name} on {found.rows} rows with feedback, p = {p}; better: "
        f"{found.better or 'not shown at ' + format(found.confidence, '.0%')}"
    )
    if found.problems:
        print("challenger problems: " + ", ".join(f"{k} {v}" for k, v in found.problems.items()))
    return 0


def _side_row(side: dict, metric: str) -> tuple:
    estimate = side["metric"]
    low, high = estimate["low"], estimate["high"]
    mix = ", ".join(f"{k} {v:.0%}" if v <= 1 else f"{k} {v:.3g}" for k, v in side["mix"].items())
    return (side["name"], side["version"], side["requests"], side["rows"],
            side["latency_p50_ms"], side["latency_p95_ms"],
            "" if estimate["value"] is None else f"{estimate['value']:.3f}",
            "" if low is None else f"[{low:.3f}, {high:.3f}]", mix[:60])  # fmt: skip


def cmd_promote(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        promotion = workspace.lifecycle.promote_challenger(args.id)
    text = (
        f"{promotion.version.ref} now holds {promotion.move.alias!r}; deployment "
        f"{args.id} serves it and has no challenger any more"
    )
    return reply(args, promotion.to_dict(), text)
