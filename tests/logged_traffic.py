"""An hour of penguin traffic written straight into a deployment's prediction log, one request
a minute, for tests and benchmarks of the monitoring checks (no server needed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.serving.frames import model_frame
from core.serving.predlog import LoggedRequest, PredictionLog

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


def log_an_hour(ws, ref: str, folder: Path, start: float, rows: int = 5) -> None:
    """Sixty logged requests of ``rows`` penguins each to version ``ref``, one a minute from
    ``start`` (seconds since the epoch), answered with the rows' own species."""
    version = ws.registry.version(ref)
    schema = {entry["name"]: entry["type"] for entry in version.io_schema["inputs"]}
    data = pd.read_csv(PENGUINS)
    log = PredictionLog(folder)
    for minute in range(60):
        chosen = data.iloc[(np.arange(rows) + minute * rows) % len(data)]
        moment = datetime.fromtimestamp(start + 60 * minute, UTC)
        log.put(LoggedRequest(uuid.uuid4().hex, moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                              version.model, version.version, 2.0, 200, len(chosen),
                              inputs=model_frame(chosen, schema, version.features),
                              outputs={"predictions": chosen["species"].tolist()}))  # fmt: skip
    log.close()
