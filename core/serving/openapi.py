"""The OpenAPI 3.0 document of a served model, built from its real input schema.

Each input column becomes a property whose schema is exactly the set of values the server
accepts for it (:func:`column_schema`), so that a client generated from the document, and a
fuzzer checking that valid requests are accepted and invalid ones refused, agree with the
server. What JSON Schema cannot state (a CSV body's header, that every column of the
``dataframe_split`` and column forms has one value per row) is said in descriptions. Every
operation documents its error answers with the shared error schema.
"""

from __future__ import annotations

import math
from typing import Any

from core.serving import explain
from core.serving.forms import CSV_MISSING
from core.serving.model import InputColumn, LoadedModel
from core.serving.settings import ServingConfig
from core.serving.validation import magnitude_limit

_ERROR = {"$ref": "#/components/schemas/Error"}


#: Text the server reads as a number (validation.NUMBER_TEXT); the document states the integer
#: digits a column's limit allows, so that every text it describes is accepted.
def number_text(limit: float) -> str:
    digits = max(1, math.floor(math.log10(max(limit, 10.0))))
    return rf"^\s*[+-]?0*([0-9]{{1,{digits}}}(\.[0-9]*)?|\.[0-9]+)\s*$"


BOOLEAN_TEXT = r"^\s*([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$"
#: Text that means a missing value where training saw missing values (the CSV tokens).
MISSING_TEXT = sorted(CSV_MISSING)


def _number(limit: float) -> dict[str, Any]:
    return {"type": "number", "minimum": -limit, "maximum": limit}


def _forms(column: InputColumn) -> list[dict[str, Any]]:
    """Every form a value of ``column`` may take, as the server judges it (validation.py)."""
    text_number = {"type": "string", "pattern": number_text(magnitude_limit(column))}
    if column.type in ("integer", "float"):
        return [_number(magnitude_limit(column)), text_number]
    if column.type == "boolean":
        boolean_text = {"type": "string", "pattern": BOOLEAN_TEXT}
        return [{"type": "boolean"}, _number(magnitude_limit(column)), boolean_text, text_number]
    if column.type == "datetime":
        return [{"type": "string", "format": "date-time"}, {"type": "number"}]
    return [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]


def column_schema(column: InputColumn) -> dict[str, Any]:
    """The JSON schema of one input value: exactly the values the server accepts.

    Numbers may come as JSON numbers or as numeric text, booleans also as ``true``/``false``
    text or a number, and text columns take any scalar (a category not seen in training is
    answered with a warning, so the categories are listed in ``x-categories``, not an enum).
    Where training saw missing values, ``null`` and, in numeric columns, the missing tokens
    are accepted too.
    """
    forms = _forms(column)
    if column.nullable and column.type != "string":
        forms.append({"type": "string", "enum": MISSING_TEXT})
    schema: dict[str, Any] = {"anyOf": forms, "x-type": column.type}
    if column.nullable:
        schema["nullable"] = True
    if column.categories:
        schema["x-categories"] = list(column.categories)
        schema["description"] = "categories seen in training; others are encoded as unknown"
    if column.type in ("integer", "float") and column.minimum is not None:
        schema["description"] = (
            f"seen in training: {column.minimum:g} to {column.maximum:g} (values outside are "
            f"answered with a warning; beyond ±{magnitude_limit(column):g} they are refused)"
        )
    return schema


def _record(model: LoadedModel, config: ServingConfig) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {c.name: column_schema(c) for c in model.inputs},
        "required": model.features,
        "additionalProperties": config.extra_columns == "ignore",
    }


def _wrapper(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: value},
        "required": [key],
        "additionalProperties": False,
    }


def _request_schemas(model: LoadedModel, config: ServingConfig) -> dict[str, Any]:
    record = {"$ref": "#/components/schemas/Record"}
    records = {"type": "array", "items": record, "minItems": 1, "maxItems": config.max_rows}
    columns = {
        "type": "object",
        "description": "column name → its values, every list one value per row (same length)",
        "properties": {
            c.name: {"type": "array", "items": column_schema(c), "minItems": 1}
            for c in model.inputs
        },
        "required": model.features,
        "additionalProperties": {"type": "array"} if config.extra_columns == "ignore" else False,
    }
    split = {
        "type": "object",
        "description": "pandas' split orient: every input among the columns, and each row of "
        "data one value per column",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "data": {"type": "array", "items": {"type": "array"}, "minItems": 1},
            "index": {"type": "array"},
        },
        "required": ["columns", "data"],
        "additionalProperties": False,
    }
    forms = [
        _wrapper("records", records),
        _wrapper("dataframe_records", records),
        _wrapper("instances", records),
        _wrapper("inputs", records),
        _wrapper("inputs", record),  # one row: column → value
        _wrapper("inputs", columns),
        _wrapper("dataframe_split", split),
    ]
    mlflow_forms = [_mlflow_wrapper(form) for form in forms if "records" not in form["properties"]]
    predict = forms + explain.request_forms(forms, model)
    return {"PredictRequest": {"oneOf": predict}, "InvocationsRequest": {"oneOf": mlflow_forms}}


def _mlflow_wrapper(form: dict[str, Any]) -> dict[str, Any]:
    """A form of ``/invocations``: MLflow's, with its optional ``params`` (ignored)."""
    params = {"type": "object", "description": "MLflow's inference params (ignored)"}
    return {**form, "properties": {**form["properties"], "params": params}}


def _answer_schemas(model: LoadedModel) -> dict[str, Any]:
    prediction = (
        {"type": "number", "nullable": True}
        if model.task == "regression"
        else {"description": "one of the classes"}
    )
    note = {"type": "object", "additionalProperties": True}
    answer: dict[str, Any] = {
        "type": "object",
        "properties": {
            "predictions": {"type": "array", "items": prediction},
            "model": {"type": "string"},
            "version": {"type": "integer"},
            "request_id": {"type": "string"},
            "warnings": {"type": "array", "items": note},
            "ignored_columns": {"type": "array", "items": {"type": "string"}},
            "explanations": explain.ANSWER_SCHEMA,
        },
        "required": ["predictions", "model", "version", "request_id"],
    }
    if model.task == "classification":
        row = {"type": "array", "items": {"type": "number", "nullable": True}}
        answer["properties"]["probabilities"] = {"type": "array", "items": row}
        answer["properties"]["classes"] = {"type": "array", "items": {}}
    error = {
        "type": "object",
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": note},
            "request_id": {"type": "string"},
        },
        "required": ["error", "message", "details"],
    }
    mlflow_error = {
        "type": "object",
        "description": "MLflow's error shape (core.serving.mlflow_contract)",
        "properties": {
            "error_code": {"type": "string"},
            "message": {"type": "string"},
            "details": {"type": "array", "items": note},
        },
        "required": ["error_code", "message"],
    }
    invocations = {
        "type": "object",
        "properties": {"predictions": {"type": "array", "items": prediction}},
        "required": ["predictions"],
        "additionalProperties": False,
    }
    return {
        "PredictAnswer": answer,
        "Error": error,
        "InvocationsAnswer": invocations,
        "MlflowError": mlflow_error,
    }


def _responses(ok: dict[str, Any], *statuses: int) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": ok}
    for status in statuses:
        responses[str(status)] = {
            "description": _REASONS[status],
            "content": {"application/json": {"schema": _ERROR}},
        }
    responses["default"] = {
        "description": "an error",
        "content": {"application/json": {"schema": _ERROR}},
    }
    return responses


_REASONS = {
    400: "malformed or too deeply nested body",
    401: "token missing or wrong",
    403: "foreign Host or Origin",
    404: "unknown request id",
    413: "body or row count over the limit",
    415: "content type other than JSON (or CSV for /predict)",
    422: "rows that do not fit the input schema, or an explanation past its bounds",
    500: "the model failed to predict",
}


def _json_ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_DOUBLE = 1.7976931348623157e308
_SCALARS = [
    {"type": "string"},
    {"type": "number", "minimum": -_DOUBLE, "maximum": _DOUBLE},
    {"type": "boolean"},
]
#: The ground truth of a request: one value, or a list of one value per row (null: unknown).
_ACTUAL = {
    "anyOf": [
        *_SCALARS,
        {"type": "array", "minItems": 1, "items": {"anyOf": _SCALARS, "nullable": True}},
    ]
}


def _paths(model: LoadedModel, guarded: tuple[int, ...]) -> dict[str, Any]:
    free_object = {"type": "object", "additionalProperties": True}
    predict_ok = _json_ok("predictions", {"$ref": "#/components/schemas/PredictAnswer"})
    request = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    feedback = {
        "type": "object",
        "properties": {"request_id": {"type": "string"}, "actual": _ACTUAL},
        "required": ["request_id", "actual"],
        "additionalProperties": False,
    }
    health = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "model": {"type": "string"},
            "version": {"type": "integer"},
        },
        "required": ["status", "model", "version"],
    }
    metrics_ok = {"description": "Prometheus text", "content": {"text/plain": {"schema": {}}}}
    return {
        "/health": {"get": _op("health", _responses(_json_ok("up", health), 403), public=True)},
        "/metadata": {"get": _op("metadata", _responses(_json_ok("model", free_object), *guarded))},
        "/openapi.json": {
            "get": _op("openapi", _responses(_json_ok("this", free_object), *guarded))
        },
        "/metrics": {"get": _op("metrics", _responses(metrics_ok, *guarded))},
        "/predict": {
            "post": _op(
                "predict",
                _responses(predict_ok, *guarded, 400, 413, 415, 422, 500),
                body=request,
            )
        },
        "/invocations": _invocations(guarded),
        "/feedback": {
            "post": _op(
                "feedback",
                _responses(_json_ok("recorded", free_object), *guarded, 400, 404, 413, 415, 422),
                body={"required": True, "content": {"application/json": {"schema": feedback}}},
            )
        },
    }


def _invocations(guarded: tuple[int, ...]) -> dict[str, Any]:
    """MLflow's ``POST /invocations``: its errors in MLflow's shape, 415 as plain text."""
    mlflow_error = {"application/json": {"schema": {"$ref": "#/components/schemas/MlflowError"}}}
    responses: dict[str, Any] = {
        "200": _json_ok("predictions", {"$ref": "#/components/schemas/InvocationsAnswer"})
    }
    for status in (*guarded, 400, 413):
        responses[str(status)] = {"description": _REASONS[status], "content": mlflow_error}
    responses["415"] = {
        "description": "content type other than JSON or CSV, or a charset other than UTF-8",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    responses["default"] = {"description": "an error", "content": mlflow_error}
    body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/InvocationsRequest"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
    return {"post": _op("invocations", responses, body=body)}


def _op(name: str, responses: dict, body: dict | None = None, public: bool = False) -> dict:
    operation: dict[str, Any] = {"operationId": name, "responses": responses}
    if body is not None:
        operation["requestBody"] = body
    if public:
        operation["security"] = []
    return operation


def openapi_document(model: LoadedModel, config: ServingConfig) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document for ``model`` served with ``config``."""
    guarded = (401, 403) if config.token else (403,)
    components: dict[str, Any] = {
        "schemas": {
            "Record": _record(model, config),
            **_request_schemas(model, config),
            **_answer_schemas(model),
        }
    }
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": f"{model.name} (Shipway model)",
            "version": str(model.version),
            "description": f"REST API of model {model.label}, task {model.task}.",
        },
        "paths": _paths(model, guarded),
        "components": components,
    }
    if config.token:
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
    return document
