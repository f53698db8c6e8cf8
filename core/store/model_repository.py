"""The model registry in the metadata store: models, versions, aliases and their moves.

Each public method is one session scope and writes its audit row in the same transaction as the
change. Moving an alias checks, inside the write transaction and under a row lock (PostgreSQL
``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), that the
alias is still held by the version the caller's gates were evaluated against: of two racing
promotions exactly one moves the alias and the other gets a :class:`Conflict` naming the new
holder.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.entities import AliasMove, ModelVersion, RegisteredModel
from core.errors import Conflict, InvalidInput, NotFound
from core.store.database import Database, retrying
from core.store.model_rows import (
    add_model_audit,
    alias_number,
    check_alias,
    check_model_name,
    find_alias,
    find_model,
    find_version,
    model_entity,
    version_entity,
)
from core.store.orm import AliasMoveRow, ModelAliasRow, ModelVersionRow, RegisteredModelRow, RunRow
from core.store.rows import entity_from_row, inserted
from core.times import utcnow

__all__ = ["ModelRepository", "check_alias", "check_model_name"]


class ModelRepository:
    """Registry access for one project."""

    def __init__(self, database: Database, user: str) -> None:
        self.db = database
        self.user = user

    def _audit(self, session: Session, action: str, ref: str, **detail: Any) -> None:
        add_model_audit(session, self.user, action, ref, **detail)

    @retrying
    def register(
        self, run_id: int, name: str, description: str = "", tags: dict[str, str] | None = None
    ) -> ModelVersion:
        """Register a finished run (a search: its best trial) as the next version of ``name``."""
        check_model_name(name)
        with self.db.session(write=True) as session:
            run = _registrable_run(session, run_id)
            model = session.scalars(
                select(RegisteredModelRow).where(RegisteredModelRow.name == name).with_for_update()
            ).first()
            if model is None:
                model = RegisteredModelRow(
                    name=name, description="", created_at=utcnow(), created_by=self.user
                )
                inserted(session, model)
                self._audit(session, "model.create", name)
            latest = session.scalar(
                select(func.max(ModelVersionRow.number)).where(ModelVersionRow.model_id == model.id)
            )
            number = (latest or 0) + 1
            row = inserted(
                session, _version_row(model.id, number, run, self.user, description, tags)
            )
            self._audit(
                session,
                "model.register",
                f"{name}@{row.number}",
                run=run.id,
                dataset_sha256=run.dataset_sha256,
                model_sha256=run.model_sha256,
                metrics=run.metrics,
            )
            return version_entity(session, row)

    @retrying
    def set_reference(self, version_id: int, sha256: str) -> None:
        """Record the blob of the version's reference statistics (computed once, for drift)."""
        with self.db.session(write=True) as session:
            row = session.get(ModelVersionRow, version_id)
            if row is not None:
                row.reference_sha256 = sha256

    @retrying
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
            row = find_version(session, name, number)
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
            return version_entity(session, row)

    def get(self, name: str, number: int | None = None) -> ModelVersion:
        """A version by number, or the newest when ``number`` is None."""
        with self.db.session(write=False) as session:
            return version_entity(session, find_version(session, name, number))

    def by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.session(write=False) as session:
            model = find_model(session, name)
            holder = find_alias(session, model.id, alias)
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
            return version_entity(session, session.get(ModelVersionRow, holder.version_id))

    def holder(self, name: str, alias: str) -> int | None:
        """The version number holding ``alias`` now, or None."""
        with self.db.session(write=False) as session:
            model = find_model(session, name)
            row = find_alias(session, model.id, alias)
            return session.get(ModelVersionRow, row.version_id).number if row else None

    def list_models(self) -> list[RegisteredModel]:
        with self.db.session(write=False) as session:
            models = session.scalars(
                select(RegisteredModelRow).order_by(RegisteredModelRow.name)
            ).all()
            return [model_entity(session, model) for model in models]

    def list_versions(self, name: str) -> list[ModelVersion]:
        with self.db.session(write=False) as session:
            model = find_model(session, name)
            rows = session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.model_id == model.id)
                .order_by(ModelVersionRow.number)
            ).all()
            return [version_entity(session, row) for row in rows]

    @retrying
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
            model = find_model(session, name, lock=True)
            target = find_version(session, name, number)
            current_row = find_alias(session, model.id, alias, lock=True)
            current = alias_number(session, current_row)
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

    @retrying
    def rollback(self, name: str, alias: str) -> AliasMove:
        """Move ``alias`` back to the version it held before its latest (not undone) move."""
        check_alias(alias)
        with self.db.session(write=True) as session:
            model = find_model(session, name, lock=True)
            current_row = find_alias(session, model.id, alias, lock=True)
            current = alias_number(session, current_row)
            last = self._undoable_move(session, model.id, alias, current)
            if last is None or last.from_version is None:
                raise Conflict(
                    f"{alias!r} of {name!r} has no earlier version to roll back to",
                    where=f"{name}@{alias}",
                    hint="the alias history (`shipway models history "
                    f"{name} --alias {alias}`) holds no earlier holder; promote a version instead",
                )
            target = find_version(session, name, last.from_version)
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

    @retrying
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
            model = find_model(session, name)
            query = select(AliasMoveRow).where(AliasMoveRow.model_id == model.id)
            if alias is not None:
                query = query.where(AliasMoveRow.alias == alias)
            rows = session.scalars(query.order_by(AliasMoveRow.id.desc())).all()
            return [_move_entity(model.name, row) for row in rows]

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
        return _move_entity(model.name, inserted(session, row))

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


# what a version copies from the run it is registered from, column for column (its lineage
# and its model file); the JSON ones are copied, so the two rows share no object
_COPIED_FROM_RUN = (
    "model_sha256",
    "task",
    "estimator",
    "dataset_version_id",
    "dataset_sha256",
    "target",
)
_COPIED_FROM_RUN_JSON = ("spec", "metrics", "io_schema", "environment")


def _version_row(model_id, number, run: RunRow, user, description, tags) -> ModelVersionRow:
    lineage = {name: getattr(run, name) for name in _COPIED_FROM_RUN}
    lineage |= {name: dict(getattr(run, name) or {}) for name in _COPIED_FROM_RUN_JSON}
    return ModelVersionRow(
        **lineage,
        model_id=model_id,
        number=number,
        run_id=run.id,
        model_size=run.model_size or 0,
        description=description,
        tags=dict(tags or {}),
        trained_by=run.created_by,
        created_at=utcnow(),
        created_by=user,
    )


def _move_entity(model: str, row: AliasMoveRow) -> AliasMove:
    return entity_from_row(AliasMove, row, model=model)
