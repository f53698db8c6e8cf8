"""A version's metrics per segment as frozen records, for the desktop's Segments tab.

The tables are those of :mod:`core.registry.fairness` (the model card's and the
``max_disparity`` gate's), computed when asked for the columns of ``[evaluation] segments`` as
shipway.toml says now. A column the version's data set lacks does not fail the whole answer:
its table is left out and the problem is kept in :attr:`VersionSegments.problems`, so the other
columns still show.

The app asks twice for one version when its detail opens (the model card's Segments section and
the Segments tab), and each answer loads the model and predicts the test rows again. The last
few answers are kept per process, keyed by what decides them: the project, the version's model
and data set hashes, and the ``[evaluation]`` table as read now. A version never changes, so a
kept answer is stale only if that table changes, and then the key does.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.entities import ModelVersion
from core.errors import ShipwayError
from core.project import Project


@dataclass(frozen=True)
class Interval:
    """A metric on one segment, with its 95% bootstrap interval when there is one."""

    value: float | None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Segment:
    """One value of the segment column: its test rows and every metric on them."""

    column: str
    value: str
    rows: int
    metrics: Mapping[str, Interval]


@dataclass(frozen=True)
class SegmentTable:
    """Every segment of one column, with the notes on how its values were grouped."""

    column: str
    metrics: tuple[str, ...]
    segments: tuple[Segment, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionSegments:
    """The segment tables of a version; ``columns`` as configured (empty: none configured)."""

    ref: str
    columns: tuple[str, ...]
    tables: tuple[SegmentTable, ...]
    problems: tuple[str, ...] = ()


def _record(table: dict[str, Any]) -> SegmentTable:
    column = str(table["column"])
    segments = tuple(
        Segment(
            column,
            str(group["value"]),
            int(group["rows"]),
            {
                name: Interval(found.get("value"), found.get("low"), found.get("high"))
                for name, found in group["metrics"].items()
            },
        )
        for group in table["groups"]
    )
    return SegmentTable(column, tuple(table["metrics"]), segments, tuple(table.get("notes", ())))


KEPT_ANSWERS = 8
_kept: OrderedDict[tuple[str, ...], VersionSegments] = OrderedDict()
_kept_lock = threading.Lock()


def version_segments(
    project: Project, version: ModelVersion, raw: dict[str, Any]
) -> VersionSegments:
    """The tables of ``raw``'s ``[evaluation] segments`` columns for ``version``."""
    evaluation = json.dumps(raw.get("evaluation", {}), sort_keys=True, default=str)
    key = (str(project.root), version.ref, version.model_sha256, version.dataset_sha256, evaluation)
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    found = _computed(project, version, raw)
    with _kept_lock:
        _kept[key] = found
        while len(_kept) > KEPT_ANSWERS:
            _kept.popitem(last=False)
    return found


def _computed(project: Project, version: ModelVersion, raw: dict[str, Any]) -> VersionSegments:
    from core.registry import fairness
    from core.registry.gates import Evidence

    columns = tuple(fairness.configured(raw))
    evidence = Evidence(project, version)  # loads the model and the test rows once
    tables, problems = [], []
    for column in columns:
        try:
            tables.append(_record(fairness.table(evidence, column)))
        except ShipwayError as exc:
            problems.append(str(exc))
    return VersionSegments(version.ref, columns, tuple(tables), tuple(problems))
