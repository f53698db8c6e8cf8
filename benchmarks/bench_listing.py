"""Listing runs: the run table the app and `shipway runs list` read, against the raw floor.

Records N finished runs in a SQLite project (the way training does: create, mark running,
finish with metrics, params and timings), then times ``ws.runs.list(all_runs=True)`` (frozen
``Run`` entities, the heavy columns left unloaded) against the floor: sqlite3 reading the same
columns and decoding their JSON, nothing else.

    .venv/bin/python benchmarks/bench_listing.py              # 2,000 runs
    .venv/bin/python benchmarks/bench_listing.py --runs 300   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
REPEATS = 7
JSON_COLUMNS = ("spec", "params", "metrics", "validation_metrics", "io_schema", "environment")
PLAIN_COLUMNS = ("id", "parent_id", "kind", "status", "task", "estimator",
                 "dataset_version_id", "dataset_sha256", "target", "model_sha256", "created_at",
                 "created_by")  # fmt: skip


def _best(action) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def _floor(database: Path) -> list[dict]:
    columns = ", ".join(PLAIN_COLUMNS + JSON_COLUMNS)
    with sqlite3.connect(database) as connection:
        rows = connection.execute(f"SELECT {columns} FROM runs ORDER BY id").fetchall()
    names = PLAIN_COLUMNS + JSON_COLUMNS
    decoded = []
    for row in rows:
        record = dict(zip(names, row, strict=True))
        for name in JSON_COLUMNS:
            record[name] = json.loads(record[name]) if record[name] else {}
        decoded.append(record)
    return decoded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from bench_store import record_runs

    from core.services import Workspace

    folder = Path(tempfile.mkdtemp(prefix="bench-listing-"))
    try:
        with Workspace.create(folder / "p") as ws:
            ws.data.import_file(PENGUINS)
            record_runs(ws, args.runs)
            listed = ws.runs.list(all_runs=True)
            assert len(listed) == args.runs, f"{len(listed)} of {args.runs} runs listed"
            shipway = _best(lambda: ws.runs.list(all_runs=True))
        database = next((folder / "p").rglob("*.db"))
        floor = _best(lambda: _floor(database))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = {"runs": args.runs, "shipway_ms": shipway * 1000, "floor_ms": floor * 1000}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"load average {os.getloadavg()[0]:.2f}; {args.runs:,} runs, best of {REPEATS}")
    print(f"  ws.runs.list(all_runs=True)   {shipway * 1000:8.1f} ms")
    print(f"  sqlite3 + json (floor)        {floor * 1000:8.1f} ms")
    print(f"  ratio                         {shipway / floor:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
