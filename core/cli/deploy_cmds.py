"""``shipway deploy``, ``shipway deployments``, ``shipway undeploy``, ``shipway serve``.

A stale deployment (its pid names another process now; see :mod:`core.deploy.identity`) shows
as ``stale`` in ``deployments``, with the reason under the table, and ``undeploy`` says so.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core.cli import challenger_cmds
from core.cli.output import emit_json, reply, table
from core.cli.parsing import Commands
from core.cli.project_cmds import open_workspace

TOKEN_VARIABLE = "SHIPWAY_SERVING_TOKEN"


def _serving_options(parser: argparse.ArgumentParser, bundles: bool = False) -> None:
    parser.add_argument("ref", metavar="M@V|M@ALIAS" + ("|BUNDLE.zip" if bundles else ""))
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument(
        "--token",
        help=f"bearer token every route but /health requires (default: ${TOKEN_VARIABLE}); "
        "needed to listen on anything but loopback",
    )


def register(commands: Commands) -> None:
    deploy = commands.add(
        "deploy", cmd_deploy, help="serve a model version or alias in the background"
    )
    _serving_options(deploy)
    deploy.add_argument(
        "--no-log-inputs", action="store_true", help="log predictions without the input values"
    )
    deploy.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="server processes sharing the port (default: [serving] workers in shipway.toml, "
        "else 2 on a machine with two cores or more)",
    )
    deploy.add_argument(
        "--keep",
        action="store_true",
        help="keep it up: the always-on service (`shipway service run`) restarts it when it "
        "dies and brings it back after a reboot",
    )
    challenger_cmds.add_deploy_options(deploy)

    serve = commands.add(
        "serve", cmd_serve, help="serve a version, an alias or a bundle in the foreground"
    )
    _serving_options(serve, bundles=True)
    serve.add_argument(
        "--trust",
        action="store_true",
        help="serve a bundle that is unsigned or signed by another project. Its model file is "
        "a pickle: loading it runs code from whoever made the bundle, so use this only for "
        "bundles from people you trust",
    )

    listing = commands.add("deployments", cmd_deployments, help="deployments, live")
    listing.add_argument("--running", action="store_true", help="only running ones")
    challenger_cmds.register(listing, commands.common)

    undeploy = commands.add("undeploy", cmd_undeploy, help="stop a deployment")
    undeploy.add_argument("id")

    keep = commands.add(
        "keep", cmd_keep, help="mark a running deployment to be kept up by the always-on service"
    )
    keep.add_argument("id")
    keep.add_argument("--off", action="store_true", help="no longer keep it up")


def _token(args: argparse.Namespace) -> str | None:
    return args.token or os.environ.get(TOKEN_VARIABLE) or None


def _document(deployment, state=None) -> dict:
    document = deployment.to_dict()
    document.update(pid=deployment.pid, port=deployment.port, url=deployment.url)
    if state is not None:
        document["live"] = state.to_dict()
    return document


def cmd_deploy(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        deployment = workspace.deployments.deploy(
            args.ref,
            host=args.host,
            port=args.port,
            token=_token(args),
            log_inputs=not args.no_log_inputs,
            workers=args.workers,
            keep=args.keep,
            challenger=challenger_cmds.challenger_config(args),
        )
        beside = workspace.deployments.challenger(deployment.id)
    if args.json:
        emit_json({**_document(deployment), "challenger": beside and beside.to_dict()})
    else:
        print(f"Deployment {deployment.id}: {deployment.target} (version {deployment.version})")
        if deployment.keep:
            print("  kept up by the always-on service (`shipway service status`)")
        print(f"  {deployment.url}   (pid {deployment.pid})")
        if beside is not None:
            print(f"  challenger: {beside.model}@{beside.version} ({beside.mode}"
                  f"{f', {beside.share:g}%' if beside.mode == 'split' else ''})")  # fmt: skip
        print(f"  try: curl {deployment.url}/health")
        print(f"  stop: shipway undeploy {deployment.id}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    def ready(deployment) -> None:
        if args.json:
            emit_json(_document(deployment))
        else:
            print(f"Serving {deployment.target} (version {deployment.version}) on "
                  f"{deployment.url}; Ctrl-C stops")  # fmt: skip
        sys.stdout.flush()

    options = {"host": args.host, "port": args.port, "token": _token(args), "on_ready": ready}
    with open_workspace(args) as workspace:
        if args.ref.lower().endswith(".zip") or Path(args.ref).is_file():
            workspace.bundles.serve(args.ref, trust=args.trust, **options)
        else:
            workspace.deployments.serve(args.ref, **options)
    return 0


def cmd_deployments(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        found = workspace.deployments.list(include_stopped=not args.running)
        states = [workspace.deployments.state(d, _token_for(d)) for d in found]
    if args.json:
        documents = [_document(d, s) for d, s in zip(found, states, strict=True)]
        emit_json({"deployments": documents})
        return 0
    if not found:
        print("No deployments. Start one with `shipway deploy MODEL@production`.")
        return 0
    rows = [
        (
            d.id,
            s.state,
            d.target,
            s.version if s.version is not None else d.version,
            d.url,
            _uptime(s.uptime_s),
            "" if s.requests is None else s.requests,
            "" if s.error_rate is None else f"{s.error_rate:.1%}",
        )
        for d, s in zip(found, states, strict=True)
    ]
    print(table(rows, ("id", "state", "serves", "version", "url", "up", "requests", "errors")))
    for d, s in zip(found, states, strict=True):
        if s.state == "stale":
            print(f"{d.id}: {s.note}")
    return 0


def _token_for(deployment) -> str | None:
    return os.environ.get(TOKEN_VARIABLE) if deployment.token else None


def _uptime(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def cmd_undeploy(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        deployment = workspace.deployments.undeploy(args.id)
    state = "was stale" if deployment.stale else deployment.status
    text = f"Deployment {deployment.id} {state}: {deployment.stop_note}"
    return reply(args, _document(deployment), text)


def cmd_keep(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        deployment = workspace.deployments.keep(args.id, not args.off)
    kept = "is kept up by the always-on service" if deployment.keep else "is no longer kept up"
    return reply(args, _document(deployment), f"Deployment {deployment.id} {kept}")
