"""``shipway jobs list|show|cancel``: the work of the always-on service, for everyone to see."""

from __future__ import annotations

import argparse

from core.cli.output import answer, listing, reply
from core.cli.parsing import Commands
from core.cli.project_cmds import open_workspace

JOB_HEADERS = ("id", "kind", "status", "progress", "created (UTC)", "what")
NO_JOBS = "No jobs yet: the always-on service (`shipway service run`) records its work here."


def register(commands: Commands) -> None:
    jobs = commands.action_group("jobs", "the always-on service's jobs (retraining, imports...)")
    lst = jobs.add("list", cmd_list, help="the newest jobs first")
    lst.add_argument("--status", choices=("queued", "running", "done", "failed", "cancelled"))
    lst.add_argument("--kind", help="retrain, import, prune, ...")
    lst.add_argument("--limit", type=int, default=30)
    show = jobs.add("show", cmd_show, help="one job: progress, outcome, error")
    show.add_argument("id", type=int)
    cancel = jobs.add("cancel", cmd_cancel, help="stop a queued or running job")
    cancel.add_argument("id", type=int)


def cmd_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        found = workspace.jobs.list(args.limit, args.status, args.kind)
    return listing(args, "jobs", found, _job_row, JOB_HEADERS, NO_JOBS)


def _job_row(job) -> tuple:
    created = f"{job.created_at:%Y-%m-%d %H:%M}"
    return (job.id, job.kind, job.status, _progress(job), created, job.title[:70])


def _progress(job) -> str:
    if job.finished:
        return ""
    share = "" if job.fraction is None else f"{job.fraction:.0%} "
    return (share + job.message)[:40]


def cmd_show(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        job = workspace.jobs.get(args.id)
    return answer(args, job, _job_text)


def _job_text(job) -> str:
    lines = [
        f"Job {job.id} ({job.kind}): {job.title}",
        f"  status {job.status}" + ("  (cancel requested)" if job.cancel_requested else ""),
    ]
    if not job.finished and job.message:
        share = "" if job.fraction is None else f" {job.fraction:.0%}"
        lines.append(f"  now:{share} {job.message}")
    lines += [f"  {key}: {value}" for key, value in job.detail.items()]
    if job.error:
        lines.append(f"  error: {job.error}")
    return "\n".join(lines)


def cmd_cancel(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        job = workspace.jobs.cancel(args.id)
    if job.finished:
        text = f"Job {job.id} had already ended ({job.status})"
    else:
        text = f"Asked the service to stop job {job.id}; it ends within seconds"
    return reply(args, job.to_dict(), text)
