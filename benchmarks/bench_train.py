"""Benchmark: training through Shipway, against a plain scikit-learn script doing the same work.

Run from the repository root::

    python benchmarks/bench_train.py [--rows 50000] [--features 20] [--repeat 3] [--json]
                                     [--only training,lone,startup,runs,search,mlflow]

What it measures, in this order:

1. data: a seeded ``make_classification`` set (``--rows`` × ``--features``; 3 of the columns are
   binned into text categories and 2 columns have 1 % empty cells, so that both imputers and
   the one-hot encoder have work), written once as a CSV under ``benchmarks/.data/`` and
   imported into a fresh temporary project;
2. training: the wall time of ``shipway train ... --json`` (a subprocess, as a user runs it)
   against a plain scikit-learn script in a subprocess doing the same work. The script reads the
   Parquet file the import stored (the data version's blob, as the user would have it), builds
   the same Pipeline(ColumnTransformer(impute+scale numbers, impute+one-hot categories),
   estimator) with the same estimator parameters and seed, splits 80/20 stratified, runs
   StratifiedKFold(5) on the training part computing the seven metrics per fold when CV is on,
   fits, and computes the seven metrics from predict and predict_proba on the test part. For
   logistic_regression, random_forest (100 trees) and hist_gradient_boosting, each without and
   with 5-fold CV: the median of ``--repeat`` alternating measurements (2 when the script takes
   over ``LONG_CASE_S``, 1 over ``VERY_LONG_CASE_S``, to keep the whole run near 10 minutes).
   Target: overhead = shipway − script ≤ max(10 % of the script, 0.5 s). The cheapest case is
   measured again (twice) as ``shipway train --project DIR`` (the CLI must pre-start its worker
   wherever ``--project DIR`` stands), and the start-up costs (interpreter, imports, worker
   shutdown) are timed on their own, to show where the overhead goes;
   **A lone run on every core**: a random forest (100 trees, no CV) as ``shipway train`` (the
   whole command, a process), through the engine in this process (``Workspace.runs.train(...)
   .result()`` on a warmed worker) and as the plain script with ``n_jobs=-1`` and with
   ``n_jobs=1``, alternating, median of ``--repeat``; target: Shipway ≤ ``LONE_TARGET`` × the
   ``n_jobs=-1`` script (a lone run is given every core; its forest fits with them as
   ``n_jobs``, and predicts on one thread so that its metrics do not depend on the count). On a
   machine busy with other work every process gets its share of the cores whatever its thread
   count, so neither side gains from threads and the ratio means little: run it on an idle
   machine (or give the benchmark priority over the rest);
3. listing: 200 recorded runs in a small project, 30 trained through ``Workspace.runs.train``
   (logistic regressions with seeded random C) and 170 recorded directly with those runs'
   payloads, then ``Workspace.runs.list(sort="f1")`` (median of 20 calls, target < 100 ms) and
   ``shipway runs list --sort f1 --json`` (wall time, median of 3);
4. search: a 20-trial random search of hist_gradient_boosting through ``Workspace.runs.search``
   on the first 20,000 rows: the CPU time of this process and its workers (psutil, sampled at the
   start and the end) over the wall time (≥ 1.5: both cores busy), and the wall time against the
   sum of the trials' own run times (their ``timings["total"]``);
5. recording: the in-process cost of recording one run (``runs.create``, ``mark_running``, a
   16 KiB artifact blob and ``finish`` with a real run's payload: the 170 direct recordings of
   step 3), beside the design document's MLflow figure, or MLflow measured (50 runs of 10 params,
   10 metrics, 1 artifact) if it is importable; this script never installs it.

It prints a table with PASS or MISS against each target, or the figures as JSON with
``--json``. It always exits 0: it is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / ".data"
DATA_VERSION = 1  # bump when the generator changes, so that cached files are not reused
SEED = 20261123  # the data's seed; runs use Shipway's default seed, RUN_SEED
RUN_SEED = 42
DATASET = "bench"
TARGET = "y"
CATEGORY_COLUMNS = 3  # the last 3 feature columns become text categories
CATEGORY_LEVELS = (5, 12, 40)  # categories in each (the 40 include some below 1 %, "rare")
MISSING_SHARE = 0.01  # of the cells of the first numeric column and of the first category one
CV_FOLDS = 5
MODELS = (
    ("logistic_regression", []),
    ("random_forest", ["n_estimators=100"]),
    ("hist_gradient_boosting", []),
)
LONG_CASE_S = 10.0  # script wall times above this: 2 measurements instead of --repeat
VERY_LONG_CASE_S = 60.0  # and above this, 1 (its noise is small beside the 10 % allowance)
OVERHEAD_SHARE = 0.10  # the training target: overhead ≤ max(10 % of the script, 0.5 s)
OVERHEAD_FLOOR_S = 0.5
LIST_RUNS = 200
API_RUNS = 30  # of them through Workspace.runs.train; the others recorded directly (RECORDING)
LIST_CALLS = 20
LIST_TARGET_MS = 100.0
SEARCH_TRIALS = 20
SEARCH_MODEL = "hist_gradient_boosting"
SEARCH_ROWS = 20_000  # the search runs on the first rows of the set, to stay near 1 minute
CPU_TARGET = 1.5  # CPU seconds per wall second during the search
RECORD_RUNS = 50  # MLflow's runs, if it is importable
ARTIFACT_BYTES = 16 * 1024
MLFLOW_DOC_MS = 55.0  # docs: MLflow 3.17, 200 runs × 10 params, 10 metrics, 1 artifact, SQLite
LONE_MODEL = ("random_forest", ["n_estimators=100"])
LONE_TARGET = 1.15  # a lone run against the plain script with n_jobs=-1
BUSY_LOAD = 0.5  # a 1-minute load average above this before the runs makes wall times noisy


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def shipway_command() -> list[str]:
    """The installed ``shipway`` entry point beside this Python, else ``python -m core.cli``."""
    script = Path(sys.executable).with_name("shipway")
    return [str(script)] if script.exists() else [sys.executable, "-m", "core.cli"]


def run_command(argv: list[str]) -> tuple[float, str]:
    """Wall seconds and stdout of one command; a failure stops the benchmark with its stderr."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])} ... exited {done.returncode}:\n{done.stderr}")
    return seconds, done.stdout


# -- the data ---------------------------------------------------------------------------------


def data_path(rows: int, features: int) -> Path:
    return DATA_DIR / f"classification-{rows}x{features}-seed{SEED}-v{DATA_VERSION}.csv"


def make_frame(rows: int, features: int, seed: int) -> Any:
    """``make_classification`` with the last columns binned into text categories and a few
    empty cells; the target ``y`` is 0/1."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows,
        n_features=features,
        n_informative=max(2, features // 2),
        n_redundant=max(0, features // 5),
        class_sep=0.8,
        flip_y=0.02,
        random_state=seed,
    )
    frame = pd.DataFrame(X, columns=[f"x{i:02d}" for i in range(features)]).round(6)
    rng = np.random.default_rng(seed)
    categories = min(CATEGORY_COLUMNS, features - 1)
    for index, levels in zip(range(features - categories, features), CATEGORY_LEVELS, strict=False):
        name = f"x{index:02d}"
        bins = pd.qcut(frame[name].rank(method="first"), levels, labels=False)
        frame[name] = [f"level_{b:02d}" for b in bins]
        if levels >= 40:  # a long tail: the encoder's rare-category grouping has work too
            tail = rng.random(rows) < 0.02
            frame.loc[tail, name] = [f"rare_{v:03d}" for v in rng.integers(0, 300, tail.sum())]
    for name in (frame.columns[0], frame.columns[features - categories]):
        frame.loc[rng.random(rows) < MISSING_SHARE, name] = None
    frame[TARGET] = y
    return frame


def ensure_data(rows: int, features: int) -> Path:
    """The cached CSV, generated first if missing (written to a temporary, then renamed)."""
    path = data_path(rows, features)
    if path.exists():
        log(f"data: using cached {path.relative_to(HERE.parent)}")
        return path
    started = time.perf_counter()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".part")
    make_frame(rows, features, SEED).to_csv(temp, index=False)
    temp.replace(path)
    log(f"data: wrote {path.relative_to(HERE.parent)} in {time.perf_counter() - started:.1f} s")
    return path


def new_project(folder: Path, csv: Path) -> dict[str, Any]:
    """A fresh project holding ``csv`` as data set ``bench``; where its Parquet blob is."""
    from core.services import ImportOptions, Workspace

    started = time.perf_counter()
    with Workspace.create(folder) as workspace:
        version = workspace.data.import_file(csv, ImportOptions(name=DATASET)).version
        parquet = workspace.root / "objects" / version.sha256[:2] / version.sha256[2:]
    features = [name for name in version.schema if name != TARGET]
    seconds = time.perf_counter() - started
    log(f"data: imported {version.rows:,} rows into {folder} in {seconds:.1f} s")
    return {
        "folder": folder,
        "parquet": parquet,
        "rows": version.rows,
        "numeric": [n for n in features if version.schema[n] != "string"],
        "categorical": [n for n in features if version.schema[n] == "string"],
    }


# -- the plain scikit-learn script -------------------------------------------------------------

SCRIPT = '''\
"""The work of one Shipway run, written as a user would in plain scikit-learn."""

import time

started = time.perf_counter()

import json

import pandas as pd
from sklearn import metrics
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from {module} import {estimator}

PARQUET = {parquet!r}
TARGET = {target!r}
NUMERIC = {numeric!r}
CATEGORICAL = {categorical!r}
CV_FOLDS = {cv_folds!r}
SEED = {seed!r}


def make_pipeline():
    numeric = Pipeline([
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
    ])
    encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.01,
                            max_categories=50, sparse_output=False)
    impute = SimpleImputer(strategy="constant", fill_value="missing", keep_empty_features=True)
    categorical = Pipeline([("impute", impute), ("encode", encoder)])
    preprocess = ColumnTransformer([("num", numeric, NUMERIC), ("cat", categorical, CATEGORICAL)])
    return Pipeline([("preprocess", preprocess), ("model", {estimator}(**{kwargs!r}))])


def scores(model, X, y):
    predicted = model.predict(X)
    proba = model.predict_proba(X)
    positive = sorted(model.classes_)[1]
    column = list(model.classes_).index(positive)
    binary = dict(pos_label=positive, zero_division=0)
    return {{
        "accuracy": metrics.accuracy_score(y, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, predicted),
        "precision": metrics.precision_score(y, predicted, **binary),
        "recall": metrics.recall_score(y, predicted, **binary),
        "f1": metrics.f1_score(y, predicted, **binary),
        "roc_auc": metrics.roc_auc_score(y == positive, proba[:, column]),
        "log_loss": metrics.log_loss(y, proba, labels=model.classes_),
    }}


seconds = {{"imports": time.perf_counter() - started}}
mark = time.perf_counter()
frame = pd.read_parquet(PARQUET, columns=[*NUMERIC, *CATEGORICAL, TARGET])
X = frame[NUMERIC].astype(float).join(frame[CATEGORICAL].astype(object))
y = frame[TARGET]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, random_state=SEED, stratify=y
)
pipeline = make_pipeline()
seconds["load"] = time.perf_counter() - mark
folds = []
if CV_FOLDS:
    mark = time.perf_counter()
    splitter = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=SEED)
    for train, test in splitter.split(X_train, y_train):
        model = clone(pipeline).fit(X_train.iloc[train], y_train.iloc[train])
        folds.append(scores(model, X_train.iloc[test], y_train.iloc[test]))
    seconds["cv"] = time.perf_counter() - mark
mark = time.perf_counter()
pipeline.fit(X_train, y_train)
seconds["fit"] = time.perf_counter() - mark
mark = time.perf_counter()
test_scores = scores(pipeline, X_test, y_test)
seconds["evaluate"] = time.perf_counter() - mark
seconds["total"] = time.perf_counter() - started
print(json.dumps({{"metrics": test_scores, "folds": folds, "seconds": seconds}}))
'''


def estimator_source(key: str, params: list[str]) -> dict[str, Any]:
    """The estimator class and the keyword arguments that Shipway's catalog gives it (those that
    differ from scikit-learn's defaults), to write into the plain script."""
    from core.experiments import catalog

    spec = catalog.get_estimator(key, "classification")
    made = catalog.make_estimator(
        spec, "classification", catalog.parse_params(spec, params), RUN_SEED
    )
    cls = type(made)
    defaults = cls().get_params()
    kwargs = {name: value for name, value in made.get_params().items() if defaults[name] != value}
    parts = cls.__module__.split(".")
    public = next((i for i, part in enumerate(parts) if part.startswith("_")), len(parts))
    module = ".".join(parts[:public])  # sklearn.ensemble, not sklearn.ensemble._forest
    return {"module": module, "estimator": cls.__name__, "kwargs": kwargs}


def write_script(
    folder: Path,
    project: dict[str, Any],
    key: str,
    params: list[str],
    cv: int,
    n_jobs: int | None = None,
) -> Path:
    """The plain script of one case; with ``n_jobs``, its estimator gets that argument too."""
    source = estimator_source(key, params)
    if n_jobs is not None:
        source["kwargs"] = {**source["kwargs"], "n_jobs": n_jobs}
    text = SCRIPT.format(
        parquet=str(project["parquet"]),
        target=TARGET,
        numeric=project["numeric"],
        categorical=project["categorical"],
        cv_folds=cv,
        seed=RUN_SEED,
        **source,
    )
    suffix = "" if n_jobs is None else f"_njobs{n_jobs}"
    path = folder / f"plain_{key}_cv{cv}{suffix}.py"
    path.write_text(text, encoding="utf-8")
    return path


# -- 2. training: shipway train against the plain script ---------------------------------------


def train_argv(
    folder: Path, key: str, params: list[str], cv: int, project_first: bool = True
) -> list[str]:
    """``shipway --project DIR train ...`` (as documented), or ``shipway train --project DIR``."""
    where = ["--project", str(folder)]
    argv = [*shipway_command(), *(where if project_first else []), "train"]
    argv += [*([] if project_first else where), "--data", DATASET, "--target", TARGET]
    argv += ["--model", key, "--cv", str(cv), "--json"]
    for param in params:
        argv += ["--param", param]
    return argv


def run_timings(folder: Path, run_id: int) -> dict[str, float]:
    """The run's own stage timings as recorded, with ``save`` (waiting for and storing the
    model's dump, which overlaps the evaluation) derived, and the run's thread limit."""
    from core.services import Workspace

    with Workspace.open(folder) as workspace:
        run = workspace.runs.get(run_id)
    timings = dict(run.timings)
    stages = sum(timings.get(name, 0.0) for name in ("prepare", "cv", "fit", "evaluate"))
    threads = float(run.environment.get("threads") or 0)
    return {**timings, "save": timings["total"] - stages, "threads": threads}


def enough(attempt: int, script_walls: list[float], repeat: int) -> bool:
    """Whether to stop measuring a case: after ``repeat`` measurements, or earlier for slow cases
    (their noise is small beside the 10 % allowance, and the whole run should stay near 10 min)."""
    slowest = max(script_walls)
    if attempt + 1 >= repeat:
        return True
    return slowest > VERY_LONG_CASE_S or (attempt >= 1 and slowest > LONG_CASE_S)


def measure_case(
    project: dict[str, Any],
    scratch: Path,
    case: tuple[str, list[str], int],
    repeat: int,
    project_first: bool = True,
) -> dict[str, Any]:
    """Alternating shipway / script measurements of one (model, params, cv) case."""
    key, params, cv = case
    script = write_script(scratch, project, key, params, cv)
    samples: dict[str, list] = {"shipway": [], "script": [], "run": [], "plain": [], "gap": []}
    for attempt in range(repeat):
        wall, out = run_command(train_argv(project["folder"], key, params, cv, project_first))
        document = json.loads(out)
        samples["shipway"].append(wall)
        samples["run"].append(run_timings(project["folder"], document["run"]))
        wall, out = run_command([sys.executable, str(script)])
        plain = json.loads(out)
        samples["script"].append(wall)
        samples["plain"].append(plain["seconds"])
        samples["gap"].append(metric_gap(document["metrics"], plain["metrics"]))
        log(
            f"  {key} cv={cv} #{attempt + 1}: shipway {samples['shipway'][-1]:.2f} s, "
            f"script {wall:.2f} s"
        )
        if enough(attempt, samples["script"], repeat):
            break
    return summarize_case(key, cv, samples)


def metric_gap(a: dict[str, float | None], b: dict[str, float | None]) -> float:
    """The largest absolute difference between the two runs' test metrics (0: identical)."""
    return max(abs((a.get(name) or 0.0) - (value or 0.0)) for name, value in b.items())


def medians(records: list[dict[str, float]]) -> dict[str, float]:
    names = {name for record in records for name in record}
    return {name: median([r[name] for r in records if name in r]) for name in sorted(names)}


def summarize_case(key: str, cv: int, samples: dict[str, list]) -> dict[str, Any]:
    shipway, script = median(samples["shipway"]), median(samples["script"])
    overhead = shipway - script
    allowed = max(OVERHEAD_SHARE * script, OVERHEAD_FLOOR_S)
    run = medians(samples["run"])
    plain = medians(samples["plain"])
    return {
        "model": key,
        "cv": cv,
        "repeats": len(samples["shipway"]),
        "shipway_s": shipway,
        "script_s": script,
        "overhead_s": overhead,
        "ratio": shipway / script,
        "allowed_overhead_s": allowed,
        "pass": overhead <= allowed,
        "shipway_walls": samples["shipway"],
        "script_walls": samples["script"],
        "shipway_outside_run_s": shipway - run["total"],
        "shipway_run_timings": run,
        "script_start_s": script - plain["total"] + plain["imports"],
        "script_timings": plain,
        "metrics_max_abs_difference": max(samples["gap"]),
    }


def bench_training(project: dict[str, Any], scratch: Path, repeat: int) -> list[dict[str, Any]]:
    log(f"training: shipway train against the plain script, median of up to {repeat} ...")
    cases = []
    for key, params in MODELS:
        for cv in (0, CV_FOLDS):
            cases.append(measure_case(project, scratch, (key, params, cv), repeat))
    return cases


def bench_argument_order(project: dict[str, Any], scratch: Path, repeat: int) -> dict[str, Any]:
    """The cheapest case again as ``shipway train --project DIR``: both argument orders must
    pre-start the worker, so both should cost the same."""
    log("training: logistic_regression again as `shipway train --project DIR ...` ...")
    key, params = MODELS[0]
    return measure_case(project, scratch, (key, params, 0), min(repeat, 2), project_first=False)


# -- a lone run on every core, against the plain script with n_jobs=-1 ---------------------------


def engine_train(workspace: Any, key: str, params: list[str]) -> tuple[float, Any]:
    """Wall seconds of ``Workspace.runs.train(request).result()`` and the run."""
    from core.services import TrainRequest

    request = TrainRequest(data=DATASET, target=TARGET, estimator=key, params=params)
    started = time.perf_counter()
    run = workspace.runs.train(request).result()
    seconds = time.perf_counter() - started
    if run.status != "done":
        raise RuntimeError(f"run {run.id} {run.status}: {run.error}")
    return seconds, run


def timed_command(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the command and every process it waited for) and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, out = run_command(argv)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, out


def lone_round(workspace: Any, folder: Path, scripts: dict[int, Path]) -> dict[str, Any]:
    """One round: the command, the engine in process, the script with n_jobs=-1 and =1."""
    key, params = LONE_MODEL
    wall, cpu, out = timed_command(train_argv(folder, key, params, 0))
    measured = {"command": (wall, cpu)}
    cpu_before = tree_cpu_seconds()
    wall, run = engine_train(workspace, key, params)
    measured["engine"] = (wall, tree_cpu_seconds() - cpu_before)
    for name, n_jobs in (("script", -1), ("script_1", 1)):
        measured[name] = timed_command([sys.executable, str(scripts[n_jobs])])[:2]
    runs = [workspace.runs.get(json.loads(out)["run"]), run]
    used = ("threads", "n_jobs")
    recorded = [{**r.timings, **{k: r.environment.get(k) for k in used}} for r in runs]
    return {"measured": measured, "runs": recorded}


def bench_lone(project: dict[str, Any], scratch: Path, repeat: int) -> dict[str, Any]:
    """One forest run alone against the plain script, each round measuring the four one after
    the other (so that a change of the machine's load touches them alike); the verdict is on the
    median of the rounds' own ratios."""
    from core.services import Workspace

    key, params = LONE_MODEL
    log(f"lone run: {key} {' '.join(params)}, command / engine / script -1 / script 1 ...")
    scripts = {n: write_script(scratch, project, key, params, 0, n_jobs=n) for n in (-1, 1)}
    rounds = []
    with Workspace.open(project["folder"]) as workspace:
        workspace.runs.executor().warm(1)
        wait_until_idle()
        for number in range(repeat):
            rounds.append(lone_round(workspace, project["folder"], scripts))
            measured = rounds[-1]["measured"]
            log(f"  #{number + 1}: " + ", ".join(f"{k} {v[0]:.2f} s" for k, v in measured.items()))
    names = ("command", "engine", "script", "script_1")
    walls = {name: [r["measured"][name][0] for r in rounds] for name in names}
    cpus = {name: [r["measured"][name][1] for r in rounds] for name in names}
    ratios = {
        name: [w / s for w, s in zip(walls[name], walls["script"], strict=True)] for name in names
    }
    shipway = shipway_command()
    return {
        "model": key,
        "params": params,
        "command": " ".join(["shipway", *train_argv(Path("DIR"), key, params, 0)[len(shipway) :]]),
        "repeats": repeat,
        "walls": walls,
        "cpus": cpus,
        "medians_s": {name: median(values) for name, values in walls.items()},
        "cpu_medians_s": {name: median(values) for name, values in cpus.items()},
        "ratios_by_round": ratios,
        "ratios": {name: median(values) for name, values in ratios.items()},
        "runs": [run for r in rounds for run in r["runs"]],
        "pass": median(ratios["command"]) <= LONE_TARGET,
    }


# -- start-up costs (for the diagnosis of the overhead) ---------------------------------------

WORKER_IMPORTS = "import threadpoolctl, sklearn.ensemble, core.experiments.training"  # worker.py


def startup_probes() -> list[tuple[str, list[str]]]:
    python = sys.executable
    return [
        ("python -c pass", [python, "-c", "pass"]),
        ("shipway --version (CLI imports)", [*shipway_command(), "--version"]),
        ("import core.services", [python, "-c", "import core.services"]),
        ("import core.experiments.runs", [python, "-c", "import core.experiments.runs"]),
        ("a worker's imports", [python, "-c", WORKER_IMPORTS]),
    ]


def worker_shutdown_seconds() -> float:
    """How long ``LocalExecutor.shutdown`` takes for one idle, warmed worker that never ran a
    job (it is terminated)."""
    from core.experiments.executors import LocalExecutor

    executor = LocalExecutor(workers=1)
    executor.warm(1)
    wait_until_idle()
    started = time.perf_counter()
    executor.shutdown()
    return time.perf_counter() - started


def worker_shutdown_after_run_seconds(folder: Path) -> float:
    """The same for a worker that ran a job (a dummy model; it is asked to exit), as after
    ``shipway train``."""
    from core.services import TrainRequest, Workspace

    with Workspace.open(folder) as workspace:
        workspace.runs.executor().warm(1)
        wait_until_idle()
        workspace.runs.train(TrainRequest(data=DATASET, target=TARGET, estimator="dummy")).result()
        started = time.perf_counter()
        workspace.runs.close()
        return time.perf_counter() - started


def bench_startup(folder: Path, repeat: int = 2) -> dict[str, Any]:
    log("start-up: interpreter, imports and worker shutdown ...")
    figures = {
        label: median([run_command(argv)[0] for _ in range(repeat)])
        for label, argv in startup_probes()
    }
    figures["worker shutdown, never used (in-process)"] = median(
        [worker_shutdown_seconds() for _ in range(repeat)]
    )
    figures["worker shutdown after a run (in-process)"] = median(
        [worker_shutdown_after_run_seconds(folder) for _ in range(repeat)]
    )
    return figures


# -- 3. listing 200 recorded runs, and 5. the cost of recording one ----------------------------


def small_project(folder: Path, scratch: Path) -> None:
    """A project with a small data set (1,000 rows × 8 features) for cheap real runs."""
    from core.services import ImportOptions, Workspace

    csv = scratch / "small.csv"
    make_frame(1_000, 8, SEED).to_csv(csv, index=False)
    with Workspace.create(folder) as workspace:
        workspace.data.import_file(csv, ImportOptions(name=DATASET))


def train_runs(workspace: Any, count: int) -> float:
    """``count`` logistic regressions with seeded random C through ``Workspace.runs.train``;
    seconds."""
    from core.services import TrainRequest

    rng = random.Random(SEED)
    started = time.perf_counter()
    for _ in range(count):
        params = {"C": round(10 ** rng.uniform(-3, 2), 4)}
        request = TrainRequest(
            data=DATASET, target=TARGET, estimator="logistic_regression", params=params
        )
        run = workspace.runs.train(request).result()
        if run.status != "done":
            raise RuntimeError(f"run {run.id} {run.status}: {run.error}")
    return time.perf_counter() - started


def record_copies(workspace: Any, count: int) -> list[float]:
    """Record ``count`` runs directly (``runs.create``, ``mark_running``, a 16 KiB artifact blob,
    ``finish``) with the full payloads of the real runs in turn; seconds per run.

    Uses the project behind the Workspace (``_project``), as the run code itself does.
    """
    project = workspace._project
    templates = [workspace.runs.get(run.id) for run in workspace.runs.list()]
    version = workspace.data.version(f"{DATASET}@{templates[0].dataset_version}")
    seconds = []
    for number in range(count):
        template = templates[number % len(templates)]
        payload = {
            "metrics": template.metrics,
            "cv": template.cv,
            "curves": template.curves,
            "importance": template.importance,
            "io_schema": template.io_schema,
            "params": template.params,
            "environment": template.environment,
            "notes": template.notes,
            "timings": template.timings,
            "log": template.log or "",
        }
        started = time.perf_counter()
        run_id = project.runs.create(
            spec=template.spec,
            dataset_version_id=version.id,
            dataset_sha256=version.sha256,
            executor="local",
        )
        project.runs.mark_running(run_id)
        blob = project.blobs.put_bytes(os.urandom(ARTIFACT_BYTES), ".joblib")
        project.runs.finish(
            run_id, "done", model_sha256=blob.sha256, model_size=blob.size_bytes, **payload
        )
        seconds.append(time.perf_counter() - started)
    return seconds


def time_calls(call: Callable[[], Any], count: int) -> list[float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def bench_runs(folder: Path, scratch: Path) -> dict[str, Any]:
    """200 runs: the first through the real API, the rest recorded with their payloads (which
    measures the recording cost); then listing them sorted, in-process and by the CLI."""
    from core.services import Workspace

    log(f"runs: {API_RUNS} runs through Workspace.runs.train, {LIST_RUNS - API_RUNS} recorded ...")
    small_project(folder, scratch)
    with Workspace.open(folder) as workspace:
        training = train_runs(workspace, API_RUNS)
        workspace.runs.close()
        recording = record_copies(workspace, LIST_RUNS - API_RUNS)
        listed = len(workspace.runs.list(sort="f1"))
        api = time_calls(lambda: workspace.runs.list(sort="f1"), LIST_CALLS)
        template = workspace.runs.get(workspace.runs.list()[0].id)
    argv = [*shipway_command(), "--project", str(folder), "runs", "list", "--sort", "f1", "--json"]
    cli = [run_command(argv)[0] for _ in range(3)]
    api_ms = median(api) * 1000
    return {
        "runs": listed,
        "api_runs": API_RUNS,
        "train_per_run_s": training / API_RUNS,
        "api_ms": api_ms,
        "api_max_ms": max(api) * 1000,
        "api_pass": api_ms < LIST_TARGET_MS,
        "cli_s": median(cli),
        "cli_walls": cli,
        "recording": {
            "runs": len(recording),
            "per_run_ms": median(recording) * 1000,
            "max_ms": max(recording) * 1000,
            "params": len(template.params),
            "metrics": len(template.metrics),
        },
    }


# -- 4. a random search on both cores -----------------------------------------------------------


def tree_cpu_seconds() -> float:
    """User + system CPU seconds of this process and its live descendants."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for process in [me, *me.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def wait_until_idle(timeout: float = 60.0) -> None:
    """Wait until pre-warmed workers finished their imports (the tree's CPU stops growing)."""
    deadline = time.monotonic() + timeout
    last = tree_cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = tree_cpu_seconds()
        if now - last < 0.05:
            return
        last = now


def search_data(workspace: Any, csv: Path, scratch: Path, rows: int) -> str:
    """The data set the search runs on: the benchmark's own, or its first ``rows`` rows."""
    import pandas as pd

    from core.services import ImportOptions

    frame = pd.read_csv(csv, nrows=rows)
    if len(frame) < rows:
        return DATASET
    path = scratch / "search.csv"
    frame.to_csv(path, index=False)
    workspace.data.import_file(path, ImportOptions(name="search"))
    return "search"


def bench_search(folder: Path, csv: Path, scratch: Path, rows: int) -> dict[str, Any]:
    from core.services import TrainRequest, Workspace

    with Workspace.open(folder) as workspace:
        data = search_data(workspace, csv, scratch, rows)
        rows = workspace.data.version(data).rows
        log(f"search: {SEARCH_TRIALS}-trial random search of {SEARCH_MODEL} on {rows:,} rows ...")
        executor = workspace.runs.executor()
        executor.warm(2)
        wait_until_idle()
        cpu_before, started = tree_cpu_seconds(), time.perf_counter()
        request = TrainRequest(data=data, target=TARGET, estimator=SEARCH_MODEL)
        parent = workspace.runs.search(request, "random", SEARCH_TRIALS).result()
        wall = time.perf_counter() - started
        cpu = tree_cpu_seconds() - cpu_before
        trials = workspace.runs.list(parent=parent.id)
        workers = workspace._project.settings.executor.workers
    totals = [trial.timings.get("total", 0.0) for trial in trials]  # the worker's own time
    return {
        "rows": rows,
        "status": parent.status,
        "trials": len(trials),
        "done": sum(trial.status == "done" for trial in trials),
        "workers": workers,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_wall": cpu / wall,
        "cpu_pass": cpu / wall >= CPU_TARGET,
        "sum_of_trials_s": sum(totals),
        "longest_trial_s": max(totals, default=0.0),
        "speedup": sum(totals) / wall,
        "sum_of_recorded_durations_s": sum(trial.duration_s or 0.0 for trial in trials),
    }


# -- 5. MLflow, only if it is importable -------------------------------------------------------


def bench_mlflow(scratch: Path) -> dict[str, Any]:
    """MLflow's tracking cost measured the same way, only when it is importable."""
    try:
        import mlflow
    except ImportError:
        return {"measured": False, "doc_per_run_ms": MLFLOW_DOC_MS, "version": None}
    mlflow.set_tracking_uri(f"sqlite:///{scratch / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    artifact = scratch / "artifact.bin"
    seconds = []
    for number in range(RECORD_RUNS):
        artifact.write_bytes(os.urandom(ARTIFACT_BYTES))
        started = time.perf_counter()
        with mlflow.start_run():
            mlflow.log_params({f"p{i}": number + i for i in range(10)})
            mlflow.log_metrics({f"m{i}": (number + i) / 100 for i in range(10)})
            mlflow.log_artifact(str(artifact))
        seconds.append(time.perf_counter() - started)
    return {
        "measured": True,
        "per_run_ms": median(seconds) * 1000,
        "doc_per_run_ms": MLFLOW_DOC_MS,
        "version": mlflow.__version__,
    }


# -- the report ---------------------------------------------------------------------------------


def verdict(passed: bool) -> str:
    return "PASS" if passed else "MISS"


def case_row(case: dict[str, Any], label: str) -> str:
    return (
        f"{label:30} {case['cv']:>3} {case['repeats']:>2} {case['shipway_s']:>10.2f} "
        f"{case['script_s']:>9.2f} {case['overhead_s']:>7.2f} {case['ratio']:>6.2f} "
        f"{case['allowed_overhead_s']:>8.2f}  {verdict(case['pass']):6}  "
        f"{case['metrics_max_abs_difference']:.1e}"
    )


def breakdown_row(case: dict[str, Any], label: str) -> str:
    """Shipway's wall split into outside the run (CLI and worker start-up, recording, shutdown)
    and the run's own stages; the script's into start-up (interpreter + imports) and work."""
    ship, plain = case["shipway_run_timings"], case["script_timings"]
    return (
        f"{label:30} {case['cv']:>3} {case['shipway_outside_run_s']:>8.2f} "
        f"{ship['prepare']:>7.2f} {ship.get('cv', 0.0):>7.2f} {ship['fit']:>7.2f} "
        f"{ship['evaluate']:>8.2f} {ship['save']:>6.2f} | {case['script_start_s']:>7.2f} "
        f"{plain['load']:>6.2f} {plain.get('cv', 0.0):>7.2f} {plain['fit']:>7.2f} "
        f"{plain['evaluate']:>6.2f}"
    )


def print_training(cases: list[dict[str, Any]], order: dict[str, Any]) -> None:
    rows = [(case, case["model"]) for case in cases]
    if "error" not in order:
        rows.append((order, "logistic (train --project DIR)"))
    print(
        "Training: `shipway --project DIR train ... --json` against a plain scikit-learn "
        "script, wall seconds, median of n"
    )
    print(
        f"{'model':30} {'cv':>3} {'n':>2} {'shipway s':>10} {'script s':>9} {'over s':>7} "
        f"{'ratio':>6} {'allowed':>8}  target  metrics Δ"
    )
    for case, label in rows:
        print(case_row(case, label))
    print(
        "\nWhere the time goes (medians, s). Shipway: outside = wall − the run's own total "
        "(CLI start-up, waiting for\nthe worker, recording, worker shutdown), then the run's "
        "timings (evaluate = metrics, curves, importance,\npredict latency; save = the model's "
        "dump). Script: start = interpreter and imports, then its stages."
    )
    print(
        f"{'model':30} {'cv':>3} {'outside':>8} {'prepare':>7} {'cv':>7} {'fit':>7} "
        f"{'evaluate':>8} {'save':>6} | {'start':>7} {'load':>6} {'cv':>7} {'fit':>7} "
        f"{'eval':>6}"
    )
    for case, label in rows:
        print(breakdown_row(case, label))


def print_lone(lone: dict[str, Any]) -> None:
    threads = sorted({str(run["threads"]) for run in lone["runs"]})
    n_jobs = sorted({str(run["n_jobs"]) for run in lone["runs"]})
    print(f"A lone run: `{lone['command']}` against the plain script")
    print(
        f"{lone['repeats']} rounds, medians; ratio = the median of each round's own ratio to the "
        f"n_jobs=-1 script (runs had threads {'/'.join(threads)}, n_jobs {'/'.join(n_jobs)})"
    )
    print(f"  {'':44} {'wall s':>7} {'ratio':>6} {'CPU s':>7}")
    rows = (
        ("shipway train (the command, a process)", "command"),
        ("Workspace.runs.train().result() in process", "engine"),
        ("plain script, n_jobs=-1", "script"),
        ("plain script, n_jobs=1", "script_1"),
    )
    for label, name in rows:
        print(
            f"  {label:44} {lone['medians_s'][name]:7.2f} {lone['ratios'][name]:6.2f} "
            f"{lone['cpu_medians_s'][name]:7.1f}"
        )
    by_round = ", ".join(f"{r:.2f}" for r in lone["ratios_by_round"]["command"])
    print(
        f"  command ÷ script (-1) per round: {by_round}; target ≤ {LONE_TARGET}  "
        f"{verdict(lone['pass'])}"
    )


def print_startup(startup: dict[str, float]) -> None:
    print("Start-up costs (wall s, median of 2; the script's own is its `start` above)")
    for label, seconds in startup.items():
        print(f"  {label:42} {seconds:6.2f}")


def print_runs(runs: dict[str, Any], mlflow: dict[str, Any]) -> None:
    print(
        f"Listing {runs['runs']} runs ({runs['api_runs']} trained through Workspace.runs.train at "
        f"{runs['train_per_run_s'] * 1000:.0f} ms each, the others recorded directly)"
    )
    print(
        f"  Workspace.runs.list(sort='f1')  {runs['api_ms']:8.1f} ms median of {LIST_CALLS} "
        f"(max {runs['api_max_ms']:.1f})  target < {LIST_TARGET_MS:.0f} ms  "
        f"{verdict(runs['api_pass'])}"
    )
    print(f"  shipway runs list --sort f1     {runs['cli_s'] * 1000:8.0f} ms wall, median of 3")
    record = runs["recording"]
    print(
        f"\nRecording one run in-process: {record['per_run_ms']:.1f} ms median of "
        f"{record['runs']} (max {record['max_ms']:.1f}; {record['params']} params, "
        f"{record['metrics']} metrics, curves, importance, 16 KiB artifact)"
    )
    if mlflow.get("measured"):
        print(f"  MLflow {mlflow['version']} measured here: {mlflow['per_run_ms']:.1f} ms per run")
    else:
        print("  MLflow: skipped (not importable; this script never installs it)")
    print(
        f"  MLflow 3.17 per the design document: {MLFLOW_DOC_MS:.0f} ms per run → Shipway "
        f"{record['per_run_ms'] / MLFLOW_DOC_MS:.2f} × that"
    )


def print_search(search: dict[str, Any]) -> None:
    print(
        f"Random search, {search['trials']} trials of {SEARCH_MODEL} on {search['rows']:,} "
        f"rows ({search['done']} done, {search['workers']} workers)"
    )
    print(
        f"  wall {search['wall_s']:.1f} s, CPU {search['cpu_s']:.1f} s → "
        f"{search['cpu_per_wall']:.2f} CPU s per wall s  target ≥ {CPU_TARGET}  "
        f"{verdict(search['cpu_pass'])}"
    )
    print(
        f"  sum of the trials' own run times {search['sum_of_trials_s']:.1f} s = "
        f"{search['speedup']:.2f} × the wall time (longest trial {search['longest_trial_s']:.1f} s)"
    )
    print(
        f"  their recorded duration_s add up to {search['sum_of_recorded_durations_s']:.1f} s "
        "(each trial is recorded as it ends: worker start to recording)"
    )


def print_report(figures: dict[str, Any]) -> None:
    machine = figures["machine"]
    print(
        f"\nShipway training benchmark: {figures['rows']:,} rows × {figures['features']} "
        f"features, {machine['cpus']} CPUs, Python {machine['python']}, scikit-learn "
        f"{machine['sklearn']}, load average before {machine['load_before']:.2f}"
    )
    printers: list[tuple[str, Callable[[], None]]] = [
        ("training", lambda: print_training(figures["training"], figures["argument_order"])),
        ("lone", lambda: print_lone(figures["lone"])),
        ("startup", lambda: print_startup(figures["startup"])),
        ("runs", lambda: print_runs(figures["runs"], figures.get("mlflow", {}))),
        ("search", lambda: print_search(figures["search"])),
    ]
    for name, show in printers:
        if name not in figures:  # not measured (--only)
            continue
        print()
        if isinstance(figures.get(name), dict) and "error" in figures[name]:
            print(f"{name}: failed: {figures[name]['error']}")
        else:
            show()


# -- main -----------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import sklearn

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "platform": platform.platform(),
        "load_before": load,
    }


def attempt(name: str, measure: Callable[[], Any]) -> Any:
    """A section's figures, or ``{"error": ...}`` when it failed (the others still run)."""
    try:
        return measure()
    except Exception as exc:
        log(f"{name}: failed: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


SECTIONS = ("training", "lone", "startup", "runs", "search", "mlflow")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="measurements per training case")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to measure (default: all of {','.join(SECTIONS)})",
    )
    args = parser.parse_args(argv)
    args.only = {name.strip() for name in args.only.split(",") if name.strip()}
    if not args.only <= set(SECTIONS):
        parser.error(f"--only takes some of {', '.join(SECTIONS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(HERE.parent))  # `core` without an installed package, as a fallback
    figures: dict[str, Any] = {"rows": args.rows, "features": args.features, "machine": machine()}
    if figures["machine"]["load_before"] > BUSY_LOAD:
        log(f"note: load average {figures['machine']['load_before']:.2f}: wall times may be noisy")
    scratch = Path(tempfile.mkdtemp(prefix="shipway-bench-train-"))
    try:
        csv = ensure_data(args.rows, args.features)
        project = new_project(scratch / "project", csv)
        repeat = max(1, args.repeat)
        sections: list[tuple[str, Callable[[], Any]]] = [
            ("training", lambda: bench_training(project, scratch, repeat)),
            ("argument_order", lambda: bench_argument_order(project, scratch, repeat)),
            ("lone", lambda: bench_lone(project, scratch, repeat)),
            ("startup", lambda: bench_startup(project["folder"])),
            ("runs", lambda: bench_runs(scratch / "runs", scratch)),
            ("search", lambda: bench_search(project["folder"], csv, scratch, SEARCH_ROWS)),
            ("mlflow", lambda: bench_mlflow(scratch)),
        ]
        for name, measure in sections:
            if name in args.only or (name == "argument_order" and "training" in args.only):
                figures[name] = attempt(name, measure)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        print_report(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
