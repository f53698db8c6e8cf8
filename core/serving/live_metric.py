"""The live metric: how right the served model was on the rows whose truth came back.

Read from the prediction log (so it needs a log folder), by the drift scoring thread, never on
the request path: the last :data:`LIVE_ROWS` rows of answered predictions that got feedback (the
latest feedback of each request, as ``shipway drift`` reads it), joined by request id; a single
``actual`` value counts for a one-row request only. Accuracy for a classifier (the prediction's
text equal to the actual's), mean absolute error for a regressor. Every worker of a server reads
the same log, so the figure is the server's whichever worker answers ``/metrics``.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

from core.serving.predlog import LOG_FILE

LIVE_ROWS = 1000
_QUERY = """
SELECT r.outputs, r.rows, f.actual
FROM feedback f JOIN requests r ON r.request_id = f.request_id
WHERE f.id = (SELECT MAX(id) FROM feedback WHERE feedback.request_id = f.request_id)
  AND r.status = 200 AND r.model = ? AND r.version = ?
ORDER BY f.id DESC LIMIT ?
"""


def live_metric(
    log_dir: str | Path, model: str, version: int, task: str, rows: int = LIVE_ROWS
) -> dict[str, Any] | None:
    """``{"metric", "value", "rows"}`` over the latest labelled rows, or None (none yet)."""
    path = Path(log_dir) / LOG_FILE
    if not path.exists():
        return None
    connection = sqlite3.connect(path, timeout=5.0)
    try:
        found = connection.execute(_QUERY, (model, int(version), int(rows))).fetchall()
    except sqlite3.OperationalError:  # no table yet: nothing was logged
        return None
    finally:
        connection.close()
    pairs = []
    for outputs, count, actual in found:
        predictions = (json.loads(outputs or "{}") or {}).get("predictions") or []
        truth = json.loads(actual) if actual is not None else None
        if not isinstance(truth, list):
            truth = [truth] if count == 1 else []
        pairs += [(p, a) for p, a in zip(predictions, truth, strict=False) if a is not None]
    pairs = pairs[:rows]
    if not pairs:
        return None
    if task == "classification":
        right = sum(_text(p) == _text(a) for p, a in pairs)
        return {"metric": "accuracy", "value": right / len(pairs), "rows": len(pairs)}
    errors = [abs(float(p) - float(a)) for p, a in pairs if _number(p) and _number(a)]
    if not errors:
        return None
    return {"metric": "mae", "value": sum(errors) / len(errors), "rows": len(errors)}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False
