"""The repository: every public method is one session scope and returns frozen entities.

Writers run in ``BEGIN IMMEDIATE`` transactions (see :mod:`core.store.database`); every state
change writes its audit row in the same transaction as the change itself, so the trail can never
disagree with the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.entities import AuditEntry, Dataset, DatasetVersion
from core.store.audit import add_audit, audit_entry
from core.store.database import Database, retrying
from core.store.numbered import find_named, find_numbered
from core.store.orm import AuditEventRow, BlobRow, DatasetRow, DatasetVersionRow
from core.store.rows import entity_from_row, inserted
from core.times import aware, utcnow

# what the audit row of an import says about the version it recorded
_IMPORT_AUDITED = ("source", "sha256", "rows", "columns")


@dataclass(frozen=True)
class NewVersion:
    """Everything needed to record a dataset version whose blob is already stored."""

    dataset: str
    sha256: str
    size_bytes: int
    rows: int
    columns: int
    source: str
    source_format: str
    source_sha256: str
    options_key: str
    options: dict[str, Any]
    schema: dict[str, str]
    profile: dict[str, Any]
    report: dict[str, Any]


class Repository:
    """Metadata access for one project."""

    def __init__(self, database: Database, user: str) -> None:
        self.db = database
        self.user = user

    # -- audit -------------------------------------------------------------------------------

    def _audit(
        self, session: Session, action: str, object_type: str, ref: str, **detail: Any
    ) -> None:
        add_audit(session, self.user, action, object_type, ref, **detail)

    @retrying
    def record_event(self, action: str, object_type: str, ref: str, **detail: Any) -> None:
        """Write an audit row for a change that has no table of its own (e.g. project init)."""
        with self.db.session(write=True) as session:
            self._audit(session, action, object_type, ref, **detail)

    def audit_entries(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        with self.db.session(write=False) as session:
            query = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
            if action:
                query = query.where(AuditEventRow.action == action)
            return [audit_entry(row) for row in session.scalars(query)]

    def audit_since(self, after_id: int, limit: int = 500) -> list[AuditEntry]:
        """Audit entries newer than ``after_id``, oldest first (what others changed since)."""
        with self.db.session(write=False) as session:
            query = (
                select(AuditEventRow)
                .where(AuditEventRow.id > after_id)
                .order_by(AuditEventRow.id)
                .limit(limit)
            )
            return [audit_entry(row) for row in session.scalars(query)]

    def last_audit_id(self) -> int:
        with self.db.session(write=False) as session:
            return int(session.scalar(select(func.max(AuditEventRow.id))) or 0)

    # -- data sets ----------------------------------------------------------------------------

    def find_version_by_source(
        self, dataset: str, source_sha256: str, options_key: str
    ) -> DatasetVersion | None:
        """The version imported from a byte-identical file with the same options, if any."""
        with self.db.session(write=False) as session:
            row = session.scalars(
                select(DatasetVersionRow)
                .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
                .where(
                    DatasetRow.name == dataset,
                    DatasetVersionRow.source_sha256 == source_sha256,
                    DatasetVersionRow.options_key == options_key,
                )
                .order_by(DatasetVersionRow.number.desc())
                .limit(1)
            ).first()
            return self._version(session, row) if row else None

    @retrying
    def add_version(self, new: NewVersion) -> tuple[DatasetVersion, bool]:
        """Record a version whose blob is stored; returns (version, created).

        Identical content (same Parquet sha256) already present in the data set returns the
        existing version with ``created`` False. Numbering happens inside the write transaction,
        so two concurrent imports get consecutive numbers.
        """
        with self.db.session(write=True) as session:
            dataset = session.scalars(
                select(DatasetRow).where(DatasetRow.name == new.dataset).with_for_update()
            ).first()
            if dataset is None:
                dataset = DatasetRow(name=new.dataset, created_at=utcnow(), created_by=self.user)
                inserted(session, dataset)
                self._audit(session, "dataset.create", "dataset", new.dataset)
            same = session.scalars(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.dataset_id == dataset.id,
                    DatasetVersionRow.sha256 == new.sha256,
                )
            ).first()
            if same is not None:
                return self._version(session, same), False
            self._ensure_blob(session, new.sha256, new.size_bytes, "dataset")
            latest = session.scalars(
                select(DatasetVersionRow)
                .where(DatasetVersionRow.dataset_id == dataset.id)
                .order_by(DatasetVersionRow.number.desc())
                .limit(1)
            ).first()
            content = {name: value for name, value in vars(new).items() if name != "dataset"}
            row = inserted(
                session,
                DatasetVersionRow(
                    **content,
                    dataset_id=dataset.id,
                    number=(latest.number + 1) if latest else 1,
                    parent_id=latest.id if latest else None,
                    created_at=utcnow(),
                    created_by=self.user,
                ),
            )
            ref = f"{new.dataset}@{row.number}"
            imported = {name: getattr(new, name) for name in _IMPORT_AUDITED}
            self._audit(session, "dataset.import", "dataset_version", ref, **imported)
            return self._version(session, row), True

    def _ensure_blob(self, session: Session, sha256: str, size: int, kind: str) -> None:
        if session.get(BlobRow, sha256) is None:
            inserted(
                session, BlobRow(sha256=sha256, size_bytes=size, kind=kind, created_at=utcnow())
            )

    def get_version(self, dataset: str, version: int | None = None) -> DatasetVersion:
        """A version by number, or the newest one when ``version`` is None."""
        with self.db.session(write=False) as session:
            how = "import one with `shipway data import FILE`"
            ds = find_named(session, DatasetRow.name, dataset, ("data set", "data sets"), how)
            parent = DatasetVersionRow.dataset_id
            row = find_numbered(session, parent, ds.id, version, "data set", dataset)
            return self._version(session, row)

    def list_versions(self, dataset: str) -> list[DatasetVersion]:
        with self.db.session(write=False) as session:
            rows = session.scalars(
                select(DatasetVersionRow)
                .join(DatasetRow, DatasetRow.id == DatasetVersionRow.dataset_id)
                .where(DatasetRow.name == dataset)
                .order_by(DatasetVersionRow.number)
            ).all()
            if not rows:
                self.get_version(dataset)  # raises the NotFound with the hint
            return [self._version(session, row) for row in rows]

    def list_datasets(self) -> list[Dataset]:
        with self.db.session(write=False) as session:
            latest = (
                select(
                    DatasetVersionRow.dataset_id,
                    func.max(DatasetVersionRow.number).label("number"),
                    func.count(DatasetVersionRow.id).label("count"),
                )
                .group_by(DatasetVersionRow.dataset_id)
                .subquery()
            )
            query = (
                select(DatasetRow, DatasetVersionRow, latest.c.count)
                .join(latest, latest.c.dataset_id == DatasetRow.id)
                .join(
                    DatasetVersionRow,
                    (DatasetVersionRow.dataset_id == DatasetRow.id)
                    & (DatasetVersionRow.number == latest.c.number),
                )
                .order_by(DatasetRow.name)
            )
            return [
                entity_from_row(
                    Dataset,
                    ds,
                    latest_version=version.number,
                    versions=count,
                    latest_rows=version.rows,
                    latest_columns=version.columns,
                    updated_at=aware(version.created_at),
                )
                for ds, version, count in session.execute(query)
            ]

    def _version(self, session: Session, row: DatasetVersionRow) -> DatasetVersion:
        name = session.scalar(select(DatasetRow.name).where(DatasetRow.id == row.dataset_id))
        parent = (
            session.scalar(
                select(DatasetVersionRow.number).where(DatasetVersionRow.id == row.parent_id)
            )
            if row.parent_id
            else None
        )
        return entity_from_row(
            DatasetVersion, row, dataset=name or "", version=row.number, parent_version=parent
        )
