"""A challenger beside the served model (the champion): shadow or split traffic.

A deployment's folder may hold ``challenger.json``::

    {"model_dir": "models/challenger-v4", "mode": "shadow" | "split", "share": 10.0,
     "sticky": "customer_id" | null, "timeout_ms": 1000, "version": 4}

The server is started with ``--challenger FILE``; the file is looked at about every half second,
so a challenger can be set, changed or removed (``{"mode": "off"}`` or no file) while it runs.

- **shadow**: the champion answers every request. The rows it validated are queued (bounded,
  ``put_nowait``: a full queue drops and counts) for one thread that scores them with the
  challenger in batches, off the request path, and logs its predictions; they are never returned.
- **split**: ``share`` percent of the requests are answered by the challenger. The side is decided
  by a stable hash (BLAKE2b) of the request id or, with ``sticky``, of the sticky column's value
  in the request's first row, so every worker process decides alike and one key always gets the
  same side. The answer names the side in ``served_by`` and the ``X-Served-By`` header.

The challenger never hurts the champion: a prediction that raises, or takes longer than the time
limit, is counted; in split mode the champion answers instead. After
:data:`FAILURES_TO_CUT_OFF` failures in a row, or while a prediction hangs past the limit, the
challenger is cut off for :data:`CUT_OFF_S` seconds (every request goes to the champion alone).
Each case is counted in ``/metrics``; the project reads them from the prediction log's
``challenger`` table and raises an alert.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.serving import body, forms
from core.serving.errors import SchemaMismatch
from core.serving.settings import ServingConfig

SPEC_FILE = "challenger.json"
MODES = ("shadow", "split")
BUCKETS = 10_000  # share is decided in hundredths of a percent
DEFAULT_TIMEOUT_MS = 1000
SHADOW_QUEUE = 1_000
SHADOW_BATCH = 64
SHADOW_WINDOW_S = 0.05
FAILURES_TO_CUT_OFF = 5
CUT_OFF_S = 30.0
POLL_S = 0.5
COUNTERS = ("requests", "answered", "shadow_scored", "timeouts", "failures", "dropped", "cut_off")
log = logging.getLogger("shipway.serving")


@dataclass(frozen=True)
class ChallengerSpec:
    """What ``challenger.json`` says (``model_dir`` resolved against the file's folder)."""

    model_dir: str
    mode: str
    share: float
    sticky: str | None = None
    timeout_ms: float = DEFAULT_TIMEOUT_MS

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path) -> ChallengerSpec:
        mode = data.get("mode")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        share = float(data.get("share", 0.0) if mode == "split" else 0.0)
        if not 0.0 <= share <= 100.0:
            raise ValueError(f"share must be from 0 to 100, not {share!r}")
        timeout = float(data.get("timeout_ms") or DEFAULT_TIMEOUT_MS)
        if timeout <= 0:
            raise ValueError("timeout_ms must be positive")
        sticky = data.get("sticky")
        if sticky is not None and (not isinstance(sticky, str) or not sticky):
            raise ValueError("sticky must be a column name")
        return cls(str(folder / str(data["model_dir"])), mode, share, sticky, timeout)


def read_spec(path: Path) -> ChallengerSpec | None:
    """The challenger of ``path``; None when there is no file or it says ``"mode": "off"``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    if data.get("mode") in (None, "off"):
        return None
    return ChallengerSpec.from_dict(data, path.parent)


def write_spec(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically (a server reading it never sees half a file)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def key_text(value: Any) -> str:
    """The text a sticky value is hashed as: ``7``, ``7.0`` and ``"7"`` are one key."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and "e" not in text.lower() else text


def to_challenger(share: float, key: str) -> bool:
    """Whether ``key`` falls in the challenger's ``share`` percent (same answer everywhere)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS < round(share * BUCKETS / 100)


def sticky_key(data: bytes, content_type: str | None, column: str, config: ServingConfig) -> str:
    """The sticky column's value in the request's first row, as :func:`key_text`.

    Raises :class:`SchemaMismatch` (422) naming the column when the rows lack it, or when the
    first row holds no value there; other body problems are left to the scoring that follows.
    """
    if body.body_kind(content_type) == "csv":
        table = forms.table_from_csv(body.decode(data), config.max_rows, {column})
    else:
        payload = body.parse_json(data, config.max_depth)
        if isinstance(payload, dict) and "params" in payload:  # MLflow's /invocations
            payload = {key: value for key, value in payload.items() if key != "params"}
        table = forms.table_from_json(payload, config.max_rows, {column})
    if column not in table.columns:
        raise SchemaMismatch(
            f"the rows have no column {column!r}, which this deployment splits traffic by "
            "(sticky column): add it to every row",
            [{"column": column, "problem": "missing_sticky_column"}],
        )
    value = table.columns[column][0]
    if value is None or (isinstance(value, str) and value.strip() in forms.CSV_MISSING):
        raise SchemaMismatch(
            f"row 0 has no value in {column!r}, which this deployment splits traffic by",
            [{"column": column, "problem": "missing_value", "rows": [0], "count": 1}],
        )
    return key_text(value)


class Breaker:
    """Failures in a row; past :data:`FAILURES_TO_CUT_OFF` the challenger rests a while."""

    def __init__(self, counts: dict[str, int]) -> None:
        self._counts = counts
        self._in_a_row = 0
        self._until = 0.0
        self._lock = threading.Lock()

    def ok(self) -> None:
        with self._lock:
            self._in_a_row = 0

    def failed(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1
            self._in_a_row += 1
            if self._in_a_row >= FAILURES_TO_CUT_OFF:
                self._cut_off()

    def cut_off(self) -> None:
        with self._lock:
            if time.monotonic() >= self._until:
                self._cut_off()

    def _cut_off(self) -> None:
        self._counts["cut_off"] += 1
        self._in_a_row = 0
        self._until = time.monotonic() + CUT_OFF_S
        log.error("challenger cut off for %.0f s", CUT_OFF_S)

    @property
    def open(self) -> bool:
        return time.monotonic() < self._until
