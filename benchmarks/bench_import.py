"""Benchmark: importing a large CSV into Shipway, against the floor of doing the same by hand.

Run from the repository root::

    python benchmarks/bench_import.py [--rows 1000000] [--cols 25] [--repeat 1] [--json]
    python benchmarks/bench_import.py --data floats     # the float-heavy file

What it measures, in this order:

1. data: a seeded CSV, generated once and cached under ``benchmarks/.data/``: ``--data mixed``
   (the default) mixes ints, floats with empty cells, categories, ids, e-mails, booleans, ISO
   dates and date-times; ``--data floats`` is float-heavy, 20 full-precision floats and 5 short
   categories (1,000,000 rows: 400 MiB, where the text of the numbers is most of the work);
2. the floor: sha256 of the file, ``pandas.read_csv`` (default engine and ``engine="pyarrow"``,
   the faster counts) and ``DataFrame.to_parquet`` (zstd, as Shipway writes);
3. Shipway: ``Workspace.data.import_file`` into a fresh project (wall time and its stage timings),
   then the re-import of the unchanged file into the same project;
4. peak memory: every measurement runs in a child process of its own, which reports its peak RSS
   (VmHWM on Linux; not ``ru_maxrss``, which there also counts the parent's RSS at the fork)
   minus its RSS after its imports, just before the measured call;
5. ``dvc add`` of the same file, when ``dvc`` is on PATH (it is never installed by this script).

It prints a table and the ratios against the targets (import ≤ 1.3× the floor, peak memory
≤ 2× the DataFrame's in-memory size) with PASS or MISS, or the same figures as JSON with
``--json``. It always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / ".data"
DATA_VERSION = 1  # bump when the generator changes, so that cached files are not reused
SEED = 20261123
IMPORT_TARGET = 1.3  # Shipway import wall time / floor wall time
MEMORY_TARGET = 2.0  # Shipway peak RSS increase / DataFrame memory_usage(deep=True)
MB = 1024 * 1024  # sizes are printed in MiB
BUSY_LOAD = 0.5  # a 1-minute load average above this before the runs makes wall times noisy


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the data ---------------------------------------------------------------------------------


def _ints(rng: Any, n: int, low: int, high: int) -> Any:
    import pyarrow as pa

    return pa.array(rng.integers(low, high, n, endpoint=True))


def _floats(
    rng: Any,
    n: int,
    mean: float,
    scale: float,
    decimals: int | None,
    positive: bool = False,
    missing: float = 0.0,
) -> Any:
    import numpy as np
    import pyarrow as pa

    values = rng.normal(mean, scale, n)
    if positive:
        values = np.abs(values)
    if decimals is not None:
        values = np.round(values, decimals)
    return pa.array(values, mask=rng.random(n) < missing if missing else None)


def _categories(rng: Any, n: int, values: list[str]) -> Any:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    weights = 1.0 / np.arange(1, len(values) + 1)  # skewed, as real categories are
    picks = rng.choice(len(values), n, p=weights / weights.sum())
    return pc.take(pa.array(values), pa.array(picks))


def _codes(rng: Any, n: int, prefix: str, cardinality: int, width: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pc.cast(pa.array(rng.integers(0, cardinality, n)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def _uuids(rng: Any, n: int) -> Any:
    """Random UUID-shaped ids ("3c8e4340-0389-4693-...")."""
    import numpy as np
    import pyarrow as pa

    alphabet = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = alphabet[rng.integers(0, 16, (n, 36), dtype=np.uint8)]
    chars[:, [8, 13, 18, 23]] = ord("-")
    return pa.array(chars.view("S36").ravel()).cast(pa.string())


def _emails(rng: Any, n: int, cardinality: int) -> Any:
    import pyarrow.compute as pc

    users = _codes(rng, n, "user", cardinality, 7)
    domains = _categories(rng, n, ["example.com", "mail.example.org", "corp.example.net"])
    return pc.binary_join_element_wise(users, domains, "@")


def _booleans(rng: Any, n: int, share_true: float) -> Any:
    import pyarrow as pa

    return pa.array(rng.random(n) < share_true)


def _dates(rng: Any, n: int, with_time: bool, missing: float = 0.0) -> Any:
    import pyarrow as pa

    start = int(dt.datetime(2021, 1, 1, tzinfo=dt.UTC).timestamp())
    seconds = start + rng.integers(0, 4 * 365 * 86400, n)
    mask = rng.random(n) < missing if missing else None
    if with_time:
        return pa.array(seconds, mask=mask).cast(pa.timestamp("s"))  # "2023-05-01 12:34:56"
    return pa.array((seconds // 86400).astype("int32"), mask=mask).cast(pa.date32())


COUNTRIES = ["Germany", "France", "United States", "Spain", "Italy", "Netherlands", "Poland",
             "Sweden", "Belgium", "Austria", "Ireland", "Portugal", "Denmark", "Norway",
             "Finland", "Czechia", "Switzerland", "Canada", "Japan", "Brazil"]  # fmt: skip
PRODUCTS = [f"{kind} {item}" for kind in ("home", "garden", "sports", "kids", "office")
            for item in ("furniture", "lighting", "textiles", "tools", "storage", "decor",
                         "electronics", "accessories")]  # fmt: skip
STATUSES = ["delivered", "shipped", "processing", "returned", "cancelled"]
CHANNELS = ["web", "mobile app", "store", "phone"]
PAYMENTS = ["card", "paypal", "invoice", "bank transfer", "gift card", "cash"]

# The order mixes the kinds, so that a file of fewer columns (--cols 6) is still mixed.
COLUMNS: list[tuple[str, Callable[[Any, int], Any]]] = [
    ("order_id", _uuids),
    ("customer_id", partial(_codes, prefix="CUST-", cardinality=250_000, width=8)),
    ("quantity", partial(_ints, low=1, high=40)),
    ("unit_price", partial(_floats, mean=40.0, scale=35.0, decimals=2, positive=True)),
    ("country", partial(_categories, values=COUNTRIES)),
    ("is_member", partial(_booleans, share_true=0.35)),
    ("order_date", partial(_dates, with_time=False)),
    ("amount_cents", partial(_ints, low=0, high=2_500_000)),
    ("discount", partial(_floats, mean=0.1, scale=0.08, decimals=2, positive=True, missing=0.3)),
    ("status", partial(_categories, values=STATUSES)),
    ("email", partial(_emails, cardinality=400_000)),
    ("created_at", partial(_dates, with_time=True)),
    ("store_id", partial(_ints, low=1, high=600)),
    ("weight_kg", partial(_floats, mean=2.5, scale=3.0, decimals=3, positive=True, missing=0.05)),
    ("channel", partial(_categories, values=CHANNELS)),
    ("is_returned", partial(_booleans, share_true=0.06)),
    ("customer_age", partial(_ints, low=18, high=90)),
    ("latitude", partial(_floats, mean=0.0, scale=30.0, decimals=6)),
    ("longitude", partial(_floats, mean=0.0, scale=60.0, decimals=6)),
    ("product_category", partial(_categories, values=PRODUCTS)),
    ("city", partial(_codes, prefix="city_", cardinality=1_500, width=4)),
    ("risk_score", partial(_floats, mean=0.0, scale=1.0, decimals=None)),  # full precision
    ("payment_method", partial(_categories, values=PAYMENTS)),
    ("delivered_date", partial(_dates, with_time=False, missing=0.1)),
    ("rating", partial(_ints, low=1, high=5)),
]


SIZES = ["S", "M", "L", "XL"]
GRADES = ["A", "B", "C", "D", "E"]
_FULL = partial(_floats, mean=0.0, scale=1.0, decimals=None)  # "-0.12345678901234566"
# Float-heavy exports (sensor readings, model scores): four full-precision floats to one short
# category, so that parsing and typing text into floats is most of the work.
FLOAT_COLUMNS: list[tuple[str, Callable[[Any, int], Any]]] = [
    *[(f"x{i:02d}", _FULL) for i in range(1, 5)],
    ("status", partial(_categories, values=STATUSES)),
    *[(f"x{i:02d}", _FULL) for i in range(5, 9)],
    ("channel", partial(_categories, values=CHANNELS)),
    *[(f"x{i:02d}", _FULL) for i in range(9, 13)],
    ("size", partial(_categories, values=SIZES)),
    *[(f"x{i:02d}", _FULL) for i in range(13, 17)],
    ("grade", partial(_categories, values=GRADES)),
    *[(f"x{i:02d}", _FULL) for i in range(17, 21)],
    ("payment", partial(_categories, values=PAYMENTS)),
]
KINDS = {"mixed": COLUMNS, "floats": FLOAT_COLUMNS}


def column_plan(cols: int, kind: str = "mixed") -> list[tuple[str, Callable[[Any, int], Any]]]:
    """``cols`` columns of a kind: its list, repeated with a suffix when more are asked for."""
    columns = KINDS[kind]
    plan = []
    for index in range(cols):
        name, make = columns[index % len(columns)]
        lap = index // len(columns)
        plan.append((f"{name}_{lap + 1}" if lap else name, make))
    return plan


def data_path(rows: int, cols: int, seed: int, kind: str = "mixed") -> Path:
    return DATA_DIR / f"{kind}-{rows}x{cols}-seed{seed}-v{DATA_VERSION}.csv"


def ensure_data(rows: int, cols: int, seed: int, kind: str = "mixed") -> Path:
    """The cached CSV, generated first if missing (written to a temporary, then renamed)."""
    path = data_path(rows, cols, seed, kind)
    if path.exists():
        log(f"data: using cached {path.relative_to(HERE.parent)}")
        return path
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    log(f"data: generating {rows:,} rows × {cols} columns ({kind}) ...")
    start = time.perf_counter()
    plan = column_plan(cols, kind)
    columns = [make(np.random.default_rng([seed, i]), rows) for i, (_, make) in enumerate(plan)]
    table = pa.table(columns, names=[name for name, _ in plan])
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".part")
    with open(temp, "wb") as handle:
        handle.write((",".join(table.column_names) + "\n").encode())  # no quotes, as exports
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        pacsv.write_csv(table, handle, options)
    temp.replace(path)
    size = path.stat().st_size / MB
    log(f"data: wrote {size:,.1f} MiB in {time.perf_counter() - start:.1f} s")
    return path


# -- measuring inside a child process ---------------------------------------------------------


def current_rss() -> int:
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as handle:  # Linux without psutil
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return psutil.Process().memory_info().rss


def peak_rss() -> int:
    """This process's peak RSS in bytes.

    On Linux this is VmHWM: ``getrusage().ru_maxrss`` (self or children) also counts the RSS
    the parent had when it forked, so a child of a big parent would look big too.
    """
    if sys.platform.startswith("linux"):
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    if sys.platform == "win32":
        import psutil

        return psutil.Process().memory_info().peak_wset
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS


def baseline_rss() -> int:
    gc.collect()
    return current_rss()


class Stopwatch:
    """Wall and CPU seconds (CPU of all threads of this process) between laps."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = (time.perf_counter(), time.process_time())

    def lap(self, name: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.laps[f"{name}_s"] = now[0] - self._last[0]
        self.laps[f"{name}_cpu_s"] = now[1] - self._last[1]
        self._last = now


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """sha256 + pandas.read_csv(engine) + to_parquet(zstd), each timed."""
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (imported before the baseline, as Shipway's is)

    csv, target = Path(spec["csv"]), Path(spec["parquet"])
    base = baseline_rss()
    watch = Stopwatch()
    with open(csv, "rb") as handle:
        hashlib.file_digest(handle, "sha256")
    watch.lap("sha256")
    frame = pd.read_csv(csv, engine=spec["engine"])
    watch.lap("read_csv")
    frame.to_parquet(target, compression="zstd")
    watch.lap("to_parquet")
    peak = peak_rss()
    parts = ("sha256", "read_csv", "to_parquet")
    return {
        **watch.laps,
        "total_s": sum(watch.laps[f"{part}_s"] for part in parts),
        "total_cpu_s": sum(watch.laps[f"{part}_cpu_s"] for part in parts),
        "dataframe_bytes": int(frame.memory_usage(deep=True).sum()),
        "baseline_rss": base,
        "peak_rss": peak,
    }


def child_shipway(spec: dict[str, Any]) -> dict[str, Any]:
    """One ``import_file`` call; ``spec["fresh"]`` creates the project, else opens it.

    pandas is imported first, as in the floor's child: pyarrow imports it on its first
    ``pa.array()`` of Python objects, which would put a one-off 0.4-0.7 s in the first import
    of a process (a cost of starting the CLI, not of importing a file).
    """
    import pandas  # noqa: F401

    from core.services import ImportOptions, Workspace

    folder = Path(spec["project"])
    workspace = Workspace.create(folder) if spec["fresh"] else Workspace.open(folder)
    with workspace:
        base = baseline_rss()
        watch = Stopwatch()
        outcome = workspace.data.import_file(spec["csv"], ImportOptions(name="bench"))
        watch.lap("wall")
        peak = peak_rss()
    version = outcome.version
    return {
        "wall_s": watch.laps["wall_s"],
        "cpu_s": watch.laps["wall_cpu_s"],
        "stages": outcome.seconds,
        "created": outcome.created,
        "rows": version.rows,
        "columns": version.columns,
        "blob_bytes": version.size_bytes,
        "baseline_rss": base,
        "peak_rss": peak,
    }


CHILDREN = {"floor": child_floor, "shipway": child_shipway}


def run_child(task: str, **spec: Any) -> dict[str, Any]:
    """Run ``task`` in a fresh interpreter; its result is the JSON on its last stdout line."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"child {task} failed:\n{done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the measurements -------------------------------------------------------------------------


def warm_page_cache(path: Path) -> None:
    """Read the file once, so that no measurement pays for a cold disk and the others not."""
    with open(path, "rb") as handle:
        while handle.read(16 * MB):
            pass


def increase(run: dict[str, Any]) -> int:
    return max(0, run["peak_rss"] - run["baseline_rss"])


def fastest(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The fastest run, with the highest memory increase seen over all runs."""
    best = dict(min(runs, key=lambda run: run[key]))
    best["increase_bytes"] = max(increase(run) for run in runs)
    return best


def measure_floor(csv: Path, work: Path, repeat: int) -> dict[str, Any]:
    """The fastest complete run of the engine whose read_csv is the faster."""
    engines = {}
    for engine in ("c", "pyarrow"):
        runs = []
        for attempt in range(repeat):
            log(f"floor: sha256 + read_csv(engine={engine!r}) + to_parquet, run {attempt + 1}")
            target = work / f"floor-{engine}.parquet"
            runs.append(run_child("floor", csv=str(csv), engine=engine, parquet=str(target)))
            target.unlink(missing_ok=True)
        engines[engine] = fastest(runs, "total_s")
    best = min(engines, key=lambda engine: engines[engine]["read_csv_s"])
    chosen = engines[best]
    return {
        "engine": best,
        "sha256_s": chosen["sha256_s"],
        "sha256_cpu_s": chosen["sha256_cpu_s"],
        "read_csv_s": {engine: run["read_csv_s"] for engine, run in engines.items()},
        "read_csv_cpu_s": {engine: run["read_csv_cpu_s"] for engine, run in engines.items()},
        "to_parquet_s": chosen["to_parquet_s"],
        "to_parquet_cpu_s": chosen["to_parquet_cpu_s"],
        "total_s": chosen["total_s"],
        "total_cpu_s": chosen["total_cpu_s"],
        "dataframe_bytes": engines["c"]["dataframe_bytes"],
        "dataframe_bytes_by_engine": {e: run["dataframe_bytes"] for e, run in engines.items()},
        "increase_bytes": chosen["increase_bytes"],
        "increase_bytes_by_engine": {e: run["increase_bytes"] for e, run in engines.items()},
    }


def measure_shipway(csv: Path, work: Path, repeat: int) -> dict[str, Any]:
    imports, reimports = [], []
    for attempt in range(repeat):
        project = work / f"project-{attempt + 1}"
        log(f"shipway: import_file into a fresh project, run {attempt + 1}")
        imports.append(run_child("shipway", csv=str(csv), project=str(project), fresh=True))
        log(f"shipway: re-import of the unchanged file, run {attempt + 1}")
        reimports.append(run_child("shipway", csv=str(csv), project=str(project), fresh=False))
        shutil.rmtree(project, ignore_errors=True)
    first, again = fastest(imports, "wall_s"), fastest(reimports, "wall_s")
    if not first["created"] or again["created"]:
        log("shipway: warning: expected a new version, then an unchanged one")
    return {
        "import_s": first["wall_s"],
        "import_cpu_s": first["cpu_s"],
        "stages": first["stages"],
        "increase_bytes": first["increase_bytes"],
        "blob_bytes": first["blob_bytes"],
        "rows": first["rows"],
        "columns": first["columns"],
        "reimport_s": again["wall_s"],
        "reimport_cpu_s": again["cpu_s"],
        "reimport_stages": again["stages"],
        "reimport_created": again["created"],
        "reimport_increase_bytes": again["increase_bytes"],
    }


def run_measured(command: list[str], cwd: Path) -> tuple[float, int | None]:
    """Wall seconds and sampled peak RSS (bytes, with its children) of a command; raises if it
    fails. The peak is None without psutil."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        peak = sample_peak_rss(process)
        seconds = time.perf_counter() - start
        if process.returncode != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            raise RuntimeError(f"{' '.join(command)} failed: {message}")
    return seconds, peak


def sample_peak_rss(process: subprocess.Popen, interval: float = 0.02) -> int | None:
    """Wait for ``process``, sampling the RSS of it and its children; the highest sum seen."""
    try:
        import psutil
    except ImportError:
        process.wait()
        return None
    peak = 0
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        try:
            tree = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(member.memory_info().rss for member in tree))
        except psutil.Error:  # a member ended between the listing and the reading
            pass
        time.sleep(interval)
    return peak


def measure_dvc(csv: Path, work: Path) -> dict[str, Any] | None:
    """``dvc add`` of a copy of the file in a fresh repository (no git), then once more."""
    dvc = shutil.which("dvc")
    if dvc is None:
        return None
    repo = work / "dvc-repo"
    repo.mkdir()
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=repo, check=True)
    shutil.copyfile(csv, repo / csv.name)
    log("dvc: dvc add of the file")
    add_s, add_peak = run_measured([dvc, "add", "-q", csv.name], repo)
    log("dvc: dvc add of the unchanged file")
    readd_s, readd_peak = run_measured([dvc, "add", "-q", csv.name], repo)
    version = subprocess.run([dvc, "--version"], capture_output=True, text=True).stdout.strip()
    shutil.rmtree(repo, ignore_errors=True)
    return {
        "version": version,
        "add_s": add_s,
        "add_peak_rss": add_peak,
        "readd_s": readd_s,
        "readd_peak_rss": readd_peak,
    }


# -- the figures ------------------------------------------------------------------------------


def verdict(value: float, target: float | None) -> dict[str, Any]:
    passed = None if target is None else value <= target
    return {"value": value, "target": target, "pass": passed}


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def environment(load_at_start: float | None) -> dict[str, Any]:
    import numpy
    import pandas
    import pyarrow

    return {
        "date": dt.date.today().isoformat(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
        "numpy": numpy.__version__,
        "load_average": {"start": load_at_start, "end": load_average()},
    }


def summarise(
    csv: Path, args: argparse.Namespace, load: float | None, floor: dict, shipway: dict, dvc: Any
) -> dict:
    return {
        "environment": environment(load),
        "data": {
            "path": str(csv),
            "kind": args.data,
            "rows": args.rows,
            "columns": args.cols,
            "bytes": csv.stat().st_size,
        },
        "repeat": args.repeat,
        "floor": floor,
        "shipway": shipway,
        "dvc": dvc,
        "ratios": {
            "import_vs_floor": verdict(shipway["import_s"] / floor["total_s"], IMPORT_TARGET),
            "peak_vs_dataframe": verdict(
                shipway["increase_bytes"] / floor["dataframe_bytes"], MEMORY_TARGET
            ),
            "reimport_vs_sha256": verdict(shipway["reimport_s"] / floor["sha256_s"], None),
            "import_vs_floor_cpu": verdict(shipway["import_cpu_s"] / floor["total_cpu_s"], None),
        },
    }


WIDTH = 50


def _row(label: str, value: str = "", note: str = "") -> str:
    return f"  {label:<{WIDTH}}{value:>10}  {note}".rstrip()


def _s(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f} s"


def _mb(size: float | None) -> str:
    return "n/a" if size is None else f"{size / MB:,.0f} MiB"


def _ratio(label: str, ratio: dict[str, Any], hint: str = "") -> str:
    value = f"{ratio['value']:.2f}×"
    if ratio["target"] is None:
        return _row(label, value, hint)
    result = "PASS" if ratio["pass"] else "MISS"
    return _row(label, value, f"target ≤ {ratio['target']}×  {result}")


def _cpu(seconds: float) -> str:
    return f"cpu {seconds:5.2f} s"


def table_lines(figures: dict[str, Any]) -> list[str]:
    env, data, repeat = figures["environment"], figures["data"], figures["repeat"]
    return [
        f"Import benchmark: {data['rows']:,} rows × {data['columns']} columns, "
        f"{data['bytes'] / MB:,.1f} MiB CSV ({Path(data['path']).name})",
        f"{env['date']}, {env['cores']} cores, Python {env['python']}, pandas {env['pandas']}, "
        f"pyarrow {env['pyarrow']}; best of {repeat} run(s) each",
        *load_lines(env["load_average"]),
        "",
        *floor_lines(figures["floor"]),
        "",
        *shipway_lines(figures["shipway"]),
        "",
        *dvc_lines(figures["dvc"]),
        "",
        *memory_lines(figures["floor"], figures["shipway"]),
        "",
        *ratio_lines(figures["ratios"]),
    ]


def load_lines(load: dict[str, float | None]) -> list[str]:
    if load["start"] is None:
        return []
    lines = [f"load average (1 min): {load['start']:.2f} before the runs, {load['end']:.2f} after"]
    if load["start"] >= BUSY_LOAD:
        lines.append("warning: the machine was busy before the runs; wall times are noisy")
    return lines


def floor_lines(floor: dict[str, Any]) -> list[str]:
    lines = [
        "Floor (by hand, in one process; wall, then CPU of all threads)",
        _row("sha256 of the file", _s(floor["sha256_s"]), _cpu(floor["sha256_cpu_s"])),
    ]
    for engine, seconds in floor["read_csv_s"].items():
        mark = "  <- faster" if engine == floor["engine"] else ""
        cpu = _cpu(floor["read_csv_cpu_s"][engine])
        lines.append(_row(f"pandas.read_csv(engine={engine!r})", _s(seconds), cpu + mark))
    return [
        *lines,
        _row("DataFrame.to_parquet(compression='zstd')", _s(floor["to_parquet_s"]),
             _cpu(floor["to_parquet_cpu_s"])),
        _row("floor = sha256 + faster read_csv + to_parquet", _s(floor["total_s"]),
             _cpu(floor["total_cpu_s"])),
    ]  # fmt: skip


def shipway_lines(shipway: dict[str, Any]) -> list[str]:
    stages = [_row(f"  stage {name}", _s(sec)) for name, sec in shipway["stages"].items()]
    again = shipway["reimport_stages"]
    return [
        "Shipway (Workspace.data.import_file, in a child process each)",
        _row("import into a fresh project", _s(shipway["import_s"]),
             _cpu(shipway["import_cpu_s"])),
        *stages,
        _row("  Parquet blob written", _mb(shipway["blob_bytes"])),
        _row("re-import of the unchanged file", _s(shipway["reimport_s"]),
             _cpu(shipway["reimport_cpu_s"])),
        _row("  stage hash", _s(again.get("hash"))),
    ]  # fmt: skip


def dvc_lines(dvc: dict[str, Any] | None) -> list[str]:
    if dvc is None:
        return ["dvc: not installed (no `dvc` on PATH), comparison skipped"]
    return [
        f"dvc ({dvc['version']}; peak RSS of the whole process, sampled)",
        _row("dvc add", _s(dvc["add_s"]), _mb(dvc["add_peak_rss"])),
        _row("dvc add of the unchanged file", _s(dvc["readd_s"]), _mb(dvc["readd_peak_rss"])),
    ]


def memory_lines(floor: dict[str, Any], shipway: dict[str, Any]) -> list[str]:
    frame = floor["dataframe_bytes"]

    def versus(size: int) -> str:
        return f"{size / frame:.2f}× the DataFrame"

    engine = floor["engine"]
    return [
        "Memory (peak RSS minus the RSS just before the measured call)",
        _row("DataFrame memory_usage(deep=True), engine='c'", _mb(frame)),
        _row(f"floor, engine={engine!r}", _mb(floor["increase_bytes"]),
             versus(floor["increase_bytes"])),
        _row("Shipway import", _mb(shipway["increase_bytes"]), versus(shipway["increase_bytes"])),
        _row("Shipway re-import", _mb(shipway["reimport_increase_bytes"])),
    ]  # fmt: skip


def ratio_lines(ratios: dict[str, Any]) -> list[str]:
    return [
        "Ratios",
        _ratio("Shipway import / floor", ratios["import_vs_floor"]),
        _ratio("Shipway peak memory / DataFrame size", ratios["peak_vs_dataframe"]),
        _ratio("Shipway re-import / sha256", ratios["reimport_vs_sha256"], "(ideally about 1×)"),
        _ratio("Shipway import / floor, in CPU time", ratios["import_vs_floor_cpu"], "(info)"),
    ]


# -- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV")
    parser.add_argument("--cols", type=int, default=25, help="columns of the CSV")
    parser.add_argument(
        "--data",
        choices=tuple(KINDS),
        default="mixed",
        help="mixed columns (default) or float-heavy (20 full-precision floats, 5 categories)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the generated data")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--child", nargs=2, metavar=("TASK", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.rows, args.cols, args.repeat) < 1:
        parser.error("--rows, --cols and --repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        task, spec = args.child
        print(json.dumps(CHILDREN[task](json.loads(spec))))
        return 0
    csv = ensure_data(args.rows, args.cols, args.seed, args.data)
    warm_page_cache(csv)
    load = load_average()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=DATA_DIR))  # same disk as the CSV
    try:
        floor = measure_floor(csv, work, args.repeat)
        shipway = measure_shipway(csv, work, args.repeat)
        dvc = measure_dvc(csv, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = summarise(csv, args, load, floor, shipway, dvc)
    print(json.dumps(figures, indent=2) if args.json else "\n".join(table_lines(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
