"""Retention and erasure of a deployment's prediction log, and of what was derived from it.

The SQL against ``predictions.db`` lives beside its schema (:mod:`core.serving.logmaint`);
this module chooses the rows, looks after the derived files and the audit trail, and turns
failures into :class:`~core.errors.ShipwayError`.

- **Prune** (``[monitor] keep``, ``shipway log prune``): requests logged before the cut, with
  their feedback, go in batches; then the drift bucket cache files of buckets that *ended*
  before the cut (every row they summarise is gone). The bucket straddling the cut keeps its
  file until a later prune: at most one bucket length (an hour by default) beyond ``keep``.
- **Erase** (``shipway log erase``): requests chosen by id, or by the value of one input
  column, with their feedback, in one transaction with ``secure_delete`` on. Bucket cache files
  hold raw values (unseen categories, the top categories of a histogram), so the files of the
  buckets the erased requests fell in are deleted and the cache's ``index.json`` is moved back
  to the earliest of them: the next read recomputes them from what the log still holds.
- **The audit row** (``log.erase``: deployment, count, criterion) is written inside the log's
  transaction, just before its commit: when it cannot be written, nothing is erased, so the
  trail never misses an erasure. The erased value never enters the trail in clear, only its
  sha256 (request ids likewise): the trail is kept for good and copied with the project, and
  keeping the value there would keep what the erasure removed. Whoever holds the value can
  still show it was erased by hashing it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ShipwayError, UsageError
from core.monitoring.buckets import CACHE_DIR
from core.serving import logmaint

_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_BOOLEANS = {"true": 1, "false": 0}


class LogLockedError(ShipwayError, code="log_locked"):
    """The prediction log stayed locked by another writer; nothing half-done was kept."""


@dataclass(frozen=True, kw_only=True)
class _Removal:
    """What a prune and an erasure both tell: the feedback and files removed, the space.

    Keyword-only, so that each result's own fields come first in its constructor.
    """

    feedback: int
    bucket_files: int
    bytes_before: int
    bytes_after: int
    vacuum: str
    notes: tuple[str, ...] = ()

    @property
    def bytes_reclaimed(self) -> int:
        return max(0, self.bytes_before - self.bytes_after)

    def _removed(self) -> dict[str, Any]:
        return {"feedback": self.feedback, "bucket_files": self.bucket_files,
                "bytes_before": self.bytes_before, "bytes_after": self.bytes_after,
                "bytes_reclaimed": self.bytes_reclaimed, "vacuum": self.vacuum,
                "notes": list(self.notes)}  # fmt: skip


@dataclass(frozen=True)
class PruneResult(_Removal):
    """What a prune removed from one deployment's log, and the space it gave back."""

    deployment: str
    before: str
    requests: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "before": self.before,
            "requests": self.requests,
            **self._removed(),
        }


@dataclass(frozen=True)
class ErasureResult(_Removal):
    """What an erasure removed; ``criterion`` is the form the audit trail holds (no value)."""

    deployment: str
    criterion: dict[str, Any]
    request_ids: tuple[str, ...]

    @property
    def requests(self) -> int:
        return len(self.request_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "criterion": self.criterion,
            "requests": self.requests,
            "request_ids": list(self.request_ids),
            **self._removed(),
        }


@dataclass(frozen=True)
class Criterion:
    """Which requests to erase: by id, or by one input column's value."""

    request_ids: tuple[str, ...] = ()
    column: str | None = None
    value: str | None = field(default=None, repr=False)

    def audited(self) -> dict[str, Any]:
        """The criterion as the audit trail keeps it: hashes, never the value in clear."""
        if self.column is None:
            joined = "\n".join(sorted(set(self.request_ids)))
            return {"request_ids": len(set(self.request_ids)), "request_ids_sha256": sha256(joined)}
        return {"column": self.column, "value_sha256": sha256(self.value or "")}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def criterion(
    request_ids: Sequence[str] = (), where: str | tuple[str, str] | None = None
) -> Criterion:
    """The criterion of ``request_ids`` or ``where`` (``"COLUMN=VALUE"``): exactly one."""
    if isinstance(request_ids, str):  # one id given as text, not its characters
        request_ids = (request_ids,)
    ids = tuple(i.strip() for i in request_ids if i and i.strip())
    if bool(ids) == (where is not None) or (request_ids and not ids):
        raise UsageError(
            "give either request ids or one --where COLUMN=VALUE, not both or neither",
            hint="e.g. `shipway log erase DEPLOYMENT --request-id ID` or "
            "`--where customer_id=C-1042`",
        )
    if where is None:
        return Criterion(request_ids=ids)
    if isinstance(where, str):
        if "=" not in where:  # the text is not repeated: it may be the very value to erase
            raise UsageError(
                "--where needs COLUMN=VALUE: what was given holds no '='",
                hint="e.g. --where customer_id=C-1042 (the value may contain '=')",
            )
        where = tuple(where.split("=", 1))  # type: ignore[assignment]
    column, value = where
    if not column.strip():
        raise UsageError("--where needs a column name before '='", hint="e.g. --where email=…")
    return Criterion(column=column.strip(), value=value)


# -- the match in the log -----------------------------------------------------------------------


def match_of(found: Criterion, columns: dict[str, set[str]], deployment: str) -> logmaint.Match:
    """The log query of ``found``; ``columns``: the input columns of the versions in the log
    and their types. An unknown column is refused, naming the known ones."""
    if found.column is None:
        return logmaint.Match(request_ids=found.request_ids)
    if found.column not in columns:
        raise UsageError(
            f"{found.column!r} is not an input column of the model served by {deployment}",
            where=f"deployment {deployment}",
            hint=f"known columns: {', '.join(sorted(columns)) or '(none: no version known)'}",
        )
    value = found.value or ""
    kinds = columns[found.column]
    number = float(value) if _NUMBER.match(value) else None
    boolean = _BOOLEANS.get(value.strip().lower())
    if number is None and boolean is not None and "boolean" in kinds:
        number = float(boolean)  # the model saw a boolean as 1.0 / 0.0
    if number is None and "datetime" in kinds and value.strip():
        number = _epoch(value, found.column)
    if number is not None and not math.isfinite(number):
        number = None
    return logmaint.Match(column=found.column, text=value, number=number, boolean=boolean)


def _epoch(value: str, column: str) -> float:
    """A time given as text, as the log holds it: seconds since 1970 (UTC when no zone)."""
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{column} holds times: the value is neither a time nor a number of seconds",
            where=f"--where {column}=…",
            hint="write an ISO 8601 time (2024-05-01T12:00:00Z) or seconds since 1970",
        ) from exc
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.timestamp()


@contextmanager
def _log_errors(deployment: str, action: str) -> Iterator[None]:
    try:
        yield
    except logmaint.LogLocked as exc:
        done = f"; {exc.removed:,} old requests were pruned before that" if exc.removed else ""
        raise LogLockedError(
            f"cannot {action}: {exc}{done}; nothing half-done was kept",
            where=f"deployment {deployment}",
            hint="try again in a moment; a server writes in short transactions, so a long lock "
            "means another program holds it",
        ) from exc
    except sqlite3.DatabaseError as exc:
        raise ShipwayError(
            f"cannot {action}: the prediction log cannot be used ({exc})",
            where=f"deployment {deployment}",
            hint="check the disk and the file's permissions",
        ) from exc


def prune(
    folder: Path,
    deployment: str,
    before_epoch: float,
    *,
    busy_timeout: float = logmaint.BUSY_TIMEOUT_S,
    vacuum: bool | None = None,
) -> PruneResult:
    """Remove what ``deployment``'s log (in ``folder``) holds from before ``before_epoch``."""
    before = logmaint.stamp(before_epoch)
    with _log_errors(deployment, "prune the prediction log"):
        pruned = logmaint.prune(folder, before, busy_timeout=busy_timeout, vacuum=vacuum)
    files = drop_buckets_before(folder, before_epoch)
    removal = _removal(pruned.feedback, files, pruned.space, ())
    return PruneResult(deployment, before, pruned.requests, **removal)


def erase(
    folder: Path,
    deployment: str,
    found: Criterion,
    columns: dict[str, set[str]],
    audit: Callable[[dict[str, Any]], None],
    *,
    busy_timeout: float = logmaint.BUSY_TIMEOUT_S,
    vacuum: bool | None = None,
) -> ErasureResult:
    """Erase the requests ``found`` selects from ``deployment``'s log and its caches.

    ``audit(detail)`` writes the audit row; it runs inside the log's transaction, before its
    commit, so a failure to audit erases nothing.
    """
    match = match_of(found, columns, deployment)
    criterion_audited = found.audited()

    def before_commit(rows: tuple[logmaint.ErasedRow, ...], feedback: int) -> None:
        audit({"requests": len(rows), "feedback": feedback, "criterion": criterion_audited,
               "versions": sorted({row.version for row in rows})})  # fmt: skip

    with _log_errors(deployment, "erase from the prediction log"):
        erased = logmaint.erase(folder, match, before_commit=before_commit,
                                busy_timeout=busy_timeout, vacuum=vacuum)  # fmt: skip
    files = drop_buckets_of(folder, [(_epoch_of(row.time), row.version) for row in erased.rows])
    removal = _removal(erased.feedback, files, erased.space, erased.notes)
    request_ids = tuple(row.request_id for row in erased.rows)
    return ErasureResult(deployment, criterion_audited, request_ids, **removal)


def _removal(
    feedback: int, files: int, space: logmaint.Reclaimed, notes: tuple[str, ...]
) -> dict[str, Any]:
    """The :class:`_Removal` fields of a result, ``notes`` before those of ``space``."""
    return {"feedback": feedback, "bucket_files": files, "bytes_before": space.bytes_before,
            "bytes_after": space.bytes_after, "vacuum": space.vacuum,
            "notes": notes + space.notes}  # fmt: skip


def _epoch_of(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


# -- the drift bucket cache ---------------------------------------------------------------------


def _bucket_folders(folder: Path) -> Iterator[tuple[int | None, int, Path]]:
    """(version, bucket seconds, folder) of every cache folder
    ``monitoring/v{VERSION}-…/{S}s/`` of the deployment."""
    root = folder / CACHE_DIR
    if not root.is_dir():
        return
    for cached in sorted(root.iterdir()):
        head = cached.name.split("-", 1)[0]
        version = int(head[1:]) if head[:1] == "v" and head[1:].isdigit() else None
        for length in sorted(cached.glob("*s")):
            if length.is_dir() and length.name[:-1].isdigit() and int(length.name[:-1]) > 0:
                yield version, int(length.name[:-1]), length


def _bucket_files(folder: Path) -> Iterator[tuple[int, Path]]:
    for path in folder.glob("*.json"):
        if path.stem.isdigit():
            yield int(path.stem), path


def drop_buckets_before(folder: Path, before_epoch: float) -> int:
    """Delete the cache files of buckets that ended at or before ``before_epoch``."""
    dropped = 0
    for _, seconds, cached in _bucket_folders(folder):
        for start, path in _bucket_files(cached):
            if start + seconds <= before_epoch:
                path.unlink(missing_ok=True)
                dropped += 1
    return dropped


def drop_buckets_of(folder: Path, erased: Sequence[tuple[float, int]]) -> int:
    """Delete the cache files of the buckets these (time, version) rows fell in, and move each
    cache's ``index.json`` back so that the next read recomputes them from the log."""
    dropped = 0
    for version, seconds, cached in _bucket_folders(folder):
        starts = {math.floor(t / seconds) * seconds for t, v in erased if v == version}
        if not starts:
            continue
        for start in starts:
            path = cached / f"{start}.json"
            if path.exists():
                path.unlink(missing_ok=True)
                dropped += 1
        _move_index_back(cached, min(starts))
    return dropped


def _move_index_back(cached: Path, start: int) -> None:
    index = cached / "index.json"
    try:
        through = int(json.loads(index.read_text(encoding="utf-8"))["through"])
    except (OSError, ValueError, KeyError, TypeError):
        return  # no index (or a broken one): the next read reads the whole log anyway
    if through > start:
        temporary = index.with_name(f".index.json.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"through": start}), encoding="utf-8")
        os.replace(temporary, index)
