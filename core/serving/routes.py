"""The endpoints: health, metadata, OpenAPI, metrics, predict and feedback (and MLflow's
``/invocations``, ``/ping`` and ``/version``: :mod:`core.serving.mlflow_contract`).

Views are thin: :mod:`core.serving.scoring` does the work, the state object counts and logs.
The model is the one ``before_request`` put in ``g.model``, so a swap mid-request changes nothing
for that request. Every ``POST /predict`` answer, refusals and 5xx included, goes into the
prediction log from the app's ``after_request`` hook (:func:`log_predict_answer`).

Feedback does not depend on which worker answered the prediction, nor on the log's write delay:
it is its own log entry, joined with its prediction by request id when the log is read. A
request id proves which server issued it and when (:mod:`core.serving.request_ids`), so feedback
for an id this server issued is accepted at once: 200 when the prediction is already known
here (then a list of the wrong length is refused), 202 while it may still be on its way to the
log. An id the server never issued, or one whose prediction is still not in the log
:data:`JOIN_WINDOW_S` seconds after it was issued (a refused request, an id of another
endpoint), is a 404 ``unknown_request``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, request

from core.serving import body
from core.serving.encoding import dumps
from core.serving.errors import BadRequest, NotFound, SchemaMismatch
from core.serving.metrics import CONTENT_TYPE
from core.serving.mlflow_contract import register_mlflow_routes
from core.serving.model import LoadedModel
from core.serving.openapi import openapi_document
from core.serving.predlog import FeedbackEntry, LoggedRequest, logged_request, now_iso
from core.serving.scoring import Scored, score

if TYPE_CHECKING:
    from core.serving.app import ServingState


#: How long after a prediction its id may still be missing from the log: the writer's delay
#: (a quarter second) with a wide margin for a busy machine or a locked database.
JOIN_WINDOW_S = 30.0


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
        status, details = state.health()
        return json_response(
            {"status": status, "model": model.name, "version": model.version, **details}
        )

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

    register_mlflow_routes(app, lambda run: json_response(_scored(state, run).answer))


def _read_body(state: ServingState, allow_csv: bool) -> tuple[str, bytes]:
    kind = body.body_kind(request.content_type, allow_csv=allow_csv)
    data = body.read_capped(request.stream, request.content_length, state.config.max_body_bytes)
    return kind, data


def _predict(state: ServingState) -> Response:
    body.body_kind(request.content_type)  # 415 before the body is read
    content_type, request_id = request.content_type, g.request_id
    scored = _scored(state, lambda m, data, c: score(m, data, content_type, c, request_id))
    if g.get("served_by"):
        scored.answer["served_by"] = g.served_by
    return json_response(scored.answer)


def _scored(state: ServingState, run: Callable[..., Scored]) -> Scored:
    """``run(model, body, config)`` on this request's body, counted and kept for the log (the
    app's ``after_request`` hook logs ``g.scored``) as every prediction request is."""
    model: LoadedModel = g.model
    data = body.read_capped(request.stream, request.content_length, state.config.max_body_bytes)
    g.body_size = len(data)
    if state.challenger is not None:  # which side answers: core.serving.challenger
        scored, model, g.served_by = state.challenger.answer(
            model, data, run, g.request_id, request.content_type
        )
        g.model = model
    else:
        scored = run(model, data, state.config)
    g.scored = scored
    state.metrics.observe_predictions(model.name, model.version, scored.predictions, model.task)
    state.recent.add(g.request_id, scored.model_input.rows)
    return scored


def log_predict_answer(
    state: ServingState, model: LoadedModel, status: int, scored: Scored | None, code: str | None
) -> None:
    """Queue the log entry of one ``POST /predict`` answer, whatever its status."""
    if state.log is None:
        return
    outputs = None
    if scored is not None:
        outputs = {"predictions": scored.predictions, "probabilities": scored.probabilities}
    entry = LoggedRequest(
        request_id=g.request_id,
        time=now_iso(),
        model=model.name,
        version=model.version,
        latency_ms=round((time.perf_counter() - g.started) * 1000, 3),
        status=status,
        rows=scored.model_input.rows if scored is not None else 0,
        inputs=scored.model_input.frame if scored is not None else None,
        outputs=outputs,
        error=code if status != 200 else None,
        size=g.get("body_size", 0) + 256,
    )
    state.log.put(entry)


def _feedback_request(state: ServingState) -> tuple[str, Any, int]:
    _, data = _read_body(state, allow_csv=False)
    payload = body.parse_json(data, state.config.max_depth)
    if not isinstance(payload, dict) or not isinstance(payload.get("request_id"), str):
        raise BadRequest('the body must be {"request_id": "...", "actual": ...}')
    if "actual" not in payload:
        raise SchemaMismatch('"actual" is missing', [{"field": "actual", "problem": "missing"}])
    unknown = sorted(set(payload) - {"request_id", "actual"})
    if unknown:
        raise SchemaMismatch(
            f"unknown field {str(unknown[0])[:100]!r}: send only request_id and actual",
            [{"field": str(name)[:100], "problem": "unknown_field"} for name in unknown[:20]],
        )
    actual = payload["actual"]
    if actual is None or isinstance(actual, dict) or (isinstance(actual, list) and not actual):
        raise SchemaMismatch(
            '"actual" must be one value, or a list of one value per row',
            [{"field": "actual", "problem": "not_a_value"}],
        )
    if isinstance(actual, list) and any(isinstance(v, list | dict) for v in actual):
        raise SchemaMismatch(
            '"actual" must be a list of single values', [{"field": "actual", "problem": "nested"}]
        )
    return payload["request_id"], actual, len(data)


def _answered_rows(state: ServingState, request_id: str) -> int | None:
    """Rows of the answered prediction with this id when known here (memory, then the log)."""
    rows = state.recent.rows(request_id)
    if rows is not None or state.log is None:
        return rows
    logged = logged_request(state.log.path, request_id)
    if logged is None:
        return None
    status, rows = logged
    if status != 200:
        raise NotFound(
            f"the request with this id was answered with status {status}, not predictions",
            code="unknown_request",
        )
    return rows


def _feedback(state: ServingState) -> Response:
    request_id, actual, size = _feedback_request(state)
    rows = _answered_rows(state, request_id)
    if rows is None:
        issued = state.ids.check(request_id)
        if issued is None or issued.age_seconds() > JOIN_WINDOW_S:
            raise NotFound("no answered prediction has this request id", code="unknown_request")
    if isinstance(actual, list) and rows is not None and len(actual) != rows:
        raise SchemaMismatch(
            f"the request had {rows} rows; send one actual value per row (or one value)",
            [{"field": "actual", "problem": "wrong_length"}],
        )
    if state.log is not None:
        state.log.put(FeedbackEntry(request_id, now_iso(), actual, size=size + 128))
    state.metrics.observe_feedback()
    answer = {
        "request_id": request_id,
        "recorded": state.log is not None,
        "matched": rows is not None,
    }
    return json_response(answer, status=200 if rows is not None else 202)
