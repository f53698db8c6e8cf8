"""Runs in the metadata store: created QUEUED, moved to RUNNING, finished DONE, FAILED or
CANCELLED. Each method is one session scope; state changes write their audit row with them."""

from __future__ import annotations

import os
import socket
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.entities import Run
from core.errors import NotFound
from core.store.audit import add_audit
from core.store.database import Database, retrying
from core.store.numbered import dataset_ref
from core.store.orm import BlobRow, DatasetRow, DatasetVersionRow, RunRow
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
            row = RunRow(
                parent_id=parent_id,
                kind=kind,
                status="queued",
                task=spec["task"],
                estimator=spec["estimator"],
                dataset_version_id=dataset_version_id,
                dataset_sha256=dataset_sha256,
                target=spec["target"],
                spec=spec,
                params={},
                metrics={},
                validation_metrics={},
                cv={},
                curves={},
                importance={},
                io_schema={},
                environment={},
                notes=[],
                timings={},
                is_best=False,
                reproduces_id=reproduces_id,
                executor=executor,
                host=socket.gethostname(),
                pid=os.getpid(),
                created_at=utcnow(),
                created_by=self.user,
            )
            session.add(row)
            session.flush()
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
            row = self._row(session, run_id)
            row.status, row.started_at = "running", utcnow()
            row.host, row.pid = socket.gethostname(), os.getpid()

    @retrying
    def finish(self, run_id: int, status: str, **fields: Any) -> None:
        """Record the outcome; ``fields`` are RunRow attributes (metrics, curves, error…)."""
        with self.db.session(write=True) as session:
            row = self._row(session, run_id)
            sha = fields.get("model_sha256")
            if sha and session.get(BlobRow, sha) is None:
                session.add(
                    BlobRow(
                        sha256=sha,
                        size_bytes=fields.get("model_size") or 0,
                        kind="model",
                        created_at=utcnow(),
                    )
                )
                session.flush()
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
        heavy = {} if light else None
        return Run(
            id=row.id,
            parent_id=row.parent_id,
            kind=row.kind,
            status=row.status,
            task=row.task,
            estimator=row.estimator,
            dataset=name,
            dataset_version=number,
            dataset_sha256=row.dataset_sha256,
            target=row.target,
            spec=dict(row.spec),
            params=dict(row.params or {}),
            metrics=dict(row.metrics or {}),
            validation_metrics=dict(row.validation_metrics or {}),
            cv=heavy if heavy is not None else dict(row.cv or {}),
            curves=heavy if heavy is not None else dict(row.curves or {}),
            importance=heavy if heavy is not None else dict(row.importance or {}),
            io_schema=dict(row.io_schema or {}),
            environment=dict(row.environment or {}),
            notes=list(row.notes or []),
            timings=dict(row.timings or {}),
            model_sha256=row.model_sha256,
            model_size=row.model_size,
            duration_s=row.duration_s,
            error=row.error,
            traceback=None if light else row.traceback,
            log=None if light else row.log,
            is_best=row.is_best,
            reproduces_id=row.reproduces_id,
            executor=row.executor,
            created_at=aware(row.created_at),
            started_at=aware(row.started_at) if row.started_at else None,
            finished_at=aware(row.finished_at) if row.finished_at else None,
            created_by=row.created_by,
        )


def _light_loading() -> list:
    from sqlalchemy.orm import defer

    return [
        defer(RunRow.curves),
        defer(RunRow.cv),
        defer(RunRow.importance),
        defer(RunRow.traceback),
        defer(RunRow.log),
    ]


def _pid_alive(pid: int) -> bool:
    from core.store.blobs import _pid_alive as alive

    return alive(pid)
