"""Reading the prediction log: the last N requests, or those in a time range, with feedback.

Readers open their own short-lived connection (WAL lets them read while the server writes).
:func:`read_requests` gives plain frozen records; :func:`requests_frame` one pandas row per
request; :func:`inputs_frame` one row per predicted row (the features as the model saw them, the
prediction and the feedback's actual value), the shape drift and live metrics need.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core.serving.predlog import LOG_FILE, LoggedRequest

_QUERY = """
SELECT r.request_id, r.time, r.model, r.version, r.latency_ms, r.status, r.rows, r.inputs,
       r.outputs, r.error, f.actual, f.time
FROM requests r
LEFT JOIN feedback f
  ON f.id = (SELECT MAX(id) FROM feedback WHERE feedback.request_id = r.request_id)
"""


def _stamp(value: datetime | str) -> str:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def read_requests(
    log_dir: str | Path,
    *,
    last: int | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    status: int | None = None,
) -> list[LoggedRequest]:
    """Logged requests in time order: the ``last`` N, and/or those in ``[since, until)``.

    Times without a zone are taken as UTC. ``status=200`` keeps answered predictions only.
    """
    path = Path(log_dir) / LOG_FILE
    if not path.exists():
        return []
    where, params = [], []
    if since is not None:
        where.append("r.time >= ?")
        params.append(_stamp(since))
    if until is not None:
        where.append("r.time < ?")
        params.append(_stamp(until))
    if status is not None:
        where.append("r.status = ?")
        params.append(int(status))
    sql = _QUERY + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY r.time DESC, r.rowid DESC"
    if last is not None:
        sql += " LIMIT ?"
        params.append(int(last))
    connection = sqlite3.connect(path, timeout=5.0)
    try:
        rows = connection.execute(sql, params).fetchall()
    finally:
        connection.close()
    return [_record(row) for row in reversed(rows)]


def _record(row: tuple) -> LoggedRequest:
    rid, time, model, version, latency, status, n, inputs, outputs, error, actual, ftime = row
    return LoggedRequest(
        rid, time, model, version, latency, status, n,
        inputs=_json(inputs), outputs=_json(outputs), error=error, actual=_json(actual),
        feedback_time=ftime,
    )  # fmt: skip


def requests_frame(log_dir: str | Path, **query: Any) -> pd.DataFrame:
    """:func:`read_requests` as a DataFrame (``time`` parsed as UTC timestamps)."""
    records = read_requests(log_dir, **query)
    columns = [name for name in LoggedRequest.__dataclass_fields__ if name != "size"]
    frame = pd.DataFrame([{c: getattr(r, c) for c in columns} for r in records], columns=columns)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def inputs_frame(log_dir: str | Path, **query: Any) -> pd.DataFrame:
    """One row per predicted row of answered requests that kept their inputs.

    Columns: ``request_id``, ``time``, ``version``, ``row``, the features, ``prediction`` and
    ``actual`` (the feedback for that row, when a list of one value per row or a single value
    for a one-row request was sent).
    """
    rows: list[dict[str, Any]] = []  # one dict per predicted row: one DataFrame at the end
    for record in read_requests(log_dir, status=200, **query):
        if not record.inputs:
            continue
        inputs = record.inputs
        if not isinstance(inputs, list):
            inputs = pd.DataFrame(inputs).to_dict("records")
        count = len(inputs)
        predictions = (record.outputs or {}).get("predictions") or []
        actual = record.actual
        if not isinstance(actual, list):
            actual = [actual] * count if count == 1 else [None] * count
        if len(actual) != count:
            actual = [None] * count
        for index, values in enumerate(inputs):
            rows.append({
                "request_id": record.request_id, "time": record.time, "version": record.version,
                "row": index, **values,
                "prediction": predictions[index] if index < len(predictions) else None,
                "actual": actual[index],
            })  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=["request_id", "time", "version", "row"])
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame
