"""The flask app factory: one served model, its routes, access checks and error answers.

:func:`create_app` builds everything per app (no module globals, nothing at import). A request
takes the slot's current model once, in ``before_request``; every answer names that model's
version in ``X-Model-Version`` and carries an ``X-Request-Id``. Every error, 404 and 405
included, is JSON ``{"error", "message", "details", "request_id"}``, except on MLflow's routes
(``/invocations``, ``/ping``, ``/version``), whose errors take MLflow's shape
(:mod:`core.serving.mlflow_contract`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from core.serving import contract, guard, mlflow_contract
from core.serving.drift_window import DriftWindow
from core.serving.encoding import dumps
from core.serving.errors import ServingError, Unauthorized
from core.serving.metrics import Metrics
from core.serving.model import LoadedModel, load_model
from core.serving.predlog import PredictionLog
from core.serving.process_metrics import ProcessMetrics
from core.serving.request_ids import RequestIds, key_from_environment
from core.serving.routes import log_predict_answer, register_routes
from core.serving.settings import ServingConfig
from core.serving.shared_metrics import Publisher, sibling_states
from core.serving.slot import ModelSlot

EXTENSION = "shipway.serving"
#: The routes whose answers (refusals included) go into the prediction log.
PREDICTION_ROUTES = frozenset({"/predict", mlflow_contract.INVOCATIONS})
log = logging.getLogger("shipway.serving")


class RecentRequests:
    """Ids (and row counts) of the last answered predictions, for feedback before logging."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def add(self, request_id: str, rows: int) -> None:
        with self._lock:
            self._ids[request_id] = rows
            if len(self._ids) > self._capacity:
                self._ids.popitem(last=False)

    def rows(self, request_id: str) -> int | None:
        with self._lock:
            return self._ids.get(request_id)


class ServingState:
    """Everything one app holds: the slot, settings, metrics, prediction log, recent ids."""

    def __init__(self, slot: ModelSlot, config: ServingConfig) -> None:
        self.slot = slot
        self.config = config
        self.metrics = Metrics()
        self.recent = RecentRequests()
        self.ids = RequestIds(config.request_key or key_from_environment())
        self.log: PredictionLog | None = None
        if config.log_dir is not None:
            self.log = PredictionLog(
                config.log_dir,
                config.log_queue_size,
                config.log_inputs,
                capacity_bytes=config.log_queue_bytes,
            )
        self.documents: dict[tuple[str, str], dict[str, Any]] = {}
        self._hosts: dict[int, frozenset[str]] = {}
        self.metrics.counters["shipway_prediction_log_dropped_total"] = self._dropped
        if self.log is not None:
            self._count_log_writer(self.log)
        self.drift = DriftWindow(slot, config.log_dir)
        self.metrics.sections["process"] = ProcessMetrics()
        self.metrics.sections["drift"] = self.drift
        self.metrics.sections["contract"] = contract.COUNTS
        self.metrics.counters["shipway_drift_worker_restarts_total"] = lambda: self.drift.restarts
        self.metrics.counters["shipway_drift_errors_total"] = lambda: self.drift.errors
        self.metrics.gauges["shipway_drift_worker_up"] = lambda: float(self.drift.ensure_thread())
        self.challenger = None
        if config.challenger_file is not None:
            from core.serving.challenger_runtime import attach

            self.challenger = attach(self, config.challenger_file)
        self.publisher: Publisher | None = None
        if config.metrics_dir is not None:
            self.publisher = Publisher(config.metrics_dir, self.metrics)

    def _count_log_writer(self, log: PredictionLog) -> None:
        counters, gauges = self.metrics.counters, self.metrics.gauges
        counters["shipway_prediction_log_written_total"] = lambda: log.written
        counters["shipway_prediction_log_bad_entries_total"] = lambda: log.bad_entries
        counters["shipway_prediction_log_writer_restarts_total"] = lambda: log.restarts
        gauges["shipway_prediction_log_queue_depth"] = lambda: log.depth
        gauges["shipway_prediction_log_queue_bytes"] = lambda: log.queued_bytes
        gauges["shipway_prediction_log_writer_up"] = lambda: float(log.ensure_writer())

    def health(self) -> tuple[str, dict[str, Any]]:
        """``("ok" | "degraded", details)``: the prediction log writer's state, when there is one,
        and the drift scoring thread's.

        A writer or thread that ended is started again here first (see :class:`PredictionLog`
        and :class:`DriftWindow`), so a degraded answer means it could not be, or that the log
        has fallen far behind.
        """
        drift = self.drift.status()
        details: dict[str, Any] = {"drift": drift}
        problems = self.drift.problems(drift)
        if self.log is not None:
            status = self.log.status()
            details["prediction_log"] = status.to_dict()
            problems = status.problems + problems
        if problems:
            details["problems"] = problems
            return "degraded", details
        return "ok", details

    def render_metrics(self, model: str, version: int) -> str:
        """This process's counts, plus its sibling workers' when there are any."""
        others = sibling_states(self.config.metrics_dir) if self.config.metrics_dir else []
        return self.metrics.render(model, version, others)

    def _dropped(self) -> int:
        return self.log.dropped if self.log is not None else 0

    def hosts(self, port: int) -> frozenset[str]:
        if port not in self._hosts:
            self._hosts[port] = guard.allowed_hosts(port, self.config.allowed_hosts)
        return self._hosts[port]

    def close(self) -> None:
        """Flush and stop the prediction log (the app answers no more requests after this)."""
        if self.challenger is not None:
            self.challenger.close()
        if self.log is not None:
            self.log.close()
        self.drift.close()
        if self.publisher is not None:
            self.publisher.stop()


def state_of(app: Flask) -> ServingState:
    return app.extensions[EXTENSION]


def create_app(
    model: ModelSlot | LoadedModel | str | os.PathLike[str], config: ServingConfig | None = None
) -> Flask:
    """A flask app serving ``model`` (a slot, a loaded model, or a model directory).

    Starts the prediction log writer when ``config.log_dir`` is set; call
    ``state_of(app).close()`` to flush it (the server runner does).
    """
    config = config or ServingConfig()
    if isinstance(model, ModelSlot):
        slot = model
    else:
        slot = ModelSlot(model if isinstance(model, LoadedModel) else load_model(model))
    app = Flask(__name__)
    state = ServingState(slot, config)
    app.extensions[EXTENSION] = state
    _register_hooks(app, state)
    _register_errors(app)
    register_routes(app, state)
    return app


def _register_hooks(app: Flask, state: ServingState) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.request_id = state.ids.issue()
        g.scored = None
        g.model = state.slot.current()
        g.error_code = None
        try:
            port = int(request.environ.get("SERVER_PORT") or 80)
        except ValueError:
            port = 80
        guard.check_host(
            request.environ.get("HTTP_HOST"), request.headers.get("Origin"), state.hosts(port)
        )
        guard.check_token(state.config.token, request.headers.get("Authorization"), request.path)

    @app.after_request
    def _finish(response: Response) -> Response:
        model: LoadedModel = g.model
        seconds = time.perf_counter() - g.started
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        state.metrics.observe_request(
            route, request.method, response.status_code, seconds, g.error_code
        )
        if route in PREDICTION_ROUTES and request.method == "POST":
            log_predict_answer(state, model, response.status_code, g.scored, g.error_code)
            if g.scored is not None:
                state.drift.observe(model, g.scored.model_input.frame)
        response.headers["X-Request-Id"] = g.request_id
        response.headers["X-Model-Name"] = model.name
        response.headers["X-Model-Version"] = str(model.version)
        if g.get("served_by"):
            response.headers["X-Served-By"] = g.served_by
        log.info(
            "%s %r %d %.1fms id=%s model=%s%s",
            request.method,
            request.path[:100],
            response.status_code,
            seconds * 1000,
            g.request_id,
            model.label,
            f" error={g.error_code}" if g.error_code else "",
        )
        return response


def error_response(error: ServingError) -> Response:
    g.error_code = error.code
    if mlflow_contract.is_mlflow_route():
        response = mlflow_contract.error_response(error)
    else:
        body = {**error.to_dict(), "request_id": g.get("request_id")}
        response = Response(dumps(body), status=error.status, mimetype="application/json")
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = 'Bearer realm="shipway"'
    return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ServingError)
    def _serving(error: ServingError) -> Response:
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response:
        status = error.code or 500
        message = {404: "no such endpoint", 405: "method not allowed here"}.get(
            status, error.description or error.name
        )
        response = error_response(ServingError(message, status=status))
        valid = getattr(error, "valid_methods", None)
        if status == 405 and valid:
            response.headers["Allow"] = ", ".join(valid)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.error(
            "unexpected error id=%s: %s: %s", g.get("request_id"), type(error).__name__, error
        )
        message = f"internal error ({type(error).__name__}); quote request id {g.get('request_id')}"
        return error_response(ServingError(message, status=500))
