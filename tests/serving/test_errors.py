"""Every error answer of the API, against a real waitress server: status, JSON shape, code."""

from __future__ import annotations

import json
import time

import pytest

from tests.serving.helpers import ROW, Client, Reply, chunked_post

MB = 1024 * 1024


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict:
    assert reply.status == status, reply.body[:300]
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json
    assert set(body) >= {"error", "message", "details", "request_id"}
    assert isinstance(body["details"], list)
    if code is not None:
        assert body["error"] == code
    return body


def test_malformed_json_is_400(client: Client) -> None:
    reply = client.call("POST", "/predict", '{"records": [', {"Content-Type": "application/json"})
    body = assert_error(reply, 400, "malformed_json")
    assert "line 1" in body["message"]


def test_a_body_that_is_not_an_object_of_a_known_form_is_400(client: Client) -> None:
    assert_error(client.predict([ROW]), 400, "bad_request")
    assert_error(client.predict({"rows": [ROW]}), 400, "bad_request")
    assert_error(client.predict({"records": [ROW], "instances": [ROW]}), 400, "bad_request")
    assert_error(client.predict({"records": [1, 2]}), 400, "bad_request")


def test_100000_nested_brackets_are_refused_fast(client: Client) -> None:
    started = time.perf_counter()
    reply = client.call("POST", "/predict", "[" * 100_000, {"Content-Type": "application/json"})
    assert_error(reply, 400, "too_deeply_nested")
    assert time.perf_counter() - started < 1.0
    balanced = "[" * 100_000 + "]" * 100_000
    reply = client.call("POST", "/predict", balanced, {"Content-Type": "application/json"})
    assert_error(reply, 400, "too_deeply_nested")
    assert client.call("GET", "/health").status == 200


def test_nesting_inside_strings_does_not_count(client: Client) -> None:
    row = dict(ROW, sex="[" * 200)
    reply = client.predict({"records": [row]})
    assert reply.status == 200
    assert reply.json["warnings"][0]["column"] == "sex"


def test_non_utf8_bytes_are_400(client: Client) -> None:
    body = b'{"records": [{"island": "\xff\xfe"}]}'
    reply = client.call("POST", "/predict", body, {"Content-Type": "application/json"})
    payload = assert_error(reply, 400, "bad_encoding")
    assert "\\xff" not in payload["message"] and "offset" in payload["message"]
    reply = client.call("POST", "/predict", b"island\n\xff\n", {"Content-Type": "text/csv"})
    assert_error(reply, 400, "bad_encoding")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/json; charset=latin-1",
    ],
)
def test_wrong_content_types_are_415(client: Client, content_type: str) -> None:
    body = json.dumps({"records": [ROW]})
    reply = client.call("POST", "/predict", body, {"Content-Type": content_type})
    assert_error(reply, 415, "unsupported_media_type")


def test_a_missing_content_type_is_415(client: Client) -> None:
    assert_error(client.call("POST", "/predict", json.dumps({"records": [ROW]})), 415)


def test_a_form_body_is_415(client: Client) -> None:
    body = "island=Biscoe&year=2008"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert_error(client.call("POST", "/predict", body, headers), 415)
    assert_error(client.call("POST", "/feedback", body, headers), 415)


def test_an_11_mb_body_with_content_length_is_413(client: Client) -> None:
    body = b'{"records": [' + b" " * (11 * MB) + b"]}"
    reply = client.call("POST", "/predict", body, {"Content-Type": "application/json"})
    assert_error(reply, 413, "payload_too_large")


def test_an_11_mb_chunked_body_without_content_length_is_413(shared_server) -> None:
    chunks = [b'{"records": ['] + [b" " * MB] * 11 + [b"]}"]
    reply = chunked_post(shared_server.port, "/predict", chunks, "application/json")
    assert_error(reply, 413, "payload_too_large")
    small = [b'{"records": ', json.dumps([ROW]).encode(), b"}"]
    assert chunked_post(shared_server.port, "/predict", small, "application/json").status == 200


def test_too_many_rows_is_413(serve, models) -> None:
    server = serve(models["v1"], max_rows=3)
    reply = Client(server.port).predict({"records": [ROW] * 4})
    assert_error(reply, 413, "payload_too_large")


def test_unknown_routes_and_methods_answer_json(client: Client) -> None:
    assert_error(client.call("GET", "/nope"), 404, "not_found")
    assert_error(client.call("GET", "/predict/extra"), 404, "not_found")
    reply = client.call("GET", "/predict")
    assert_error(reply, 405, "method_not_allowed")
    assert "POST" in reply.headers["allow"]
    assert_error(client.call("DELETE", "/health"), 405)


def test_a_foreign_host_is_403(client: Client, shared_server) -> None:
    reply = client.call("GET", "/health", headers={"Host": f"evil.example:{shared_server.port}"})
    body = assert_error(reply, 403, "forbidden")
    assert body["details"] == [{"header": "Host", "problem": "foreign"}]
    reply = client.call("GET", "/health", headers={"Host": "127.0.0.1:1"})  # another port
    assert_error(reply, 403)
    for name in ("127.0.0.1", "localhost", "[::1]", "LOCALHOST"):
        reply = client.call("GET", "/health", headers={"Host": f"{name}:{shared_server.port}"})
        assert reply.status == 200, name


def test_a_foreign_origin_is_403(client: Client, shared_server) -> None:
    port = shared_server.port
    for origin in ("http://evil.example", f"http://evil.example:{port}", "null"):
        reply = client.predict({"records": [ROW]}, headers={"Origin": origin})
        body = assert_error(reply, 403, "forbidden")
        assert body["details"][0]["header"] == "Origin"
    reply = client.predict({"records": [ROW]}, headers={"Origin": f"http://localhost:{port}"})
    assert reply.status == 200


def test_configured_extra_hosts_are_accepted(serve, models) -> None:
    server = serve(models["v1"], allowed_hosts=("penguins.internal",))
    client = Client(server.port)
    headers = {"Host": f"penguins.internal:{server.port}"}
    assert client.call("GET", "/health", headers=headers).status == 200
    origin = {"Origin": f"http://penguins.internal:{server.port}"}
    assert client.call("GET", "/metadata", headers=origin).status == 200


def test_a_token_guards_every_route_but_health(serve, models) -> None:
    server = serve(models["v1"], token="s3cret")
    client = Client(server.port)
    assert client.call("GET", "/health").status == 200
    for method, path in (("GET", "/metadata"), ("GET", "/metrics"), ("GET", "/openapi.json")):
        reply = client.call(method, path)
        assert_error(reply, 401, "unauthorized")
        assert reply.headers["www-authenticate"].startswith("Bearer")
    assert_error(client.predict({"records": [ROW]}), 401)
    assert_error(client.call("GET", "/nope"), 401)  # unknown routes give nothing away


def test_a_wrong_token_is_401(serve, models) -> None:
    server = serve(models["v1"], token="s3cret")
    client = Client(server.port)
    for value in ("Bearer wrong", "Bearer s3cret2", "Basic s3cret", "s3cret", "Bearer "):
        reply = client.predict({"records": [ROW]}, headers={"Authorization": value})
        assert_error(reply, 401, "unauthorized")
    reply = client.predict({"records": [ROW]}, headers={"Authorization": "Bearer s3cret"})
    assert reply.status == 200


def test_a_model_that_raises_gives_500_with_a_request_id_and_the_server_stays_up(
    serve, models
) -> None:
    server = serve(models["exploding"])
    client = Client(server.port)
    for _ in range(3):
        reply = client.predict({"records": [ROW]})
        body = assert_error(reply, 500, "prediction_failed")
        assert body["request_id"] == reply.headers["x-request-id"]
        assert "RuntimeError" in body["message"]
    health = client.call("GET", "/health")
    assert health.status == 200 and health.json["model"] == "broken"
