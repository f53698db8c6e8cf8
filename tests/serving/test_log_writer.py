"""The prediction log writer never dies for good, and says so when it is in trouble.

One bad entry is dropped and counted while the entries around it are written; a writer that
ends all the same is started again, and /health and /metrics show it; the queue is bounded in
bytes as well as entries; every /predict answer, refusals and 5xx included, is logged.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from core.serving.logreader import read_requests
from core.serving.predlog import FeedbackEntry, LoggedRequest, PredictionLog, now_iso
from tests.serving.helpers import ROW, Client


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Poison(BaseException):
    """Not an Exception: what kills a thread that guards with ``except Exception``."""


class Lethal:
    def __str__(self) -> str:  # the log's JSON encoder turns unknown objects into text
        raise Poison("the encoder met something it cannot survive")


def _entry(request_id: str, outputs: object = None) -> LoggedRequest:
    return LoggedRequest(
        request_id, now_iso(), "m", 1, 1.0, 200, 1, outputs={"predictions": [outputs or 1]}
    )


def test_a_bad_entry_is_dropped_and_counted_and_the_writer_goes_on(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, flush_interval=0.01)
    try:
        log.put(_entry("before"))
        log.put(FeedbackEntry("before", now_iso(), float("nan")))  # JSON cannot carry NaN
        log.put(_entry("after"))
        _wait_for(lambda: len(read_requests(tmp_path)) == 2)
        assert log.bad_entries == 1 and log.alive and log.restarts == 0
        assert "ValueError" in log.status().last_error
        log.put(_entry("later"))
        _wait_for(lambda: len(read_requests(tmp_path)) == 3)
    finally:
        log.close()


def test_a_writer_that_dies_is_started_again_and_counted(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, flush_interval=0.01)
    try:
        previous = threading.excepthook
        threading.excepthook = lambda args: None  # the thread's death is the point here
        try:
            log.put(_entry("deadly", outputs=Lethal()))
            _wait_for(lambda: not log.alive)
        finally:
            threading.excepthook = previous
        status = log.status()  # what /health and /metrics call: it starts another writer
        assert status.alive and status.restarts == 1 and "Poison" in status.last_error
        log.put(_entry("after"))
        _wait_for(lambda: [r.request_id for r in read_requests(tmp_path)] == ["after"])
    finally:
        log.close()


def test_the_queue_is_bounded_in_bytes_as_well(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, capacity_bytes=10_000, flush_interval=5.0)
    try:
        accepted = [log.put(LoggedRequest(f"r{i}", now_iso(), "m", 1, 1.0, 200, 1, size=3_000))
                    for i in range(10)]  # fmt: skip
        assert accepted.count(True) <= 4 and log.dropped >= 6
        assert log.queued_bytes <= 10_000
    finally:
        log.close()
    assert len(read_requests(tmp_path)) == accepted.count(True)


def test_health_and_metrics_show_the_writer(serve, models, tmp_path: Path) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path))
    client = Client(server.port)
    health = client.call("GET", "/health").json
    assert health["status"] == "ok" and health["prediction_log"]["writer"] == "running"
    previous = threading.excepthook
    threading.excepthook = lambda args: None
    try:
        server.state.log.put(_entry("deadly", outputs=Lethal()))
        _wait_for(lambda: not server.state.log.alive)
    finally:
        threading.excepthook = previous
    health = client.call("GET", "/health").json
    assert health["prediction_log"]["restarts"] == 1
    assert "Poison" in health["prediction_log"]["last_error"]
    text = client.call("GET", "/metrics").body.decode()
    assert "shipway_prediction_log_writer_restarts_total 1.0" in text
    assert "shipway_prediction_log_writer_up 1.0" in text
    assert "shipway_prediction_log_queue_bytes" in text
    assert client.predict({"records": [ROW]}).status == 200
    _wait_for(lambda: any(r.status == 200 for r in read_requests(tmp_path)))


def test_health_says_degraded_when_the_writer_cannot_be_kept_up(serve, models, tmp_path) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path))
    log = server.state.log
    previous = threading.excepthook
    threading.excepthook = lambda args: None
    try:
        for index in range(6):  # more deaths than the restarts allowed in a minute
            log.put(_entry(f"deadly{index}", outputs=Lethal()))
            _wait_for(lambda: not log.alive)
            log.status()
    finally:
        threading.excepthook = previous
    health = Client(server.port).call("GET", "/health").json
    assert health["status"] == "degraded" and health["prediction_log"]["writer"] == "stopped"
    assert any("not running" in problem for problem in health["problems"])


def test_every_predict_answer_is_logged_refusals_and_server_errors_too(
    serve, models, tmp_path: Path
) -> None:
    guarded = serve(models["v1"], log_dir=str(tmp_path / "guarded"), token="s3cret")
    client = Client(guarded.port)
    unauthorised = client.predict({"records": [ROW]})
    headers = {"Content-Type": "text/plain", "Authorization": "Bearer s3cret"}
    wrong_type = client.call("POST", "/predict", "x", headers)
    guarded.stop()
    broken = serve(models["exploding"], log_dir=str(tmp_path / "broken"))
    failed = Client(broken.port).predict({"records": [ROW]})
    broken.stop()
    assert (unauthorised.status, wrong_type.status, failed.status) == (401, 415, 500)
    logged = {r.request_id: (r.status, r.error) for r in read_requests(tmp_path / "guarded")}
    assert logged == {
        unauthorised.json["request_id"]: (401, "unauthorized"),
        wrong_type.json["request_id"]: (415, "unsupported_media_type"),
    }
    (record,) = read_requests(tmp_path / "broken")
    assert (record.request_id, record.status) == (failed.json["request_id"], 500)
