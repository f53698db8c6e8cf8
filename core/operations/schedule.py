"""When a schedule is due: at most once per period, measured from when it last ran.

A mark per schedule (``JobRepository.mark``) says when it last ran, in the database, so that:

- a schedule missed while the service was down runs once when it starts, not once per period
  missed (the mark is simply old);
- a clock moved forward runs each due schedule once (the same rule), never a burst;
- a clock moved backwards (the mark lies in the future) does not wait for the old time to come
  back: the mark is moved to now and the schedule runs a period later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.store.job_repository import JobRepository


def due(jobs: JobRepository, name: str, every_s: float, now: datetime, first: bool = True) -> bool:
    """Whether the schedule ``name`` (every ``every_s`` seconds) should run at ``now``.

    A schedule that never ran runs at once when ``first``; otherwise its period starts now
    (a retraining every 30 days does not start the moment the service is installed)."""
    last = jobs.mark(name)
    if last is None:
        if not first:
            jobs.set_mark(name, now, note="first seen")
        return first
    if last > now + timedelta(seconds=1):  # the clock went back: start counting again
        jobs.set_mark(name, now, note="the clock went back")
        return False
    return (now - last).total_seconds() >= every_s


def ran(jobs: JobRepository, name: str, now: datetime, **detail: object) -> None:
    jobs.set_mark(name, now, **detail)
