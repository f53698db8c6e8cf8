"""``shipway traffic`` (what a deployment answered, per time bucket), ``shipway monitor
check`` (evaluate [triggers] now: the one read that acts) and ``shipway monitor segments``
(live metrics per segment of the feedback rows)."""

from __future__ import annotations

import argparse
import math

from core.cli.output import TerminalProgress, emit_json, table
from core.cli.parsing import Commands, add_deployment
from core.cli.project_cmds import open_workspace


def register(commands: Commands) -> None:
    traffic = commands.add(
        "traffic",
        cmd_traffic,
        help="request rate, latency, errors and prediction mix of a deployment",
    )
    add_deployment(traffic)
    traffic.add_argument(
        "--buckets", type=int, metavar="SECONDS", help="bucket length (default: [drift] buckets)"
    )
    traffic.add_argument(
        "--last", type=int, default=24, metavar="N", help="the newest N buckets (default 24)"
    )
    monitor = commands.action_group("monitor", "evaluate triggers; live metrics per segment")
    check = monitor.add(
        "check",
        cmd_monitor_check,
        help="evaluate [triggers] now: record due alerts, retrain when asked",
    )
    check.add_argument("deployment", nargs="?", metavar="ID", help="one deployment (default: all)")
    _register_segments(monitor)


def _register_segments(monitor: Commands) -> None:
    segments = monitor.add(
        "segments",
        cmd_monitor_segments,
        help="live metrics per segment of the rows that received feedback",
    )
    add_deployment(segments)
    segments.add_argument(
        "--last", type=int, metavar="N", help="the newest N predicted rows (default: the whole log)"
    )
    segments.add_argument(
        "--min-rows", type=int, metavar="N", help="rows a segment needs to count in the gap (10)"
    )


def cmd_traffic(args: argparse.Namespace) -> int:
    """What a deployment answered per time bucket, from its prediction log: requests, errors
    (4xx and 5xx), latency p50/p95 and the prediction mix."""
    with open_workspace(args) as workspace:
        series = workspace.monitoring.traffic(args.deployment, args.buckets, args.last)
    if args.json:
        emit_json(series.to_dict())
        return 0
    document = series.to_dict()
    print(f"Traffic of {series.deployment}, buckets of {series.bucket_seconds} s: "
          f"{series.total:,} requests")  # fmt: skip
    rows = [
        (
            bucket["start"],
            bucket["requests"],
            bucket["errors"],
            _ms(bucket["latency_p50_ms"]),
            _ms(bucket["latency_p95_ms"]),
            _mix(bucket),
        )
        for bucket in document["buckets"]
        if bucket["requests"]
    ]
    if rows:
        print(table(rows, ("bucket", "requests", "errors", "p50", "p95", "predictions")))
    return 0


def _ms(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.1f} ms"


def _mix(bucket: dict) -> str:
    if "mix" in bucket:
        shares = [(k, v) for k, v in bucket["mix"].items() if v]
        return ", ".join(f"{k} {v:.0%}" for k, v in sorted(shares, key=lambda kv: -kv[1]))
    mean = bucket.get("mean_prediction")
    return "" if mean is None else f"mean {mean:.4g}"


def cmd_monitor_check(args: argparse.Namespace) -> int:
    """Evaluate the [triggers] of shipway.toml over the drift series of one deployment, or of
    every running one: alerts that are due are recorded (once per streak) and, with retrain =
    true, the version's spec is trained on the newest data, registered and its production gates
    evaluated. Nothing is promoted."""
    progress = TerminalProgress(enabled=not args.json)
    with open_workspace(args) as workspace:
        try:
            result = workspace.lifecycle.check_triggers(args.deployment, progress=progress)
        finally:
            progress.finish()
    if args.json:
        emit_json(result.to_dict())
        return 0
    print(f"Checked {len(result.deployments)} deployment(s): {len(result.alerts)} alert(s) fired")
    for alert in result.alerts:
        print(f"ALERT {alert.deployment} {alert.kind}: {alert.message}")
        if alert.retrain_status:
            retrained = f"{alert.model}@{alert.retrain_version}" if alert.retrain_version else ""
            print(f"  retraining: {alert.retrain_status} {retrained} "
                  f"{alert.retrain_error or ''}".rstrip())  # fmt: skip
    for problem in result.problems:
        print(f"  note: {problem}")
    return 0


def cmd_monitor_segments(args: argparse.Namespace) -> int:
    """Every live metric per value of each [evaluation] segments column, on the rows the
    deployment's version answered that received feedback, with 95% bootstrap intervals, beside
    the same segment on the test split, and the gap of the primary metric between the best and
    the worst segment."""
    with open_workspace(args) as workspace:
        found = workspace.monitoring.live_segments(
            args.deployment, last=args.last, min_rows=args.min_rows
        )
    if args.json:
        emit_json(found.to_dict())
        return 0
    print(f"Live metrics per segment of {found.deployment} ({found.model}@{found.version}): "
          f"{found.rows:,} rows with feedback of {found.logged_rows:,} logged")  # fmt: skip
    for note in found.notes:
        print(f"  {note}")
    for column in found.columns:
        print()
        _print_column(column, found.metrics, found.metric)
    return 0


def _print_column(column, metrics: tuple[str, ...], metric: str) -> None:
    """The primary metric with its interval and test-split value, then the other metrics."""
    if column.status != "measured":
        print(f"By {column.column}: not measured")
    else:
        print(f"By {column.column} ({_gap(column, metric)}):")
        others = [name for name in metrics if name != metric]
        rows = [
            (s.value, s.rows, _live(s, metric), _number(s.test.get(metric)),
             *(_number(s.metrics.get(name)) for name in others), s.note)
            for s in column.segments
        ]  # fmt: skip
        print(table(rows, ("segment", "rows", f"{metric} (95% CI)", "test split", *others,
                           "note")))  # fmt: skip
    for note in column.notes:
        print(f"  note: {note}")


def _gap(column, metric: str) -> str:
    if column.gap is None:
        return f"no {metric} gap"
    if column.best == column.worst or column.gap == 0:
        return f"{metric} the same in every segment compared"
    return f"{metric} gap {column.gap:.4g}: {column.best} best, {column.worst} worst"


def _live(segment, name: str) -> str:
    text = _number(segment.metrics.get(name))
    if name in segment.intervals:
        low, high = segment.intervals[name]
        text += f" ({low:.3f}-{high:.3f})"
    return text


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
