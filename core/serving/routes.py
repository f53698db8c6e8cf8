"""The endpoints: health, metadata, OpenAPI, metrics, predict and feedback.

Views are thin: :mod:`core.serving.scoring` does the work, the state object counts and logs.
The model is the one ``before_request`` put in ``g.model``, so a swap mid-request changes nothing
for that request.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from core.serving import body
from core.serving.errors import BadRequest, NotFound, SchemaMismatch, ServingError
from core.serving.metrics import CONTENT_TYPE
from core.serving.model import LoadedModel
from core.serving.openapi import openapi_document
from core.serving.predlog import FeedbackEntry, RequestEntry, known_request, now_iso
from core.serving.scoring import Scored, dumps, score

if TYPE_CHECKING:
    from core.serving.app import ServingState


def json_response(value: Any, status: int = 200) -> Response:
    return Response(dumps(value), status=status, mimetype="application/json")


def metadata(model: LoadedModel, state: ServingState) -> dict[str, Any]:
    """What ``GET /metadata`` answers: the model, its schema, metrics and the request limits."""
    inputs = []
    for column in model.inputs:
        entry: dict[str, Any] = {
            "name": column.name,
            "type": column.type,
            "nullable": column.nullable,
        }
        if column.categories is not None:
            entry["categories"] = list(column.categories)
        if column.minimum is not None:
            entry["min"], entry["max"] = column.minimum, column.maximum
        inputs.append(entry)
    config = state.config
    return {
        "name": model.name,
        "version": model.version,
        "run": model.run,
        "task": model.task,
        "inputs": inputs,
        "output": dict(model.output),
        "metrics": dict(model.metrics),
        "model_sha256": model.sha256,
        "created": model.created,
        "limits": {
            "max_body_bytes": config.max_body_bytes,
            "max_rows": config.max_rows,
            "max_depth": config.max_depth,
            "extra_columns": config.extra_columns,
        },
    }


def register_routes(app: Flask, state: ServingState) -> None:
    @app.get("/health")
    def health() -> Response:
        model = g.model
        return json_response({"status": "ok", "model": model.name, "version": model.version})

    @app.get("/metadata")
    def model_metadata() -> Response:
        return json_response(metadata(g.model, state))

    @app.get("/openapi.json")
    def openapi() -> Response:
        model = g.model
        key = (model.directory, model.sha256)
        if key not in state.documents:
            state.documents[key] = openapi_document(model, state.config)
        return json_response(state.documents[key])

    @app.get("/metrics")
    def metrics() -> Response:
        text = state.render_metrics(g.model.name, g.model.version)
        return Response(text, content_type=CONTENT_TYPE)

    @app.post("/predict")
    def predict() -> Response:
        return _predict(state)

    @app.post("/feedback")
    def feedback() -> Response:
        return _feedback(state)


def _read_body(state: ServingState, allow_csv: bool) -> tuple[str, bytes]:
    kind = body.body_kind(request.content_type, allow_csv=allow_csv)
    data = body.read_capped(request.stream, request.content_length, state.config.max_body_bytes)
    return kind, data


def _predict(state: ServingState) -> Response:
    model: LoadedModel = g.model
    try:
        _, data = _read_body(state, allow_csv=True)
        scored = score(model, data, request.content_type, state.config, g.request_id)
    except ServingError as error:
        _log_request(state, model, error.status, None, error.code)
        raise
    state.metrics.observe_predictions(model.name, model.version, scored.predictions, model.task)
    state.recent.add(g.request_id, scored.model_input.rows)
    _log_request(state, model, 200, scored, None)
    return json_response(scored.answer)


def _log_request(
    state: ServingState, model: LoadedModel, status: int, scored: Scored | None, code: str | None
) -> None:
    if state.log is None:
        return
    outputs = None
    if scored is not None:
        outputs = {"predictions": scored.predictions, "probabilities": scored.probabilities}
    entry = RequestEntry(
        request_id=g.request_id,
        time=now_iso(),
        model=model.name,
        version=model.version,
        latency_ms=round((time.perf_counter() - g.started) * 1000, 3),
        status=status,
        rows=scored.model_input.rows if scored is not None else 0,
        inputs=scored.model_input.frame if scored is not None else None,
        outputs=outputs,
        error=code,
    )
    state.log.put(entry)


def _feedback(state: ServingState) -> Response:
    _, data = _read_body(state, allow_csv=False)
    payload = body.parse_json(data, state.config.max_depth)
    if not isinstance(payload, dict) or not isinstance(payload.get("request_id"), str):
        raise BadRequest('the body must be {"request_id": "...", "actual": ...}')
    if "actual" not in payload:
        raise SchemaMismatch('"actual" is missing', [{"field": "actual", "problem": "missing"}])
    request_id, actual = payload["request_id"], payload["actual"]
    rows = state.recent.rows(request_id)
    if rows is None and not (state.log and known_request(state.log.path, request_id)):
        raise NotFound("no answered prediction has this request id", code="unknown_request")
    if isinstance(actual, list) and rows is not None and len(actual) != rows:
        raise SchemaMismatch(
            f"the request had {rows} rows; send one actual value per row (or one value)",
            [{"field": "actual", "problem": "wrong_length"}],
        )
    if state.log is not None:
        state.log.put(FeedbackEntry(request_id, now_iso(), actual))
    state.metrics.observe_feedback()
    return json_response({"request_id": request_id, "recorded": state.log is not None})
