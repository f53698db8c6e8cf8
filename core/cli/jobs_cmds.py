"""``shipway jobs list|show|cancel``: the work of the always-on service, for everyone to see."""

from __future__ import annotations

import argparse

from core.cli.output import emit_json, table
from core.cli.project_cmds import open_workspace


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    jobs = commands.add_parser(
        "jobs", parents=[common], help="the always-on service's jobs (retraining, imports...)"
    ).add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    listing = jobs.add_parser("list", parents=[common], help="the newest jobs first")
    listing.add_argument("--status", choices=("queued", "running", "done", "failed", "cancelled"))
    listing.add_argument("--kind", help="retrain, import, prune, ...")
    listing.add_argument("--limit", type=int, default=30)
    listing.set_defaults(handler=cmd_list)
    show = jobs.add_parser("show", parents=[common], help="one job: progress, outcome, error")
    show.add_argument("id", type=int)
    show.set_defaults(handler=cmd_show)
    cancel = jobs.add_parser("cancel", parents=[common], help="stop a queued or running job")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(handler=cmd_cancel)


def cmd_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        found = workspace.jobs.list(args.limit, args.status, args.kind)
    if args.json:
        emit_json({"jobs": [job.to_dict() for job in found]})
        return 0
    if not found:
        print("No jobs yet: the always-on service (`shipway service run`) records its work here.")
        return 0
    rows = [
        (job.id, job.kind, job.status, _progress(job), f"{job.created_at:%Y-%m-%d %H:%M}",
         job.title[:70])
        for job in found
    ]  # fmt: skip
    print(table(rows, ("id", "kind", "status", "progress", "created (UTC)", "what")))
    return 0


def _progress(job) -> str:
    if job.finished:
        return ""
    share = "" if job.fraction is None else f"{job.fraction:.0%} "
    return (share + job.message)[:40]


def cmd_show(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        job = workspace.jobs.get(args.id)
    if args.json:
        emit_json(job.to_dict())
        return 0
    print(f"Job {job.id} ({job.kind}): {job.title}")
    print(f"  status {job.status}" + ("  (cancel requested)" if job.cancel_requested else ""))
    if not job.finished and job.message:
        share = "" if job.fraction is None else f" {job.fraction:.0%}"
        print(f"  now:{share} {job.message}")
    for key, value in job.detail.items():
        print(f"  {key}: {value}")
    if job.error:
        print(f"  error: {job.error}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        job = workspace.jobs.cancel(args.id)
    if args.json:
        emit_json(job.to_dict())
    elif job.finished:
        print(f"Job {job.id} had already ended ({job.status})")
    else:
        print(f"Asked the service to stop job {job.id}; it ends within seconds")
    return 0
