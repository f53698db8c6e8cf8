"""POST /feedback at the door: what it accepts at once, what it accepts before the log knows
the prediction, and what it refuses (with the field named), so that the log never sees a value
JSON cannot carry."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from core.serving.logreader import read_requests
from tests.serving.helpers import ROW, Client


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _feedback(client: Client, text: str):
    return client.call("POST", "/feedback", text, {"Content-Type": "application/json"})


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_an_actual_json_cannot_carry_is_a_422(client: Client, shared_server, token) -> None:
    answer = client.predict({"records": [ROW]}).json
    reply = _feedback(client, f'{{"request_id": "{answer["request_id"]}", "actual": {token}}}')
    assert reply.status == 422
    assert reply.json["details"][0]["field"] == "actual"
    assert shared_server.state.log.alive and shared_server.state.log.bad_entries == 0
    listed = _feedback(client, f'{{"request_id": "{answer["request_id"]}", "actual": [{token}]}}')
    assert listed.status == 422 and listed.json["details"][0]["field"] == "actual[0]"


def test_a_lone_surrogate_in_the_request_id_is_a_422(client: Client) -> None:
    reply = _feedback(client, '{"request_id": "ab\\ud800", "actual": "Adelie"}')
    assert reply.status == 422
    assert reply.json["details"] == [{"field": "request_id", "problem": "lone_surrogate"}]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"actual": []}, "not_a_value"),
        ({"actual": {"species": "Adelie"}}, "not_a_value"),
        ({"actual": [["Adelie"]]}, "nested"),
        ({"actual": "Adelie", "comment": "x"}, "unknown_field"),
    ],
)
def test_feedback_of_the_wrong_shape_is_a_422(client: Client, body: dict, problem: str) -> None:
    answer = client.predict({"records": [ROW]}).json
    reply = client.call("POST", "/feedback", json_body={"request_id": answer["request_id"], **body})
    assert reply.status == 422 and reply.json["details"][0]["problem"] == problem


def test_feedback_before_the_log_knows_the_prediction_is_accepted_and_joined(
    serve, models, tmp_path: Path
) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path))
    client = Client(server.port)
    answer = client.predict({"records": [ROW]}).json
    server.state.recent = type(server.state.recent)()  # as another worker sees it: not in memory
    body = {"request_id": answer["request_id"], "actual": "Gentoo"}
    reply = client.call("POST", "/feedback", json_body=body)
    assert reply.status in (200, 202) and reply.json["recorded"] is True
    _wait_for(lambda: any(r.actual == "Gentoo" for r in read_requests(tmp_path)))


def test_ids_this_server_did_not_issue_or_long_ago_are_404(serve, models, tmp_path) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path))
    client = Client(server.port)
    forged = "0" * 32
    stale = server.state.ids.issue(now=time.time() - 3600)
    for request_id in (forged, stale):
        reply = client.call("POST", "/feedback", json_body={"request_id": request_id, "actual": 1})
        assert (reply.status, reply.json["error"]) == (404, "unknown_request")


def test_feedback_for_a_refused_prediction_is_404_once_logged(serve, models, tmp_path) -> None:
    server = serve(models["v1"], log_dir=str(tmp_path))
    client = Client(server.port)
    refused = client.predict({"records": [{"island": "Biscoe"}]})
    assert refused.status == 422
    _wait_for(lambda: len(read_requests(tmp_path)) == 1)
    body = {"request_id": refused.json["request_id"], "actual": "Adelie"}
    reply = client.call("POST", "/feedback", json_body=body)
    assert (reply.status, reply.json["error"]) == (404, "unknown_request")
    assert "422" in reply.json["message"]


def test_request_ids_look_like_before_and_differ(client: Client) -> None:
    ids = {client.predict({"records": [ROW]}).json["request_id"] for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert json.dumps(sorted(ids))  # plain ASCII text
