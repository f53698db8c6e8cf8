"""``python -m core.serving``: serve one model directory in the foreground.

Exit codes: 0 after a clean stop (SIGTERM/SIGINT), 1 when the server cannot start (one line on
stderr saying why), 2 for wrong arguments. The token may come from ``--token`` or, to keep it
out of process listings, from the ``SHIPWAY_SERVING_TOKEN`` environment variable.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import threading
from pathlib import Path

from core.serving import request_ids, workers
from core.serving.errors import ServingError
from core.serving.server import serve
from core.serving.settings import MB, ServingConfig

TOKEN_VARIABLE = "SHIPWAY_SERVING_TOKEN"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m core.serving", description="Serve a fitted Shipway model over REST."
    )
    p.add_argument("--model-dir", help="model directory (model.joblib + model.json)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    p.add_argument("--token", help=f"bearer token (default: ${TOKEN_VARIABLE})")
    p.add_argument("--log-dir", help="folder for the prediction log and server.log")
    p.add_argument("--watch", metavar="FILE", help='pointer file {"model_dir": ...} to follow')
    p.add_argument("--challenger", metavar="FILE", help="challenger.json to follow (shadow/split)")
    p.add_argument("--ready-file", metavar="FILE", help="write {port, pid} here once listening")
    p.add_argument("--threads", type=int, default=4, help="worker threads (4)")
    p.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="another Host name to accept (repeatable)",
    )
    p.add_argument(
        "--extra-columns",
        choices=("ignore", "reject"),
        default="ignore",
        help="what to do with columns the model does not read (ignore)",
    )
    p.add_argument(
        "--no-log-inputs",
        action="store_true",
        help="keep predictions but not the input rows in the prediction log",
    )
    p.add_argument("--max-body-mb", type=float, default=10.0, help="body size limit (10 MB)")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port (POSIX; default 1)",
    )
    p.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)  # a worker's inherited socket
    p.add_argument("--metrics-dir", help=argparse.SUPPRESS)  # where workers share their counts
    p.add_argument("--supervisor", type=int, help=argparse.SUPPRESS)  # the supervisor's pid
    return p


def _setup_logging(log_dir: str | None) -> None:
    handler: logging.Handler
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(Path(log_dir) / "server.log", encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.model_dir and not args.watch:
        parser().error("give --model-dir, --watch, or both")
    if args.threads < 1 or args.max_body_mb <= 0 or args.workers < 1:
        parser().error("--threads, --workers and --max-body-mb must be positive")
    token = args.token or os.environ.get(TOKEN_VARIABLE) or None
    try:
        _setup_logging(args.log_dir)
        if args.workers > 1 and args.listen_fd is None and workers.supported():
            return _supervise(args, token)
        _serve(args, token)
    except (ServingError, OSError) as exc:
        print(f"shipway serving: {exc}", file=sys.stderr)
        return 1
    return 0


def _config(args: argparse.Namespace, token: str | None) -> ServingConfig:
    return ServingConfig(
        token=token,
        max_body_bytes=int(args.max_body_mb * MB),
        extra_columns=args.extra_columns,
        allowed_hosts=tuple(args.allow_host),
        log_dir=args.log_dir,
        log_inputs=not args.no_log_inputs,
        metrics_dir=args.metrics_dir,
        challenger_file=args.challenger,
    )


def _serve(args: argparse.Namespace, token: str | None) -> None:
    """One process: the whole server, or one worker of a supervised server."""
    stop = threading.Event()
    sock = None
    if args.listen_fd is not None:
        sock = socket.socket(fileno=args.listen_fd)
        if args.supervisor:
            workers.watch_supervisor(args.supervisor, stop)
    serve(
        args.model_dir,
        host=args.host,
        port=args.port,
        watch=args.watch,
        ready_file=None if sock is not None else args.ready_file,
        threads=args.threads,
        config=_config(args, token),
        stop=stop,
        sock=sock,
    )


def _supervise(args: argparse.Namespace, token: str | None) -> int:
    if token:
        os.environ[TOKEN_VARIABLE] = token  # the workers inherit it; never on a command line
    if request_ids.key_from_environment() is None:  # one key for every worker's request ids
        os.environ[request_ids.KEY_VARIABLE] = request_ids.new_key().hex()
    worker_args = [
        "--host",
        args.host,
        "--threads",
        str(args.threads),
        "--extra-columns",
        args.extra_columns,
        "--max-body-mb",
        str(args.max_body_mb),
    ]
    for flag in ("model_dir", "watch", "log_dir", "challenger"):
        value = getattr(args, flag)
        if value:
            worker_args += [f"--{flag.replace('_', '-')}", str(value)]
    for host in args.allow_host:
        worker_args += ["--allow-host", host]
    if args.no_log_inputs:
        worker_args.append("--no-log-inputs")
    metrics_dir = str(Path(args.log_dir) / "metrics") if args.log_dir else None
    return workers.supervise(
        worker_args,
        host=args.host,
        port=args.port,
        token=token,
        workers=args.workers,
        ready_file=args.ready_file,
        metrics_dir=metrics_dir,
    )  # fmt: skip
