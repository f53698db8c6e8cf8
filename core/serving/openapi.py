"""The OpenAPI 3.0 document of a served model, built from its real input schema.

Each input column becomes a property with its JSON type, ``nullable`` where training saw missing
values, and the training categories as ``enum`` for text columns (other values are accepted and
answered with a warning, as the description says). Every operation documents its error answers
with the shared error schema.
"""

from __future__ import annotations

from typing import Any

from core.serving.model import InputColumn, LoadedModel
from core.serving.settings import ServingConfig
from core.serving.validation import magnitude_limit

_ERROR = {"$ref": "#/components/schemas/Error"}
_JSON_TYPES = {"integer": "integer", "float": "number", "boolean": "boolean"}


def column_schema(column: InputColumn) -> dict[str, Any]:
    """The JSON schema of one input value."""
    schema: dict[str, Any]
    if column.type in _JSON_TYPES:
        schema = {"type": _JSON_TYPES[column.type]}
    elif column.type == "datetime":
        schema = {"type": "string", "format": "date-time"}
    else:
        schema = {"type": "string"}
        if column.categories:
            schema["enum"] = list(column.categories) + ([None] if column.nullable else [])
            schema["description"] = "categories seen in training; others are encoded as unknown"
    if column.nullable:
        schema["nullable"] = True
    if column.type in ("integer", "float"):
        limit = magnitude_limit(column)
        schema["minimum"], schema["maximum"] = -limit, limit
        if column.minimum is not None:
            schema["description"] = (
                f"seen in training: {column.minimum:g} to {column.maximum:g} (values outside "
                "are answered with a warning)"
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


def _request_schemas(model: LoadedModel) -> dict[str, Any]:
    records = {"type": "array", "items": {"$ref": "#/components/schemas/Record"}, "minItems": 1}
    columns = {
        "type": "object",
        "properties": {
            c.name: {"type": "array", "items": column_schema(c), "minItems": 1}
            for c in model.inputs
        },
        "required": model.features,
    }
    split = {
        "type": "object",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": {"type": "array", "items": {}}, "minItems": 1},
        },
        "required": ["columns", "data"],
    }
    forms = [
        _wrapper("records", records),
        _wrapper("dataframe_records", records),
        _wrapper("instances", records),
        _wrapper("inputs", records),
        _wrapper("inputs", columns),
        _wrapper("dataframe_split", split),
    ]
    return {"PredictRequest": {"oneOf": forms}}


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
    return {"PredictAnswer": answer, "Error": error}


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
    422: "rows that do not fit the input schema",
    500: "the model failed to predict",
}


def _json_ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


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
        "properties": {"request_id": {"type": "string"}, "actual": {}},
        "required": ["request_id", "actual"],
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
        "/feedback": {
            "post": _op(
                "feedback",
                _responses(_json_ok("recorded", free_object), *guarded, 400, 404, 413, 415, 422),
                body={"required": True, "content": {"application/json": {"schema": feedback}}},
            )
        },
    }


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
            **_request_schemas(model),
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
