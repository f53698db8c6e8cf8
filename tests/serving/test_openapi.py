"""GET /openapi.json: the model's real input schema, a valid document, and an API that keeps it."""

from __future__ import annotations

import pytest
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
    assert properties["island"]["x-type"] == "string"
    assert properties["island"]["x-categories"] == ["Biscoe", "Dream", "Torgersen"]
    assert {"type": "string"} in properties["island"]["anyOf"]  # unseen ones get a warning
    assert "nullable" not in properties["island"]
    assert properties["sex"]["x-categories"] == ["female", "male"] and properties["sex"]["nullable"]
    length = properties["bill_length_mm"]
    assert length["x-type"] == "float" and length["nullable"] is True
    assert length["anyOf"][0]["type"] == "number" and length["anyOf"][0]["maximum"] > 59.6
    assert "NA" in length["anyOf"][-1]["enum"]  # a missing token, where training saw gaps
    year = properties["year"]
    assert year["x-type"] == "integer" and "nullable" not in year
    assert all("enum" not in form for form in year["anyOf"])
    assert set(document["paths"]) == {
        "/health",
        "/metadata",
        "/openapi.json",
        "/metrics",
        "/predict",
        "/invocations",
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


def _exactly_described(case) -> bool:
    """Whether JSON Schema can state every rule the server applies to this request body.

    It cannot for a CSV body (its header must name the inputs), for pandas' split form (each
    row one value per column) and for the column form (every list one length): there a valid
    document may still be refused, so only the other checks apply to them.
    """
    body = case.body if isinstance(case.body, dict) else {}
    if case.media_type != "application/json" or "dataframe_split" in body:
        return False
    inputs = body.get("inputs")
    return not (isinstance(inputs, dict) and any(isinstance(v, list) for v in inputs.values()))


def _fuzz(operation, mode: GenerationMode) -> dict[int, int]:
    """Run ``operation`` on generated cases of ``mode``; statuses seen → count.

    Positive cases must be answered as the document says and, where the document states every
    rule, accepted; negative cases (which break the document) must never be accepted.
    """
    seen: dict[int, int] = {}
    data_check = (
        checks.positive_data_acceptance
        if mode == GenerationMode.POSITIVE
        else checks.negative_data_rejection
    )

    @settings(
        max_examples=EXAMPLES[operation.method.upper()],
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def run(case) -> None:
        response = case.call()
        extra = [data_check] if _exactly_described(case) else []
        case.validate_response(response, checks=[*CHECKS, *extra])
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    run()
    return seen


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_the_document_and_the_server_agree(shared_server, mode) -> None:
    schema = schemathesis.openapi.from_url(f"{shared_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    if mode == GenerationMode.NEGATIVE:  # only operations with a body can be sent wrong
        operations = [op for op in operations if op.method.upper() == "POST"]
    statuses = {op.label: _fuzz(op, mode) for op in operations}
    assert {"POST /predict", "POST /invocations", "POST /feedback"} <= set(statuses)
    assert all(status < 500 for counts in statuses.values() for status in counts), statuses
    if mode == GenerationMode.POSITIVE:
        assert statuses["POST /predict"].get(200, 0) > 0, statuses  # generated rows were served
    else:
        assert all(status >= 400 for counts in statuses.values() for status in counts), statuses
