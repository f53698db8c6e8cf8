"""GET /openapi.json: the model's real input schema, a valid document, and an API that keeps it."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from tests.serving.helpers import FEATURES, Client

EXAMPLES = {"POST": 100, "GET": 3}


def test_the_document_holds_the_models_real_input_schema(client: Client) -> None:
    reply = client.call("GET", "/openapi.json")
    assert reply.status == 200
    document = reply.json
    assert document["openapi"].startswith("3.0")
    assert document["info"]["version"] == "1"
    record = document["components"]["schemas"]["Record"]
    assert record["required"] == FEATURES
    properties = record["properties"]
    assert properties["island"]["type"] == "string"
    assert properties["island"]["enum"] == ["Biscoe", "Dream", "Torgersen"]
    assert "nullable" not in properties["island"]
    assert properties["sex"]["enum"] == ["female", "male", None] and properties["sex"]["nullable"]
    assert properties["bill_length_mm"]["type"] == "number"
    assert properties["bill_length_mm"]["nullable"] is True
    assert properties["year"]["type"] == "integer" and "nullable" not in properties["year"]
    assert set(document["paths"]) == {
        "/health",
        "/metadata",
        "/openapi.json",
        "/metrics",
        "/predict",
        "/feedback",
    }
    answer = document["components"]["schemas"]["PredictAnswer"]["properties"]
    assert {"predictions", "probabilities", "classes", "request_id"} <= set(answer)


def test_the_document_is_valid_openapi(shared_server) -> None:
    schema = schemathesis.openapi.from_url(f"{shared_server.url}/openapi.json")
    schema.validate()  # against the OpenAPI 3.0 meta-schema; raises when invalid


def test_metadata_names_types_categories_and_nullability(client: Client) -> None:
    body = client.call("GET", "/metadata").json
    assert (body["name"], body["version"], body["task"]) == ("penguins", 1, "classification")
    inputs = {entry["name"]: entry for entry in body["inputs"]}
    assert inputs["island"] == {
        "name": "island",
        "type": "string",
        "nullable": False,
        "categories": ["Biscoe", "Dream", "Torgersen"],
    }
    assert inputs["body_mass_g"]["nullable"] and inputs["body_mass_g"]["min"] == 2700.0
    assert body["output"]["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert body["metrics"] == {"f1": 0.9}
    assert body["limits"]["max_body_bytes"] == 10 * 1024 * 1024


CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def _fuzz(operation) -> dict[int, int]:
    """Run ``operation`` on schema-conforming cases; statuses seen → count."""
    seen: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES[operation.method.upper()],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    def run(case) -> None:
        response = case.call_and_validate(checks=CHECKS)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    run()
    return seen


def test_schemathesis_finds_no_server_error_and_no_nonconforming_answer(shared_server) -> None:
    schema = schemathesis.openapi.from_url(f"{shared_server.url}/openapi.json")
    statuses = {result.ok().label: _fuzz(result.ok()) for result in schema.get_all_operations()}
    assert {"GET /health", "POST /predict", "POST /feedback"} <= set(statuses)
    assert statuses["POST /predict"].get(200, 0) > 0, statuses  # some generated rows were served
    assert all(status < 500 for counts in statuses.values() for status in counts), statuses
