"""The housekeeping jobs of the service: scheduled imports and the pruning of old log rows."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from core.errors import ShipwayError
from core.operations.config import ImportSchedule


def import_now(ws: Any, root: Path, schedule: ImportSchedule, progress, cancel) -> dict[str, Any]:
    """Take a new version of the schedule's data set from its folder or its query."""
    from core.data.importer import ImportOptions

    options = ImportOptions(name=schedule.dataset)
    if schedule.sql:
        outcome = ws.data.import_sql(schedule.sql, schedule.url, schedule.dataset, options,
                                     progress, cancel)  # fmt: skip
    else:
        path = newest_file(root / schedule.folder, schedule.pattern)
        if path is None:
            return {"imported": None, "note": f"no file in {schedule.folder}"}
        outcome = ws.data.import_file(path, options, progress, cancel)
    return {"imported": outcome.version.ref, "created": outcome.created}


def prune_all(ws: Any, keep_s: float) -> dict[str, Any]:
    """Prune every deployment's prediction log of rows older than ``keep_s`` seconds."""
    done = {}
    for deployment in ws.deployments.list(include_stopped=True):
        with contextlib.suppress(ShipwayError):
            done[deployment.id] = ws.monitoring.prune_log(deployment.id, keep_s).to_dict()
    return {"pruned": done}


def newest_file(folder: Path, pattern: str) -> Path | None:
    """The newest file of ``folder`` matching ``pattern`` (by modification time), or None."""
    if not folder.is_dir():
        raise ShipwayError(
            "the folder to import from does not exist",
            where=str(folder),
            hint="create it, or fix folder in [imports] of shipway.toml",
        )
    files = [p for p in folder.glob(pattern) if p.is_file() and not p.name.startswith(".")]
    return max(files, key=lambda p: p.stat().st_mtime) if files else None
