"""Runs in the metadata store: created QUEUED, moved to RUNNING, finished DONE, FAILED or
CANCELLED. Each method is one session scope; state changes write their audit row with them."""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from core.entities import Run
from core.errors import NotFound
from core.store.audit import add_audit
from core.store.database import Database, retrying
from core.store.numbered import dataset_ref
from core.store.orm import BlobRow, DatasetRow, DatasetVersionRow, RunRow
from core.store.rows import entity_from_row, inserted, mark_running
from core.times import aware, utcnow


class RunRepository:
    def __init__(self, database: Database, user: str) -> None:
        self.db = database
        self.user = user

    def _audit(self, session: Session, action: str, run_id: int, **detail: Any) -> None:
        add_audit(session, self.user, action, "run", f"run {run_id}", **detail)

    @retrying
    def create(
        self,
        *,
        spec: dict[str, Any],
        dataset_version_id: int,
        dataset_sha256: str,
        executor: str,
        kind: str = "train",
        parent_id: int | None = None,
        reproduces_id: int | None = None,
    ) -> int:
        with self.db.session(write=True) as session:
            row = inserted(
                session,
                RunRow(
                    parent_id=parent_id,
                    kind=kind,
                    status="queued",
                    task=spec["task"],
                    estimator=spec["estimator"],
                    dataset_version_id=dataset_version_id,
                    dataset_sha256=dataset_sha256,
                    target=spec["target"],
                    spec=spec,  # results and is_best start as their columns' defaults
                    reproduces_id=reproduces_id,
                    executor=executor,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    created_at=utcnow(),
                    created_by=self.user,
                ),
            )
            self._audit(
                session,
                "run.create",
                row.id,
                kind=kind,
                estimator=spec["estimator"],
                dataset=f"{spec['dataset']}@{spec['dataset_version']}",
            )
            return row.id

    @retrying
    def mark_running(self, run_id: int) -> None:
        with self.db.session(write=True) as session:
            mark_running(self._row(session, run_id))

    @retrying
    def finish(self, run_id: int, status: str, **fields: Any) -> None:
        """Record the outcome; ``fields`` are RunRow attributes (metrics, curves, error…)."""
        with self.db.session(write=True) as session:
            row = self._row(session, run_id)
            sha = fields.get("model_sha256")
            if sha and session.get(BlobRow, sha) is None:
                size = fields.get("model_size") or 0
                inserted(
                    session, BlobRow(sha256=sha, size_bytes=size, kind="model", created_at=utcnow())
                )
            for name, value in fields.items():
                setattr(row, name, value)
            row.status, row.finished_at = status, utcnow()
            started = aware(row.started_at or row.created_at)
            row.duration_s = (row.finished_at - started).total_seconds()
            self._audit(session, f"run.{status}", run_id, error=fields.get("error"))

    @retrying
    def mark_best(self, parent_id: int, best_id: int | None) -> None:
        with self.db.session(write=True) as session:
            for row in session.scalars(select(RunRow).where(RunRow.parent_id == parent_id)):
                row.is_best = row.id == best_id

    @retrying
    def fail_abandoned(self) -> list[int]:
        """Runs left QUEUED/RUNNING by a process of this host that no longer exists → FAILED."""
        host = socket.gethostname()
        failed = []
        with self.db.session(write=True) as session:
            rows = session.scalars(
                select(RunRow).where(RunRow.status.in_(("queued", "running")), RunRow.host == host)
            ).all()
            for row in rows:
                if _pid_alive(row.pid):
                    continue
                row.status, row.finished_at = "failed", utcnow()
                row.error = "the Shipway process running this run ended before it finished"
                self._audit(session, "run.failed", row.id, error=row.error)
                failed.append(row.id)
        return failed

    def get(self, run_id: int) -> Run:
        with self.db.session(write=False) as session:
            return self._entity(session, self._row(session, run_id))

    def list(self, parent_id: int | None = None, include_children: bool = False) -> list[Run]:
        with self.db.session(write=False) as session:
            query = select(RunRow).order_by(RunRow.id)
            if parent_id is not None:
                query = query.where(RunRow.parent_id == parent_id)
            elif not include_children:
                query = query.where(RunRow.parent_id.is_(None))
            query = query.options(*_light_loading())
            names = {
                version_id: (name, number)
                for version_id, name, number in session.execute(
                    select(DatasetVersionRow.id, DatasetRow.name, DatasetVersionRow.number).join(
                        DatasetRow, DatasetVersionRow.dataset_id == DatasetRow.id
                    )
                )
            }
            return [
                self._entity(session, row, light=True, names=names)
                for row in session.scalars(query)
            ]

    def _row(self, session: Session, run_id: int) -> RunRow:
        row = session.get(RunRow, run_id)
        if row is None:
            raise NotFound(
                f"no run {run_id}",
                where="runs of this project",
                hint="`shipway runs list` shows the runs",
            )
        return row

    def _entity(
        self,
        session: Session,
        row: RunRow,
        light: bool = False,
        names: dict[int, tuple[str, int]] | None = None,
    ) -> Run:
        if names is not None and row.dataset_version_id in names:
            name, number = names[row.dataset_version_id]
        else:
            name, number = dataset_ref(session, row.dataset_version_id)
        unloaded = _unloaded(light)
        return entity_from_row(Run, row, dataset=name, dataset_version=number, **unloaded)


# the columns a list of runs leaves unloaded: its light entities hold {} or None instead
_HEAVY_JSON = ("curves", "cv", "importance")
_HEAVY_TEXT = ("traceback", "log")


def _light_loading() -> list:
    return [defer(getattr(RunRow, name)) for name in _HEAVY_JSON + _HEAVY_TEXT]


def _unloaded(light: bool) -> dict[str, Any]:
    """The fields of a light run entity that its deferred columns would fill (a fresh dict per
    entity: the entities share no object)."""
    if not light:
        return {}
    return {name: {} for name in _HEAVY_JSON} | dict.fromkeys(_HEAVY_TEXT)


def _pid_alive(pid: int) -> bool:
    from core.store.blobs import _pid_alive as alive

    return alive(pid)
