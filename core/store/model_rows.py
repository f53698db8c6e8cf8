"""Finding registry rows and turning them into entities, shared by the registry repositories.

Every function takes the caller's session: they are parts of one unit of work, never their own.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.entities import ModelVersion, RegisteredModel
from core.errors import UsageError
from core.store.audit import add_audit
from core.store.numbered import dataset_ref, find_named, find_numbered
from core.store.orm import ModelAliasRow, ModelVersionRow, RegisteredModelRow
from core.store.rows import entity_from_row

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


def add_model_audit(session: Session, user: str, action: str, ref: str, **detail: Any) -> None:
    """An audit row about a model (``M``) or one of its versions (``M@V``)."""
    add_audit(session, user, action, "model_version" if "@" in ref else "model", ref, **detail)


def find_model(session: Session, name: str, lock: bool = False) -> RegisteredModelRow:
    how = f"`shipway models register RUN --name {name}` creates it"
    return find_named(
        session, RegisteredModelRow.name, name, ("registered model", "models"), how, lock
    )


def find_version(session: Session, name: str, number: int | None) -> ModelVersionRow:
    model = find_model(session, name)
    return find_numbered(session, ModelVersionRow.model_id, model.id, number, "model", name)


def find_alias(
    session: Session, model_id: int, alias: str, lock: bool = False
) -> ModelAliasRow | None:
    query = select(ModelAliasRow).where(
        ModelAliasRow.model_id == model_id, ModelAliasRow.alias == alias
    )
    return session.scalars(query.with_for_update() if lock else query).first()


def model_entity(session: Session, model: RegisteredModelRow) -> RegisteredModel:
    numbers = session.scalars(
        select(ModelVersionRow.number).where(ModelVersionRow.model_id == model.id)
    ).all()
    return entity_from_row(
        RegisteredModel,
        model,
        latest_version=max(numbers, default=0),
        versions=len(numbers),
        aliases=aliases_by_name(session, model.id),
    )


def version_entity(session: Session, row: ModelVersionRow) -> ModelVersion:
    name = session.scalar(
        select(RegisteredModelRow.name).where(RegisteredModelRow.id == row.model_id)
    )
    dataset, number = dataset_ref(session, row.dataset_version_id)
    held = sorted(
        alias
        for alias, version in aliases_by_name(session, row.model_id).items()
        if version == row.number
    )
    return entity_from_row(
        ModelVersion,
        row,
        model=name or "",
        version=row.number,
        dataset=dataset,
        dataset_version=number,
        aliases=tuple(held),
    )


def alias_number(session: Session, alias_row: ModelAliasRow | None) -> int | None:
    if alias_row is None:
        return None
    return session.get(ModelVersionRow, alias_row.version_id).number


def aliases_by_name(session: Session, model_id: int) -> dict[str, int]:
    rows = session.execute(
        select(ModelAliasRow.alias, ModelVersionRow.number)
        .join(ModelVersionRow, ModelVersionRow.id == ModelAliasRow.version_id)
        .where(ModelAliasRow.model_id == model_id)
    ).all()
    return {alias: number for alias, number in sorted(rows)}
