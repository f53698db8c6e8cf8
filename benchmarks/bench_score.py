"""Batch scoring speed and memory: `shipway score` against the in-process floor and `mlflow
models predict`, on one synthetic CSV file.

The file has 25 columns (21 floats, 2 integers, 2 categories) and ``--rows`` rows; the model is a
classifier trained and registered through Shipway on 20,000 rows of the same distribution
(``--model``: a random forest of 100 trees by default, or logistic regression, whose predict is
so cheap that reading the file is most of the work).

- **floor**: in one process, load the model, read the whole file (pandas' default CSV reader),
  coerce it as training does (``model_frame``) and predict it in one call: the preprocessing
  once, then ``predict_proba`` and the class of the highest probability, the same work
  ``shipway score`` does per chunk (without storing anything). Timed from its imports on (the
  interpreter's start is left out).
- **shipway**: ``shipway score MODEL --file FILE --json`` in a fresh process: chunks scored by
  one worker per core, written as a new data set version (profiled, hashed, recorded) and
  checked for drift. Its peak memory is the largest sum of the resident memory of the command
  and its workers, sampled every 0.1 s (``peak_rss_mb``), beside the largest single process.
  CPU seconds (the process and its workers) are reported beside the wall time: on a shared
  machine they say what the work costs whatever the load.
- **mlflow**: ``mlflow models predict -t csv --env-manager local`` of the same pipeline saved
  with ``mlflow.sklearn.save_model``, from ``benchmarks/.venv-mlflow`` (``bench_serving.py
  --setup-mlflow`` builds it; ``--setup-mlflow`` here too). Predictions only.

Rows per second are medians over ``--repeat`` rounds in which the tools take turns (the machine
is shared: a figure alone drifts, the ratios measured side by side are what to read).

    .venv/bin/python benchmarks/bench_score.py                       # 1M rows, 3 rounds
    .venv/bin/python benchmarks/bench_score.py --rows 10000000 --repeat 1 --no-floor --no-mlflow
                                                                     # the memory bound
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "score"
MLFLOW_VENV = HERE / ".venv-mlflow"
MLFLOW_ENV = os.environ | {
    "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    "PATH": f"{MLFLOW_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
}
sys.path.insert(0, str(ROOT))

FLOATS, INTEGERS, CATEGORIES = 21, 2, 2
BLOCK = 250_000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _block(rng, rows: int, with_label: bool):
    import numpy as np
    import pyarrow as pa

    x = rng.normal(0, 1, (rows, FLOATS)).round(5)
    columns = {f"f{i:02d}": x[:, i] for i in range(FLOATS)}
    for i in range(INTEGERS):
        columns[f"n{i}"] = rng.integers(0, 1000, rows)
    for i in range(CATEGORIES):
        columns[f"c{i}"] = pa.array(
            np.array(["red", "green", "blue", "grey"])[rng.integers(0, 4, rows)]
        )
    if with_label:
        score = x[:, :6].sum(axis=1) + (columns["n0"] / 500.0) - 1
        columns["label"] = np.where(score > 0, "yes", "no")
    return pa.table(columns)


def write_csv(path: Path, rows: int, seed: int, with_label: bool) -> Path:
    """``rows`` synthetic rows as CSV (cached: generated once per row count)."""
    import numpy as np
    import pyarrow.csv as pacsv

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    partial = path.with_suffix(".part")
    log(f"writing {rows:,} rows to {path.name} ...")
    with pacsv.CSVWriter(partial, _block(rng, 1, with_label).schema) as writer:
        for start in range(0, rows, BLOCK):
            writer.write_table(_block(rng, min(BLOCK, rows - start), with_label))
    partial.rename(path)
    return path


def project_with_model(estimator: str) -> tuple[Path, Path]:
    """A project holding model ``bench@1`` (cached), and its serving model directory."""
    root = DATA / f"project-{estimator}"
    folder = DATA / f"model-{estimator}"
    if (folder / "model.json").is_file():
        return root, folder
    from core.services import TrainRequest, Workspace

    shutil.rmtree(root, ignore_errors=True)
    train = write_csv(DATA / "train.csv", 20_000, 11, with_label=True)
    params = {"n_estimators": 100} if estimator == "random_forest" else {}
    log(f"training {estimator} on 20,000 rows ...")
    with Workspace.create(root) as ws:
        ws.data.import_file(train)
        run = ws.runs.train(
            TrainRequest("train", "label", estimator=estimator, params=params)
        ).result()
        ws.lifecycle.register(run.id, "bench")
        ws.registry.write_model_dir("bench@1", folder)
    return root, folder


def children_cpu() -> float:
    """CPU seconds of the waited-for child processes (and theirs) so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def floor(folder: Path, path: Path) -> dict[str, float]:
    """Read, coerce and predict the whole file in this process (a fresh one, for its memory)."""
    code = (
        "import json, resource, sys, time; t = time.perf_counter(); import pandas as pd;"
        "from core.serving.model import load_model; from core.serving.frames import model_frame;"
        "from core.scoring.worker import predict;"
        "m = load_model(sys.argv[1]);"
        "raw = pd.read_csv(sys.argv[2]); x = model_frame(raw, m.schema, m.features);"
        "p, q = predict(m.pipeline, x, True); s = time.perf_counter() - t;"
        "print(json.dumps({'seconds': s, 'rows': len(p),"
        " 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    cpu = children_cpu()
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout) | {"cpu_s": children_cpu() - cpu}


class TreeMemory:
    """The largest sum of resident memory of a process and its descendants, sampled, and the
    largest single process among them."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.peak = self.largest = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._done.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
                total = 0
                for process in processes:
                    with contextlib.suppress(psutil.Error):
                        rss = process.memory_info().rss
                        total += rss
                        self.largest = max(self.largest, rss)
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._done.wait(0.1)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def shipway(project: Path, path: Path, extra: list[str]) -> dict[str, float]:
    """``shipway score`` of the file in a fresh process: time, peak memory of the job."""
    command = [
        sys.executable,
        "-m",
        "core.cli",
        "--project",
        str(project),
        "score",
        "bench@1",
        "--file",
        str(path),
        "--json",
        *extra,
    ]
    cpu = children_cpu()
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    memory = TreeMemory(child.pid)
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - start
    peak = memory.stop()
    if child.returncode != 0:
        raise SystemExit(f"shipway score failed: {stderr}")
    document = json.loads(stdout)
    return {
        "seconds": seconds,
        "cpu_s": children_cpu() - cpu,
        "rows": document["scored_rows"],
        "peak_rss_mb": peak / 2**20,
        "largest_process_mb": memory.largest / 2**20,
        "laps": document["seconds"],
        "chunks": document["chunks"],
        "max_in_flight": document["max_in_flight"],
    }


def mlflow(folder: Path, path: Path) -> dict[str, float] | None:
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        log("benchmarks/.venv-mlflow is missing: --setup-mlflow builds it; MLflow skipped")
        return None
    target = DATA / f"mlflow-{folder.name}"
    if not (target / "MLmodel").is_file():
        shutil.rmtree(target, ignore_errors=True)
        script = (
            "import joblib, mlflow.sklearn, sys; mlflow.sklearn.save_model("
            "joblib.load(sys.argv[1]), sys.argv[2], serialization_format='cloudpickle')"
        )
        subprocess.run(
            [str(python), "-c", script, str(folder / "model.joblib"), str(target)],
            check=True,
            env=MLFLOW_ENV,
            capture_output=True,
        )
    out = Path(tempfile.mkdtemp(prefix="bench-mlflow-")) / "predictions.json"
    command = [
        str(MLFLOW_VENV / "bin" / "mlflow"),
        "models",
        "predict",
        "-m",
        str(target),
        "-i",
        str(path),
        "-t",
        "csv",
        "-o",
        str(out),
        "--env-manager",
        "local",
    ]
    cpu = children_cpu()
    start = time.perf_counter()
    child = subprocess.Popen(
        command, env=MLFLOW_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    memory = TreeMemory(child.pid)
    _, stderr = child.communicate()
    seconds = time.perf_counter() - start
    peak = memory.stop()
    if child.returncode != 0:
        log(f"mlflow models predict failed: {stderr.strip().splitlines()[-1:]}")
        return None
    shutil.rmtree(out.parent, ignore_errors=True)
    return {"seconds": seconds, "cpu_s": children_cpu() - cpu, "peak_rss_mb": peak / 2**20}


def setup_mlflow() -> None:
    sys.path.insert(0, str(HERE))
    import bench_serving

    bench_serving.setup_mlflow()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--model", choices=("random_forest", "logistic_regression"), default="random_forest"
    )
    parser.add_argument("--no-floor", action="store_true")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--setup-mlflow", action="store_true", help="create .venv-mlflow first")
    parser.add_argument("--workers", type=int, help="shipway score --workers")
    args = parser.parse_args()
    if args.setup_mlflow:
        setup_mlflow()
    project, folder = project_with_model(args.model)
    path = write_csv(DATA / f"score-{args.rows}.csv", args.rows, 5, with_label=False)
    extra = ["--workers", str(args.workers)] if args.workers else []
    results: dict[str, list[dict]] = {"floor": [], "shipway": [], "mlflow": []}
    for round_ in range(args.repeat):
        if not args.no_floor:
            results["floor"].append(floor(folder, path))
        results["shipway"].append(shipway(project, path, extra))
        if not args.no_mlflow and (found := mlflow(folder, path)) is not None:
            results["mlflow"].append(found)
        log(
            f"round {round_ + 1}: "
            + ", ".join(
                f"{name} {runs[-1]['seconds']:.1f} s" for name, runs in results.items() if runs
            )
        )
    report(args, path, results)


def report(args: argparse.Namespace, path: Path, results: dict[str, list[dict]]) -> None:
    def rate(name: str) -> float | None:
        runs = results[name]
        return args.rows / statistics.median(r["seconds"] for r in runs) if runs else None

    rates = {name: rate(name) for name in results}
    shipway_runs = results["shipway"]
    summary = {
        "rows": args.rows,
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "model": args.model,
        "rounds": args.repeat,
        "rows_per_s": {k: None if v is None else round(v) for k, v in rates.items()},
        "shipway_vs_floor": None
        if not rates["floor"]
        else round(rates["shipway"] / rates["floor"], 2),
        "shipway_vs_mlflow": None
        if not rates["mlflow"]
        else round(rates["shipway"] / rates["mlflow"], 2),
        "cpu_s": {
            name: round(statistics.median(r["cpu_s"] for r in runs), 1)
            for name, runs in results.items()
            if runs
        },
        "load_average": [round(x, 1) for x in os.getloadavg()],
        "peak_rss_mb": {
            name: round(max(r["peak_rss_mb"] for r in runs))
            for name, runs in results.items()
            if runs
        },
        "shipway_largest_process_mb": round(max(r["largest_process_mb"] for r in shipway_runs)),
        "shipway_laps_s": shipway_runs[-1]["laps"],
        "shipway_chunks": shipway_runs[-1]["chunks"],
        "shipway_max_in_flight": shipway_runs[-1]["max_in_flight"],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
