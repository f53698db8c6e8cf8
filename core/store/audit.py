"""Audit rows, built in one place: who did what, when, to which object.

Every state change writes its row with :func:`add_audit` in the same transaction as the change,
so the trail can never disagree with the data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.entities import AuditEntry
from core.store.orm import AuditEventRow
from core.store.rows import entity_from_row
from core.times import utcnow


def add_audit(
    session: Session, user: str, action: str, object_type: str, ref: str, **detail: Any
) -> None:
    """An audit row in the caller's transaction."""
    session.add(
        AuditEventRow(
            at=utcnow(),
            user=user,
            action=action,
            object_type=object_type,
            object_ref=ref,
            detail=detail,
        )
    )


def audit_entry(row: AuditEventRow) -> AuditEntry:
    return entity_from_row(AuditEntry, row)
