"""A challenger beside the champion, in a real waitress server: shadow, split, sticky, cut-off."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from core.serving.challenger import key_text, to_challenger, write_spec
from core.serving.predlog import LOG_FILE
from tests.serving.helpers import ROW, Client, export_model

DEADLINE_S = 60.0


class Sleepy(ClassifierMixin, BaseEstimator):
    """Fits like a classifier; predicting takes as long as the module's ``NAP`` says."""

    def fit(self, X: Any, y: Any) -> Sleepy:
        self.classes_ = np.unique(y)
        return self

    def predict(self, X: Any) -> Any:
        NAP.wait(30)
        return np.array([self.classes_[0]] * len(X))


NAP = threading.Event()  # set: Sleepy answers at once


@pytest.fixture(scope="module")
def dirs(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("challengers")
    return {
        **models,
        "v3": export_model(root / "v3", LogisticRegression(C=0.01, max_iter=500), version=3),
        "sleepy": export_model(root / "sleepy", Sleepy(), version=9),
    }


def _deployment(tmp_path: Path, challenger: Path, **spec: Any) -> tuple[Path, Path]:
    """A log folder and a challenger.json naming ``challenger``.

    The time limit is a minute unless the test sets one: on a loaded machine a first prediction
    can take over the default second, and the challenger would be cut off before it answers.
    """
    spec.setdefault("timeout_ms", 60_000)
    write_spec(tmp_path / "challenger.json", {"model_dir": str(challenger), **spec})
    return tmp_path / "log", tmp_path / "challenger.json"


def _rows(log: Path, query: str) -> list[tuple]:
    connection = sqlite3.connect(log / LOG_FILE)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def _wait_for(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_shadow_answers_with_the_champion_and_logs_the_challenger(serve, dirs, tmp_path):
    log, spec = _deployment(tmp_path, dirs["v2"], mode="shadow")
    server = serve(dirs["v1"], log_dir=str(log), challenger_file=str(spec))
    client = Client(server.port)
    ids = []
    for _ in range(5):
        reply = client.predict({"records": [ROW, {**ROW, "island": "Dream"}]})
        assert reply.status == 200
        answer = reply.json
        assert answer["version"] == 1 and answer["served_by"] == "champion"
        assert reply.headers["x-served-by"] == "champion"
        ids.append(answer["request_id"])
    client.close()
    shadow = _wait_for(
        lambda: _rows(log, "SELECT request_id, mode, side, version, status, outputs "
                           "FROM challenger") if len(_rows(log, "SELECT 1 FROM challenger")) == 5
        else None, "the shadow answers")  # fmt: skip
    assert {row[0] for row in shadow} == set(ids)
    for _, mode, side, version, status, outputs in shadow:
        assert (mode, side, version, status) == ("shadow", "champion", 2, "ok")
        assert len(json.loads(outputs)["predictions"]) == 2


def test_split_answers_a_share_and_says_which_side(serve, dirs, tmp_path):
    log, spec = _deployment(tmp_path, dirs["v2"], mode="split", share=50)
    server = serve(dirs["v1"], log_dir=str(log), challenger_file=str(spec))
    client = Client(server.port)
    sides = {}
    for _ in range(40):
        reply = client.predict({"records": [ROW]})
        answer = reply.json
        assert reply.headers["x-served-by"] == answer["served_by"]
        expected = 2 if answer["served_by"] == "challenger" else 1
        assert answer["version"] == expected == int(reply.headers["x-model-version"])
        sides[answer["request_id"]] = answer["served_by"]
        # the side is the hash of the request id: every worker process decides alike
        assert to_challenger(50, answer["request_id"]) == (answer["served_by"] == "challenger")
    client.close()
    assert set(sides.values()) == {"champion", "challenger"}

    def logged_all() -> dict | None:
        found = dict(_rows(log, "SELECT request_id, side FROM challenger"))
        return found if len(found) == 40 else None

    logged = _wait_for(logged_all, "the split log")
    assert logged == sides


def test_sticky_split_keeps_a_key_on_one_side_and_names_a_missing_column(serve, dirs, tmp_path):
    log, spec = _deployment(tmp_path, dirs["v3"], mode="split", share=50, sticky="customer")
    server = serve(dirs["v1"], log_dir=str(log), challenger_file=str(spec))
    client = Client(server.port)
    for key in ("c-1", "c-2", "c-3", 17, "17"):
        seen = {client.predict({"records": [{**ROW, "customer": key}]}).json["served_by"]
                for _ in range(6)}  # fmt: skip
        assert seen == {"challenger" if to_challenger(50, key_text(key)) else "champion"}
    csv = b"island,customer\nBiscoe,c-1\n"
    assert client.call("POST", "/predict", csv, {"Content-Type": "text/csv"}).status == 422
    mlflow = {"dataframe_records": [{**ROW, "customer": "c-1"}], "params": {}}
    reply = client.call("POST", "/invocations", json_body=mlflow)
    assert reply.status == 200 and reply.headers["x-served-by"] in ("champion", "challenger")
    assert set(reply.json) == {"predictions"}  # MLflow's body, unchanged
    missing = client.predict({"records": [ROW]})
    client.close()
    assert missing.status == 422
    detail = missing.json["details"][0]
    assert detail == {"column": "customer", "problem": "missing_sticky_column"}
    assert "customer" in missing.json["message"]


def test_a_challenger_that_raises_never_hurts_the_champion(serve, dirs, tmp_path):
    log, spec = _deployment(tmp_path, dirs["exploding"], mode="split", share=100)
    server = serve(dirs["v1"], log_dir=str(log), challenger_file=str(spec))
    client = Client(server.port)
    for _ in range(7):
        reply = client.predict({"records": [ROW]})
        assert reply.status == 200 and reply.json["served_by"] == "champion"
    metrics = client.call("GET", "/metrics").body.decode()
    client.close()
    assert "shipway_challenger_failures_total 5" in metrics  # then cut off: no more tries
    assert "shipway_challenger_cut_off_total 1" in metrics
    assert "shipway_challenger_cut_off 1" in metrics
    statuses = _wait_for(lambda: _rows(log, "SELECT status FROM challenger"), "the log")
    assert ("failed",) in statuses


def test_a_hanging_challenger_is_cut_off(serve, dirs, tmp_path):
    NAP.clear()
    try:
        log, spec = _deployment(tmp_path, dirs["sleepy"], mode="shadow", timeout_ms=200)
        server = serve(dirs["v1"], log_dir=str(log), challenger_file=str(spec))
        client = Client(server.port)
        assert client.predict({"records": [ROW]}).status == 200  # the shadow thread now hangs

        def cut_off() -> bool:
            assert client.predict({"records": [ROW]}).json["version"] == 1
            return "shipway_challenger_cut_off 1" in client.call("GET", "/metrics").body.decode()

        _wait_for(cut_off, "the cut-off")
        client.close()
    finally:
        NAP.set()


def test_the_challenger_file_is_followed_while_serving(serve, dirs, tmp_path):
    log, spec = _deployment(tmp_path, dirs["v2"], mode="split", share=100)
    server = serve(dirs["v1"], log_dir=str(log), challenger_file=str(spec))
    client = Client(server.port)
    assert client.predict({"records": [ROW]}).json["version"] == 2
    write_spec(spec, {"mode": "off"})
    _wait_for(lambda: "served_by" not in client.predict({"records": [ROW]}).json, "removal")
    client.close()


def test_sticky_keys_are_one_text_whatever_their_json_type():
    assert key_text(7) == key_text(7.0) == key_text("7") == key_text(" 7 ") == "7"
    assert key_text(True) == "true" and key_text("abc") == "abc"
    assert not to_challenger(0, "x") and to_challenger(100, "x")
    share = sum(to_challenger(10, f"k{i}") for i in range(10_000)) / 10_000
    assert 0.08 < share < 0.12


def test_pruning_the_log_removes_the_challenger_rows_of_pruned_requests(tmp_path):
    from core.serving.logmaint import prune
    from core.serving.predlog import ChallengerEntry, LoggedRequest, PredictionLog

    plog = PredictionLog(tmp_path, flush_interval=0.0)
    for request_id, when in (("old", "2020-01-01T00:00:00.000000Z"),
                             ("new", "2999-01-01T00:00:00.000000Z")):  # fmt: skip
        plog.put(LoggedRequest(request_id, when, "m", 1, 1.0, 200, 1, outputs={"predictions": [1]}))
        plog.put(ChallengerEntry(request_id, when, "shadow", "champion", 2, 1.0, "ok"))
    plog.close()
    prune(tmp_path, "2021-01-01T00:00:00.000000Z")
    assert _rows(tmp_path, "SELECT request_id FROM challenger") == [("new",)]
