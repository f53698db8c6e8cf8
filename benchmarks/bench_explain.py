"""Explained predictions: the latency of ``"explain": true`` per estimator family.

Every classifier of the catalog, with its default parameters, is fitted through the engine's
pipeline on a data set and written as a model directory; then one-row requests are answered
in process by :func:`core.serving.scoring.score` with and without ``explain`` (the same work
as ``POST /predict`` minus HTTP). Reported per family: the method the server picks, p50 of a
one-row answer without and with the explanation, and the explained cost per row of a request
of 100 rows (or the most the model allows).

Two data sets: the penguins (344 rows, 7 columns, two of text) and a synthetic one of
``--rows`` rows × 10 numeric columns, where default forests grow big trees.

    .venv/bin/python benchmarks/bench_explain.py                   # a few minutes
    .venv/bin/python benchmarks/bench_explain.py --repeats 5 --rows 2000   # a quick check
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.experiments.catalog import estimators, make_estimator
from core.experiments.preprocess import build_pipeline
from core.experiments.spec import Preprocessing
from core.experiments.training import io_schema
from core.serving import explain
from core.serving.frames import model_frame
from core.serving.model import load_model, write_model_dir
from core.serving.scoring import score
from core.serving.settings import ServingConfig

PENGUINS = Path(__file__).resolve().parents[1] / "resources" / "demo" / "penguins.csv"
PENGUIN_SCHEMA = {
    "island": "string",
    "bill_length_mm": "float",
    "bill_depth_mm": "float",
    "flipper_length_mm": "float",
    "body_mass_g": "float",
    "sex": "string",
    "year": "integer",
}


def penguins() -> tuple[pd.DataFrame, pd.Series, dict[str, str]]:
    frame = pd.read_csv(PENGUINS)
    frame = frame[frame["species"].notna()].reset_index(drop=True)
    X = model_frame(frame, PENGUIN_SCHEMA, list(PENGUIN_SCHEMA))
    return X, frame["species"].astype(str), PENGUIN_SCHEMA


def synthetic(rows: int) -> tuple[pd.DataFrame, pd.Series, dict[str, str]]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"x{i}" for i in range(10)])
    signal = X["x0"] + 0.5 * X["x1"] * X["x2"] + rng.normal(0, 0.5, rows)
    y = pd.Series(np.where(signal > 0.3, "yes", np.where(signal < -0.8, "no", "maybe")))
    return X, y, dict.fromkeys(X.columns, "float")


def model_dir(folder: Path, key: str, data) -> object:
    X, y, schema = data
    features = list(schema)
    estimator = make_estimator(
        next(s for s in estimators() if s.key == key), "classification", {}, 0
    )
    pipeline = build_pipeline(features, schema, Preprocessing(), estimator).fit(X, y)
    spec = SimpleNamespace(features=features, target="y", task="classification")
    schema_doc = io_schema(SimpleNamespace(spec=spec, schema=schema), pipeline, X, y)
    write_model_dir(folder, pipeline, name=key, version=1, task="classification",
                    io_schema=schema_doc)  # fmt: skip
    return load_model(folder)


def p50_ms(model, rows: list[dict], explained: bool, repeats: int) -> float:
    payload = {"records": rows, **({"explain": True} if explained else {})}
    body = json.dumps(payload, default=float).encode()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        score(model, body, "application/json", ServingConfig(), "bench")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench(name: str, data, repeats: int, root: Path) -> list[dict]:
    X = data[0]
    records = json.loads(X.head(100).to_json(orient="records"))
    results = []
    for spec in estimators("classification"):
        model = model_dir(root / f"{name}-{spec.key}", spec.key, data)
        method = explain.plan_for(model).method
        most = explain.max_rows(model)
        one = p50_ms(model, records[:1], False, repeats)
        one_explained = p50_ms(model, records[:1], True, repeats)
        batch = p50_ms(model, records[:most], True, max(1, repeats // 3))
        results.append(
            {
                "data": name,
                "estimator": spec.key,
                "method": method,
                "predict_p50_ms": round(one, 2),
                "explain_p50_ms": round(one_explained, 2),
                "explain_per_row_ms": round(batch / most, 2),
                "rows_per_request": most,
            }
        )
        print(json.dumps(results[-1]), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--rows", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        bench("penguins", penguins(), args.repeats, root)
        bench(f"synthetic {args.rows}x10", synthetic(args.rows), args.repeats, root)


if __name__ == "__main__":
    main()
