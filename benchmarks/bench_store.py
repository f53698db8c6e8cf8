"""Recording runs with 1, 4 and 16 concurrent writers, on SQLite and on PostgreSQL.

Each writer is a process of its own (as two people's apps or a CI job would be) that records
runs the way training does: create (QUEUED), mark running, finish with metrics, params and
timings, each one transaction with its audit row. Writers start together after a barrier, so
start-up is not timed. PostgreSQL is a throwaway local server (the tests' helper: Debian's
postgresql package, fsync off, as for the tests).

    .venv/bin/python benchmarks/bench_store.py              # 1, 4, 16 writers, 40 runs each
    .venv/bin/python benchmarks/bench_store.py --runs 10    # a quick check
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"


def record_runs(ws, runs: int) -> None:
    """Record ``runs`` finished runs of the penguins data set the way training does: create
    (QUEUED), mark running, finish with metrics, params and timings."""
    project, version = ws._project, ws.data.version("penguins")
    spec = {"task": "classification", "estimator": "dummy", "target": "species",
            "dataset": "penguins", "dataset_version": 1}  # fmt: skip
    metrics = {name: 0.5 for name in ("accuracy", "f1", "precision", "recall", "roc_auc")}
    for _ in range(runs):
        run = project.runs.create(spec=spec, dataset_version_id=version.id,
                                  dataset_sha256=version.sha256, executor="local")  # fmt: skip
        project.runs.mark_running(run)
        project.runs.finish(run, "done", metrics=metrics, params={"strategy": "'prior'"},
                            timings={"fit": 0.01})  # fmt: skip


def _writer(root: str, runs: int, barrier, out) -> None:
    from core.services import Workspace

    with Workspace.open(Path(root)) as ws:
        ws.data.version("penguins")  # opened and read before the clock starts
        barrier.wait()
        started = time.perf_counter()
        record_runs(ws, runs)
        out.put(time.perf_counter() - started)


def measure(db_url: str | None, writers: int, runs: int) -> float:
    """Runs recorded per second by ``writers`` processes together."""
    from core.services import Workspace

    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        with Workspace.create(folder / "p", db_url=db_url) as ws:
            ws.data.import_file(PENGUINS)
        context = multiprocessing.get_context("spawn")
        barrier, out = context.Barrier(writers + 1), context.Queue()
        processes = [
            context.Process(target=_writer, args=(str(folder / "p"), runs, barrier, out))
            for _ in range(writers)
        ]
        for process in processes:
            process.start()
        barrier.wait()
        started = time.perf_counter()
        for process in processes:
            process.join()
        wall = time.perf_counter() - started
        with Workspace.open(folder / "p") as ws:
            recorded = len(ws.runs.list(all_runs=True))
        assert recorded == writers * runs, f"{recorded} of {writers * runs} runs recorded"
        return recorded / wall
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="runs per writer")
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = [int(n) for n in args.writers.split(",")]
    from tests.pg import running_server

    results: dict[str, dict[int, float]] = {"sqlite": {}, "postgresql": {}}
    with running_server() as server:
        from tests.pg import PASSWORD

        os.environ["SHIPWAY_DB_PASSWORD"] = PASSWORD
        for writers in counts:
            for backend in results:
                url = server.new_database() if backend == "postgresql" else None
                print(f"{backend}, {writers} writer(s) ...", file=sys.stderr, flush=True)
                results[backend][writers] = measure(url, writers, args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"load average {os.getloadavg()[0]:.2f}; {args.runs} runs per writer")
    print(f"{'writers':>8}{'SQLite runs/s':>16}{'PostgreSQL runs/s':>20}")
    for writers in counts:
        print(f"{writers:>8}{results['sqlite'][writers]:>16.1f}"
              f"{results['postgresql'][writers]:>20.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
