"""The serving smoke test: does the model load in a fresh process and answer a predict?

The version is written out as a serving model directory, and a new Python process (this
interpreter, nothing inherited but the environment) loads it exactly as a deployment would,
predicts sample rows given in the declared input schema, and reports what it got. A model that
only works inside the process that trained it (a lambda, a missing package) fails here, not in
production.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SAMPLE_ROWS = 5
TIMEOUT_S = 180.0


@dataclass(frozen=True)
class SmokeOutcome:
    ok: bool
    message: str
    predictions: int
    seconds: float


def run(project: Any, version: Any, rows: Any) -> SmokeOutcome:
    """Predict ``rows`` (a DataFrame of raw columns) with ``version`` in a fresh process."""
    from core.registry.artifacts import write_model_dir

    records = json.loads(rows.to_json(orient="records", date_format="iso"))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shipway-smoke-") as folder:
        model_dir = write_model_dir(project, version, Path(folder) / "model")
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "core.registry.smoke", str(model_dir)],
                input=json.dumps({"records": records}),
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return SmokeOutcome(False, f"no answer within {TIMEOUT_S:g} s", 0, TIMEOUT_S)
    seconds = time.perf_counter() - started
    return _outcome(completed, len(records), seconds)


def _outcome(completed: subprocess.CompletedProcess, expected: int, seconds: float):
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return SmokeOutcome(False, f"the model failed in a fresh process: {last[:300]}", 0, seconds)
    try:
        answer = json.loads(completed.stdout)
        count = len(answer["predictions"])
    except (ValueError, KeyError, TypeError):
        return SmokeOutcome(False, "the fresh process gave no readable answer", 0, seconds)
    ok = count == expected
    message = (
        f"loaded in a fresh process and predicted {count} sample rows in {seconds:.1f} s"
        if ok
        else f"predicted {count} rows for {expected} sample rows"
    )
    return SmokeOutcome(ok, message, count, seconds)


def _child(model_dir: Path) -> int:
    """Load the model directory as serving does and predict the records given on stdin."""
    import hashlib

    import joblib
    import pandas as pd

    from core.serving.frames import model_frame

    manifest = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    data = (model_dir / "model.joblib").read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest["model_sha256"]:
        sys.stderr.write("model.joblib does not match the sha256 in model.json\n")
        return 1
    pipeline = joblib.load(model_dir / "model.joblib")
    inputs = manifest["io_schema"]["inputs"]
    schema = {entry["name"]: entry["type"] for entry in inputs}
    frame = pd.DataFrame(json.loads(sys.stdin.read())["records"])
    predictions = pipeline.predict(model_frame(frame, schema, list(schema)))
    sys.stdout.write(json.dumps({"predictions": [str(p) for p in predictions]}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1])))
