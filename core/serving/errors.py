"""The errors of the serving layer, each with an HTTP status and a stable code.

The package may not import the engine's error hierarchy (it runs on its own inside exported
bundles), so it has its own small one. Every error answer has the JSON form
``{"error": CODE, "message": ..., "details": [...]}``; details name columns and rows, never the
values a client sent. A subclass names its HTTP status in its class line,
``class Forbidden(ServingError, status=403)``; its code is that status's in
:data:`DEFAULT_CODES` unless it names another with ``code=``.
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
        _set_status(self, status, code)

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, **kwargs: Any
    ) -> None:
        """``class X(ServingError, status=413)`` sets the status and its default code;
        ``code=`` names a more specific one."""
        super().__init_subclass__(**kwargs)
        _set_status(cls, status, code)

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, "details": self.details}


def _set_status(target: Any, status: int | None, code: str | None) -> None:
    """Give an error class or instance ``status`` (with its default code unless ``code``)."""
    if status is not None:
        target.status = status
        target.code = code or DEFAULT_CODES.get(status, "error")
    elif code is not None:
        target.code = code


class BadRequest(ServingError, status=400):
    """The body is not what the endpoint reads (malformed JSON, an unknown shape)."""


class PayloadTooLarge(ServingError, status=413):
    """The body is larger than the server reads."""


class UnsupportedMediaType(ServingError, status=415):
    """The body is not in a media type the endpoint reads."""


class SchemaMismatch(ServingError, status=422):
    """The rows do not fit the model's input schema; one detail per column or row problem."""


class Unauthorized(ServingError, status=401):
    """The request carries no token, or not the right one."""


class Forbidden(ServingError, status=403):
    """The request may not do what it asks."""


class NotFound(ServingError, status=404):
    """No endpoint or object answers to the path."""


class PredictionFailed(ServingError, status=500, code="prediction_failed"):
    """The model raised while predicting; the server stays up."""


class ModelDirError(ServingError, status=500, code="model_invalid"):
    """A model directory is missing, malformed, or its model file fails the hash check."""


class ServerStartError(ServingError, status=500, code="server_start"):
    """The server cannot start as asked (port taken, public address without a token)."""
