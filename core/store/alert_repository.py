"""Monitoring alerts in the metadata store (table ``monitoring_alerts``, migration 0006).

An alert is recorded once per streak: the unique key is (model, version, deployment, kind,
bucket length, first bucket of the streak), so two processes looking at the same log record it
once, and only the one that recorded it starts a retraining. The insert and its audit row
(``monitoring.alert``) are one transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.entities import Alert
from core.errors import Conflict
from core.store.database import Database
from core.store.model_rows import add_model_audit
from core.store.orm import MonitoringAlertRow
from core.store.rows import entity_from_row, inserted, present
from core.times import aware, from_iso_seconds, iso_seconds, utcnow


def _entity(row: MonitoringAlertRow) -> Alert:
    created_at = aware(row.created_at).isoformat()
    return entity_from_row(
        Alert, row, bucket_start=iso_seconds(row.bucket_start), created_at=created_at
    )


class AlertRepository:
    """Recording, updating and listing alerts; every method is one session scope."""

    def __init__(self, db: Database, user: str) -> None:
        self.db = db
        self.user = user

    def record(
        self,
        model: str,
        version: int,
        deployment: str,
        kind: str,
        bucket_seconds: int,
        bucket_start: str,
        message: str,
        detail: dict[str, Any],
    ) -> Alert | None:
        """Record an alert and its audit row; None when this streak already has one."""
        key = {
            "model": model,
            "version": version,
            "deployment": deployment,
            "kind": kind,
            "bucket_seconds": bucket_seconds,
            "bucket_start": from_iso_seconds(bucket_start),
        }
        try:
            with self.db.session(write=True) as session:
                if session.scalars(select(MonitoringAlertRow).filter_by(**key)).first() is not None:
                    return None
                row = MonitoringAlertRow(
                    **key, message=message, detail=detail, created_at=utcnow(), created_by=self.user
                )
                inserted(session, row)
                add_model_audit(session, self.user, "monitoring.alert", f"{model}@{version}",
                                alert=row.id, kind=kind, deployment=deployment,
                                bucket_start=bucket_start, message=message)  # fmt: skip
                return _entity(row)
        except Conflict:  # another process recorded the same streak in the meantime
            return None

    def update(self, alert_id: int, **changes: Any) -> Alert:
        """Record what the retraining of an alert did (status, run, version, gates, error)."""
        with self.db.session(write=True) as session:
            row = session.get(MonitoringAlertRow, alert_id)
            for key, value in changes.items():
                setattr(row, key, value)
            session.flush()
            return _entity(row)

    def list(
        self,
        model: str | None = None,
        version: int | None = None,
        deployment: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """Alerts, newest first."""
        with self.db.session(write=False) as session:
            given = present(model=model, version=version, deployment=deployment)
            query = select(MonitoringAlertRow).filter_by(**given)
            rows = session.scalars(query.order_by(MonitoringAlertRow.id.desc()).limit(limit))
            return [_entity(row) for row in rows]
