"""Benchmark: drift of a large window against a large reference, against Evidently and a floor.

Run from the repository root::

    .venv/bin/python benchmarks/bench_drift.py [--rows 1000000] [--window 10000] [--json]

What it measures, each in a child process of its own, on the same two Parquet files:

1. data: a seeded reference and current frame of ``--rows`` rows x 20 numeric + 5 categorical
   columns, 5 of them changed in the current frame (see ``SHIFTS``), cached under
   ``benchmarks/.data/``;
2. Shipway: the reference statistics built from the reference frame plus the comparison of the
   current frame (*cold*: what a first look costs), the comparison alone with the statistics
   already made (*warm*: every later look), and a window of ``--window`` current rows against
   the stored (encoded, then decoded) statistics, the median of 30 checks;
3. the floor: plain scipy/numpy per column on the full frames, what a script would do: for
   numbers ``ks_2samp`` + ``wasserstein_distance`` (normed) + PSI on 10 quantile bins, for
   categories ``chi2_contingency`` + PSI;
4. Evidently's ``DataDriftPreset`` (``Report([DataDriftPreset()]).run(...)``), run with the
   interpreter of ``benchmarks/.venv-evidently`` (gitignored; made by hand, see
   benchmarks/README.md, because Evidently 0.7 needs pandas < 2.3); skipped when it is absent.

Peak memory: each child loads the two frames, releases what pyarrow's pool kept from reading
them, resets its peak RSS counter (``/proc/self/clear_refs``), and reports the highest RSS
(``VmHWM``) of the check above its RSS with the frames loaded; the ratio is (frames + that) /
frames, with the frames' ``memory_usage(deep=True)``.

It prints a table and the ratios against the targets (Evidently / Shipway >= 10, Shipway cold /
floor <= 1.5, peak memory <= 1.5x the frames, the window under 50 ms) with PASS or MISS, the
columns each flagged and the largest difference between Shipway's and Evidently's scores; it
always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / ".data"
EVIDENTLY_PYTHON = HERE / ".venv-evidently" / "bin" / "python"
DATA_VERSION = 1
SEED = 20261202
NUMERIC, CATEGORICAL = 20, 5
SHIFTS = {
    "n00": "mean + 0.5 sd",
    "n01": "sd x 1.5",
    "n02": "mean + 0.3 sd",
    "c00": "a new category in 20% of rows",
    "c01": "category mix reversed",
}
TARGETS = {"evidently": 10.0, "floor": 1.5, "memory": 1.5, "window_ms": 50.0}
MB = 1024 * 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- memory (Linux /proc; zeros elsewhere) ------------------------------------------------------


def _status(key: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


# -- the data -----------------------------------------------------------------------------------


def _frame(rng: Any, rows: int, current: bool) -> Any:
    import numpy as np
    import pandas as pd

    columns: dict[str, Any] = {}
    for i in range(NUMERIC):
        kind = i % 4
        if kind == 0:
            values = rng.normal(50, 10, rows)
        elif kind == 1:
            values = rng.lognormal(3, 0.5, rows)
        elif kind == 2:
            values = rng.uniform(0, 1000, rows)
        else:
            values = rng.gamma(2.0, 5.0, rows)
        columns[f"n{i:02d}"] = values
    for j in range(CATEGORICAL):
        names = np.array([f"c{j}_{k:02d}" for k in range(4 + 9 * j)], dtype=object)
        weights = 1.0 / np.arange(1, names.size + 1)
        columns[f"c{j:02d}"] = names[rng.choice(names.size, rows, p=weights / weights.sum())]
    frame = pd.DataFrame(columns)
    if current:
        _shift(frame, rng)
    return frame


def _shift(frame: Any, rng: Any) -> None:
    import numpy as np

    for name, factor in (("n00", 0.5), ("n02", 0.3)):
        frame[name] += factor * frame[name].std()
    mean = frame["n01"].mean()
    frame["n01"] = mean + (frame["n01"] - mean) * 1.5
    frame.loc[rng.random(len(frame)) < 0.2, "c00"] = "c0_new"
    codes = frame["c01"].str.slice(3).astype(int).to_numpy()
    frame["c01"] = np.array([f"c1_{k:02d}" for k in range(13)], dtype=object)[12 - codes]


def data_files(rows: int) -> tuple[Path, Path]:
    import numpy as np

    DATA_DIR.mkdir(exist_ok=True)
    stem = f"drift-{rows}-{NUMERIC}n{CATEGORICAL}c-{SEED}-v{DATA_VERSION}"
    paths = DATA_DIR / f"{stem}-reference.parquet", DATA_DIR / f"{stem}-current.parquet"
    if not all(path.exists() for path in paths):
        log(f"generating {rows:,} x {NUMERIC + CATEGORICAL} reference and current frames")
        rng = np.random.default_rng(SEED)
        for path, current in zip(paths, (False, True), strict=True):
            _frame(rng, rows, current).to_parquet(path, index=False)
    return paths


# -- the children -------------------------------------------------------------------------------


def _load(paths: list[str]) -> tuple[Any, Any, int]:
    """The two frames, their size, and the peak RSS counter reset once they are in memory."""
    import gc

    import pandas as pd
    import pyarrow as pa

    frames = [pd.read_parquet(path) for path in paths]
    gc.collect()
    pa.default_memory_pool().release_unused()  # what Parquet reading kept is not the frames
    size = sum(int(frame.memory_usage(deep=True).sum()) for frame in frames)
    reset_peak()
    return frames[0], frames[1], size


def _extra() -> int:
    """The highest RSS since the frames were loaded, above the RSS with them loaded."""
    return max(_status("VmHWM") - LOADED[0], 0)


LOADED = [0]


def child_shipway(paths: list[str], window: int) -> dict[str, Any]:
    import statistics

    from core.monitoring import codec
    from core.monitoring.config import DriftConfig
    from core.monitoring.engine import Current, compare
    from core.monitoring.reference import build_reference

    reference_frame, current_frame, size = _load(paths)
    LOADED[0] = _status("VmRSS")
    kinds = {n: "numeric" if n.startswith("n") else "categorical" for n in reference_frame}
    config = DriftConfig()
    started = time.perf_counter()
    cpu = time.process_time()
    reference = build_reference(reference_frame, kinds)
    built = time.perf_counter() - started
    report = compare(reference, Current(current_frame, "bench"), config)
    cold = time.perf_counter() - started
    cold_cpu = time.process_time() - cpu
    peak = _extra()
    started = time.perf_counter()
    compare(reference, Current(current_frame, "bench"), config)
    warm = time.perf_counter() - started
    blob = codec.encode(reference)
    stored = codec.decode(blob)
    part = Current(current_frame.iloc[:window], "window")
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        compare(stored, part, config)
        timings.append(time.perf_counter() - started)
    return {
        "cold_s": cold,
        "cold_cpu_s": cold_cpu,
        "build_s": built,
        "warm_s": warm,
        "window_ms": statistics.median(timings) * 1000,
        "window_best_ms": min(timings) * 1000,
        "blob_bytes": len(blob),
        "peak_bytes": peak,
        "frames_bytes": size,
        "drifted": report.drifted,
        "scores": {f.name: f.score for f in report.features},
        "tests": sorted({f.test for f in report.features}),
        "dataset_drift": report.dataset_drift,
    }


def _floor_numeric(reference: Any, current: Any) -> dict[str, float]:
    import numpy as np
    from scipy import stats

    timings = {}
    r = reference[np.isfinite(reference)]
    c = current[np.isfinite(current)]
    started = time.perf_counter()
    stats.ks_2samp(r, c)
    timings["ks"] = time.perf_counter() - started
    started = time.perf_counter()
    distance = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
    timings["wasserstein"] = time.perf_counter() - started
    started = time.perf_counter()
    edges = np.unique(np.quantile(r, np.arange(1, 10) / 10))
    bins = np.concatenate(([-np.inf], edges, [np.inf]))
    _psi(np.histogram(r, bins)[0], np.histogram(c, bins)[0])
    timings["psi"] = time.perf_counter() - started
    timings["drifted"] = float(distance >= 0.1)
    return timings


def _psi(r: Any, c: Any) -> float:
    import numpy as np

    p, q = r / r.sum(), c / c.sum()
    p, q = np.where(p == 0, 0.0001, p), np.where(q == 0, 0.0001, q)
    return float(np.sum((p - q) * np.log(p / q)))


def _floor_categorical(reference: Any, current: Any) -> dict[str, float]:
    import numpy as np
    from scipy import stats

    started = time.perf_counter()
    r, c = reference.value_counts(), current.value_counts()
    keys = sorted(set(r.index) | set(c.index))
    table = np.vstack([r.reindex(keys, fill_value=0), c.reindex(keys, fill_value=0)])
    p_value = stats.chi2_contingency(table, correction=False).pvalue
    _psi(table[0].astype(float), table[1].astype(float))
    return {"chisquare_psi": time.perf_counter() - started, "drifted": float(p_value < 0.05)}


def child_floor(paths: list[str]) -> dict[str, Any]:
    reference, current, size = _load(paths)
    LOADED[0] = _status("VmRSS")
    started = time.perf_counter()
    cpu = time.process_time()
    parts: dict[str, float] = {}
    drifted = []
    for name in reference.columns:
        if name.startswith("n"):
            found = _floor_numeric(reference[name].to_numpy(), current[name].to_numpy())
        else:
            found = _floor_categorical(reference[name], current[name])
        if found.pop("drifted"):
            drifted.append(name)
        for key, value in found.items():
            parts[key] = parts.get(key, 0.0) + value
    return {
        "total_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "parts": parts,
        "peak_bytes": _extra(),
        "frames_bytes": size,
        "drifted": drifted,
    }


EVIDENTLY_CHILD = r"""
import json, sys, time
from pathlib import Path

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
import evidently

import pyarrow as pa
reference, current = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
pa.default_memory_pool().release_unused()
size = int(reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum())
loaded = status("VmRSS")
Path("/proc/self/clear_refs").write_text("5")
started = time.perf_counter()
cpu = time.process_time()
snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
elapsed = time.perf_counter() - started
drifted, share, scores = [], None, {}
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if config.get("type", "").endswith("DriftedColumnsCount"):
        share = metric["value"]["share"]
    elif config.get("type", "").endswith("ValueDrift"):
        p_value = "p_value" in config["method"]
        value, threshold = metric["value"], config["threshold"]
        scores[config["column"]] = value
        if (value < threshold) if p_value else (value >= threshold):
            drifted.append(config["column"])
print(json.dumps({"total_s": elapsed, "cpu_s": time.process_time() - cpu,
                  "peak_bytes": max(status("VmHWM") - loaded, 0), "frames_bytes": size,
                  "drifted": sorted(drifted),
                  "share": share, "scores": scores, "version": evidently.__version__,
                  "pandas": pd.__version__}))
"""


def run_child(python: str, args: list[str], script: str | None = None) -> dict[str, Any]:
    command = [python, "-c", script, *args] if script else [python, __file__, *args]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip().splitlines()[-1] if result.stderr else "failed")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the report ---------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(figures: dict[str, Any]) -> str:
    s, f, e = figures["shipway"], figures["floor"], figures.get("evidently")
    rows = [
        ("Shipway cold: reference statistics + comparison", s["cold_s"], s["peak_bytes"]),
        ("  of which the reference statistics", s["build_s"], None),
        ("Shipway warm: comparison, statistics made", s["warm_s"], None),
        ("floor: ks_2samp + wasserstein + PSI / chi-square + PSI", f["total_s"], f["peak_bytes"]),
    ]
    if e:
        rows.append((f"Evidently {e['version']} DataDriftPreset", e["total_s"], e["peak_bytes"]))
    lines = [
        f"rows {figures['rows']:,} x {NUMERIC} numeric + {CATEGORICAL} categorical, "
        f"reference and current; frames {s['frames_bytes'] / MB:,.0f} MiB; "
        f"load average {figures['load_before']} -> {figures['load_after']}",
        "",
        f"| {'measurement':<58} | {'wall':>9} | {'+ peak RSS':>10} |",
        f"|{'-' * 60}|{'-' * 11}:|{'-' * 11}:|",
    ]
    for name, seconds, peak in rows:
        memory = f"{peak / MB:,.0f} MiB" if peak else ""
        lines.append(f"| {name:<58} | {seconds:>7.2f} s | {memory:>10} |")
    lines.append(
        f"| {'Shipway: a ' + format(figures['window'], ',') + '-row window (median of 30)':<58}"
        f" | {s['window_ms']:>6.1f} ms | {'':>10} |"
    )
    memory = (s["frames_bytes"] + s["peak_bytes"]) / s["frames_bytes"]
    ratios = [
        (
            "Shipway cold / floor",
            s["cold_s"] / f["total_s"],
            f"<= {TARGETS['floor']}",
            s["cold_s"] / f["total_s"] <= TARGETS["floor"],
        ),
        (
            "Shipway peak RSS / the two frames",
            memory,
            f"<= {TARGETS['memory']}",
            memory <= TARGETS["memory"],
        ),
        (
            "window check (ms)",
            s["window_ms"],
            f"< {TARGETS['window_ms']:.0f}",
            s["window_ms"] < TARGETS["window_ms"],
        ),
    ]
    if e:
        speedup = e["total_s"] / s["cold_s"]
        ratios.insert(
            0,
            (
                "Evidently / Shipway cold",
                speedup,
                f">= {TARGETS['evidently']:.0f}",
                speedup >= TARGETS["evidently"],
            ),
        )
    lines += [
        "",
        f"| {'ratio':<40} | {'measured':>9} | {'target':>8} |      |",
        f"|{'-' * 42}|{'-' * 10}:|{'-' * 9}:|------|",
    ]
    for name, value, target, ok in ratios:
        lines.append(f"| {name:<40} | {value:>9.2f} | {target:>8} | {_verdict(ok)} |")
    lines += [
        "",
        f"changed columns: {', '.join(sorted(SHIFTS))}",
        f"Shipway flagged:   {', '.join(s['drifted'])} (tests: {', '.join(s['tests'])})",
        f"floor flagged:     {', '.join(f['drifted'])}",
    ]
    if e:
        lines.append(f"Evidently flagged: {', '.join(e['drifted'])}")
        gaps = {n: abs(s["scores"][n] - e["scores"][n]) for n in s["scores"] if n in e["scores"]}
        numeric = max((v for n, v in gaps.items() if n.startswith("n")), default=0.0)
        text = max((v for n, v in gaps.items() if n.startswith("c")), default=0.0)
        lines.append(
            f"largest |Shipway - Evidently| score: numeric {numeric:.1e} (normed Wasserstein "
            f"from the 10,000-value sample), categorical {text:.1e} (Jensen-Shannon)"
        )
    else:
        lines.append(f"Evidently skipped: {figures.get('evidently_skipped')}")
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in f["parts"].items())
    lines.append(f"floor by part: {parts}; reference blob {s['blob_bytes'] / MB:.1f} MiB")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=10_000)
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=("shipway", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "shipway":
        print(json.dumps(child_shipway(args.paths, args.window)))
        return 0
    if args.child == "floor":
        print(json.dumps(child_floor(args.paths)))
        return 0
    paths = [str(path) for path in data_files(args.rows)]
    figures: dict[str, Any] = {
        "rows": args.rows,
        "window": args.window,
        "load_before": f"{os.getloadavg()[0]:.2f}",
    }
    log("Shipway ...")
    figures["shipway"] = run_child(
        sys.executable, ["--child", "shipway", "--window", str(args.window), *paths]
    )
    log("floor ...")
    figures["floor"] = run_child(sys.executable, ["--child", "floor", *paths])
    if args.skip_evidently or not EVIDENTLY_PYTHON.exists():
        figures["evidently_skipped"] = (
            "--skip-evidently"
            if args.skip_evidently
            else (f"no {EVIDENTLY_PYTHON.relative_to(HERE.parent)} (see benchmarks/README.md)")
        )
    else:
        log("Evidently (a few minutes) ...")
        figures["evidently"] = run_child(str(EVIDENTLY_PYTHON), paths, EVIDENTLY_CHILD)
    figures["load_after"] = f"{os.getloadavg()[0]:.2f}"
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
