"""Reviews of model versions: approvals by a second person, and kept gate evaluations.

Each public method is one session scope; an approval writes its audit row in the same
transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.entities import Approval, GateEvaluation
from core.errors import Conflict, InvalidInput
from core.store.database import Database, retrying
from core.store.model_rows import add_model_audit, find_version
from core.store.orm import ApprovalRow, GateEvaluationRow
from core.store.rows import entity_from_row, inserted
from core.times import aware, utcnow


class ReviewRepository:
    """Approvals and gate evaluations for one project."""

    def __init__(self, database: Database, user: str) -> None:
        self.db = database
        self.user = user

    @retrying
    def approve(self, name: str, number: int, comment: str = "") -> Approval:
        """Record the current user's approval; the person who trained the run may not approve."""
        with self.db.session(write=True) as session:
            row = find_version(session, name, number)
            if row.trained_by == self.user:
                raise InvalidInput(
                    f"{self.user} trained {name}@{number} and cannot approve it",
                    where=f"{name}@{number}",
                    hint="approval must come from a second person (set SHIPWAY_USER or log in "
                    "as them)",
                )
            if self._approval_of(session, row.id, self.user) is not None:
                raise Conflict(
                    f"{self.user} already approved {name}@{number}",
                    where=f"{name}@{number}",
                    hint="one approval per person and version",
                )
            approval = ApprovalRow(
                version_id=row.id, approver=self.user, comment=comment, at=utcnow()
            )
            inserted(session, approval)
            add_model_audit(
                session, self.user, "model.approve", f"{name}@{number}", comment=comment
            )
            return _approval_entity(name, number, approval)

    def approvals(self, name: str, number: int) -> list[Approval]:
        with self.db.session(write=False) as session:
            row = find_version(session, name, number)
            rows = session.scalars(
                select(ApprovalRow).where(ApprovalRow.version_id == row.id).order_by(ApprovalRow.id)
            ).all()
            return [_approval_entity(name, number, approval) for approval in rows]

    @retrying
    def save_gate_evaluation(
        self, version_id: int, alias: str, passed: bool, results: list[dict], incumbent: int | None
    ) -> None:
        with self.db.session(write=True) as session:
            session.add(
                GateEvaluationRow(
                    version_id=version_id,
                    alias=alias,
                    passed=passed,
                    results=results,
                    incumbent_version=incumbent,
                    at=utcnow(),
                    user=self.user,
                )
            )

    def gate_evaluations(self, version_id: int) -> list[GateEvaluation]:
        """The version's gate evaluations, newest first."""
        with self.db.session(write=False) as session:
            rows = session.scalars(
                select(GateEvaluationRow)
                .where(GateEvaluationRow.version_id == version_id)
                .order_by(GateEvaluationRow.id.desc())
            ).all()
            return [
                entity_from_row(
                    GateEvaluation,
                    row,
                    gates=tuple(row.results),
                    incumbent=row.incumbent_version,
                    at=aware(row.at).isoformat(),
                )
                for row in rows
            ]

    @staticmethod
    def _approval_of(session: Session, version_id: int, approver: str) -> ApprovalRow | None:
        return session.scalars(
            select(ApprovalRow).where(
                ApprovalRow.version_id == version_id, ApprovalRow.approver == approver
            )
        ).first()


def _approval_entity(model: str, number: int, row: ApprovalRow) -> Approval:
    return entity_from_row(Approval, row, model=model, version=number)
