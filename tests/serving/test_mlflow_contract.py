"""MLflow's serving contract on a real waitress server: MLflow's documented request examples
(``mlflow models serve``'s /invocations, /ping, /version), with the penguin model's columns in
place of the examples' ``a, b, c``, answered with MLflow's response and error shapes."""

from __future__ import annotations

import json

import pandas as pd

from core.serving.mlflow_contract import MLFLOW_VERSION
from tests.serving.helpers import FEATURES, ROW, Client, penguins

JSON = {"Content-Type": "application/json"}


def _rows(count: int = 3) -> pd.DataFrame:
    return penguins()[FEATURES].head(count)


def _documented_requests() -> list[tuple[str, dict[str, str], str]]:
    """MLflow's documented bodies: split and record DataFrames (pandas' own to_dict, as the
    Python examples build them), TF serving's instances and inputs, CSV from to_csv, params."""
    frame = _rows()
    split = json.loads(frame.to_json(orient="split"))  # with its "index", as pandas writes it
    records = json.loads(frame.to_json(orient="records"))
    columns = {name: [row[name] for row in records] for name in frame.columns}
    bodies = [
        ("dataframe_split", {"dataframe_split": split}),
        (
            "dataframe_split without index",
            {"dataframe_split": {k: split[k] for k in ("columns", "data")}},
        ),
        ("dataframe_records", {"dataframe_records": records}),
        ("instances", {"instances": records}),
        ("inputs", {"inputs": columns}),
        ("with params", {"dataframe_split": split, "params": {"max_answer_len": 10}}),
    ]
    requests = [(name, JSON, json.dumps(body)) for name, body in bodies]
    requests.append(
        ("json with a trailing ;", {"Content-Type": "application/json;"}, requests[0][2])
    )
    requests.append(("csv", {"Content-Type": "text/csv"}, frame.to_csv(index=False)))
    return requests


def test_mlflow_s_documented_requests_get_mlflow_s_answer(client: Client) -> None:
    expected = client.predict({"records": json.loads(_rows().to_json(orient="records"))})
    assert expected.status == 200
    for name, headers, body in _documented_requests():
        reply = client.call("POST", "/invocations", body, headers)
        assert reply.status == 200, (name, reply.body)
        assert reply.headers["content-type"] == "application/json", name
        assert reply.json == {"predictions": expected.json["predictions"]}, name
        assert reply.headers["x-request-id"]  # feedback can name the request


def test_ping_and_version_answer_as_mlflow_s_do(client: Client) -> None:
    ping = client.call("GET", "/ping")
    assert (ping.status, ping.body, ping.headers["content-type"]) == (
        200,
        b"\n",
        "application/json",
    )
    version = client.call("GET", "/version")
    assert version.status == 200 and version.body.decode() == MLFLOW_VERSION


def _error(reply) -> dict:
    assert reply.headers["content-type"] == "application/json"
    document = reply.json
    assert set(document) >= {"error_code", "message"} and "error" not in document
    return document


def test_bad_requests_get_mlflow_s_error_shape_and_status(client: Client) -> None:
    lacking = {k: v for k, v in ROW.items() if k != "sex"}
    reply = client.call("POST", "/invocations", json_body={"dataframe_records": [lacking]})
    error = _error(reply)
    assert reply.status == 400 and error["error_code"] == "BAD_REQUEST"
    assert "sex" in error["message"] and error["details"][0]["column"] == "sex"
    for body in ("{not json", "[1, 2]", json.dumps({"records": [ROW]}), json.dumps({})):
        reply = client.call("POST", "/invocations", body, JSON)
        assert reply.status == 400 and _error(reply)["error_code"] == "BAD_REQUEST", body
    both = {"dataframe_records": [ROW], "instances": [ROW]}
    reply = client.call("POST", "/invocations", json_body=both)
    assert reply.status == 400 and "exactly one of the input fields" in _error(reply)["message"]
    params = client.call("POST", "/invocations", json_body={"inputs": ROW, "params": 3})
    assert params.status == 400 and "'params' must be an object" in _error(params)["message"]
    unknown = client.call("POST", "/invocations", json_body={"inputs": ROW, "colums": 1})
    assert unknown.status == 400 and "'colums'" in _error(unknown)["message"]
    for content_type, words in (
        ("text/plain", "only supports the following content types"),
        ("application/json; charset=latin-1", "only supports UTF-8"),
        ("application/json; format=pandas-split", "Unrecognized content type parameters"),
    ):
        reply = client.call(
            "POST", "/invocations", json.dumps({"inputs": ROW}), {"Content-Type": content_type}
        )
        assert reply.status == 415 and reply.headers["content-type"].startswith("text/plain")
        assert words in reply.body.decode(), content_type


def test_a_token_guards_invocations_but_not_ping(serve, models) -> None:
    server = serve(models["v1"], token="s3cret")
    connection = Client(server.port)
    try:
        assert connection.call("GET", "/ping").status == 200
        refused = connection.call("POST", "/invocations", json_body={"inputs": ROW})
        assert refused.status == 401 and _error(refused)["error_code"] == "UNAUTHENTICATED"
        assert refused.headers["www-authenticate"].startswith("Bearer")
        allowed = connection.call(
            "POST",
            "/invocations",
            json_body={"inputs": ROW},
            headers={"Authorization": "Bearer s3cret"},
        )
        assert allowed.status == 200 and len(allowed.json["predictions"]) == 1
    finally:
        connection.close()
