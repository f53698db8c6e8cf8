"""``shipway train``, ``shipway runs list|show|compare|reproduce|export``, ``shipway catalog``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.cli.output import TerminalProgress, answer, emit_json, reply, table
from core.cli.parsing import Commands, add_choice, call_with_args
from core.cli.project_cmds import open_workspace
from core.errors import ShipwayError, UsageError
from core.experiments.compare import Reproduction
from core.services import TrainRequest, Workspace, catalog

SHOWN_METRICS = {
    "classification": ("accuracy", "balanced_accuracy", "f1", "roc_auc", "log_loss"),
    "regression": ("mae", "rmse", "r2", "mape"),
}


class RunFailed(ShipwayError, code="run_failed"):
    """A run ended FAILED; it is recorded, with its traceback (`shipway runs show`)."""


def register(commands: Commands) -> None:
    train = commands.add("train", cmd_train, help="train and record a run")
    train.add_argument("--data", required=True, metavar="N[@V]", help="data set version")
    train.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    train.add_argument(
        "--task", choices=("classification", "regression"), help="default: inferred from the target"
    )
    train.add_argument(
        "--model",
        default="random_forest",
        metavar="M",
        help="estimator key (`shipway catalog` lists them), or all: every one that fits the task",
    )
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        help="estimator parameter, repeatable (e.g. --param n_estimators=200)",
    )
    train.add_argument("--features", metavar="A,B", help="feature columns (default: all others)")
    train.add_argument("--test-size", type=float, default=0.2)
    add_choice(
        train,
        "--split",
        ("train_test", "train_val_test", "time"),
        "time: train on the past, test on the latest rows (needs --time-column)",
    )
    train.add_argument("--time-column", metavar="C", help="the date column of --split time")
    train.add_argument(
        "--backtest", type=int, default=0, metavar="K", help="K walk-forward windows (time split)"
    )
    train.add_argument("--cv", type=int, default=0, metavar="K", help="k-fold CV on training part")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument(
        "--threshold",
        metavar="RULE",
        help="binary classifiers: min_precision=P, min_recall=R or cost_fp=A,cost_fn=B "
        "(default: shipway.toml [evaluation] threshold)",
    )
    train.add_argument(
        "--search",
        choices=("grid", "random", "bayes"),
        help="search as trial runs (bayes: Optuna, resumable)",
    )
    train.add_argument("--trials", type=int, default=10, metavar="K")
    train.add_argument(
        "--inf-as-missing",
        action="store_true",
        help="treat infinite numbers as missing values instead of refusing",
    )
    train.add_argument("--executor", choices=("local", "dask"), help="default: shipway.toml")
    train.add_argument("--dask-address", metavar="ADDR", help="scheduler for --executor dask")

    sub = commands.group("runs", "recorded runs")
    lst = sub.add("list", cmd_runs_list, help="runs, best first with --sort")
    lst.add_argument("--sort", metavar="METRIC")
    lst.add_argument("--all", action="store_true", help="include search trials")
    lst.add_argument("--parent", type=int, metavar="RUN", help="the trials of this search")
    show = sub.add("show", cmd_runs_show, help="everything a run recorded")
    show.add_argument("run", type=int)
    compare = sub.add("compare", cmd_runs_compare, help="runs side by side")
    compare.add_argument("runs", type=int, nargs="+")
    reproduce = sub.add("reproduce", cmd_runs_reproduce, help="re-run; identical metrics?")
    reproduce.add_argument("run", type=int)
    export = sub.add("export", cmd_runs_export, help="the runs table as CSV")
    export.add_argument("-o", "--output", required=True)
    export.add_argument("--sort", metavar="METRIC")

    cat = commands.add("catalog", cmd_catalog, help="estimators and their parameters")
    cat.add_argument("--task", choices=("classification", "regression"))


def _request(args: argparse.Namespace) -> TrainRequest:
    features = [f.strip() for f in args.features.split(",") if f.strip()] if args.features else None
    return call_with_args(
        TrainRequest,
        args,
        estimator=args.model,
        params=list(args.param),
        features=features,
        cv_folds=args.cv,
    )


def _attach_executor(workspace: Workspace, args: argparse.Namespace) -> None:
    from core.cli import prewarmed_executor

    warm = prewarmed_executor()
    wanted = args.executor or workspace.runs.executor_kind()
    if warm is not None and wanted == "local":
        workspace.runs.use_executor(warm)
    elif args.executor or args.dask_address:
        workspace.runs.executor(args.executor, args.dask_address)


def cmd_train(args: argparse.Namespace) -> int:
    if args.search is None and args.trials != 10:
        raise UsageError("--trials needs --search grid|random|bayes")
    progress = TerminalProgress(enabled=not args.json)
    with open_workspace(args) as workspace:
        _attach_executor(workspace, args)
        try:
            if args.search:
                started = workspace.runs.search(_request(args), args.search, args.trials)
            else:
                started = workspace.runs.train(_request(args))
            run = started.result(progress)
        finally:
            progress.finish()
        children = workspace.runs.list(parent=run.id) if run.kind == "search" else []
        ranking = workspace.runs.ranking(run.id) if run.kind == "search" else []
        # The answer first: closing the workspace then stops the idle worker.
        if args.json:
            emit_json(_train_document(run, children) | ({"ranking": ranking} if ranking else {}))
        else:
            _print_train(run, [])
            _print_ranking(ranking)
        sys.stdout.flush()
    if run.status != "done":
        raise RunFailed(
            f"run {run.id} {run.status}: {run.error}",
            where=f"run {run.id}",
            hint=f"`shipway runs show {run.id}` has the traceback and log",
        )
    return 0


def _train_document(run: Any, children: list) -> dict[str, Any]:
    document = {
        "run": run.id,
        "status": run.status,
        "task": run.task,
        "estimator": run.estimator,
        "dataset": f"{run.dataset}@{run.dataset_version}",
        "metrics": run.metrics,
        "duration_s": run.duration_s,
        "model_sha256": run.model_sha256,
        "error": run.error,
    }
    if run.kind == "search":
        document["trials"] = [child.summary() for child in children]
        document["best"] = next((child.id for child in children if child.is_best), None)
    return document


def _print_train(run: Any, children: list) -> None:
    print(
        f"Run {run.id} {run.status}: {run.estimator} on {run.dataset}@{run.dataset_version} "
        f"→ {run.target} ({run.task}), {run.duration_s or 0:.1f} s"
    )
    if children:
        _print_runs(children)
    for name in SHOWN_METRICS[run.task]:
        value = run.metrics.get(name)
        if value is not None:
            print(f"  {name:18} {value:.4f}")
    chosen = run.curves.get("threshold")
    if chosen:
        rule = ", ".join(f"{key}={value:g}" for key, value in chosen["rule"].items())
        print(
            f"  threshold          {chosen['threshold']:.4f} ({rule}): precision "
            f"{chosen['precision']:.4f}, recall {chosen['recall']:.4f} for {chosen['positive']!r}"
        )
    for note in run.notes:
        print(f"  note: {note}")


def _print_runs(runs: list) -> None:
    if not runs:
        print("No runs yet. Train one with `shipway train --data NAME --target COLUMN`.")
        return
    task = runs[0].task
    names = SHOWN_METRICS[task]
    rows = []
    for run in runs:
        cells = [
            run.id,
            ("* " if run.is_best else "") + run.status,
            run.estimator,
            f"{run.dataset}@{run.dataset_version}",
        ]
        cells += [_fmt(run.metrics.get(name)) if run.task == task else "" for name in names]
        rows.append(cells)
    print(table(rows, ("run", "status", "estimator", "data", *names)))


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def cmd_runs_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        runs = workspace.runs.list(sort=args.sort, parent=args.parent, all_runs=args.all)
    if args.json:
        emit_json({"runs": [run.summary() for run in runs], "sort": args.sort})
    else:
        _print_runs(runs)
    return 0


def _print_ranking(ranking: list[dict[str, Any]]) -> None:
    if not ranking:
        return
    rows = [
        (
            row["rank"],
            row["run"],
            ("* " if row["is_best"] else "") + row["status"],
            row["estimator"],
            _fmt(row["value"]),
            "" if row["fit_s"] is None else f"{row['fit_s']:.2f}",
            "" if row["predict_p50_ms"] is None else f"{row['predict_p50_ms']:.2f}",
        )
        for row in ranking
    ]
    metric = ranking[0]["metric"]
    print(table(rows, ("rank", "run", "status", "estimator", metric, "fit s", "predict ms")))


def cmd_runs_show(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        run = workspace.runs.get(args.run)
        ranking = workspace.runs.ranking(run.id) if run.kind == "search" else []
    if args.json:
        emit_json(run.to_dict() | ({"ranking": ranking} if ranking else {}))
        return 0
    _print_train(run, [])
    _print_ranking(ranking)
    given = run.spec.get("params", {})
    print(f"  params: {', '.join(f'{k}={v}' for k, v in given.items()) or 'defaults'}")
    print(f"  features: {', '.join(run.spec.get('features', []))}")
    if run.cv.get("summary"):
        for name, stats in run.cv["summary"].items():
            if stats.get("mean") is not None:
                print(f"  cv {name:15} {stats['mean']:.4f} ± {stats.get('std') or 0:.4f}")
    if run.cv.get("backtest"):
        _print_backtest(run.cv["backtest"], SHOWN_METRICS[run.task])
    if run.error:
        print(f"  error: {run.error}")
    if run.traceback:
        print(run.traceback)
    return 0


def _print_backtest(backtest: dict[str, Any], names: tuple[str, ...]) -> None:
    print(f"  backtest: {backtest['k']} walk-forward windows")
    rows = [
        (
            number,
            f"{window['test_from']} – {window['test_to']}",
            window["train_rows"],
            window["test_rows"],
            *[_fmt(window["metrics"].get(name)) for name in names],
        )
        for number, window in enumerate(backtest["windows"], start=1)
    ]
    summary = backtest["summary"]
    rows.append(("mean", "", "", "", *[_fmt(summary.get(n, {}).get("mean")) for n in names]))
    rows.append(("std", "", "", "", *[_fmt(summary.get(n, {}).get("std")) for n in names]))
    print(table(rows, ("window", "tested on", "train", "test", *names)))


def cmd_runs_compare(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        result = workspace.runs.compare(args.runs)
    return answer(args, result, lambda found: _comparison_text(found, args.runs))


def _comparison_text(result: Any, runs: list[int]) -> str:
    """The metrics of ``runs`` side by side in the order given, then what differs."""
    ids = [str(r) for r in runs]
    rows = [(name, *[_fmt(values.get(i)) for i in ids]) for name, values in result.metrics.items()]
    lines = [table(rows, ("metric", *[f"run {i}" for i in ids]))]
    lines += [
        f"  differs: {name}: " + ", ".join(f"run {i} {values[i]}" for i in ids)
        for name, values in result.differences.items()
    ]
    lines.append(f"Best on {result.primary_metric}: run {result.best}")
    return "\n".join(lines)


def cmd_runs_reproduce(args: argparse.Namespace) -> int:
    progress = TerminalProgress(enabled=not args.json)
    with open_workspace(args) as workspace:
        _attach_executor(workspace, argparse.Namespace(executor=None, dask_address=None))
        try:
            result = workspace.runs.reproduce(args.run, progress)
        finally:
            progress.finish()
        _print_reproduced(args, result)  # before the workspace closes (and stops its worker)
    if result.status != "done":
        raise RunFailed(f"run {result.run} {result.status}: {result.error}")
    return 0


def _print_reproduced(args: argparse.Namespace, result: Reproduction) -> None:
    if args.json:
        emit_json(result.to_dict())
    elif result.identical:
        print(f"Run {result.run} reproduces run {result.of}: every metric is identical")
    else:
        print(f"Run {result.run} differs from run {result.of}:")
        for item in result.differences:
            print(f"  {item['metric']}: {item['original']} → {item['reproduced']}")
    sys.stdout.flush()


def cmd_runs_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as workspace:
        path = workspace.runs.export(args.output, sort=args.sort)
    return reply(args, {"path": str(path)}, f"Wrote {path}")


def cmd_catalog(args: argparse.Namespace) -> int:
    entries = catalog(args.task)
    if args.json:
        emit_json({"estimators": [entry.to_dict() for entry in entries]})
        return 0
    for entry in entries:
        params = ", ".join(p.name for p in entry.params)
        print(f"{entry.key:24} {', '.join(entry.tasks):27} {params}")
    return 0
