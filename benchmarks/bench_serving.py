"""Serving speed: Shipway's REST server against the in-process floor and `mlflow models serve`.

One fitted pipeline (RandomForest, 100 trees, on 50,000 x 20 rows, trained and registered
through Shipway) is served by Shipway (``python -m core.serving`` as ``shipway deploy`` starts
it: two worker processes of one thread; with and without the prediction log; and as one
process of four threads) and by ``mlflow models serve --env-manager local`` (its default one
worker, and two) from the same pipeline saved with ``mlflow.sklearn.save_model``. Load
comes from ``wrk`` on loopback, bounded in time; every server gets the same body (MLflow's
``dataframe_split`` form, which both accept).

Measured: single-row p50/p99 at concurrency 1, throughput at concurrency 8 for 1-row and 100-row
bodies, the cost of the prediction log, and the server's memory over a soak run. Latencies come
from each server measured on its own; the throughput ratios (against MLflow, and with against
without the log) from rounds in which the servers run side by side and take turns (see
:func:`alternating`). The floor is
``pipeline.predict`` on a one-row DataFrame in this process.

    .venv/bin/python benchmarks/bench_serving.py                 # about 17 minutes (soak 300 s)
    .venv/bin/python benchmarks/bench_serving.py --soak 30 --duration 5 --rounds 2 \
        --round-seconds 5                                        # a quick check

``--onnx`` compares instead the pickle-free bundle (``bundle export --format onnx``) with the
joblib one, both served the same way: single-row p50, 100-row throughput, bundle sizes
(:mod:`bench_serving_onnx`; about 3 minutes with ``--duration 15``).

MLflow is run from ``benchmarks/.venv-mlflow`` (created by ``--setup-mlflow``, with the same
scikit-learn, numpy, pandas and scipy as this environment); without it that column is skipped.
``wrk`` comes from Debian (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data" / "serving"
MLFLOW_VENV = HERE / ".venv-mlflow"
# MLflow 3 saves scikit-learn models with skops and refuses pickles unless told; a pipeline
# saved with cloudpickle is what most MLflow users serve.
# `mlflow models serve` starts uvicorn through the shell: the venv's bin must be on PATH.
MLFLOW_ENV = os.environ | {
    "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    "PATH": f"{MLFLOW_VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
}
sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the model ------------------------------------------------------------------------------


def model_dir(rows: int) -> Path:
    """A serving model directory of a RandomForest(100) trained through Shipway (cached)."""
    folder = DATA / f"model-{rows}"
    if (folder / "model.json").is_file():
        return folder
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    from core.services import TrainRequest, Workspace

    X, y = make_classification(n_samples=rows, n_features=20, n_informative=12, random_state=7)
    frame = pd.DataFrame(X, columns=[f"f{i:02d}" for i in range(20)]).round(5)
    frame["label"] = np.where(y == 1, "yes", "no")
    project = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    frame.to_csv(project / "data.csv", index=False)
    log(f"training RandomForest(100) on {rows:,} x 20 ...")
    with Workspace.create(project / "p") as ws:
        ws.data.import_file(project / "data.csv")
        request = TrainRequest("data", "label", estimator="random_forest",
                               params={"n_estimators": 100})  # fmt: skip
        run = ws.runs.train(request).result()
        ws.lifecycle.register(run.id, "bench")
        ws.registry.write_model_dir("bench@1", folder)
    shutil.rmtree(project, ignore_errors=True)
    return folder


def bodies(folder: Path) -> dict[str, str]:
    import numpy as np

    meta = json.loads((folder / "model.json").read_text())
    columns = [entry["name"] for entry in meta["io_schema"]["inputs"]]
    rng = np.random.default_rng(1)
    made = {}
    for count in (1, 100):
        data = rng.normal(0, 1, (count, len(columns))).round(5).tolist()
        made[f"{count} row" + ("s" if count > 1 else "")] = json.dumps(
            {"dataframe_split": {"columns": columns, "data": data}}
        )
    return made


def floor(folder: Path, body: str, calls: int = 300) -> dict[str, float]:
    """In-process predict on a one-row DataFrame (the frame built once, outside the timing)."""
    import pandas as pd

    from core.serving.frames import model_frame
    from core.serving.model import load_model

    model = load_model(folder)
    split = json.loads(body)["dataframe_split"]
    frame = model_frame(pd.DataFrame(split["data"], columns=split["columns"]), model.schema,
                        model.features)  # fmt: skip
    for _ in range(10):
        model.pipeline.predict(frame)
    timings = []
    for _ in range(calls):
        mark = time.perf_counter()
        model.pipeline.predict(frame)
        timings.append((time.perf_counter() - mark) * 1000)
    timings.sort()
    return {"p50_ms": statistics.median(timings), "p99_ms": timings[int(0.99 * len(timings))]}


# -- servers ----------------------------------------------------------------------------------


class Server:
    def __init__(
        self, name: str, command: list[str], url: str, path: str, ready: str, env=None
    ) -> None:
        self.name, self.url, self.path = name, url, path
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(self.url + ready, timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{name} did not start (exit code {self.process.poll()})")

    def rss_mb(self) -> float:
        """Resident memory of the server process and its children."""
        total = 0
        for pid in _tree(self.process.pid):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process and its children so far."""
        return sum(_cpu_seconds(Path(f"/proc/{pid}/stat")) for pid in _tree(self.process.pid))

    def thread_cpu_seconds(self, name: str) -> float:
        """CPU time so far of the threads the OS knows by ``name``, in all server processes."""
        total = 0.0
        for pid in _tree(self.process.pid):
            for task in Path(f"/proc/{pid}/task").glob("*"):
                try:
                    named = (task / "comm").read_text().strip() == name
                except OSError:
                    continue
                total += _cpu_seconds(task / "stat") if named else 0.0
        return total

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGKILL)


def _cpu_seconds(stat: Path) -> float:
    """utime + stime (fields 14 and 15) of a /proc stat file; 0 for a process that ended."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    found = [pid]
    for child in Path("/proc").glob("[0-9]*"):
        try:
            if int(child.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found += _tree(int(child.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shipway_server(
    folder: Path, with_log: bool, workers: int, challenger: Path | None = None
) -> Server:
    """The server as ``shipway deploy`` starts it (workers > 1: one thread each);
    ``challenger``: a challenger.json beside it."""
    port = free_port()
    command = [sys.executable, "-m", "core.serving", "--model-dir", str(folder),
               "--port", str(port)]  # fmt: skip
    if challenger is not None:
        command += ["--challenger", str(challenger)]
    if workers > 1:
        command += ["--workers", str(workers), "--threads", "1"]
    if with_log:
        logs = Path(tempfile.mkdtemp(prefix="bench-log-"))
        command += ["--log-dir", str(logs)]
    name = "shipway" + ("" if with_log else ", no log") + f", {workers} proc"
    name += ", shadow challenger" if challenger is not None else ""
    return Server(name, command, f"http://127.0.0.1:{port}", "/predict", "/health")


def mlflow_server(folder: Path, workers: int = 1) -> Server | None:
    python = MLFLOW_VENV / "bin" / "python"
    if not python.exists():
        log("benchmarks/.venv-mlflow is missing: run with --setup-mlflow to compare with MLflow")
        return None
    target = DATA / f"mlflow-{folder.name}"
    if not (target / "MLmodel").is_file():
        shutil.rmtree(target, ignore_errors=True)
        script = (
            "import joblib, mlflow.sklearn, sys; "
            "mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2], "
            "serialization_format='cloudpickle')"
        )
        subprocess.run([str(python), "-c", script, str(folder / "model.joblib"), str(target)],
                       check=True, env=MLFLOW_ENV)  # fmt: skip
    port = free_port()
    command = [str(MLFLOW_VENV / "bin" / "mlflow"), "models", "serve", "-m", str(target),
               "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port),
               "--workers", str(workers)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    name = f"mlflow, {workers} proc"
    return Server(name, command, url, "/invocations", "/ping", env=MLFLOW_ENV)


def setup_mlflow() -> None:
    from importlib import metadata

    pins = [f"{name}=={metadata.version(name)}"
            for name in ("scikit-learn", "numpy", "pandas", "scipy", "joblib")]  # fmt: skip
    subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    subprocess.run([str(MLFLOW_VENV / "bin" / "pip"), "install", "-q", "mlflow", *pins],
                   check=True)  # fmt: skip


# -- load ------------------------------------------------------------------------------------

_LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open(os.getenv("BENCH_BODY")):read("*a")
"""


def wrk(server: Server, body: str, connections: int, seconds: float) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    (folder / "post.lua").write_text(_LUA)
    (folder / "body.json").write_text(body)
    threads = 1 if connections == 1 else 2
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         "-s", str(folder / "post.lua"), server.url + server.path],
        capture_output=True, text=True, env=os.environ | {"BENCH_BODY": str(folder / "body.json")},
        check=True,
    )  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    return _parse_wrk(result.stdout)


def _parse_wrk(text: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    percent = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", text, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)$", text, re.M)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50_ms": ms(percent["50"]),
        "p99_ms": ms(percent["99"]),
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "failed": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


# -- the run ---------------------------------------------------------------------------------


def measure_server(server: Server, made: dict[str, str], seconds: float) -> dict[str, dict]:
    wrk(server, made["1 row"], 2, 2)  # warm up
    figures = {"c1, 1 row": wrk(server, made["1 row"], 1, seconds)}
    for name, body in made.items():
        figures[f"c8, {name}"] = wrk(server, body, 8, seconds)
    figures["rss_mb"] = {"after": server.rss_mb()}
    return figures


def soak(server: Server, body: str, seconds: float, step: float = 10.0) -> dict[str, float]:
    wrk(server, body, 8, min(step, seconds))  # warm-up chunk, not counted
    samples, requests = [], 0
    elapsed = 0.0
    while elapsed < seconds:
        chunk = min(step, seconds - elapsed)
        requests += wrk(server, body, 8, chunk)["requests"]
        samples.append(server.rss_mb())
        elapsed += chunk
    return {
        "seconds": seconds,
        "requests": requests,
        "rss_first_mb": samples[0],
        "rss_last_mb": samples[-1],
        "rss_min_mb": min(samples),
        "rss_max_mb": max(samples),
        "change": samples[-1] / samples[0] - 1,
    }


NO_LOG = "shipway, no log, 2 proc"


def alternating(folder: Path, made: dict[str, str], args: argparse.Namespace) -> dict:
    """Throughput at concurrency 8 of the servers side by side, taking turns, round by round.

    This machine's speed changes from minute to minute (a VM on a shared host: steal time
    reached 50% while this was written), so two servers measured minutes apart are not
    comparable. Here every server is running, and in each round each one gets the same load
    in turn (the order rotates from round to round); a ratio is the median over the rounds of
    the ratio within a round.
    """
    from core.serving.predlog import WRITER_THREAD

    factories = {DEFAULT: lambda: shipway_server(folder, True, 2),
                 NO_LOG: lambda: shipway_server(folder, False, 2)}  # fmt: skip
    if not args.skip_mlflow:
        factories["mlflow, 1 proc"] = lambda: mlflow_server(folder, 1)
        factories["mlflow, 2 proc"] = lambda: mlflow_server(folder, 2)
    servers: dict[str, Server] = {}
    rps: dict[str, dict[str, list[float]]] = {body: {} for body in made}
    cpu: dict[str, dict[str, list[float]]] = {body: {} for body in made}  # ms per request
    writer_share: list[float] = []  # the log writer thread's part of the server's CPU
    try:
        for name, factory in factories.items():
            if (server := factory()) is not None:
                servers[name] = server
                wrk(server, made["1 row"], 8, 2)  # warm up
        names = list(servers)
        for index in range(args.rounds):
            log(f"round {index + 1} of {args.rounds} ...")
            turn = names[index % len(names) :] + names[: index % len(names)]
            for body_name, body in made.items():
                for name in turn:
                    if name == NO_LOG and body_name != "1 row":
                        continue  # the log's cost is measured on the small body only
                    server = servers[name]
                    before = server.cpu_seconds(), server.thread_cpu_seconds(WRITER_THREAD)
                    figures = wrk(server, body, 8, args.round_seconds)
                    spent = server.cpu_seconds() - before[0]
                    if name == DEFAULT and body_name == "1 row":
                        writer = server.thread_cpu_seconds(WRITER_THREAD) - before[1]
                        writer_share.append(writer / spent)
                    rps[body_name].setdefault(name, []).append(figures["rps"])
                    cpu[body_name].setdefault(name, []).append(
                        1000 * spent / max(figures["requests"], 1)
                    )
    finally:
        for server in servers.values():
            server.stop()
    return {"rps": rps, "cpu_ms": cpu, "writer_share": writer_share}


def challenger_files(folder: Path) -> Path:
    """A challenger of the same cost as the champion (the same forest, stored with another
    compression, so another model file and sha256: a server never challenges a model with
    itself), and the challenger.json that names it in shadow mode."""
    import io

    import joblib

    from core.serving.challenger import write_spec
    from core.serving.model import load_model, read_metadata, write_model_dir

    target = DATA / "challenger"
    if not (target / "model" / "model.json").is_file():
        meta, buffer = read_metadata(folder), io.BytesIO()
        joblib.dump(load_model(folder).pipeline, buffer, compress=("zlib", 6))
        write_model_dir(target / "model", buffer.getvalue(), name=meta["name"],
                        version=meta["version"] + 1, task=meta["task"],
                        io_schema=meta["io_schema"])  # fmt: skip
    write_spec(target / "challenger.json", {"model_dir": "model", "mode": "shadow"})
    return target / "challenger.json"


def challenger_rounds(folder: Path, made: dict[str, str], args: argparse.Namespace) -> dict:
    """Single-row latency at concurrency 1 of the champion alone and with a shadow challenger,
    both running, taking turns round by round (see :func:`alternating`)."""
    spec = challenger_files(folder)
    servers = {"alone": shipway_server(folder, True, 2),
               "shadow": shipway_server(folder, True, 2, spec)}  # fmt: skip
    p50: dict[str, list[float]] = {name: [] for name in servers}
    try:
        for server in servers.values():
            wrk(server, made["1 row"], 1, 2)  # warm up
        for index in range(args.rounds):
            log(f"challenger round {index + 1} of {args.rounds} ...")
            for name in list(servers) if index % 2 == 0 else list(servers)[::-1]:
                p50[name].append(wrk(servers[name], made["1 row"], 1, args.round_seconds)["p50_ms"])
    finally:
        for server in servers.values():
            server.stop()
    ratio, each = _median_ratio(p50["shadow"], p50["alone"])
    return {"p50_ms": p50, "ratio": ratio, "rounds": each}


def _median_ratio(first: list[float], second: list[float]) -> tuple[float, list[float]]:
    ratios = [a / b for a, b in zip(first, second, strict=True)]
    return statistics.median(ratios), ratios


DEFAULT = "shipway, 2 proc"  # what `shipway deploy` starts on a machine of two cores or more


def run(args: argparse.Namespace) -> dict:
    folder = model_dir(args.rows)
    made = bodies(folder)
    results: dict = {"floor": {"1 row": floor(folder, made["1 row"])}, "servers": {}}
    factories = [
        lambda: shipway_server(folder, True, 2),
        lambda: shipway_server(folder, False, 2),
        lambda: shipway_server(folder, True, 1),
    ]
    if not args.skip_mlflow:
        factories += [lambda: mlflow_server(folder, 1), lambda: mlflow_server(folder, 2)]
    for factory in factories:
        server = factory()
        if server is None:
            continue
        log(f"measuring {server.name} ...")
        try:
            results["servers"][server.name] = measure_server(server, made, args.duration)
            if server.name == DEFAULT and args.soak > 0:
                log(f"soak: {args.soak:g} s at concurrency 8 ...")
                results["soak"] = soak(server, made["1 row"], args.soak)
        finally:
            server.stop()
    if args.rounds > 0:
        log(f"throughput: {args.rounds} rounds of the servers side by side ...")
        results["rounds"] = alternating(folder, made, args)
    results["load_average"] = os.getloadavg()
    return results


def report(results: dict) -> None:
    servers = results["servers"]
    floor_p50 = results["floor"]["1 row"]["p50_ms"]
    print(f"load average {results['load_average'][0]:.2f}\n")
    print(f"{'':24}{'c1 p50':>9}{'c1 p99':>9}{'c8 1 row':>11}{'c8 100 rows':>13}{'failed':>8}")
    print(f"{'floor (in process)':24}{floor_p50:>7.2f}ms"
          f"{results['floor']['1 row']['p99_ms']:>7.2f}ms")  # fmt: skip
    for name, figures in servers.items():
        c1, c8, c8_100 = figures["c1, 1 row"], figures["c8, 1 row"], figures["c8, 100 rows"]
        failed = sum(f.get("failed", 0) for f in (c1, c8, c8_100))
        print(f"{name:24}{c1['p50_ms']:>7.2f}ms{c1['p99_ms']:>7.2f}ms{c8['rps']:>7.1f}/s"
              f"{c8_100['rps']:>9.1f}/s{failed:>8}")  # fmt: skip
    print()
    ship = servers.get(DEFAULT)
    if ship:
        limit = 1.25 * floor_p50 + 1.0
        p50 = ship["c1, 1 row"]["p50_ms"]
        _ratio("single-row p50 vs 1.25 x floor + 1 ms", p50, limit, p50 <= limit, "ms")
    if "rounds" in results:
        _report_rounds(results["rounds"])
    if "soak" in results:
        change = results["soak"]["change"] * 100
        label = f"memory over {results['soak']['seconds']:g} s"
        _ratio(label, change, 10.0, abs(change) <= 10, "%")


def _report_rounds(measured: dict[str, dict[str, dict[str, list[float]]]]) -> None:
    rps, cpu = measured["rps"], measured["cpu_ms"]
    rounds = len(rps["1 row"][DEFAULT])
    print(f"\nside by side, {rounds} rounds at concurrency 8 (medians):")
    for body_name, by_server in rps.items():
        for name, values in by_server.items():
            spent = statistics.median(cpu[body_name][name])
            print(f"  {body_name:9} {name:24} {statistics.median(values):7.1f} req/s"
                  f" {spent:7.2f} ms CPU a request")  # fmt: skip
    for other in ("mlflow, 1 proc", "mlflow, 2 proc"):
        for body_name, by_server in rps.items():
            if other in by_server:
                # the batch target: twice MLflow's throughput with as many processes
                target = 2.0 if (body_name, other) == ("100 rows", "mlflow, 2 proc") else 1.5
                ratio, each = _median_ratio(by_server[DEFAULT], by_server[other])
                label = f"throughput c8 {body_name} vs {other}"
                _ratio(label, ratio, target, ratio >= target, "x", each)
                # CPU a request: what throughput is made of, steadier on a shared machine
                ratio, each = _median_ratio(cpu[body_name][other], cpu[body_name][DEFAULT])
                label = f"CPU a request, {body_name}: {other} / shipway"
                _ratio(label, ratio, target, ratio >= target, "x", each)
    if NO_LOG in rps["1 row"]:
        ratio, each = _median_ratio(rps["1 row"][DEFAULT], rps["1 row"][NO_LOG])
        cost = (1 - ratio) * 100
        label = "prediction log cost, throughput (c8, 1 row)"
        _ratio(label, cost, 5.0, cost <= 5.0, "%", [(1 - r) * 100 for r in each])
        # the CPU a request costs, the servers' own: the machine's other load hardly moves it
        ratio, each = _median_ratio(cpu["1 row"][DEFAULT], cpu["1 row"][NO_LOG])
        cost = (ratio - 1) * 100
        label = "prediction log cost, CPU a request"
        _ratio(label, cost, 5.0, cost <= 5.0, "%", [(r - 1) * 100 for r in each])
    if measured.get("writer_share"):
        # the writer thread's own CPU over the whole server's, in the same runs: a ratio
        # within one process tree and one run, which the machine's other load cannot skew
        shares = [share * 100 for share in measured["writer_share"]]
        share = statistics.median(shares)
        label = "prediction log writer, share of server CPU"
        _ratio(label, share, 5.0, share <= 5.0, "%", shares)


def _ratio(
    label: str, value: float, target: float, passed: bool, unit: str, each: list | None = None
) -> None:
    verdict = "PASS" if passed else "MISS"
    print(f"{label:44} {value:8.2f} {unit:2} target {target:6.2f} {unit:2} {verdict}")
    if each:
        print(f"{'':44} rounds: {' '.join(f'{v:.2f}' for v in each)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per wrk run")
    parser.add_argument("--soak", type=float, default=300.0, help="seconds of soak (0: none)")
    parser.add_argument("--rounds", type=int, default=6,
                        help="rounds of the servers side by side (0: none)")  # fmt: skip
    parser.add_argument("--round-seconds", type=float, default=10.0,
                        help="seconds per wrk run in a round")  # fmt: skip
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--setup-mlflow", action="store_true", help="create .venv-mlflow first")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--onnx", action="store_true", help="ONNX against joblib bundles, only")
    parser.add_argument(
        "--challenger",
        action="store_true",
        help="only: the champion's p50 with a shadow challenger against alone",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        log("wrk is missing: apt-get install wrk")
        return 0
    if args.onnx:
        from bench_serving_onnx import run as run_onnx

        return run_onnx(args)
    if args.setup_mlflow:
        setup_mlflow()
    if args.challenger:
        found = challenger_rounds(model_dir(args.rows), bodies(model_dir(args.rows)), args)
        print(
            json.dumps(found, indent=2)
            if args.json
            else f"champion p50 with a shadow challenger / alone: {found['ratio']:.3f} "
            f"(target <= 1.15; rounds {' '.join(f'{r:.2f}' for r in found['rounds'])})"
        )
        return 0
    results = run(args)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
