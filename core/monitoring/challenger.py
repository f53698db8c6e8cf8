"""Champion against challenger on live traffic, from a deployment's prediction log.

The log's ``challenger`` table (:mod:`core.serving.predlog`) says, per request, which side
answered and, in shadow mode, what the challenger predicted. Joined with the requests and the
latest feedback, it gives per side: requests, latency (p50/p95), the prediction mix and, where
feedback came back, the live metric with its interval; and a test of the difference suited to
the mode (:mod:`core.monitoring.challenger_stats`).

Decisions:

- Agreement is measured in shadow mode only (both sides predicted the same rows): the share of
  rows with the same class, or for a regressor predictions within :data:`AGREE_RELATIVE` of
  each other. In split mode the sides answer different rows, so there is none.
- Latency in split mode is the whole request's, on either side. In shadow mode the champion's is
  the request's and the challenger's its share of the batch it was scored in (it never sees the
  request itself).
- ``rows`` of the comparison is what the test rests on: rows with feedback that both sides
  predicted (shadow), or the smaller side's rows with feedback (split).
- Feedback that names a class the model does not know counts as wrong for both sides.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.deploy.challenger import ChallengerInfo
from core.entities import Deployment, ModelVersion
from core.monitoring import challenger_stats as cs
from core.monitoring.reference import label_text
from core.serving.predlog import LOG_FILE

AGREE_RELATIVE = 0.05
PROBLEMS = ("timeout", "failed", "dropped", "refused")
_QUERY = """
SELECT c.mode, c.side, c.latency_ms, c.status, c.outputs, r.latency_ms, r.outputs, f.actual
FROM challenger c JOIN requests r ON r.request_id = c.request_id
LEFT JOIN feedback f
  ON f.id = (SELECT MAX(id) FROM feedback WHERE feedback.request_id = r.request_id)
WHERE c.version = ? AND r.status = 200 AND r.outputs IS NOT NULL
"""


@dataclass(frozen=True)
class Side:
    """What one side did: requests answered (or shadowed), rows, latency, mix, live metric."""

    name: str
    version: int
    requests: int
    rows: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    mix: dict[str, float]
    metric: cs.Estimate


@dataclass(frozen=True)
class Comparison:
    deployment: str
    model: str
    champion: int
    challenger: int
    mode: str
    share: float
    metric: str
    confidence: float
    requests: int
    agreement: float | None
    agreement_rows: int
    sides: tuple[Side, Side]
    test: cs.Test
    rows: int
    problems: dict[str, int] = field(default_factory=dict)

    @property
    def better(self) -> str | None:
        """``challenger`` or ``champion`` when the test says so at ``confidence``, else None."""
        from core.metrics import GREATER_IS_BETTER

        t = self.test
        if t.p_value is None or t.difference is None or t.p_value >= 1 - self.confidence:
            return None
        gains = t.difference > 0 if GREATER_IS_BETTER.get(self.metric, True) else t.difference < 0
        return "challenger" if gains else "champion"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["sides"] = {side.name: asdict(side) for side in self.sides}
        data["better"] = self.better
        return data


@dataclass
class _Rows:
    predictions: list = field(default_factory=list)
    actuals: list = field(default_factory=list)
    latency: list = field(default_factory=list)
    requests: int = 0


def read_rows(folder: Path, version: int) -> list[tuple]:
    path = folder / LOG_FILE
    if not path.exists():
        return []
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        return connection.execute(_QUERY, (version,)).fetchall()
    except sqlite3.OperationalError:  # a log written before challengers existed
        return []
    finally:
        connection.close()


def _actuals(actual: str | None, rows: int) -> list:
    value = None if actual is None else json.loads(actual)
    return list(value) if isinstance(value, list) else [value] * rows


def _split(rows: list[tuple]) -> tuple[_Rows, _Rows, list, dict[str, int], str]:
    """Per side rows; the pairs (champion, challenger, actual) of shadowed rows; problems."""
    champion, challenger, pairs = _Rows(), _Rows(), []
    problems = dict.fromkeys(PROBLEMS, 0)
    mode = "shadow"
    for mode, side, c_ms, status, c_out, r_ms, r_out, actual in rows:
        answered = json.loads(r_out)["predictions"]
        actuals = _actuals(actual, len(answered))
        if status in problems:
            problems[status] += 1
        target = challenger if side == "challenger" else champion
        target.requests += 1
        target.predictions += answered
        target.actuals += actuals
        target.latency.append(r_ms)
        if mode == "shadow" and status == "ok" and c_out is not None:
            shadow = json.loads(c_out)["predictions"]
            challenger.requests += 1
            challenger.predictions += shadow
            challenger.actuals += actuals
            challenger.latency.append(c_ms)
            pairs += list(zip(answered, shadow, actuals, strict=False))
    return champion, challenger, pairs, problems, mode


class _Coder:
    """Labels as integers (the model's classes, then one code for anything else)."""

    def __init__(self, task: str, classes: list) -> None:
        self.task = task
        self.index = {label_text(c): i for i, c in enumerate(classes)}
        self.classes = len(classes) + 1
        self.positive = None
        if len(classes) == 2:
            from core.experiments.evaluation import _positive_class

            self.positive = self.index[label_text(_positive_class(classes))]

    def code(self, values: list) -> np.ndarray:
        if self.task == "regression":
            return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        other = self.classes - 1
        return np.array([self.index.get(label_text(v), other) for v in values], dtype=np.int64)

    def known(self, actuals: list) -> np.ndarray:
        return np.array([a is not None for a in actuals], dtype=bool)


def _mix(task: str, predictions: list) -> dict[str, float]:
    if not predictions:
        return {}
    if task == "regression":
        values = np.array([p for p in predictions if p is not None], dtype=float)
        if not len(values):
            return {}
        p10, p50, p90 = np.percentile(values, [10, 50, 90])
        return {"mean": float(values.mean()), "p10": float(p10), "p50": float(p50),
                "p90": float(p90)}  # fmt: skip
    labels, counts = np.unique([label_text(p) for p in predictions], return_counts=True)
    total = len(predictions)
    return {str(k): round(float(n) / total, 4) for k, n in zip(labels, counts, strict=True)}


def _side(name, version, rows: _Rows, task, coder, f, metric, confidence) -> Side:
    latency = np.array([x for x in rows.latency if x is not None], dtype=float)
    t, p = _labelled(rows, coder, task)
    p50, p95 = np.percentile(latency, [50, 95]) if len(latency) else (None, None)
    return Side(name, version, rows.requests, len(rows.predictions),
                None if p50 is None else round(float(p50), 3),
                None if p95 is None else round(float(p95), 3),
                _mix(task, rows.predictions), cs.estimate(metric, f, t, p, confidence))  # fmt: skip


def _labelled(rows: _Rows, coder: _Coder, task: str) -> tuple[np.ndarray, np.ndarray]:
    """The coded truth and predictions of the rows whose truth came back (and, for a
    regression, both finite)."""
    known = coder.known(rows.actuals)
    t = coder.code([a for a, k in zip(rows.actuals, known, strict=True) if k])
    p = coder.code([x for x, k in zip(rows.predictions, known, strict=True) if k])
    if task == "regression":
        keep = np.isfinite(t) & np.isfinite(p)
        t, p = t[keep], p[keep]
    return t, p


def _agreement(task: str, pairs: list) -> float | None:
    if not pairs:
        return None
    if task == "classification":
        same = [label_text(a) == label_text(b) for a, b, _ in pairs]
    else:
        same = [a is not None and b is not None
                and abs(a - b) <= AGREE_RELATIVE * max(abs(a), abs(b), 1e-12)
                for a, b, _ in pairs]  # fmt: skip
    return round(float(np.mean(same)), 6)


def compare(
    deployment: Deployment, folder: Path, champion: ModelVersion, info: ChallengerInfo,
    metric: str, confidence: float = 0.95,
) -> Comparison:  # fmt: skip
    """Champion against challenger on what the deployment's log holds now."""
    task, classes = champion.task, list(champion.io_schema.get("output", {}).get("classes") or [])
    coder = _Coder(task, classes)
    f = cs.metric_function(metric, coder.classes, coder.positive)
    rows = read_rows(folder, info.version)
    first, second, pairs, problems, _ = _split(rows)
    sides = (
        _side("champion", deployment.version, first, task, coder, f, metric, confidence),
        _side("challenger", info.version, second, task, coder, f, metric, confidence),
    )
    if info.mode == "shadow":
        test, used = _paired(pairs, coder, f, metric, confidence, task)
    else:
        test, used = _unpaired(first, second, coder, f, metric, confidence, task)
    return Comparison(deployment.id, deployment.model, deployment.version, info.version,
                      info.mode, info.share, metric, confidence, len(rows),
                      _agreement(task, pairs), len(pairs), sides, test, used,
                      {k: v for k, v in problems.items() if v})  # fmt: skip


def _paired(pairs, coder, f, metric, confidence, task) -> tuple[cs.Test, int]:
    known = [(a, b, t) for a, b, t in pairs if t is not None]
    t = coder.code([x[2] for x in known])
    a, b = coder.code([x[0] for x in known]), coder.code([x[1] for x in known])
    if task == "regression":
        keep = np.isfinite(t) & np.isfinite(a) & np.isfinite(b)
        t, a, b = t[keep], a[keep], b[keep]
    return cs.paired_test(metric, f, t, a, b, confidence), len(t)


def _unpaired(first, second, coder, f, metric, confidence, task) -> tuple[cs.Test, int]:
    sides = [_labelled(rows, coder, task) for rows in (first, second)]
    test = cs.unpaired_test(metric, f, sides[0], sides[1], confidence)
    return test, min(len(sides[0][0]), len(sides[1][0]))


def failures(folder: Path, version: int) -> tuple[int, int, str | None]:
    """``(timeouts, failures, time of the latest)`` of the challenger ``version`` in the log."""
    path = folder / LOG_FILE
    if not path.exists():
        return 0, 0, None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
    try:
        found = connection.execute(
            "SELECT status, COUNT(*), MAX(time) FROM challenger WHERE version = ? "
            "AND status IN ('timeout', 'failed') GROUP BY status",
            (version,),
        ).fetchall()
    except sqlite3.OperationalError:
        return 0, 0, None
    finally:
        connection.close()
    counts = {status: (count, last) for status, count, last in found}
    latest = max((last for _, last in counts.values()), default=None)
    return counts.get("timeout", (0, None))[0], counts.get("failed", (0, None))[0], latest
