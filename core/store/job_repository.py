"""Jobs of the always-on service, and when each of its schedules last ran.

A job is recorded QUEUED, RUNNING (with the host and pid of the process running it), then DONE,
FAILED or CANCELLED, each change with its audit row. Cancelling is a request any process may
write; the process running the job reads it and stops. A job left RUNNING by a process that
died (kill -9, a reboot) is failed by :meth:`JobRepository.fail_abandoned`, never resumed
half-way. Schedule marks say when each schedule last ran, so that a schedule missed while the
service was down runs once on start, not once per period missed.
"""

from __future__ import annotations

import socket
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.entities import Job
from core.errors import NotFound
from core.serving.processes import process_alive
from core.store.audit import add_audit
from core.store.database import Database, retrying
from core.store.orm import JobRow, ScheduleMarkRow
from core.store.rows import entity_from_row, inserted, mark_running, present
from core.times import aware, utcnow

FINISHED = ("done", "failed", "cancelled")


def _entity(row: JobRow) -> Job:
    return entity_from_row(Job, row)


class JobRepository:
    """Every public method is one session scope and returns frozen entities."""

    def __init__(self, db: Database, user: str) -> None:
        self.db = db
        self.user = user

    @retrying
    def create(self, kind: str, title: str, target: str = "", **detail: Any) -> Job:
        with self.db.session(write=True) as session:
            row = JobRow(kind=kind, title=title, target=target, status="queued", message="",
                         detail=detail, cancel_requested=False, created_at=utcnow(),
                         created_by=self.user)  # fmt: skip
            inserted(session, row)
            add_audit(session, self.user, "job.create", "job", f"job {row.id}", kind=kind,
                      title=title, target=target)  # fmt: skip
            return _entity(row)

    @retrying
    def start(self, job_id: int) -> Job:
        with self.db.session(write=True) as session:
            row = self._row(session, job_id)
            mark_running(row)
            session.flush()
            return _entity(row)

    @retrying
    def progress(self, job_id: int, fraction: float | None, message: str) -> None:
        with self.db.session(write=True) as session:
            row = self._row(session, job_id)
            row.fraction, row.message = fraction, message[:500]

    @retrying
    def finish(
        self, job_id: int, status: str, error: str | None = None, outcome: dict | None = None
    ) -> Job:
        """Record the end of a job (``status`` done, failed or cancelled) and its outcome."""
        if status not in FINISHED:
            raise ValueError(f"a job ends done, failed or cancelled, not {status!r}")
        with self.db.session(write=True) as session:
            row = self._row(session, job_id)
            row.status, row.finished_at, row.error = status, utcnow(), error
            row.detail = {**(row.detail or {}), **(outcome or {})}
            if status == "done":
                row.fraction = 1.0
            session.flush()
            add_audit(session, self.user, f"job.{status}", "job", f"job {row.id}",
                      kind=row.kind, title=row.title, error=error,
                      outcome=outcome or {})  # fmt: skip
            return _entity(row)

    @retrying
    def request_cancel(self, job_id: int) -> Job:
        """Ask the process running the job to stop it (a finished job stays as it is)."""
        with self.db.session(write=True) as session:
            row = self._row(session, job_id)
            if row.status not in FINISHED:
                row.cancel_requested = True
                add_audit(session, self.user, "job.cancel", "job", f"job {row.id}",
                          kind=row.kind)  # fmt: skip
            session.flush()
            return _entity(row)

    def get(self, job_id: int) -> Job:
        with self.db.session(write=False) as session:
            return _entity(self._row(session, job_id))

    def list(
        self, limit: int = 50, status: str | None = None, kind: str | None = None
    ) -> list[Job]:
        """Newest first."""
        with self.db.session(write=False) as session:
            query = select(JobRow).filter_by(**present(status=status, kind=kind))
            rows = session.scalars(query.order_by(JobRow.id.desc()).limit(limit))
            return [_entity(row) for row in rows]

    @retrying
    def fail_abandoned(self) -> list[Job]:
        """Fail the jobs left queued or running by a process of this host that is gone."""
        here = socket.gethostname()
        failed = []
        with self.db.session(write=True) as session:
            rows = session.scalars(select(JobRow).where(JobRow.status.in_(("queued", "running"))))
            for row in rows:
                if row.host not in (None, here) or (row.pid and process_alive(row.pid)):
                    continue
                if row.pid is None and row.status == "queued" and row.created_by != self.user:
                    continue  # queued by another process that has not picked it up yet
                row.status, row.finished_at = "failed", utcnow()
                row.error = "the process running this job ended before it finished"
                add_audit(session, self.user, "job.failed", "job", f"job {row.id}",
                          kind=row.kind, title=row.title, error=row.error)  # fmt: skip
                failed.append(_entity(row))
        return failed

    # -- schedule marks --------------------------------------------------------------------------

    def mark(self, name: str) -> datetime | None:
        """When the schedule ``name`` last ran (None: never)."""
        with self.db.session(write=False) as session:
            row = session.get(ScheduleMarkRow, name)
            return aware(row.last_at) if row is not None else None

    def mark_detail(self, name: str) -> dict[str, Any] | None:
        """What the schedule ``name`` noted when it last ran (None: it never ran)."""
        with self.db.session(write=False) as session:
            row = session.get(ScheduleMarkRow, name)
            return dict(row.detail or {}) if row is not None else None

    @retrying
    def set_mark(self, name: str, at: datetime, **detail: Any) -> None:
        with self.db.session(write=True) as session:
            row = session.get(ScheduleMarkRow, name)
            if row is None:
                session.add(ScheduleMarkRow(name=name, last_at=at, detail=detail))
            else:
                row.last_at, row.detail = at, detail

    @staticmethod
    def _row(session: Any, job_id: int) -> JobRow:
        row = session.get(JobRow, job_id)
        if row is None:
            raise NotFound(f"no job {job_id}", where=f"job {job_id}",
                           hint="`shipway jobs list` shows the jobs")  # fmt: skip
        return row
