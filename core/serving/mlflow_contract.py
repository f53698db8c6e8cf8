"""MLflow's scoring contract beside Shipway's own API, so clients written for MLflow work unchanged.

``mlflow models serve`` answers ``GET /ping``, ``GET /version`` and ``POST /invocations``
(``mlflow/pyfunc/scoring_server/__init__.py``, checked against MLflow |MLFLOW_VERSION|). A
Shipway server answers them the same way:

- ``GET /ping`` (and MLflow's ``/health``, which Shipway already answers with its own JSON):
  200 with the body ``"\\n"`` labelled ``application/json``, as MLflow's; open without a token,
  like ``/health``, because it is a liveness probe.
- ``GET /version``: the MLflow version whose contract this follows, as bare text labelled
  ``application/json`` (MLflow answers its own version that way).
- ``POST /invocations``: ``application/json`` with exactly one of ``dataframe_split``,
  ``dataframe_records``, ``instances`` or ``inputs`` (and optionally ``params``, an object,
  accepted and ignored, as a scikit-learn model in MLflow ignores them), or ``text/csv`` with a
  header row.
  The answer is ``{"predictions": [...]}``: one value per row (the class for a classifier,
  as MLflow's scikit-learn flavour's ``predict`` gives), nothing else. The rows go through the
  same parsing, schema check and model as ``POST /predict`` (:mod:`core.serving.scoring`), and
  into the same metrics and prediction log; the request id is in the ``X-Request-Id`` header.

Errors have MLflow's shape, ``{"error_code": "BAD_REQUEST", "message": ...}`` (plus Shipway's
``details``, naming columns and rows), and MLflow's statuses: a malformed body, rows that do
not fit the model's schema and a model that fails to predict are all 400 ``BAD_REQUEST``
(MLflow wraps each of them in a ``BAD_REQUEST`` exception). A content type other than JSON or
CSV, a charset other than UTF-8, or a content-type parameter other than ``charset`` is a 415
with a ``text/plain`` message, as in MLflow. Where Shipway guards more than MLflow, its status
stays and the code is MLflow's name for it: 401 ``UNAUTHENTICATED``, 403
``PERMISSION_DENIED``, 413 ``REQUEST_LIMIT_EXCEEDED`` (body or rows over the limit).

Differences, on purpose: a top-level key other than the four forms and ``params`` is refused
(MLflow drops it silently; a typo there would otherwise go unnoticed), and Parquet bodies
(``application/vnd.apache.parquet``) are not read (415): the API takes JSON and CSV only.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from core.serving import body, forms
from core.serving.encoding import dumps
from core.serving.errors import BadRequest, ServingError, UnsupportedMediaType
from core.serving.model import LoadedModel
from core.serving.scoring import Scored, predict
from core.serving.settings import ServingConfig
from core.serving.validation import validate

#: The MLflow release whose scoring server this contract was checked against.
MLFLOW_VERSION = "3.17.2"
INVOCATIONS = "/invocations"
ROUTES = frozenset({INVOCATIONS, "/ping", "/version"})
FORMAT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
PARAMS_KEY = "params"
CONTENT_TYPES = ["text/csv", "application/json", "application/vnd.apache.parquet"]
REQUIRED_INPUT_FORMAT = (
    "The input must be a JSON dictionary with exactly one of the input fields "
    + "{"
    + ", ".join(f"'{key}'" for key in FORMAT_KEYS)
    + "}"
)

#: Shipway's status of an error → (MLflow's status, MLflow's error code).
MLFLOW_ERRORS = {
    400: (400, "BAD_REQUEST"),
    401: (401, "UNAUTHENTICATED"),
    403: (403, "PERMISSION_DENIED"),
    404: (404, "ENDPOINT_NOT_FOUND"),
    405: (405, "BAD_REQUEST"),
    413: (413, "REQUEST_LIMIT_EXCEEDED"),
    422: (400, "BAD_REQUEST"),
}


def content_kind(content_type: str | None) -> str:
    """``"json"`` or ``"csv"``; otherwise :class:`UnsupportedMediaType` with MLflow's words."""
    kind, options = body.media_type(content_type)
    if options.get("charset", "utf-8") not in ("utf-8", "utf8"):
        raise UnsupportedMediaType("The scoring server only supports UTF-8")
    unexpected = sorted(set(options) - {"charset", ""})  # "": a trailing ";" (MLflow's docs)
    if unexpected:
        raise UnsupportedMediaType(
            f"Unrecognized content type parameters: {', '.join(unexpected)}."
        )
    if kind in body.JSON_TYPES:
        return "json"
    if kind in body.CSV_TYPES:
        return "csv"
    raise UnsupportedMediaType(
        "This predictor only supports the following content types: Types: "
        f"['text/csv', 'application/json']. Got '{(content_type or '')[:100]}'."
    )


def rows_payload(payload: Any) -> dict[str, Any]:
    """The one input form of an MLflow request body (``params`` set aside), or a 400."""
    if not isinstance(payload, dict):
        received = "a list" if isinstance(payload, list) else f"a {type(payload).__name__}"
        raise BadRequest(f"Invalid input. {REQUIRED_INPUT_FORMAT}. Received {received}.")
    present = [key for key in FORMAT_KEYS if key in payload]
    others = [key for key in payload if key not in FORMAT_KEYS and key != PARAMS_KEY]
    if len(present) != 1:
        shown = ", ".join(repr(str(key)[:100]) for key in list(payload)[:20])
        raise BadRequest(
            f"{REQUIRED_INPUT_FORMAT}. Received dictionary with input fields: [{shown}]."
        )
    if others:
        raise BadRequest(
            f"unknown field {str(others[0])[:100]!r} beside {present[0]!r}: send only the rows "
            f"(and optionally {PARAMS_KEY!r})",
            [{"field": str(key)[:100], "problem": "unknown_field"} for key in others[:20]],
        )
    if not isinstance(payload.get(PARAMS_KEY, {}), dict):
        raise BadRequest(
            f"{PARAMS_KEY!r} must be an object of parameter names and values",
            [{"field": PARAMS_KEY, "problem": "not_an_object"}],
        )
    return {present[0]: payload[present[0]]}


def invoke(
    model: LoadedModel, data: bytes, content_type: str | None, config: ServingConfig
) -> Scored:
    """One ``POST /invocations``: MLflow's request forms in, ``{"predictions": [...]}`` out."""
    kind = content_kind(content_type)
    wanted = set(model.features)
    if kind == "csv":
        table = forms.table_from_csv(body.decode(data), config.max_rows, wanted)
    else:
        payload = rows_payload(body.parse_json(data, config.max_depth))
        table = forms.table_from_json(payload, config.max_rows, wanted)
    model_input = validate(model, table, config.extra_columns)
    predictions, probabilities = predict(model, model_input)
    return Scored({"predictions": predictions}, model_input, predictions, probabilities)


def error_response(error: ServingError) -> Response:
    """An error of an MLflow route in MLflow's shape (415: MLflow's plain text)."""
    if error.status == 415:
        return Response(error.message, status=415, mimetype="text/plain")
    status, code = MLFLOW_ERRORS.get(error.status, (error.status, "INTERNAL_ERROR"))
    if error.code == "prediction_failed":  # MLflow: a BAD_REQUEST, "unexpected error" message
        status, code = 400, "BAD_REQUEST"
    document = {"error_code": code, "message": error.message, "details": error.details}
    return Response(dumps(document), status=status, mimetype="application/json")


def register_mlflow_routes(app: Flask, answer: Any) -> None:
    """``/ping``, ``/version`` and ``/invocations``; ``answer(scored)`` records a scored
    request as ``/predict``'s are recorded (metrics, recent ids) and gives the response."""

    @app.get("/ping")
    def ping() -> Response:
        return Response("\n", status=200, mimetype="application/json")

    @app.get("/version")
    def version() -> Response:
        return Response(MLFLOW_VERSION, status=200, mimetype="application/json")

    @app.post(INVOCATIONS)
    def invocations() -> Response:
        return answer(lambda model, data, config: invoke(model, data, request.content_type, config))


def is_mlflow_route() -> bool:
    """Whether the current request is one of MLflow's routes (its errors take MLflow's shape)."""
    return request.path in ROUTES
