"""The data contracts of model versions (one per version). Each public method is one session
scope; an edit writes its audit row (``model.contract_edit``) in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.store.database import Database, retrying
from core.store.model_rows import add_model_audit, find_version
from core.store.orm import ModelContractRow
from core.times import utcnow


class ContractRepository:
    """Contracts stored with model versions."""

    def __init__(self, database: Database, user: str) -> None:
        self.db = database
        self.user = user

    def get(self, name: str, number: int) -> tuple[dict[str, Any], str] | None:
        """The stored contract of ``name@number`` and its source, or None."""
        with self.db.session(write=False) as session:
            version = find_version(session, name, number)
            row = session.scalars(
                select(ModelContractRow).where(ModelContractRow.version_id == version.id)
            ).first()
            return None if row is None else (dict(row.contract), row.source)

    @retrying
    def save(self, name: str, number: int, contract: dict[str, Any], source: str) -> None:
        """Store (or replace) the contract of ``name@number``; an edit is audited."""
        with self.db.session(write=True) as session:
            version = find_version(session, name, number)
            row = session.scalars(
                select(ModelContractRow).where(ModelContractRow.version_id == version.id)
            ).first()
            if row is None:
                row = ModelContractRow(version_id=version.id)
                session.add(row)
            row.contract, row.source = contract, source
            row.updated_at, row.updated_by = utcnow(), self.user
            if source == "edited":
                add_model_audit(
                    session, self.user, "model.contract_edit", f"{name}@{number}", contract=contract
                )
