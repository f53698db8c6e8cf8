"""Deployments in the metadata store. Each method is one session scope; starting, swapping and
stopping a deployment write their audit rows in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.entities import Deployment, DeploymentStart
from core.errors import NotFound
from core.store.audit import add_audit
from core.store.database import Database, retrying
from core.store.orm import DeploymentRow
from core.store.rows import entity_from_row, inserted
from core.times import utcnow


@dataclass(frozen=True, kw_only=True)
class NewDeployment(DeploymentStart):
    """A server that has just started, to be recorded as running, with its process's identity."""

    process_started: str | None = None
    process_command: list[str] | None = None
    keep: bool = False


class DeploymentRepository:
    def __init__(self, database: Database, user: str) -> None:
        self.db = database
        self.user = user

    def _audit(self, session: Session, action: str, deployment: str, **detail: Any) -> None:
        add_audit(session, self.user, action, "deployment", deployment, **detail)

    @retrying
    def record(self, new: NewDeployment) -> Deployment:
        with self.db.session(write=True) as session:
            started = {"status": "running", "started_at": utcnow(), "started_by": self.user}
            row = inserted(session, DeploymentRow(**vars(new), **started, stop_note=""))
            self._audit(
                session,
                "deploy",
                new.id,
                model=new.target,
                version=new.version,
                url=f"http://{new.host}:{new.port}",
                kind=new.kind,
            )
            return _entity(row)

    def get(self, deployment_id: str) -> Deployment:
        with self.db.session(write=False) as session:
            return _entity(self._row(session, deployment_id))

    def list(self, include_stopped: bool = True) -> list[Deployment]:
        with self.db.session(write=False) as session:
            query = select(DeploymentRow).order_by(DeploymentRow.started_at.desc())
            if not include_stopped:
                query = query.where(DeploymentRow.status == "running")
            return [_entity(row) for row in session.scalars(query)]

    def following(self, model: str, alias: str) -> list[Deployment]:
        """Running deployments that serve whatever version holds ``model@alias``."""
        with self.db.session(write=False) as session:
            rows = session.scalars(
                select(DeploymentRow).where(
                    DeploymentRow.model == model,
                    DeploymentRow.alias == alias,
                    DeploymentRow.status == "running",
                )
            )
            return [_entity(row) for row in rows]

    @retrying
    def swapped(self, deployment_id: str, version: int, previous: int) -> None:
        with self.db.session(write=True) as session:
            row = self._row(session, deployment_id)
            row.version = version
            self._audit(
                session,
                "deployment.swap",
                deployment_id,
                model=f"{row.model}@{row.alias}",
                version=version,
                previous=previous,
            )

    @retrying
    def stopped(self, deployment_id: str, note: str) -> Deployment:
        with self.db.session(write=True) as session:
            row = self._row(session, deployment_id)
            if row.status != "stopped":
                row.status, row.stopped_at, row.stop_note = "stopped", utcnow(), note
                self._audit(session, "undeploy", deployment_id, note=note)
            return _entity(row)

    @retrying
    def set_keep(self, deployment_id: str, keep: bool) -> Deployment:
        """Mark a deployment to be kept up by the always-on service (or no longer)."""
        with self.db.session(write=True) as session:
            row = self._row(session, deployment_id)
            if row.keep != keep:
                row.keep = keep
                self._audit(session, "deployment.keep" if keep else "deployment.unkeep",
                            deployment_id)  # fmt: skip
            return _entity(row)

    @retrying
    def restarted(
        self, deployment_id: str, pid: int, started: str | None, command: list[str] | None
    ) -> Deployment:
        """Record the new server process of a kept deployment the service started again."""
        with self.db.session(write=True) as session:
            row = self._row(session, deployment_id)
            previous = row.pid
            row.pid, row.process_started, row.process_command = pid, started, command
            row.status, row.stopped_at, row.stop_note = "running", None, ""
            self._audit(session, "deployment.restart", deployment_id, pid=pid, previous=previous)
            return _entity(row)

    def kept(self) -> list[Deployment]:
        """Deployments marked to be kept up, running or not."""
        with self.db.session(write=False) as session:
            rows = session.scalars(select(DeploymentRow).where(DeploymentRow.keep.is_(True)))
            return [_entity(row) for row in rows]

    def _row(self, session: Session, deployment_id: str) -> DeploymentRow:
        row = session.get(DeploymentRow, deployment_id)
        if row is None:
            known = ", ".join(
                session.scalars(
                    select(DeploymentRow.id).where(DeploymentRow.status == "running").limit(10)
                )
            )
            raise NotFound(
                f"no deployment {deployment_id!r}",
                where="deployments of this project",
                hint=f"running: {known or 'none'}; `shipway deployments` lists them all",
            )
        return row


def _entity(row: DeploymentRow) -> Deployment:
    command = row.process_command
    return entity_from_row(
        Deployment, row, process_command=tuple(command) if command is not None else None
    )
