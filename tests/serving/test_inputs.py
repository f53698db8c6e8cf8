"""Request forms and the schema rules: columns by name, safe coercion, nulls, categories."""

from __future__ import annotations

import json
import math

import joblib
import pandas as pd
import pytest

from core.serving.frames import model_frame
from tests.serving.helpers import FEATURES, ROW, SCHEMA, Client, penguins

OTHER = dict(ROW, island="Dream", bill_length_mm=39.0, flipper_length_mm=190, sex="male")


def predictions(reply) -> list:
    assert reply.status == 200, reply.body[:400]
    return reply.json["predictions"]


def test_every_input_form_gives_the_same_answer(client: Client) -> None:
    rows = [ROW, OTHER]
    expected = predictions(client.predict({"records": rows}))
    columns = {name: [row[name] for row in rows] for name in FEATURES}
    split = {"columns": FEATURES[::-1], "data": [[row[c] for c in FEATURES[::-1]] for row in rows]}
    for payload in (
        {"dataframe_records": rows},
        {"instances": rows},
        {"inputs": rows},
        {"inputs": columns},
        {"dataframe_split": split},
    ):
        assert predictions(client.predict(payload)) == expected, list(payload)
    csv = pd.DataFrame(rows).to_csv(index=False)
    reply = client.call("POST", "/predict", csv, {"Content-Type": "text/csv"})
    assert predictions(reply) == expected
    single = client.predict({"inputs": dict(ROW)})
    assert predictions(single) == expected[:1]


def test_the_answer_has_classes_probabilities_and_the_version(client: Client) -> None:
    body = client.predict({"records": [ROW]}).json
    assert body["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert len(body["probabilities"][0]) == 3
    assert math.isclose(sum(body["probabilities"][0]), 1.0)
    assert (body["model"], body["version"]) == ("penguins", 1)
    assert body["warnings"] == [] and body["ignored_columns"] == []


def test_serving_predicts_what_the_pipeline_predicts_on_training_coercion(
    client: Client, models
) -> None:
    frame = penguins().head(40)
    pipeline = joblib.load(models["v1"] / "model.joblib")
    expected = pipeline.predict(model_frame(frame, SCHEMA, FEATURES)).tolist()
    expected_proba = pipeline.predict_proba(model_frame(frame, SCHEMA, FEATURES)).tolist()
    rows = json.loads(frame[FEATURES].to_json(orient="records"))
    nullable = {"bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"}
    assert all(v is not None for r in rows for k, v in r.items() if k not in nullable)
    reply = client.predict({"records": rows})
    assert predictions(reply) == expected
    assert reply.json["probabilities"] == expected_proba
    csv = frame[FEATURES].to_csv(index=False)  # missing values as empty cells
    reply = client.call("POST", "/predict", csv, {"Content-Type": "text/csv"})
    assert predictions(reply) == expected


def test_a_missing_column_is_422_naming_it(client: Client) -> None:
    row = {k: v for k, v in ROW.items() if k != "year"}
    reply = client.predict({"records": [row]})
    assert reply.status == 422
    body = reply.json
    assert body["error"] == "schema_mismatch"
    assert body["details"] == [{"column": "year", "problem": "missing_column"}]


def test_extra_columns_are_ignored_and_listed(client: Client) -> None:
    reply = client.predict({"records": [dict(ROW, colour="blue", note=None)]})
    assert predictions(reply) == predictions(client.predict({"records": [ROW]}))
    assert reply.json["ignored_columns"] == ["colour", "note"]


def test_extra_columns_are_refused_when_set_to_reject(serve, models) -> None:
    server = serve(models["v1"], extra_columns="reject")
    reply = Client(server.port).predict({"records": [dict(ROW, colour="blue")]})
    assert reply.status == 422
    assert reply.json["details"] == [{"column": "colour", "problem": "unknown_column"}]


def test_a_renamed_column_is_missing(client: Client) -> None:
    row = {("Island" if k == "island" else k): v for k, v in ROW.items()}
    reply = client.predict({"records": [row]})
    assert reply.status == 422
    assert reply.json["details"] == [{"column": "island", "problem": "missing_column"}]


def test_column_order_does_not_matter(client: Client) -> None:
    reordered = {k: ROW[k] for k in reversed(FEATURES)}
    assert predictions(client.predict({"records": [reordered]})) == predictions(
        client.predict({"records": [ROW]})
    )


def test_numeric_strings_are_numbers(client: Client) -> None:
    text = {k: (str(v) if k != "island" and k != "sex" else v) for k, v in ROW.items()}
    text["bill_depth_mm"] = " 14.5 "
    assert predictions(client.predict({"records": [text]})) == predictions(
        client.predict({"records": [ROW]})
    )


@pytest.mark.parametrize("value", ["abc", "3,5", "1_000", True, [1], {"a": 1}, "١٢"])
def test_non_numeric_values_in_numeric_columns_are_422_without_the_value(
    client: Client, value: object
) -> None:
    rows = [ROW, dict(ROW, bill_length_mm=value)]
    reply = client.predict({"records": rows})
    assert reply.status == 422
    (detail,) = reply.json["details"]
    assert detail["column"] == "bill_length_mm" and detail["rows"] == [1]
    assert detail["problem"] in ("not_a_number", "not_a_scalar")
    # The request id is random hex: "abc" is in one id of about 140.
    text = reply.body.decode().replace(reply.json["request_id"], "")
    if isinstance(value, str):
        assert json.dumps(value)[1:-1] not in text.replace("bill_length_mm", "")


def test_null_is_accepted_only_where_training_had_missing_values(client: Client) -> None:
    assert client.predict({"records": [dict(ROW, bill_length_mm=None, sex=None)]}).status == 200
    reply = client.predict({"records": [ROW, dict(ROW, island=None, year=None)]})
    assert reply.status == 422
    problems = {(d["column"], d["problem"], tuple(d["rows"])) for d in reply.json["details"]}
    assert problems == {("island", "missing_value", (1,)), ("year", "missing_value", (1,))}


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_tokens_are_refused_at_the_door(client: Client, token: str) -> None:
    def body(column: str) -> str:
        fields = ", ".join(f'"{k}": {json.dumps(v)}' for k, v in ROW.items() if k != column)
        return '{"records": [{' + fields + f', "{column}": {token}' + "}]}"

    headers = {"Content-Type": "application/json"}
    for column in ("year", "bill_depth_mm"):  # training saw no gaps in one, gaps in the other
        refused = client.call("POST", "/predict", body(column), headers)
        assert refused.status == 422
        (detail,) = refused.json["details"]
        assert detail == {"field": f"records[0].{column}", "problem": "not_finite"}
        assert "send null" in refused.json["message"]


def test_infinite_numbers_as_text_or_too_large_are_refused(client: Client) -> None:
    cases = [("inf", "not_finite"), ("-Infinity", "not_finite"), ("1e9", "not_a_number"),
             ("9" * 400, "out_of_range"), (10**400, "out_of_range")]  # fmt: skip
    for value, problem in cases:
        reply = client.predict({"records": [dict(ROW, year=value)]})
        assert reply.status == 422, value
        assert reply.json["details"][0]["problem"] == problem


@pytest.mark.parametrize("value", [10**400, -(10**400), "9" * 400], ids=["huge", "minus", "text"])
def test_a_number_beyond_a_double_is_never_taken_as_missing(client: Client, value) -> None:
    reply = client.predict({"records": [dict(ROW, bill_depth_mm=value)]})  # a nullable column
    assert reply.status == 422
    (detail,) = reply.json["details"]
    assert detail["problem"] == "out_of_range"
    assert detail.get("field", detail.get("column")) in (
        "records[0].bill_depth_mm",
        "bill_depth_mm",
    )


def test_a_number_literal_beyond_a_double_is_refused_at_the_door(client: Client) -> None:
    fields = ", ".join(f'"{k}": {json.dumps(v)}' for k, v in ROW.items() if k != "bill_depth_mm")
    body = '{"records": [{' + fields + ', "bill_depth_mm": 1e400}]}'
    reply = client.call("POST", "/predict", body, {"Content-Type": "application/json"})
    assert reply.status == 422
    assert reply.json["details"] == [
        {"field": "records[0].bill_depth_mm", "problem": "out_of_range"}
    ]


@pytest.mark.parametrize("where", ["value", "key"])
def test_a_lone_surrogate_is_a_422_naming_the_field(client: Client, where: str) -> None:
    record = dict(ROW, island="Bis\ud800coe") if where == "value" else {**ROW, "\udc00x": 1}
    reply = client.predict({"records": [ROW, record]})
    assert reply.status == 422
    (detail,) = reply.json["details"]
    assert detail["problem"] == "lone_surrogate"
    expected = "records[1].island" if where == "value" else "a key of records[1]"
    assert detail["field"] == expected


def test_a_number_far_beyond_the_training_range_is_refused(client: Client) -> None:
    rows = [dict(ROW, bill_length_mm=value) for value in (45, 45.5, 1e12)]  # ints, floats, one far
    reply = client.predict({"records": rows})
    assert reply.status == 422
    (detail,) = reply.json["details"]
    assert (detail["column"], detail["problem"], detail["rows"]) == (
        "bill_length_mm",
        "out_of_range",
        [2],
    )
    accepted = client.predict({"records": rows[:2]})
    assert accepted.status == 200 and len(accepted.json["predictions"]) == 2


def test_an_unseen_category_is_encoded_as_unknown_and_warned_about(client: Client) -> None:
    reply = client.predict({"records": [ROW, dict(ROW, island="Atlantis")]})
    assert reply.status == 200
    (warning,) = reply.json["warnings"]
    assert warning["column"] == "island" and warning["problem"] == "unseen_category"
    assert warning["rows"] == [1] and "Atlantis" not in reply.body.decode()


def test_values_outside_the_training_range_are_warned_about(client: Client) -> None:
    reply = client.predict({"records": [dict(ROW, body_mass_g=100000)]})
    assert reply.status == 200
    assert reply.json["warnings"][0]["problem"] == "outside_training_range"


@pytest.mark.parametrize(
    "payload",
    [
        {"records": []},
        {"instances": []},
        {"dataframe_split": {"columns": FEATURES, "data": []}},
        {"inputs": {name: [] for name in FEATURES}},
    ],
)
def test_an_empty_request_is_422(client: Client, payload: dict) -> None:
    reply = client.predict(payload)
    assert reply.status == 422
    assert reply.json["details"] == [{"problem": "empty"}]


def test_ragged_and_duplicate_columns_are_422(client: Client) -> None:
    split = {"columns": FEATURES, "data": [[ROW[c] for c in FEATURES][:-1]]}
    assert client.predict({"dataframe_split": split}).status == 422
    dup = {"columns": [*FEATURES, "year"], "data": [[*(ROW[c] for c in FEATURES), 1]]}
    reply = client.predict({"dataframe_split": dup})
    assert reply.status == 422 and reply.json["details"][0]["problem"] == "duplicate"
    lengths = {name: [ROW[name]] for name in FEATURES} | {"year": [2008, 2009]}
    assert client.predict({"inputs": lengths}).status == 422
    csv = "island,year\nBiscoe\n"
    assert client.call("POST", "/predict", csv, {"Content-Type": "text/csv"}).status == 422


def test_csv_bodies_follow_the_same_rules(client: Client) -> None:
    header = ",".join(FEATURES)
    good = header + "\nBiscoe,45.1,14.5,215,5000,female,2008\nDream,NA,,,,,2009\n"
    reply = client.call("POST", "/predict", good, {"Content-Type": "text/csv; charset=utf-8"})
    assert len(predictions(reply)) == 2
    bad = header + "\nBiscoe,45.1,abc,215,5000,female,\n"
    reply = client.call("POST", "/predict", bad, {"Content-Type": "text/csv"})
    assert reply.status == 422
    problems = {(d["column"], d["problem"]) for d in reply.json["details"]}
    assert problems == {("bill_depth_mm", "not_a_number"), ("year", "missing_value")}


def test_no_answer_holds_a_nan_token(serve, models) -> None:
    server = serve(models["nan"])
    row = {k: v for k, v in ROW.items() if k != "body_mass_g"}
    reply = Client(server.port).predict({"records": [row, row, row]})
    assert reply.status == 200
    assert reply.json["predictions"] == [None, None, 1.5]  # .json refuses NaN tokens
    assert "probabilities" not in reply.json


def test_text_is_a_missing_value_only_when_it_is_exactly_a_missing_token(client: Client) -> None:
    """The OpenAPI document lists the tokens; padded text is not one of them."""
    assert client.predict({"records": [dict(ROW, bill_depth_mm="NA")]}).status == 200
    for text in ("\n", " NA ", "  "):
        reply = client.predict({"records": [dict(ROW, bill_depth_mm=text)]})
        assert reply.status == 422, repr(text)
        assert reply.json["details"][0]["problem"] == "not_a_number"
