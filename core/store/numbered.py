"""Finding a data set or a model by name, and one of its numbered versions, in the caller's
session.

Data set versions and model versions are both numbered from 1 under their parent row; both are
found the same way, by number or the newest, and a number that is not there is a
:class:`NotFound` that says which numbers there are. Runs and model versions name the data set
version they were trained on by its row id: :func:`dataset_ref` gives its name and number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.errors import NotFound
from core.store.orm import DatasetRow, DatasetVersionRow


def find_named(
    session: Session,
    name_column: InstrumentedAttribute,
    name: str,
    kind: tuple[str, str],
    how: str,
    lock: bool = False,
) -> Any:
    """The row whose ``name_column`` is ``name`` (locked for update when ``lock``).

    ``kind`` names such rows, one and many ("data set", "data sets"); a name that is not there
    is a :class:`NotFound` listing up to ten known names, then ``how`` to make one.
    """
    query = select(name_column.class_).where(name_column == name)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        one, many = kind
        known = ", ".join(session.scalars(select(name_column).limit(10))) or "none"
        raise NotFound(
            f"no {one} named {name!r}",
            where=f"{many} of this project",
            hint=f"known {many}: {known}; {how}",
        )
    return row


def find_numbered(
    session: Session,
    parent: InstrumentedAttribute,
    parent_id: int,
    number: int | None,
    kind: str,
    name: str,
) -> Any:
    """The row of version ``number`` (the newest when None) whose ``parent`` column is
    ``parent_id``; ``kind`` and ``name`` name the parent in the error ("model", "churn")."""
    row_type = parent.class_
    query = select(row_type).where(parent == parent_id)
    if number is None:
        query = query.order_by(row_type.number.desc()).limit(1)
    else:
        query = query.where(row_type.number == number)
    row = session.scalars(query).first()
    if row is None:
        count = session.scalar(select(func.max(row_type.number)).where(parent == parent_id))
        raise NotFound(
            f"{kind} {name!r} has no version {number}",
            where=name,
            hint=f"versions run from 1 to {count or 0}",
        )
    return row


def dataset_ref(session: Session, dataset_version_id: int) -> tuple[str, int]:
    """The data set name and version number of the data set version row ``dataset_version_id``."""
    name, number = session.execute(
        select(DatasetRow.name, DatasetVersionRow.number)
        .join(DatasetVersionRow, DatasetVersionRow.dataset_id == DatasetRow.id)
        .where(DatasetVersionRow.id == dataset_version_id)
    ).one()
    return name, number
