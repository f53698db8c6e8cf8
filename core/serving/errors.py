"""The errors of the serving layer, each with an HTTP status and a stable code.

The package may not import the engine's error hierarchy (it runs on its own inside exported
bundles), so it has its own small one. Every error answer has the JSON form
``{"error": CODE, "message": ..., "details": [...]}``; details name columns and rows, never the
values a client sent.
"""

from __future__ import annotations

from typing import Any

#: HTTP status → the code an answer carries when nothing more specific applies.
DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "schema_mismatch",
    500: "internal_error",
}


class ServingError(Exception):
    """An error with an HTTP status, a stable code and per-column or per-row details."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])
        if status is not None:
            self.status = status
            self.code = code or DEFAULT_CODES.get(status, "error")
        elif code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


class BadRequest(ServingError):
    """The body is not what the endpoint reads (malformed JSON, an unknown shape)."""

    status = 400
    code = "bad_request"


class PayloadTooLarge(ServingError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServingError):
    status = 415
    code = "unsupported_media_type"


class SchemaMismatch(ServingError):
    """The rows do not fit the model's input schema; one detail per column or row problem."""

    status = 422
    code = "schema_mismatch"


class Unauthorized(ServingError):
    status = 401
    code = "unauthorized"


class Forbidden(ServingError):
    status = 403
    code = "forbidden"


class NotFound(ServingError):
    status = 404
    code = "not_found"


class PredictionFailed(ServingError):
    """The model raised while predicting; the server stays up."""

    status = 500
    code = "prediction_failed"


class ModelDirError(ServingError):
    """A model directory is missing, malformed, or its model file fails the hash check."""

    status = 500
    code = "model_invalid"


class ServerStartError(ServingError):
    """The server cannot start as asked (port taken, public address without a token)."""

    status = 500
    code = "server_start"
