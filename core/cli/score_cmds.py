"""``shipway score``: a model version's predictions for a data set, a file or a query, stored as
a new data set version (with its lineage) and checked for drift like live traffic.

Ctrl-C cancels the job: the workers stop, the temporary file is removed and no version is
recorded (exit 130). A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

from core.cli.output import TerminalProgress, emit_json
from core.cli.parsing import Commands, add_choice, call_with_args
from core.cli.project_cmds import open_workspace


def register(commands: Commands) -> None:
    score = commands.add(
        "score",
        cmd_score,
        help="batch predictions of a model version, stored as a data set version",
    )
    score.add_argument("ref", metavar="MODEL@ALIAS|MODEL@V", help="the model version")
    source = score.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="NAME[@V]", help="a data set version of this project")
    source.add_argument("--file", metavar="PATH", help="a CSV, TSV or Parquet file")
    source.add_argument("--sql", metavar="QUERY", help="a query (with --url)")
    score.add_argument("--url", help="the database of --sql, e.g. sqlite:///other.db")
    score.add_argument("-o", "--output", metavar="OUT", help="also export it (.parquet or .csv)")
    score.add_argument(
        "--name", help="the new data set's name (default: INPUT-scored-MODEL-vVERSION)"
    )
    score.add_argument(
        "--keep-columns",
        metavar="A,B",
        default="",
        help="other input columns to keep (an id, the actual target)",
    )
    add_choice(
        score,
        "--invalid",
        ("error", "missing"),
        "a value that does not read as its column's type: stop (default) or score it as missing",
    )
    score.add_argument(
        "--chunk-rows", type=int, default=None, metavar="N", help="rows per chunk (default 50,000)"
    )
    score.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="threads that score (default: one per core)",
    )
    add_choice(score, "--executor", ("local", "dask"))
    score.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler (dask)")
    score.add_argument("--no-drift", action="store_true", help="skip the drift check")


def _request(args: argparse.Namespace) -> Any:
    from core.scoring.spec import DEFAULT_CHUNK_ROWS
    from core.services import ScoreRequest

    keep = tuple(name.strip() for name in args.keep_columns.split(",") if name.strip())
    return call_with_args(
        ScoreRequest,
        args,
        model=args.ref,
        dataset=args.data,
        keep_columns=keep,
        chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS,
        drift=not args.no_drift,
    )


def cmd_score(args: argparse.Namespace) -> int:
    """Score a data set version, a CSV/TSV/Parquet file or a SQL query with a model version, in
    chunks, on all cores (or a Dask cluster). The predictions (and class probabilities) become a
    new data set version, with the input columns the model read."""
    from core.errors import UsageError
    from core.progress import CancelToken

    if args.output and Path(args.output).suffix.lower() not in (".parquet", ".csv"):
        raise UsageError("-o takes a .parquet or .csv file", where=args.output)
    request = _request(args)
    progress = TerminalProgress(enabled=not args.json)
    cancel = CancelToken()
    previous = signal.getsignal(signal.SIGINT)

    def interrupted(signum: int, frame: Any) -> None:
        cancel.cancel()
        signal.signal(signal.SIGINT, previous)  # a second Ctrl-C interrupts at once

    signal.signal(signal.SIGINT, interrupted)
    try:
        with open_workspace(args) as workspace:
            result = workspace.scoring.score(request, progress=progress, cancel=cancel)
            exported = None
            if args.output:
                exported = workspace.data.export(result.version.ref, args.output)
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.finish()
    document = result.to_dict() | {"output": None if exported is None else str(exported)}
    if args.json:
        emit_json(document)
    else:
        print(_text(result, exported))
    return 0


def _text(result: Any, exported: Path | None) -> str:
    version = result.version
    lines = [
        f"{version.ref}  {version.rows:,} rows × {version.columns} columns"
        + ("" if result.created else "  (identical to the stored version)"),
        f"{version.source}; {result.chunks} chunk(s), {result.executor}",
    ]
    lines += [f"invalid values scored as missing: {k} ×{n:,}" for k, n in result.invalid.items()]
    if result.drift is not None:
        report = result.drift
        lines.append(
            f"drift ({report.source}): {'yes' if report.dataset_drift else 'no'} "
            f"({report.drifted_features} of {report.tested_features} features drifted"
            + (f": {', '.join(report.drifted)}" if report.drifted_features else "")
            + f"); full report: shipway drift {result.model} --dataset {version.ref}"
        )
    elif result.drift_note:
        lines.append(result.drift_note)
    if exported is not None:
        lines.append(f"exported to {exported}")
    return "\n".join(lines)
