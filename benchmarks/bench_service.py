"""The always-on service's own cost: idle CPU and memory, and a monitoring check of N deployments.

- **Idle**: ``shipway service run`` on a project with one kept deployment and a monitoring
  schedule, as a real process, for ``--idle`` seconds after it settled; its CPU time (user +
  system, from /proc) over that time, and its resident memory at the end. Targets: under 1% of
  a core, under 150 MB.
- **A check of N deployments**: N deployments of one version (one worker process each), each
  with an hour of logged traffic, and one ``Lifecycle.check_triggers`` over all of them (what
  the service does every ``[monitor] every``), timed cold (first look: every bucket computed)
  and warm (the next minute: cached buckets). Target: a warm check under 1 s, i.e. under 1 s a
  minute at ``every = "1m"``. The floor is the drift computation itself over the same rows.

    .venv/bin/python benchmarks/bench_service.py                 # 10 deployments, 60 s idle
    .venv/bin/python benchmarks/bench_service.py --deployments 3 --idle 20   # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _project(folder: Path) -> Path:
    from core.services import TrainRequest, Workspace

    root = folder / "p"
    with Workspace.create(root, name="bench") as ws:
        ws.data.import_file(PENGUINS)
        run = ws.runs.train(TrainRequest(data="penguins", target="species",
                                         estimator="logistic_regression")).result()  # fmt: skip
        ws.lifecycle.register(run.id, "peng")
    settings = root / "shipway.toml"
    settings.write_text(settings.read_text(encoding="utf-8")
                        + '\n[triggers]\ndrift_buckets = 3\n\n[monitor]\nevery = "1m"\n',
                        encoding="utf-8")  # fmt: skip
    return root


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def idle(root: Path, seconds: float) -> dict:
    """The service process's CPU share and memory while it has nothing to do."""
    from core.services import Workspace

    with Workspace.open(root) as ws:
        ws.deployments.deploy("peng@1", workers=1, keep=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "--project", str(root), "service", "run"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(15)  # imports, the first check of the deployment
        start_cpu, start = _cpu_seconds(process.pid), time.monotonic()
        time.sleep(seconds)
        used = _cpu_seconds(process.pid) - start_cpu
        elapsed = time.monotonic() - start
        return {"cpu_share": used / elapsed, "rss_mb": _rss_mb(process.pid), "seconds": elapsed}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        with Workspace.open(root) as ws:
            for deployment in ws.deployments.list(include_stopped=False):
                ws.deployments.undeploy(deployment.id)


def check(root: Path, deployments: int) -> dict:
    """One monitoring check over ``deployments`` deployments: cold, then warm."""
    from core.services import Workspace
    from tests.logged_traffic import log_an_hour  # the tests' hour of traffic

    with Workspace.open(root) as ws:
        made = [ws.deployments.deploy("peng@1", workers=1) for _ in range(deployments)]
        start = math.floor(time.time() / 3600) * 3600 - 2 * 3600
        for deployment in made:
            log_an_hour(ws, "peng@1", ws.deployments.folder(deployment), start)
        try:
            timings = {}
            for label in ("cold", "warm"):
                began = time.perf_counter()
                result = ws.lifecycle.check_triggers()
                timings[label] = time.perf_counter() - began
            assert len(result.deployments) == deployments
            began = time.perf_counter()
            for deployment in made:  # the floor: the drift computation alone, warm
                ws.monitoring.drift_series("peng@1", deployment.id)
            timings["drift_series_only"] = time.perf_counter() - began
        finally:
            for deployment in made:
                ws.deployments.undeploy(deployment.id)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=10)
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of idle measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-service-") as folder:
        root = _project(Path(folder))
        results = {"idle": idle(root, args.idle), "check": check(root, args.deployments)}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    quiet = results["idle"]
    print(
        f"idle service: {quiet['cpu_share']:.2%} of a core (target < 1%), "
        f"{quiet['rss_mb']:.0f} MB resident (target < 150 MB), over {quiet['seconds']:.0f} s"
    )
    timing = results["check"]
    print(f"check of {args.deployments} deployments: cold {timing['cold']:.2f} s, "
          f"warm {timing['warm']:.2f} s (target < 1 s a minute); drift series alone "
          f"{timing['drift_series_only']:.2f} s (ratio warm/floor "
          f"{timing['warm'] / max(timing['drift_series_only'], 1e-9):.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
