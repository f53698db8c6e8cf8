"""The always-on service's loop, in process, on a real project with a real kept deployment, a
real prediction log and a clock the test moves: schedules of days in seconds."""

from __future__ import annotations

import math
import os
import signal
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.operations.lock import AlreadyRunning
from core.operations.service import ServiceLoop
from core.services import TrainRequest, Workspace
from core.serving.frames import model_frame
from core.serving.predlog import LoggedRequest, PredictionLog
from core.times import Clock

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = ROOT / "resources" / "demo" / "penguins.csv"
DATA = pd.read_csv(PENGUINS)
NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
HOUR = 3600


class FakeClock(Clock):
    """Now is what the test says; sleeping returns at once."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def now(self) -> datetime:
        return self.at

    def move(self, **delta: float) -> None:
        self.at += timedelta(**delta)

    def sleep(self, seconds: float, stop: object | None = None) -> bool:
        return bool(stop is not None and stop.is_set())  # type: ignore[attr-defined]


class Notices:
    def __init__(self) -> None:
        self.sent: list = []

    def __call__(self, notice, settings) -> tuple:
        self.sent.append(notice)
        return ()

    def kinds(self) -> list[str]:
        return [notice.kind for notice in self.sent]


def _wait(condition, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SHIPWAY_USER", "service")
    root = tmp_path / "peng"
    with Workspace.create(root, name="peng") as ws:
        ws.data.import_file(PENGUINS)
        request = TrainRequest(data="penguins", target="species", estimator="logistic_regression")
        run = ws.runs.train(request).result()
        ws.lifecycle.register(run.id, "peng")
    settings = root / "shipway.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8")
        + "\n[drift]\nbucket_seconds = 3600\n\n[triggers]\ndrift_buckets = 2\n"
        + '\n[retrain]\non_drift = true\n\n[monitor]\nevery = "5m"\n',
        encoding="utf-8",
    )
    return root


@pytest.fixture
def loop(project: Path):
    ws = Workspace.open(project)
    notices = Notices()
    clock = FakeClock()
    service = ServiceLoop(ws, clock=clock, send=notices)
    service.notices = notices
    try:
        yield service
    finally:
        if service.runner is not None:
            service.stop()
        for deployment in ws.deployments.list(include_stopped=False):
            ws.deployments.undeploy(deployment.id)
        ws.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_a_kept_deployment_killed_is_back_on_its_port(loop: ServiceLoop) -> None:
    ws = loop.ws
    deployment = ws.deployments.deploy("peng@1", workers=1, keep=True)
    loop.start()
    os.kill(deployment.pid, signal.SIGKILL)
    _wait(lambda: not _answers(deployment.url), "the server to die")
    loop.tick()
    again = ws.deployments.get(deployment.id)
    assert again.pid != deployment.pid and again.port == deployment.port and again.keep
    assert _answers(deployment.url)
    restart = ws.project.audit(action="deployment.restart")[0]
    assert restart.user == "service" and restart.object_ref == deployment.id
    loop.tick()  # alive: nothing to do
    assert ws.deployments.get(deployment.id).pid == again.pid


def test_a_second_service_on_one_project_is_refused(loop: ServiceLoop) -> None:
    loop.start()
    other = ServiceLoop(loop.ws, clock=FakeClock(), send=Notices())
    with pytest.raises(AlreadyRunning, match="already runs"):
        other.start()


def _log_hours(ws: Workspace, folder: Path, start: float, hours: int) -> None:
    """An hour of rows like the training data, then drifted hours, answered by peng@1."""
    version = ws.registry.version("peng@1")
    schema = {entry["name"]: entry["type"] for entry in version.io_schema["inputs"]}
    log = PredictionLog(folder)
    for hour in range(hours):
        rows = DATA.iloc[(np.arange(60) * 7 + hour * 13) % len(DATA)].reset_index(drop=True)
        if hour:
            for name in NUMERIC:
                rows[name] = rows[name] + 2 * DATA[name].std()
        for part, chunk in enumerate(np.array_split(np.arange(len(rows)), 6)):
            batch = rows.iloc[chunk]
            moment = datetime.fromtimestamp(start + hour * HOUR + 60 * part, UTC)
            log.put(LoggedRequest(
                uuid.uuid4().hex, moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "peng", 1, 2.0,
                200, len(batch), inputs=model_frame(batch, schema, version.features),
                outputs={"predictions": batch["species"].tolist()},
            ))  # fmt: skip
    log.close()


def test_drift_sends_the_alert_retrains_and_stops_at_the_gates(loop: ServiceLoop) -> None:
    ws = loop.ws
    deployment = ws.deployments.deploy("peng@1", workers=1, keep=True)
    base = math.floor(time.time() / HOUR) * HOUR - 4 * HOUR
    _log_hours(ws, ws.deployments.folder(deployment), base, hours=3)
    loop.start()
    loop.tick()
    [alert] = ws.monitoring.alerts("peng", deployment=deployment.id)
    assert alert.kind == "drift" and alert.created_by == "service"
    job = _wait(lambda: next(iter(ws.jobs.list(kind="retrain", status="done")), None),
                "the retraining job")  # fmt: skip
    assert job.created_by == "service" and job.detail["version"] == 2
    new = ws.registry.version("peng@2")
    assert new.tags["retrained_from"] == "peng@1" and "production" not in new.aliases
    assert ws.registry.gate_evaluations("peng@2")  # evaluated, nothing promoted
    _wait(lambda: "retrained" in loop.notices.kinds(), "the retraining notice")
    assert loop.notices.kinds()[:2] == ["alert", "retrained"]
    loop.clock.move(minutes=6)  # the next check: the same streak alerts no more
    loop.tick()
    assert len(ws.monitoring.alerts("peng", deployment=deployment.id)) == 1
    assert len(ws.jobs.list(kind="retrain")) == 1


def test_a_schedule_runs_once_per_period_and_once_after_downtime(loop: ServiceLoop) -> None:
    settings = loop.root / "shipway.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("on_drift = true", 'every = "30d"'),
        encoding="utf-8",
    )
    ws = loop.ws
    ws.deployments.deploy("peng@1", workers=1)
    loop.start()
    loop.tick()  # the period starts now: no retraining at install time
    assert ws.jobs.list(kind="retrain") == []
    loop.clock.move(days=31)
    loop.tick()
    loop.tick()
    assert len(ws.jobs.list(kind="retrain")) == 1
    _wait(lambda: ws.jobs.list(kind="retrain")[0].finished, "the first retraining")
    loop.clock.move(days=100)  # down for three periods: one retraining, not three
    loop.tick()
    assert len(ws.jobs.list(kind="retrain")) == 2
    loop.clock.move(days=-50)  # the clock went back: no burst either
    loop.tick()
    loop.clock.move(days=20)
    loop.tick()
    assert len(ws.jobs.list(kind="retrain")) == 2
    _wait(lambda: all(j.finished for j in ws.jobs.list(kind="retrain")), "the retrainings")


def test_a_broken_table_keeps_the_last_good_settings_and_says_so_once(
    loop: ServiceLoop,
) -> None:
    loop.start()
    assert loop.config.retrain.on_drift and loop.config.monitor_every_s == 300
    settings = loop.root / "shipway.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("on_drift = true", 'on_drift = "yes"'), encoding="utf-8")
    loop.tick()
    loop.tick()
    assert loop.config.retrain.on_drift  # still the last good settings
    _wait(lambda: "service_failed" in loop.notices.kinds(), "the notice")
    [failed] = [n for n in loop.notices.sent if n.kind == "service_failed"]
    assert "on_drift" in failed.text and "line" in failed.text
    refused = loop.ws.project.audit(action="service.settings_refused")
    assert len(refused) == 1 and refused[0].user == "service"
    settings.write_text(text.replace('every = "5m"', 'every = "10m"'), encoding="utf-8")
    loop.tick()
    assert loop.config.monitor_every_s == 600
