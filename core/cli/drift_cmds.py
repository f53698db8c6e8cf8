"""``shipway drift``: how far current data has moved from a model version's training rows.

Drift is a finding, not an error: the command exits 0 whatever it finds (1 only when it cannot
compare, e.g. an unknown version or an unreadable file).
"""

from __future__ import annotations

import argparse

from core.cli.output import TerminalProgress, answer, table
from core.cli.parsing import Commands
from core.cli.project_cmds import open_workspace


def register(commands: Commands) -> None:
    drift = commands.add(
        "drift", cmd_drift, help="drift of current data against a model version's training rows"
    )
    drift.add_argument("ref", metavar="M@V", help="the model version (or M@ALIAS)")
    source = drift.add_mutually_exclusive_group(required=True)
    source.add_argument("--current", metavar="FILE", help="a CSV, TSV, Parquet or JSONL file")
    source.add_argument("--dataset", metavar="N@V", help="a data set version of this project")
    source.add_argument("--deployment", metavar="ID", help="a deployment's prediction log")
    drift.add_argument(
        "--window",
        type=int,
        metavar="N",
        help="the last N rows of the log (default: [drift] window)",
    )
    drift.add_argument(
        "--buckets",
        type=int,
        metavar="SECONDS",
        help="drift per time bucket of the log (cached; a read: `shipway monitor check` "
        "evaluates [triggers])",
    )
    drift.add_argument(
        "--last", type=int, metavar="N", help="with --buckets: only the newest N bucket lengths"
    )


def cmd_drift(args: argparse.Namespace) -> int:
    """Compare a file, a data set version or a deployment's logged traffic with the training
    rows of a model version, feature by feature (tests chosen as Evidently chooses them;
    thresholds in [drift] of shipway.toml)."""
    from core.errors import UsageError

    progress = TerminalProgress(enabled=not args.json)
    for option in ("window", "buckets"):
        if getattr(args, option) is not None and args.deployment is None:
            raise UsageError(f"--{option} needs --deployment", hint="it cuts a deployment's log")
    if args.last is not None and args.buckets is None:
        raise UsageError("--last needs --buckets", hint="e.g. --buckets 3600 --last 24")
    with open_workspace(args) as workspace:
        if args.buckets is not None:
            series = workspace.monitoring.drift_series(
                args.ref,
                args.deployment,
                args.buckets,
                last=args.last,
                progress=progress,
            )
            progress.finish()
            return answer(args, series, _series_text)
        report = workspace.monitoring.drift(
            args.ref,
            current=args.current,
            dataset=args.dataset,
            deployment=args.deployment,
            window=args.window,
            progress=progress,
        )
    progress.finish()
    return answer(args, report, report_text)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.3g}" if abs(value) >= 0.001 or value == 0 else f"{value:.1e}"


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _row(feature) -> tuple:
    missing = f"{_share(feature.missing_share_reference)} → {_share(feature.missing_share_current)}"
    if feature.missing_share_changed:
        missing += " !"
    psi = _number(feature.psi) + ({"warning": " !", "drift": " !!"}.get(feature.psi_level, ""))
    unseen = ", ".join(value for value, _ in feature.unseen[:3])
    if feature.unseen_categories > 3:
        unseen += f" (+{feature.unseen_categories - 3})"
    return (
        feature.name,
        feature.kind,
        feature.test or feature.status,
        _number(feature.score),
        feature.rule,
        "yes" if feature.drifted else "no" if feature.status == "tested" else "-",
        psi,
        missing,
        unseen,
    )


HEADERS = ("feature", "kind", "test", "score", "rule", "drifted", "psi", "missing", "unseen")


def report_text(report) -> str:
    verdict = "yes" if report.dataset_drift else "no"
    lines = [
        f"Drift of {report.model}@{report.version}: {report.source} against "
        f"{report.reference_rows:,} training rows",
        f"Dataset drift: {verdict} ({report.drifted_features} of {report.tested_features} "
        f"features drifted, {report.drift_share:.0%}; threshold "
        f"{report.thresholds.get('drift_share', 0.5):.0%})",
        "",
        table([_row(feature) for feature in report.features], HEADERS),
    ]
    extra = [f for f in (report.prediction, report.target) if f is not None]
    if extra:
        lines += ["", table([_row(feature) for feature in extra], ("column", *HEADERS[1:]))]
    if report.live is not None:
        shown = [
            (name, _number(value), _number(report.live.training.get(name)))
            for name, value in report.live.metrics.items()
        ]
        lines += ["", f"Live metrics on {report.live.rows:,} rows with feedback:"]
        lines.append(table(shown, ("metric", "live", "test split")))
    lines += [f"note: {problem}" for problem in report.problems]
    return "\n".join(lines)


def _series_text(series) -> str:
    lines = [
        f"Drift of {series.model}@{series.version} in deployment {series.deployment}, "
        f"buckets of {series.bucket_seconds} s"
    ]
    if not series.buckets:
        return lines[0] + "\nNo logged rows answered by this version yet."
    rows = [
        (
            bucket.start,
            bucket.rows,
            "yes" if bucket.report.dataset_drift else "no",
            f"{bucket.report.drift_share:.0%}",
            ", ".join(bucket.report.drifted) or "-",
            _live(bucket.report.live),
            "" if bucket.complete else "(filling)",
        )
        for bucket in series.buckets
    ]
    headers = ("bucket", "rows", "drift", "share", "drifted features", "live", "")
    lines += ["", table(rows, headers)]
    lines += ["", "Latest bucket:", report_text(series.latest.report)]
    return "\n".join(lines)


def _live(live) -> str:
    if live is None:
        return ""
    return ", ".join(f"{name} {_number(value)}" for name, value in list(live.metrics.items())[:2])
