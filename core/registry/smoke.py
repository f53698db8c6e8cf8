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
        count = int(json.loads(completed.stdout)["predictions"])
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
    """Load the model directory and answer the request on stdin exactly as a server would."""
    from core.serving.model import load_model
    from core.serving.scoring import score
    from core.serving.settings import ServingConfig

    model = load_model(model_dir)  # refuses a model.joblib that does not match its sha256
    body = sys.stdin.buffer.read()
    scored = score(model, body, "application/json", ServingConfig(), "smoke-test")
    sys.stdout.write(json.dumps({"predictions": len(scored.predictions)}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1])))
