"""A thousand junk bodies: each one answered 4xx, the server up and quick afterwards."""

from __future__ import annotations

import json
import random
import time

from tests.serving.helpers import FEATURES, ROW, Client

CONTENT_TYPES = [
    "application/json",
    "application/json",
    "application/json",
    "text/csv",
    "text/plain",
    "application/x-www-form-urlencoded",
    "",
    "application/json; charset=utf-16",
    "application/vnd.api+json",
]
VALUES = [None, True, 0, -1, 1e308, 10**30, "", "x", "NaN", [], {}, [1, [2]], {"a": None}]


def _value(rng: random.Random) -> object:
    return rng.choice(VALUES) if rng.random() < 0.6 else rng.choice(list(ROW.values()))


# Every generated body lacks "year" or is not a request at all, so each must be refused.
PARTIAL = [name for name in FEATURES if name != "year"]


def _record(rng: random.Random) -> dict:
    names = rng.sample([*PARTIAL, "extra", ""], k=rng.randint(0, len(PARTIAL) + 2))
    return {name: _value(rng) for name in names}


def junk(rng: random.Random) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 300)))
    if kind == 1:
        return "".join(rng.choice('{}[]",:01 aeNIf\\') for _ in range(rng.randint(0, 200))).encode()
    if kind == 2:
        key = rng.choice(["records", "instances", "inputs", "dataframe_records", "x"])
        return json.dumps({key: [_record(rng) for _ in range(rng.randint(0, 4))]}).encode()
    if kind == 3:
        split = {"columns": rng.sample(PARTIAL, k=4), "data": [[_value(rng)] * rng.randint(0, 5)]}
        return json.dumps({"dataframe_split": rng.choice([split, [], None, "x"])}).encode()
    if kind == 4:
        columns = {n: [_value(rng)] * rng.randint(0, 2) for n in PARTIAL}
        return json.dumps({"inputs": columns}).encode()
    if kind == 5:
        noise = bytes(rng.randrange(256) for _ in range(40))
        return ",".join(rng.sample(PARTIAL, 3)).encode() + b"\n" + noise
    return json.dumps(rng.choice(VALUES)).encode()


def test_a_thousand_junk_requests_are_each_answered_4xx(client: Client) -> None:
    rng = random.Random(20261202)
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for number in range(1000):
        headers = {"Content-Type": rng.choice(CONTENT_TYPES)}
        path = "/predict" if number % 10 else rng.choice(["/feedback", "/predict", "/x%00"])
        reply = client.call("POST", path, junk(rng), headers)
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
        assert 400 <= reply.status < 500, (number, reply.status, reply.body[:200])
        assert reply.headers["content-type"].startswith("application/json")
        assert set(reply.json) >= {"error", "message", "details"}
    elapsed = time.perf_counter() - started
    assert len(statuses) >= 4, statuses  # the junk reached several different refusals
    assert elapsed < 30, elapsed
    timed = time.perf_counter()
    assert client.call("GET", "/health").status == 200
    assert client.predict({"records": [ROW]}).status == 200
    assert time.perf_counter() - timed < 1.0
