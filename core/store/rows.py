"""ORM rows in and out: inserting one, filtering by what a caller gave, marking one running, and
turning one into a frozen entity.

An entity names most of its fields like the columns of the row it comes from;
:func:`entity_from_row` copies those and takes the rest (a renamed column, a name joined from
another table, a value converted otherwise) from the caller, so each repository states only
what differs between its rows and its entities.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import Field, dataclass, fields
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from core.times import aware, utcnow

Entity = TypeVar("Entity")
Row = TypeVar("Row")

# what a NULL reads as in a field of one of these (non-optional) types
_EMPTY: dict[str, Any] = {"str": str, "dict": dict, "list": list, "bool": bool}
# the field types whose column values are copied as they are (never a datetime, dict or list)
_PLAIN = frozenset({"int", "float", "int | None", "float | None", "str | None", "bool | None"})


def inserted(session: Session, row: Row) -> Row:
    """``row`` added to the session and flushed, so that it has its id."""
    session.add(row)
    session.flush()
    return row


def mark_running(row: Any) -> None:
    """Mark a run or job row running: started now, by this process of this host."""
    row.status, row.started_at = "running", utcnow()
    row.host, row.pid = socket.gethostname(), os.getpid()


def present(**values: Any) -> dict[str, Any]:
    """The ``values`` that are not None: the filters a caller gave (``select.filter_by``)."""
    return {name: value for name, value in values.items() if value is not None}


def entity_from_row(entity: type[Entity], row: Any, **given: Any) -> Entity:
    """An ``entity`` whose fields are ``given``, or else copied from ``row``'s same-named columns.

    A copied value shares nothing with the session: a datetime gets its zone back (UTC), a JSON
    dict or list is copied, and a NULL in a field typed ``str``, ``dict``, ``list`` or ``bool``
    reads as the empty value. A column that is ``given`` is not read (so a deferred column
    stays unloaded).
    """
    plan = _copy_plan(entity, type(row), frozenset(given))
    copied = dict(zip(plan.as_is, plan.read_as_is(row), strict=True))
    for name, convert in plan.converted:
        copied[name] = convert(getattr(row, name))
    return entity(**copied, **given)


@dataclass(frozen=True)
class _CopyPlan:
    """How one kind of row fills one kind of entity: the columns taken as they are (read in one
    call) and those converted on the way."""

    as_is: tuple[str, ...]
    read_as_is: Callable[[Any], tuple[Any, ...]]
    converted: tuple[tuple[str, Callable[[Any], Any]], ...]


@cache
def _copy_plan(entity: type, row_type: type, given: frozenset[str]) -> _CopyPlan:
    """The plan for the fields of ``entity`` that ``row_type`` has a column for and the caller
    did not give, chosen once from the fields' declared types (a list of runs copies
    thousands)."""
    columns = inspect(row_type).column_attrs
    copied = [spec for spec in fields(entity) if spec.name in columns and spec.name not in given]
    as_is = tuple(spec.name for spec in copied if _as_is(spec, columns[spec.name].columns[0]))
    converted = tuple(
        (spec.name, _converter(_type_name(spec))) for spec in copied if spec.name not in as_is
    )
    return _CopyPlan(as_is, _reader(as_is), converted)


def _as_is(spec: Field, column: Any) -> bool:
    """Whether a column's value goes into the field as it is: a plain type, or a text or flag
    column that is never NULL."""
    declared = _type_name(spec)
    return declared in _PLAIN or (declared in ("str", "bool") and not column.nullable)


def _reader(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function reading ``names`` of a row as one tuple."""
    if len(names) > 1:
        return attrgetter(*names)
    return lambda row: tuple(getattr(row, name) for name in names)


def _type_name(spec: Field) -> str:
    """``dict`` for a field typed ``dict[str, Any]``; ``str | None`` stays whole (optional)."""
    declared = spec.type if isinstance(spec.type, str) else getattr(spec.type, "__name__", "")
    return declared.partition("[")[0]


def _converter(type_name: str) -> Callable[[Any], Any]:
    """How a column's value is copied into a field declared ``type_name`` (not a plain one)."""
    empty = _EMPTY.get(type_name)
    if empty in (dict, list):  # JSON: a copy, so the entity shares nothing with the session
        return lambda value: empty() if value is None else empty(value)
    if empty is not None:
        return lambda value: empty() if value is None else value
    return _copied


def _copied(value: Any) -> Any:
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value
