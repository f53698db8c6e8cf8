"""/metrics scores drift per feature over the latest requests (PSI against the model's training
rows, as `shipway drift` computes it), the live metric from feedback, and the process's CPU and
memory; the scoring thread is off the request path and its death shows in /health and /metrics."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn.ensemble import RandomForestClassifier

from core.monitoring import codec
from core.monitoring.columns import categorical_drift, numeric_drift
from core.monitoring.config import DriftConfig
from core.monitoring.reference import build_reference
from core.monitoring.reference_store import feature_kinds
from core.serving.drift_reference import read_reference
from core.serving.drift_window import DriftWindow
from core.serving.frames import model_frame
from core.serving.model import load_model, read_metadata, write_model_dir
from core.serving.slot import ModelSlot
from tests.serving.helpers import Client, export_model, penguins, training_data


@pytest.fixture(scope="module")
def with_reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The penguin forest's model directory with the drift reference of its training rows."""
    root = tmp_path_factory.mktemp("drift")
    plain = export_model(root / "plain", RandomForestClassifier(10, random_state=0))
    meta = read_metadata(plain)
    X, _ = training_data()
    reference = build_reference(X, feature_kinds(meta["io_schema"]), "classification")
    folder = write_model_dir(
        root / "with-reference", (plain / "model.joblib").read_bytes(), name="penguins",
        version=1, task="classification", io_schema=meta["io_schema"],
        reference=codec.encode(reference),
    )  # fmt: skip
    return folder, reference


def shifted_rows(count: int = 80) -> list[dict]:
    frame = penguins().dropna().drop(columns="species").sample(count, random_state=1)
    frame["island"] = "Dream"  # one island only, and heavier birds: drift
    frame["body_mass_g"] = frame["body_mass_g"] * 1.3
    return frame.to_dict("records")


def monitoring_psi(reference, rows: list[dict], schema: dict[str, str]) -> dict[str, float]:
    current = model_frame(pd.DataFrame(rows), schema, list(schema))
    found = {}
    for column in reference.features:
        if column.kind == "numeric":
            drift = numeric_drift(column, current[column.name].to_numpy(float), DriftConfig())
        else:
            drift = categorical_drift(column, current[column.name], DriftConfig())
        found[column.name] = drift.psi
    return found


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def psi_of(text: str) -> dict[str, float]:
    return {dict(labels)["feature"]: value for (name, labels), value in samples(text).items()
            if name == "shipway_feature_drift_psi"}  # fmt: skip


def test_metrics_report_the_psi_drift_computes(with_reference, serve, tmp_path: Path) -> None:
    folder, reference = with_reference
    server = serve(folder, log_dir=str(tmp_path))
    server.state.drift.every = 0.05
    client = Client(server.port)
    rows = shifted_rows()
    assert client.predict({"records": rows[:50]}).status == 200
    assert client.predict({"records": rows[50:]}).status == 200
    model = load_model(folder)
    expected = monitoring_psi(reference, rows, model.schema)

    def scored() -> dict[str, float] | None:  # once both requests are in the window
        text = client.call("GET", "/metrics").body.decode()
        rows = samples(text).get(("shipway_drift_window_rows", (("model", "penguins"),
                                                                 ("version", "1"))))  # fmt: skip
        return psi_of(text) if rows == 80 else None

    reported = wait_for(scored)
    for feature, value in expected.items():
        assert reported[feature] == pytest.approx(value, rel=1e-9, abs=1e-12), feature
    assert reported["island"] > 0.2 and reported["body_mass_g"] > 0.2
    health = client.call("GET", "/health").json
    assert health["drift"]["thread"] == "running" and health["drift"]["window_rows"] == 80
    assert health["drift"]["reference"] is True


def test_the_workers_counts_are_added_before_the_index(with_reference) -> None:
    """Two workers' windows give the PSI of all their rows together."""
    folder, reference = with_reference
    model = load_model(folder)
    rows = shifted_rows(60)
    windows = [DriftWindow(ModelSlot(model), every=3600) for _ in range(2)]
    try:
        for window, part in zip(windows, (rows[:25], rows[25:]), strict=True):
            window.observe(model, model_frame(pd.DataFrame(part), model.schema, model.features))
        states = [window.score() for window in windows]
        text = "\n".join(windows[0].render(states, "penguins", 1)) + "\n"
    finally:
        for window in windows:
            window.close()
    expected = monitoring_psi(reference, rows, model.schema)
    reported = psi_of(text)
    assert reported.keys() == expected.keys()
    for feature, value in expected.items():
        assert reported[feature] == pytest.approx(value, rel=1e-9, abs=1e-12), feature


def test_the_reference_reader_agrees_with_the_codec(with_reference) -> None:
    folder, reference = with_reference
    bins = {b.name: b for b in read_reference((folder / "reference.bin").read_bytes())}
    for column in reference.features:
        counts = column.counts if column.kind == "categorical" else (
            column.value_counts if column.values is not None else column.psi_counts)  # fmt: skip
        assert np.array_equal(bins[column.name].counts, counts), column.name


class Poison(BaseException):
    """What kills a thread that guards with ``except Exception``."""


class Lethal:
    """A 'frame' whose very inspection kills the scoring thread."""

    def __len__(self) -> int:
        return 1

    def __getattr__(self, name: str):
        raise Poison("the scoring met something it cannot survive")


def test_a_scoring_thread_that_dies_is_started_again(with_reference, serve, tmp_path) -> None:
    folder, _ = with_reference
    server = serve(folder, log_dir=str(tmp_path))
    drift = server.state.drift
    drift.every = 0.05
    client = Client(server.port)
    previous = threading.excepthook
    threading.excepthook = lambda args: None  # the thread's death is the point here
    try:
        drift.observe(server.state.slot.current(), Lethal())
        wait_for(lambda: not drift.alive)
    finally:
        threading.excepthook = previous
    health = client.call("GET", "/health").json  # starts another thread
    assert health["status"] == "ok" and health["drift"]["restarts"] == 1
    assert "Poison" in health["drift"]["last_error"]
    text = client.call("GET", "/metrics").body.decode()
    assert samples(text)[("shipway_drift_worker_restarts_total", ())] == 1.0
    assert samples(text)[("shipway_drift_worker_up", ())] == 1.0
    assert client.predict({"records": shifted_rows(10)}).status == 200
    wait_for(lambda: psi_of(client.call("GET", "/metrics").body.decode()))


def test_health_is_degraded_when_the_thread_cannot_be_kept_up(with_reference, serve) -> None:
    folder, _ = with_reference
    server = serve(folder)
    drift = server.state.drift
    drift.every = 0.05
    client = Client(server.port)
    previous = threading.excepthook
    threading.excepthook = lambda args: None
    try:
        for _ in range(6):  # five restarts a minute at most
            drift.observe(server.state.slot.current(), Lethal())
            wait_for(lambda: not drift.alive)
            drift.ensure_thread()
    finally:
        threading.excepthook = previous
    health = client.call("GET", "/health").json
    assert health["status"] == "degraded" and health["drift"]["thread"] == "stopped"
    assert any("drift scoring thread is not running" in p for p in health["problems"])
    assert samples(client.call("GET", "/metrics").body.decode())[
        ("shipway_drift_worker_up", ())] == 0.0  # fmt: skip
    assert client.predict({"records": shifted_rows(3)}).status == 200  # the model still answers


def test_the_live_metric_comes_from_feedback(with_reference, serve, tmp_path: Path) -> None:
    folder, _ = with_reference
    server = serve(folder, log_dir=str(tmp_path))
    server.state.drift.every = 0.05
    client = Client(server.port)
    frame = penguins().dropna().sample(20, random_state=4)
    answered = []
    for _, row in frame.iterrows():
        reply = client.predict({"records": [row.drop("species").to_dict()]}).json
        answered.append((reply["request_id"], reply["predictions"][0], row["species"]))
    for request_id, _, actual in answered:
        body = {"request_id": request_id, "actual": actual}
        assert client.call("POST", "/feedback", json_body=body).status in (200, 202)
    expected = sum(p == a for _, p, a in answered) / len(answered)
    key = ("shipway_live_metric", (("metric", "accuracy"), ("model", "penguins"), ("version", "1")))
    rows_key = ("shipway_live_labelled_rows", (("model", "penguins"), ("version", "1")))

    def complete() -> dict | None:  # feedback reaches the log within about a quarter second
        found = samples(client.call("GET", "/metrics").body.decode())
        return found if found.get(rows_key) == 20 else None

    assert wait_for(complete)[key] == pytest.approx(expected)


def test_the_process_metrics_are_the_standard_ones(shared_server) -> None:
    client = Client(shared_server.port)
    found = samples(client.call("GET", "/metrics").body.decode())
    assert found[("process_cpu_seconds_total", ())] > 0
    assert found[("process_resident_memory_bytes", ())] > 20 * 1024 * 1024
    assert found[("process_open_fds", ())] >= 3
    started = found[("process_start_time_seconds", ())]
    assert time.time() - 24 * 3600 < started <= time.time()
    from prometheus_client import ProcessCollector

    theirs = {s.name: s.value for m in ProcessCollector(registry=None).collect() for s in m.samples}
    assert started == pytest.approx(theirs["process_start_time_seconds"], abs=1.0)
    assert found[("process_max_fds", ())] == theirs["process_max_fds"]
