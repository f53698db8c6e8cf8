"""The model registry in the metadata store: models, versions, aliases, moves, approvals.

Each public method is one session scope and writes its audit row in the same transaction as the
change. Moving an alias checks, inside the write transaction and under a row lock (PostgreSQL
``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), that the
alias is still held by the version the caller's gates were evaluated against: of two racing
promotions exactly one moves the alias and the other gets a :class:`Conflict` naming the new
holder.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.entities import AliasMove, Approval, ModelVersion, RegisteredModel
from core.errors import Conflict, InvalidInput, NotFound, UsageError
from core.store.database import Database
from core.store.orm import (
    AliasMoveRow,
    ApprovalRow,
    AuditEventRow,
    DatasetRow,
    DatasetVersionRow,
    GateEvaluationRow,
    ModelAliasRow,
    ModelVersionRow,
    RegisteredModelRow,
    RunRow,
)
from core.store.repository import _aware, utcnow

MODEL_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,99}$")
ALIAS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
RESERVED_ALIASES = ("latest",)


def check_model_name(name: str) -> str:
    if not MODEL_NAME.match(name):
        raise UsageError(
            f"model name {name!r} is not usable",
            hint="use letters, digits, '.', '-' or '_' (at most 100), starting with a letter "
            "or digit",
        )
    return name


def check_alias(alias: str) -> str:
    if not ALIAS_NAME.match(alias) or alias in RESERVED_ALIASES:
        raise UsageError(
            f"alias {alias!r} is not usable",
            hint="use lower-case letters, digits, '-' or '_', starting with a letter "
            "(e.g. staging, production); 'latest' is reserved",
        )
    return alias


class ModelRepository:
    """Registry access for one project."""

    def __init__(self, database: Database, user: str) -> None:
        self.db = database
        self.user = user

    def _audit(self, session: Session, action: str, ref: str, **detail: Any) -> None:
        session.add(
            AuditEventRow(
                at=utcnow(),
                user=self.user,
                action=action,
                object_type="model_version" if "@" in ref else "model",
                object_ref=ref,
                detail=detail,
            )
        )

    # -- registering -------------------------------------------------------------------------

    def register(
        self, run_id: int, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelVersion:
        """Register a finished run (a search: its best trial) as the next version of ``name``."""
        check_model_name(name)
        with self.db.session(write=True) as session:
            run = _registrable_run(session, run_id)
            model = session.scalars(
                select(RegisteredModelRow).where(RegisteredModelRow.name == name)
            ).first()
            if model is None:
                model = RegisteredModelRow(
                    name=name, description="", created_at=utcnow(), created_by=self.user
                )
                session.add(model)
                session.flush()
                self._audit(session, "model.create", name)
            latest = session.scalar(
                select(func.max(ModelVersionRow.number)).where(ModelVersionRow.model_id == model.id)
            )
            row = _version_row(model.id, (latest or 0) + 1, run, self.user, description, tags)
            session.add(row)
            session.flush()
            self._audit(
                session,
                "model.register",
                f"{name}@{row.number}",
                run=run.id,
                dataset_sha256=run.dataset_sha256,
                model_sha256=run.model_sha256,
                metrics=run.metrics,
            )
            return self._entity(session, row)

    def set_reference(self, version_id: int, sha256: str) -> None:
        """Record the blob of the version's reference statistics (computed once, for drift)."""
        with self.db.session(write=True) as session:
            row = session.get(ModelVersionRow, version_id)
            if row is not None:
                row.reference_sha256 = sha256

    def edit(
        self,
        name: str,
        number: int,
        description: str | None = None,
        tags: dict[str, str] | None = None,
        remove_tags: tuple[str, ...] = (),
    ) -> ModelVersion:
        """Change a version's description or tags (its lineage stays as registered)."""
        with self.db.session(write=True) as session:
            row = self._version_row(session, name, number)
            changes: dict[str, Any] = {}
            if description is not None:
                row.description = description
                changes["description"] = description
            if tags or remove_tags:
                merged = {k: v for k, v in dict(row.tags or {}).items() if k not in remove_tags}
                merged.update(tags or {})
                row.tags = merged
                changes["tags"] = merged
            if changes:
                self._audit(session, "model.edit", f"{name}@{number}", **changes)
            return self._entity(session, row)

    # -- reading -----------------------------------------------------------------------------

    def get(self, name: str, number: int | None = None) -> ModelVersion:
        """A version by number, or the newest when ``number`` is None."""
        with self.db.session(write=False) as session:
            return self._entity(session, self._version_row(session, name, number))

    def by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.session(write=False) as session:
            model = self._model_row(session, name)
            holder = self._alias_row(session, model.id, alias)
            if holder is None:
                held = session.scalars(
                    select(ModelAliasRow.alias).where(ModelAliasRow.model_id == model.id)
                ).all()
                raise NotFound(
                    f"no version of {name!r} holds the alias {alias!r}",
                    where=name,
                    hint=f"aliases in use: {', '.join(sorted(held)) or 'none'}; "
                    f"`shipway models promote {name}@V --alias {alias}` sets it",
                )
            return self._entity(session, session.get(ModelVersionRow, holder.version_id))

    def holder(self, name: str, alias: str) -> int | None:
        """The version number holding ``alias`` now, or None."""
        with self.db.session(write=False) as session:
            model = self._model_row(session, name)
            row = self._alias_row(session, model.id, alias)
            return session.get(ModelVersionRow, row.version_id).number if row else None

    def list_models(self) -> list[RegisteredModel]:
        with self.db.session(write=False) as session:
            models = session.scalars(
                select(RegisteredModelRow).order_by(RegisteredModelRow.name)
            ).all()
            return [self._model_entity(session, model) for model in models]

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self.db.session(write=False) as session:
            model = self._model_row(session, name)
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.model_id == model.id)
                .order_by(ModelVersionRow.number)
            ).all()
            return [self._entity(session, row) for row in rows]

    def versions_of_run(self, run_id: int) -> list[ModelVersion]:
        with self.db.session(write=False) as session:
            rows = session.scalars(
                select(ModelVersionRow).where(ModelVersionRow.run_id == run_id)
            ).all()
            return [self._entity(session, row) for row in rows]

    # -- aliases -----------------------------------------------------------------------------

    def move_alias(
        self,
        name: str,
        alias: str,
        number: int,
        *,
        expected: int | None,
        kind: str,
        reason: str = "",
        gates: list[dict[str, Any]] | None = None,
    ) -> AliasMove:
        """Point ``alias`` at version ``number`` if it is still held by ``expected``."""
        check_alias(alias)
        with self.db.session(write=True) as session:
            model = self._model_row(session, name, lock=True)
            target = self._version_row(session, name, number)
            current_row = self._alias_row(session, model.id, alias, lock=True)
            current = _number(session, current_row)
            if current == number:
                raise Conflict(
                    f"{name}@{number} already holds {alias!r}",
                    where=f"{name}@{alias}",
                    hint="nothing to move; promote another version, or roll back",
                )
            if current != expected:
                raise Conflict(
                    f"{alias!r} of {name!r} moved to version {current} while the gates were "
                    f"evaluated against version {expected}",
                    where=f"{name}@{alias}",
                    hint="someone else promoted meanwhile; run the promotion again to "
                    "re-evaluate the gates against the new holder",
                )
            self._point(session, model.id, alias, current_row, target.id)
            move = self._record_move(session, model, alias, current, number, kind, reason, gates)
            action = "model.promote_forced" if kind == "force" else "model.promote"
            self._audit(
                session,
                action,
                f"{name}@{number}",
                alias=alias,
                previous=current,
                reason=reason,
                gates=gates or [],
            )
            return move

    def rollback(self, name: str, alias: str) -> AliasMove:
        """Move ``alias`` back to the version it held before its latest (not undone) move."""
        check_alias(alias)
        with self.db.session(write=True) as session:
            model = self._model_row(session, name, lock=True)
            current_row = self._alias_row(session, model.id, alias, lock=True)
            current = _number(session, current_row)
            last = self._undoable_move(session, model.id, alias, current)
            if last is None or last.from_version is None:
                raise Conflict(
                    f"{alias!r} of {name!r} has no earlier version to roll back to",
                    where=f"{name}@{alias}",
                    hint="the alias history (`shipway models history "
                    f"{name} --alias {alias}`) holds no earlier holder; promote a version instead",
                )
            target = self._version_row(session, name, last.from_version)
            last.rolled_back = True
            self._point(session, model.id, alias, current_row, target.id)
            move = self._record_move(
                session, model, alias, current, target.number, "rollback", "", None
            )
            self._audit(
                session,
                "model.rollback",
                f"{name}@{target.number}",
                alias=alias,
                previous=current,
                undone_move=last.id,
            )
            return move

    def record_blocked(
        self, name: str, number: int, alias: str, gates: list[dict[str, Any]]
    ) -> None:
        """Audit a promotion the gates refused (nothing moved)."""
        with self.db.session(write=True) as session:
            failed = [gate["rule"] for gate in gates if not gate["passed"]]
            self._audit(
                session, "model.promote_blocked", f"{name}@{number}", alias=alias, failed=failed
            )

    def history(self, name: str, alias: str | None = None) -> list[AliasMove]:
        with self.db.session(write=False) as session:
            model = self._model_row(session, name)
            query = select(AliasMoveRow).where(AliasMoveRow.model_id == model.id)
            if alias is not None:
                query = query.where(AliasMoveRow.alias == alias)
            rows = session.scalars(query.order_by(AliasMoveRow.id.desc())).all()
            return [_move_entity(model.name, row) for row in rows]

    # -- approvals and gate outcomes -----------------------------------------------------------

    def approve(self, name: str, number: int, comment: str = "") -> Approval:
        """Record the current user's approval; the person who trained the run may not approve."""
        with self.db.session(write=True) as session:
            row = self._version_row(session, name, number)
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
            session.add(approval)
            session.flush()
            self._audit(session, "model.approve", f"{name}@{number}", comment=comment)
            return _approval_entity(name, number, approval)

    def approvals(self, name: str, number: int) -> list[Approval]:
        with self.db.session(write=False) as session:
            row = self._version_row(session, name, number)
            rows = session.scalars(
                select(ApprovalRow).where(ApprovalRow.version_id == row.id).order_by(ApprovalRow.id)
            ).all()
            return [_approval_entity(name, number, approval) for approval in rows]

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

    def gate_evaluations(self, version_id: int) -> list[dict[str, Any]]:
        """The version's gate evaluations, newest first, as plain dicts."""
        with self.db.session(write=False) as session:
            rows = session.scalars(
                select(GateEvaluationRow)
                .where(GateEvaluationRow.version_id == version_id)
                .order_by(GateEvaluationRow.id.desc())
            ).all()
            return [
                {
                    "alias": row.alias,
                    "passed": row.passed,
                    "gates": list(row.results),
                    "incumbent": row.incumbent_version,
                    "at": _aware(row.at).isoformat(),
                    "user": row.user,
                }
                for row in rows
            ]

    # -- helpers -------------------------------------------------------------------------------

    def _model_row(self, session: Session, name: str, lock: bool = False) -> RegisteredModelRow:
        query = select(RegisteredModelRow).where(RegisteredModelRow.name == name)
        row = session.scalars(query.with_for_update() if lock else query).first()
        if row is None:
            known = ", ".join(session.scalars(select(RegisteredModelRow.name).limit(10))) or "none"
            raise NotFound(
                f"no registered model named {name!r}",
                where="models of this project",
                hint=f"known models: {known}; `shipway models register RUN --name {name}` "
                "creates it",
            )
        return row

    def _version_row(self, session: Session, name: str, number: int | None) -> ModelVersionRow:
        model = self._model_row(session, name)
        query = select(ModelVersionRow).where(ModelVersionRow.model_id == model.id)
        if number is None:
            query = query.order_by(ModelVersionRow.number.desc()).limit(1)
        else:
            query = query.where(ModelVersionRow.number == number)
        row = session.scalars(query).first()
        if row is None:
            count = session.scalar(
                select(func.max(ModelVersionRow.number)).where(ModelVersionRow.model_id == model.id)
            )
            raise NotFound(
                f"model {name!r} has no version {number}",
                where=name,
                hint=f"versions run from 1 to {count or 0}",
            )
        return row

    @staticmethod
    def _alias_row(
        session: Session, model_id: int, alias: str, lock: bool = False
    ) -> ModelAliasRow | None:
        query = select(ModelAliasRow).where(
            ModelAliasRow.model_id == model_id, ModelAliasRow.alias == alias
        )
        return session.scalars(query.with_for_update() if lock else query).first()

    def _point(
        self,
        session: Session,
        model_id: int,
        alias: str,
        current: ModelAliasRow | None,
        version_id: int,
    ) -> None:
        if current is None:
            current = ModelAliasRow(model_id=model_id, alias=alias)
            session.add(current)
        current.version_id, current.updated_at, current.updated_by = (
            version_id,
            utcnow(),
            self.user,
        )
        session.flush()

    def _record_move(self, session, model, alias, current, number, kind, reason, gates):
        row = AliasMoveRow(
            model_id=model.id,
            alias=alias,
            from_version=current,
            to_version=number,
            kind=kind,
            reason=reason,
            gates=gates or [],
            rolled_back=False,
            at=utcnow(),
            user=self.user,
        )
        session.add(row)
        session.flush()
        return _move_entity(model.name, row)

    @staticmethod
    def _undoable_move(
        session: Session, model_id: int, alias: str, current: int | None
    ) -> AliasMoveRow | None:
        """The latest promotion to the current holder that no rollback has undone yet."""
        if current is None:
            return None
        return session.scalars(
            select(AliasMoveRow)
            .where(
                AliasMoveRow.model_id == model_id,
                AliasMoveRow.alias == alias,
                AliasMoveRow.kind.in_(("promote", "force")),
                AliasMoveRow.rolled_back.is_(False),
                AliasMoveRow.to_version == current,
            )
            .order_by(AliasMoveRow.id.desc())
            .limit(1)
        ).first()

    @staticmethod
    def _approval_of(session: Session, version_id: int, approver: str) -> ApprovalRow | None:
        return session.scalars(
            select(ApprovalRow).where(
                ApprovalRow.version_id == version_id, ApprovalRow.approver == approver
            )
        ).first()

    def _model_entity(self, session: Session, model: RegisteredModelRow) -> RegisteredModel:
        numbers = session.scalars(
            select(ModelVersionRow.number).where(ModelVersionRow.model_id == model.id)
        ).all()
        return RegisteredModel(
            id=model.id,
            name=model.name,
            description=model.description,
            created_at=_aware(model.created_at),
            created_by=model.created_by,
            latest_version=max(numbers, default=0),
            versions=len(numbers),
            aliases=_aliases_by_name(session, model.id),
        )

    def _entity(self, session: Session, row: ModelVersionRow) -> ModelVersion:
        name = session.scalar(
            select(RegisteredModelRow.name).where(RegisteredModelRow.id == row.model_id)
        )
        dataset, number = session.execute(
            select(DatasetRow.name, DatasetVersionRow.number)
            .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
            .where(DatasetVersionRow.id == row.dataset_version_id)
        ).one()
        held = sorted(
            alias
            for alias, version in _aliases_by_name(session, row.model_id).items()
            if version == row.number
        )
        return ModelVersion(
            id=row.id,
            model=name or "",
            version=row.number,
            run_id=row.run_id,
            model_sha256=row.model_sha256,
            model_size=row.model_size,
            task=row.task,
            estimator=row.estimator,
            dataset=dataset,
            dataset_version=number,
            dataset_sha256=row.dataset_sha256,
            target=row.target,
            spec=dict(row.spec),
            metrics=dict(row.metrics),
            io_schema=dict(row.io_schema),
            environment=dict(row.environment),
            reference_sha256=row.reference_sha256,
            description=row.description or "",
            tags=dict(row.tags or {}),
            aliases=tuple(held),
            trained_by=row.trained_by,
            created_at=_aware(row.created_at),
            created_by=row.created_by,
        )


def _registrable_run(session: Session, run_id: int) -> RunRow:
    run = session.get(RunRow, run_id)
    if run is None:
        raise NotFound(
            f"no run {run_id}", where="runs of this project", hint="`shipway runs list` shows them"
        )
    if run.kind == "search" and run.status == "done":
        best = session.scalars(
            select(RunRow).where(RunRow.parent_id == run.id, RunRow.is_best.is_(True))
        ).first()
        run = best or run
    if run.status != "done" or not run.model_sha256:
        raise InvalidInput(
            f"run {run.id} is {run.status}, so it has no model to register",
            where=f"run {run.id}",
            hint="register a run that finished (status done); `shipway runs show "
            f"{run.id}` says why this one did not",
        )
    return run


def _version_row(model_id, number, run: RunRow, user, description, tags) -> ModelVersionRow:
    return ModelVersionRow(
        model_id=model_id,
        number=number,
        run_id=run.id,
        model_sha256=run.model_sha256,
        model_size=run.model_size or 0,
        task=run.task,
        estimator=run.estimator,
        dataset_version_id=run.dataset_version_id,
        dataset_sha256=run.dataset_sha256,
        target=run.target,
        spec=dict(run.spec),
        metrics=dict(run.metrics or {}),
        io_schema=dict(run.io_schema or {}),
        environment=dict(run.environment or {}),
        description=description,
        tags=dict(tags or {}),
        trained_by=run.created_by,
        created_at=utcnow(),
        created_by=user,
    )


def _number(session: Session, alias_row: ModelAliasRow | None) -> int | None:
    if alias_row is None:
        return None
    return session.get(ModelVersionRow, alias_row.version_id).number


def _aliases_by_name(session: Session, model_id: int) -> dict[str, int]:
    rows = session.execute(
        select(ModelAliasRow.alias, ModelVersionRow.number)
        .join(ModelVersionRow, ModelVersionRow.id == ModelAliasRow.version_id)
        .where(ModelAliasRow.model_id == model_id)
    ).all()
    return {alias: number for alias, number in sorted(rows)}


def _move_entity(model: str, row: AliasMoveRow) -> AliasMove:
    return AliasMove(
        id=row.id,
        model=model,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        kind=row.kind,
        reason=row.reason or "",
        gates=list(row.gates or []),
        rolled_back=bool(row.rolled_back),
        at=_aware(row.at),
        user=row.user,
    )


def _approval_entity(model: str, number: int, row: ApprovalRow) -> Approval:
    return Approval(
        id=row.id,
        model=model,
        version=number,
        approver=row.approver,
        comment=row.comment or "",
        at=_aware(row.at),
    )
