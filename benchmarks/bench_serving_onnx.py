"""The ONNX bundle against the joblib one: ``bench_serving.py --onnx``.

The same RandomForest(100) that bench_serving.py serves (trained and registered through
Shipway) is exported twice, ``bundle export`` and ``bundle export --format onnx``; each
bundle's model directory is served the same way (``python -m core.serving``, two worker
processes of one thread, no prediction log, as ``shipway deploy`` starts it), one server at a
time, under the same ``wrk`` load as bench_serving.py.

Reported: single-row p50 and p99 at concurrency 1, throughput of 100-row bodies at concurrency 8
(and of 1-row bodies), resident memory after the load, and the size of each bundle and of its
model file. The ONNX server never imports scikit-learn (the tests check that); its start-up
time is reported too.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from bench_serving import DATA, Server, bodies, free_port, log, wrk

FORMATS = ("joblib", "onnx")


def bundles(rows: int) -> dict[str, Path]:
    """``{format: bundle.zip}`` of the bench model, exported once and cached."""
    folder = DATA / f"bundles-{rows}"
    found = {kind: folder / f"bench-{kind}.zip" for kind in FORMATS}
    if all(path.is_file() for path in found.values()):
        return found
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    from core.services import TrainRequest, Workspace

    X, y = make_classification(n_samples=rows, n_features=20, n_informative=12, random_state=7)
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(20)]).round(5)
    frame["label"] = np.where(y == 1, "yes", "no")
    project = Path(tempfile.mkdtemp(prefix="bench-onnx-"))
    frame.to_csv(project / "data.csv", index=False)
    folder.mkdir(parents=True, exist_ok=True)
    log(f"training RandomForest(100) on {rows:,} x 20 ...")
    with Workspace.create(project / "p") as ws:
        ws.data.import_file(project / "data.csv")
        request = TrainRequest("data", "label", estimator="random_forest",
                               params={"n_estimators": 100})  # fmt: skip
        ws.lifecycle.register(ws.runs.train(request).result().id, "bench")
        for kind in FORMATS:
            log(f"exporting the {kind} bundle ...")
            mark = time.perf_counter()
            ws.bundles.export("bench@1", found[kind], model_format=kind)
            log(f"  {time.perf_counter() - mark:.1f} s")
            ws.bundles.extract(found[kind], folder / kind)
    return found


def _server(model_dir: Path, kind: str) -> tuple[Server, float]:
    port = free_port()
    command = [sys.executable, "-m", "core.serving", "--model-dir", str(model_dir),
               "--port", str(port), "--workers", "2", "--threads", "1"]  # fmt: skip
    mark = time.perf_counter()
    server = Server(f"{kind} bundle", command, f"http://127.0.0.1:{port}", "/predict", "/health")
    return server, time.perf_counter() - mark


def _sizes(archive: Path, kind: str) -> dict[str, int]:
    model = archive.parent / kind / "model" / ("model.onnx" if kind == "onnx" else "model.joblib")
    return {"bundle_bytes": archive.stat().st_size, "model_file_bytes": model.stat().st_size}


def compare(args: argparse.Namespace) -> dict:
    """Figures of both bundles' servers, measured one after the other."""
    archives = bundles(args.rows)
    made = bodies(archives["joblib"].parent / "joblib" / "model")
    results: dict = {}
    for kind in FORMATS:
        server, started = _server(archives[kind].parent / kind / "model", kind)
        log(f"measuring the {kind} bundle's server ...")
        try:
            wrk(server, made["1 row"], 2, 2)  # warm up
            figures = {"c1, 1 row": wrk(server, made["1 row"], 1, args.duration)}
            for name, body in made.items():
                figures[f"c8, {name}"] = wrk(server, body, 8, args.duration)
            figures["rss_mb"] = server.rss_mb()
            figures["start_s"] = started
        finally:
            server.stop()
        results[kind] = figures | _sizes(archives[kind], kind)
    return results


def report(results: dict) -> None:
    print(f"{'':15}{'c1 p50':>9}{'c1 p99':>9}{'c8 1 row':>11}{'c8 100 rows':>13}"
          f"{'RSS':>8}{'start':>7}{'bundle':>10}{'model':>10}")  # fmt: skip
    for kind, f in results.items():
        c1, c8, c8_100 = f["c1, 1 row"], f["c8, 1 row"], f["c8, 100 rows"]
        print(f"{kind + ' bundle':15}{c1['p50_ms']:>7.2f}ms{c1['p99_ms']:>7.2f}ms"
              f"{c8['rps']:>7.1f}/s{c8_100['rps']:>9.1f}/s{f['rss_mb']:>6.0f}MB"
              f"{f['start_s']:>6.1f}s{f['bundle_bytes'] / 1e6:>8.1f}MB"
              f"{f['model_file_bytes'] / 1e6:>8.1f}MB")  # fmt: skip
    joblib, onnx = results["joblib"], results["onnx"]
    print()
    ratios = (
        ("single-row p50", ("c1, 1 row", "p50_ms"), "x (lower: faster)"),
        ("100-row throughput", ("c8, 100 rows", "rps"), "x (higher: more)"),
        ("1-row throughput", ("c8, 1 row", "rps"), "x (higher: more)"),
    )
    for label, (load, figure), unit in ratios:
        ratio = onnx[load][figure] / joblib[load][figure]
        print(f"{label + ', onnx / joblib':40} {ratio:6.2f} {unit}")
    for label, key in (("bundle size", "bundle_bytes"), ("model file size", "model_file_bytes")):
        print(f"{label + ', onnx / joblib':40} {onnx[key] / joblib[key]:6.2f} x")


def run(args: argparse.Namespace) -> int:
    results = compare(args)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0
