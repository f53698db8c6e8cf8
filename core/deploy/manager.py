"""Managed deployments: a model version (or an alias) served by a waitress process of its own.

A deployment lives in ``deployments/ID/`` of the project::

    models/v3/        serving model directories (model.joblib + model.json), one per version
    current.json      the pointer the server follows: {"model_dir": "models/v3"}
    ready.json        written by the server once it listens: {"port", "pid"}
    server.log        the server's log; server.out holds what the process printed
    predictions.db    the prediction log (see core.serving.predlog)

``deploy`` starts ``python -m core.serving --watch current.json ...`` in a new session (so it
outlives the command that started it and ignores that terminal's Ctrl-C), waits until /health
answers, and only then records the deployment; a server that fails to start leaves no record and
no folder, and its own error is in the message. A deployment of an alias swaps versions when the
alias moves: :func:`follow_alias` writes the new version's directory and rewrites the pointer,
and the server loads it and swaps between requests.

The record holds the server's identity (start time and command line, :mod:`core.deploy.identity`)
besides its pid. Nothing signals a pid whose process no longer matches it: :func:`undeploy` of
such a stale deployment records it as stopped and leaves that process alone. A deployment's
folder read back from the database is used only inside deployments/ (:mod:`core.deploy.folders`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core.deploy import challenger as challengers
from core.deploy import identity, probe
from core.deploy.challenger import ChallengerConfig
from core.deploy.folders import folder_of
from core.entities import Deployment, ModelVersion
from core.errors import Conflict, InvalidInput, ShipwayError
from core.project import DEPLOYMENTS_DIR, Project
from core.registry.artifacts import write_model_dir
from core.store.deployment_repository import NewDeployment

START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
SWAP_TIMEOUT_S = 20.0
CONFIRMATIONS = 6
TOKEN_VARIABLE = "SHIPWAY_SERVING_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DeployFailed(ShipwayError, code="deploy_failed"):
    """A REST server could not be started, or started again."""


def deploy(
    project: Project,
    version: ModelVersion,
    alias: str | None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    log_inputs: bool = True,
    workers: int | None = None,
    challenger: tuple[ModelVersion, ChallengerConfig] | None = None,
) -> Deployment:
    """Start a background server for ``version`` (following ``alias`` when given).

    ``workers`` server processes share the port (default :func:`default_workers`);
    ``challenger``: a version beside it, already checked (:mod:`core.deploy.challenger`).
    """
    check_address(host, port, token)
    deployment_id, folder = new_folder(project, version)
    workers = workers or default_workers()
    try:
        if challenger is not None:
            challengers.write(project, folder, *challenger)
        process = _spawn(folder, host, port, token, log_inputs, workers)
        ready = _await_ready(process, folder, token)
        _write_launch(folder, host, workers, log_inputs)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    started, command = identity.of(process.pid)  # our child, not reaped: the id is still its
    return project.deployments.record(
        NewDeployment(
            id=deployment_id,
            model=version.model,
            alias=alias,
            version=version.version,
            kind="background",
            host=host,
            port=ready["port"],
            pid=process.pid,
            machine=socket.gethostname(),
            token=token is not None,
            folder=str(folder.relative_to(project.root)),
            process_started=started,
            process_command=command,
        )
    )


LAUNCH_FILE = "launch.json"  # how the server was started, so that it can be started again


def _write_launch(folder: Path, host: str, workers: int, log_inputs: bool) -> None:
    data = {"host": host, "workers": workers, "log_inputs": log_inputs}
    temporary = folder / f".{LAUNCH_FILE}.tmp"
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, folder / LAUNCH_FILE)


def restart(project: Project, deployment: Deployment) -> Deployment:
    """Start the server of a deployment whose process ended, on its folder and port.

    Used by the always-on service for kept deployments (after a crash, or a reboot). Refused
    when the deployment's process still runs (never two servers for one deployment), or when
    it served with a token the service does not know (``$SHIPWAY_SERVING_TOKEN``).
    """
    if identity.check(deployment).state == "ours":
        raise Conflict(
            f"deployment {deployment.id} still runs (pid {deployment.pid})",
            where=deployment.id,
            hint="it needs no restart",
        )
    folder = folder_of(project, deployment)
    launch = _read_launch(folder)
    token = os.environ.get(TOKEN_VARIABLE) if deployment.token else None
    if deployment.token and not token:
        raise DeployFailed(
            f"deployment {deployment.id} served with a token the service does not know",
            where=deployment.id,
            hint=f"set {TOKEN_VARIABLE} in the service's environment",
        )
    host = str(launch.get("host", deployment.host))
    (folder / "ready.json").unlink(missing_ok=True)
    process = _spawn(folder, host, deployment.port, token, bool(launch.get("log_inputs", True)),
                     int(launch.get("workers") or default_workers()))  # fmt: skip
    _await_ready(process, folder, token)
    started, command = identity.of(process.pid)
    return project.deployments.restarted(deployment.id, process.pid, started, command)


def _read_launch(folder: Path) -> dict:
    try:
        return json.loads((folder / LAUNCH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # deployed before launch files: the defaults


def check_address(host: str, port: int, token: str | None) -> None:
    if host not in LOOPBACK and not token:
        raise InvalidInput(
            f"serving on {host} (reachable from other machines) needs a token",
            where=f"{host}:{port}",
            hint="add --token SECRET (clients send 'Authorization: Bearer SECRET'), or serve "
            "on 127.0.0.1",
        )
    if port and not _port_free(host, port):
        raise Conflict(
            f"port {port} on {host} is already in use",
            where=f"{host}:{port}",
            hint="choose another --port, or leave it out for a free one",
        )


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe_socket:
        try:
            probe_socket.bind((host, port))
        except OSError:
            return False
    return True


def new_folder(project: Project, version: ModelVersion) -> tuple[str, Path]:
    """A new deployment id and its folder, holding the version and the pointer to it."""
    deployment_id = secrets.token_hex(4)
    folder = project.root / DEPLOYMENTS_DIR / deployment_id
    try:
        _point_at(project, version, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return deployment_id, folder


def _point_at(project: Project, version: ModelVersion, folder: Path) -> None:
    """Write the version's model directory (if new) and point current.json at it."""
    from core.serving.watch import write_pointer

    model_dir = folder / "models" / f"v{version.version}"
    if not (model_dir / "model.json").is_file():
        write_model_dir(project, version, model_dir)
    write_pointer(folder / "current.json", model_dir.relative_to(folder))


def default_workers() -> int:
    """Two worker processes where the machine has two cores or more (one on Windows).

    A model predicts under the GIL for most of a request, so a second process, not more
    threads, is what uses a second core: 1 process 74-88 req/s, 2 processes 175 req/s for a
    RandomForest(100) on 2 cores (benchmarks/bench_serving.py). Each worker then runs one
    thread, which measured faster than several (GIL contention).
    """
    return 2 if (os.cpu_count() or 1) >= 2 and os.name == "posix" else 1


def _spawn(
    folder: Path, host: str, port: int, token: str | None, log_inputs: bool, workers: int
) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "core.serving",
        "--watch", str(folder / "current.json"),
        "--host", host, "--port", str(port),
        "--log-dir", str(folder),
        "--ready-file", str(folder / "ready.json"),
        "--challenger", str(folder / "challenger.json"),
    ]  # fmt: skip
    if not log_inputs:
        command.append("--no-log-inputs")
    if workers > 1:
        command += ["--workers", str(workers), "--threads", "1"]
    env = dict(os.environ)
    env.pop(TOKEN_VARIABLE, None)
    if token:
        env[TOKEN_VARIABLE] = token  # never on the command line, where `ps` would show it
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (_package_root(), env.get("PYTHONPATH"))))
    with open(folder / "server.out", "wb") as out:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=folder,
            **_detached(),
        )


def _package_root() -> str:
    """The folder holding the ``core`` package, so the child imports this same Shipway."""
    return str(Path(__file__).resolve().parents[2])


def _detached() -> dict:
    if os.name == "nt":  # pragma: no cover - Windows
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS
        return {"creationflags": flags}
    return {"start_new_session": True}


def _await_ready(process: subprocess.Popen, folder: Path, token: str | None) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_S
    ready_file = folder / "ready.json"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DeployFailed(
                f"the server did not start: {_last_line(folder / 'server.out')}",
                where=str(folder),
                hint="fix what the message says and deploy again",
            )
        with contextlib.suppress(OSError, ValueError):
            ready = json.loads(ready_file.read_text(encoding="utf-8"))
            if probe.health(f"http://127.0.0.1:{ready['port']}", token) is not None:
                return ready
        time.sleep(0.1)
    _terminate(process.pid, lambda: process.poll() is None)
    raise DeployFailed(
        f"the server did not answer /health within {START_TIMEOUT_S:g} s",
        where=str(folder),
        hint=f"see {folder / 'server.out'}",
    )


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "no output"
    return (lines or ["no output"])[-1][:400]


def undeploy(project: Project, deployment_id: str) -> Deployment:
    """Stop a deployment's server (SIGTERM, then SIGKILL) and record it as stopped.

    A stale deployment (its pid now names another process) is recorded as stopped with a note
    that says so, and nothing is signalled.
    """
    deployment = project.deployments.get(deployment_id)
    if deployment.status == "stopped":
        return deployment
    if deployment.machine != socket.gethostname():
        raise Conflict(
            f"deployment {deployment_id} runs on {deployment.machine}, not on this machine",
            where=deployment_id,
            hint=f"stop it on {deployment.machine}",
        )
    verdict = identity.check(deployment)
    if verdict.state == "ours":
        stopped = _terminate(deployment.pid, lambda: identity.check(deployment).state == "ours")
        note = "stopped" if stopped else "killed after not stopping within the grace period"
    else:
        note = verdict.note
    return project.deployments.stopped(deployment_id, note)


def record_stale(project: Project, deployment: Deployment, note: str) -> Deployment:
    """Record a running deployment whose pid names another process as stopped (and stale)."""
    return project.deployments.stopped(deployment.id, note)


def _terminate(pid: int, ours: Callable[[], bool]) -> bool:
    """SIGTERM, wait, then SIGKILL; True when the process ended by itself.

    ``ours()`` is asked before each signal and while waiting: once it is False the process
    has ended (or its id names another process), and nothing more is sent.
    """
    if not ours():
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not ours():
            return True
        time.sleep(0.1)
    if ours():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return False


def follow_alias(project: Project, version: ModelVersion, alias: str) -> list[str]:
    """Point every running deployment of ``model@alias`` at ``version``; returns their ids.

    Every folder is checked before any is written to, so a folder outside the project stops
    the swap of all of them (a :class:`ProjectError`; the alias has moved all the same).
    """
    targets = [(d, folder_of(project, d)) for d in _to_swap(project, version, alias)]
    for deployment, folder in targets:
        _point_at(project, version, folder)
        project.deployments.swapped(deployment.id, version.version, deployment.version)
    return [deployment.id for deployment, _ in targets]


def _to_swap(project: Project, version: ModelVersion, alias: str) -> list[Deployment]:
    """The running deployments of ``model@alias`` here whose server is alive and theirs."""
    found = []
    for deployment in project.deployments.following(version.model, alias):
        if deployment.version == version.version or deployment.machine != socket.gethostname():
            continue
        verdict = identity.check(deployment)
        if verdict.state == "stale":
            record_stale(project, deployment, verdict.note)
        if verdict.state == "ours":
            found.append(deployment)
    return found


def await_version(deployment: Deployment, version: int, token: str | None = None) -> bool:
    """Wait until the deployment's /health names ``version`` (True) or time runs out.

    Each worker process follows the pointer on its own, so several answers in a row (more than
    the workers, which take connections in turn) must name the new version.
    """
    deadline = time.monotonic() + SWAP_TIMEOUT_S
    in_a_row = 0
    while time.monotonic() < deadline:
        health = probe.health(deployment.url, token)
        in_a_row = in_a_row + 1 if health is not None and health.get("version") == version else 0
        if in_a_row >= CONFIRMATIONS:
            return True
        time.sleep(0.05 if in_a_row else 0.1)
    return False
