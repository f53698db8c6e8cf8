"""The jobs of the always-on service as the front door shows them (``ws.jobs``)."""

from __future__ import annotations

from core.entities import Job
from core.project import Project
from core.store.job_repository import JobRepository


class JobsService:
    """List, show and cancel the service's jobs (any process may: the service reads cancels)."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def list(
        self, limit: int = 50, status: str | None = None, kind: str | None = None
    ) -> list[Job]:
        """Newest first."""
        return self._project.jobs.list(limit, status, kind)

    def get(self, job_id: int) -> Job:
        return self._project.jobs.get(job_id)

    @property
    def repository(self) -> JobRepository:
        """The jobs table and the schedule marks, for the service's runner and schedules."""
        return self._project.jobs

    def fail_abandoned(self) -> list[Job]:
        """Fail the jobs a process of this machine left unfinished when it died."""
        return self._project.jobs.fail_abandoned()

    def cancel(self, job_id: int) -> Job:
        """Ask the service to stop a queued or running job; it ends cancelled within seconds."""
        return self._project.jobs.request_cancel(job_id)
