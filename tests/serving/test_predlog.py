"""The prediction log: off the request path, bounded, readable, joined with feedback."""

from __future__ import annotations

import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.serving.logreader import inputs_frame, read_requests, requests_frame
from core.serving.predlog import (
    LOG_FILE,
    WRITER_THREAD,
    LoggedRequest,
    PredictionLog,
    now_iso,
)
from tests.serving.helpers import FEATURES, ROW, Client

OTHER = dict(ROW, island="Dream", sex="male")


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_requests_are_logged_and_flushed_on_stop(serve, models, tmp_path: Path) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path))
    client = Client(server.port)
    ids = [client.predict({"records": [ROW, OTHER]}).json["request_id"] for _ in range(20)]
    refused = client.predict({"records": [{"island": "Biscoe"}]})
    server.stop()  # the writer drains the queue before it stops
    records = read_requests(tmp_path)
    assert [r.request_id for r in records if r.status == 200] == ids
    failed = [r for r in records if r.status != 200]
    assert [(r.request_id, r.status, r.error) for r in failed] == [
        (refused.json["request_id"], 422, "schema_mismatch")
    ]
    first = records[0]
    assert (first.model, first.version, first.rows) == ("penguins", 1, 2)
    assert first.inputs[0]["island"] == "Biscoe" and set(first.inputs[0]) == set(FEATURES)
    assert len(first.outputs["predictions"]) == 2 and len(first.outputs["probabilities"]) == 2
    assert first.latency_ms > 0 and first.time.endswith("Z")
    with sqlite3.connect(tmp_path / LOG_FILE) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_raw_values_are_not_logged_when_switched_off(serve, models, tmp_path: Path) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path), log_inputs=False)
    Client(server.port).predict({"records": [ROW]})
    server.stop()
    (record,) = read_requests(tmp_path)
    assert record.inputs is None and record.outputs["predictions"]
    with sqlite3.connect(tmp_path / LOG_FILE) as connection:
        assert connection.execute("SELECT COUNT(*) FROM requests WHERE inputs IS NULL").fetchone()[
            0
        ]
        text = " ".join(map(str, connection.execute("SELECT * FROM requests").fetchone()))
    assert "Biscoe" not in text and "female" not in text


def test_overflow_is_counted_and_never_blocks_a_request(serve, models, tmp_path: Path) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path), log_queue_size=4)
    client = Client(server.port)
    client.predict({"records": [ROW]})
    _wait_for(lambda: len(read_requests(tmp_path)) == 1)
    blocker = sqlite3.connect(tmp_path / LOG_FILE, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the writer now waits for the database
    try:
        started = time.perf_counter()
        slowest = 0.0
        for _ in range(30):
            mark = time.perf_counter()
            assert client.predict({"records": [ROW]}).status == 200
            slowest = max(slowest, time.perf_counter() - mark)
        assert slowest < 2.0 and time.perf_counter() - started < 10  # a wait would be >= 5 s
        dropped = server.state.log.dropped
        # the queue holds 4; the blocked writer's batch, the entry it waited on and 4 more
        assert dropped >= 30 - 4 - 5 - 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    metrics = client.call("GET", "/metrics").body.decode()
    assert f"shipway_prediction_log_dropped_total {dropped}.0" in metrics
    server.stop()
    assert len(read_requests(tmp_path)) == 31 - dropped


def test_a_steady_trickle_is_written_in_few_transactions(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, flush_interval=1.0)
    for index in range(20):
        log.put(LoggedRequest(f"r{index}", now_iso(), "m", 1, 1.0, 200, 1, outputs={"p": [1]}))
        time.sleep(0.01)
    _wait_for(lambda: len(read_requests(tmp_path)) == 20, timeout=5.0)  # no close() needed
    assert log.transactions <= 2  # one per entry without the wait
    log.put(LoggedRequest("last", now_iso(), "m", 1, 1.0, 200, 1, outputs={"p": [1]}))
    started = time.monotonic()
    log.close()  # a stop does not wait out the interval
    assert time.monotonic() - started < 0.9 and len(read_requests(tmp_path)) == 21


@pytest.mark.skipif(sys.platform != "linux", reason="OS thread names are read from /proc")
def test_the_writer_thread_is_named_in_the_os_too(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    try:

        def names() -> set[str]:
            tasks = Path("/proc/self/task").iterdir()
            return {(task / "comm").read_text().strip() for task in tasks}

        _wait_for(lambda: WRITER_THREAD in names(), timeout=5.0)
    finally:
        log.close()


def test_feedback_joins_its_request(client: Client, shared_server) -> None:
    answer = client.predict({"records": [ROW, OTHER]}).json
    reply = client.call(
        "POST", "/feedback", json_body={"request_id": answer["request_id"], "actual": ["A", "B"]}
    )
    assert reply.status == 200 and reply.json == {
        "request_id": answer["request_id"],
        "recorded": True,
        "matched": True,
    }
    log_dir = shared_server.state.config.log_dir
    _wait_for(lambda: any(r.actual for r in read_requests(log_dir, last=5)))
    (record,) = [r for r in read_requests(log_dir, last=5) if r.request_id == answer["request_id"]]
    assert record.actual == ["A", "B"] and record.feedback_time is not None
    rows = inputs_frame(log_dir, last=5)
    mine = rows[rows["request_id"] == answer["request_id"]]
    assert mine["actual"].tolist() == ["A", "B"]
    assert mine["prediction"].tolist() == answer["predictions"]
    assert mine["island"].tolist() == ["Biscoe", "Dream"]


def test_feedback_for_an_unknown_request_is_404(client: Client) -> None:
    reply = client.call("POST", "/feedback", json_body={"request_id": "nope", "actual": "Adelie"})
    assert reply.status == 404 and reply.json["error"] == "unknown_request"
    answer = client.predict({"records": [ROW, OTHER]}).json
    wrong = {"request_id": answer["request_id"], "actual": ["A"]}
    assert client.call("POST", "/feedback", json_body=wrong).status == 422
    assert client.call("POST", "/feedback", json_body={"actual": 1}).status == 400


def test_feedback_is_found_in_the_log_after_a_restart(serve, models, tmp_path: Path) -> None:
    first = serve(models["v1"], log_dir=str(tmp_path))
    request_id = Client(first.port).predict({"records": [ROW]}).json["request_id"]
    first.stop()
    second = serve(models["v1"], log_dir=str(tmp_path))
    body = {"request_id": request_id, "actual": "Gentoo"}
    assert Client(second.port).call("POST", "/feedback", json_body=body).status == 200
    second.stop()
    frame = requests_frame(tmp_path)
    assert frame.loc[frame["request_id"] == request_id, "actual"].tolist() == ["Gentoo"]


def test_the_reader_selects_the_last_n_and_time_ranges(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    base = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for minute in range(10):
        stamp = (base + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        log.put(
            LoggedRequest(f"r{minute}", stamp, "m", 1, 1.0, 200, 1, outputs={"predictions": [1]})
        )
    log.close()
    assert [r.request_id for r in read_requests(tmp_path, last=3)] == ["r7", "r8", "r9"]
    since, until = base + timedelta(minutes=2), "2026-01-01T12:05:00"
    assert [r.request_id for r in read_requests(tmp_path, since=since, until=until)] == [
        "r2",
        "r3",
        "r4",
    ]
    frame = requests_frame(tmp_path, last=2)
    assert list(frame["request_id"]) == ["r8", "r9"] and str(frame["time"].dt.tz) == "UTC"
    assert read_requests(tmp_path / "elsewhere") == []
    assert now_iso() > "2026-01-01"
