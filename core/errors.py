"""One error hierarchy for the whole engine.

Every error Shipway raises on purpose is a :class:`ShipwayError`. It carries a stable ``code``
(used in JSON output and REST answers), a human message that says *what* went wrong, ``where``
(a file, line, column, object) and ``hint`` (what to do about it). The CLI prints the three on one
line and exits with :attr:`ShipwayError.exit_code`; the desktop shows the same text in a dialog.
(The REST server has its own small hierarchy, :mod:`core.serving.errors`, with HTTP statuses:
it runs inside exported bundles without the rest of the engine.)
"""

from __future__ import annotations

from typing import Any


class ShipwayError(Exception):
    """Base of every error Shipway raises on purpose."""

    code = "error"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
        self.details = list(details or [])

    def one_line(self) -> str:
        """What, where and what to do, on a single line."""
        text = self.message
        if self.where:
            text += f" [{self.where}]"
        if self.hint:
            text += f" — {self.hint}"
        return " ".join(text.split())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``--json`` output and REST error bodies."""
        return {
            "error": self.code,
            "message": self.message,
            "where": self.where,
            "hint": self.hint,
            "details": self.details,
        }

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.one_line()


class UsageError(ShipwayError):
    """The command was called wrongly (bad reference syntax, conflicting options)."""

    code = "usage"
    exit_code = 2


class NotFound(ShipwayError):
    """A project, file, data set, version or other object does not exist."""

    code = "not_found"


class ProjectError(ShipwayError):
    """The project folder or its settings are missing or unusable."""

    code = "project"


class InvalidInput(ShipwayError):
    """Input data cannot be used as it is (a file that cannot be imported, a bad value)."""

    code = "invalid_input"


class ImportFailed(InvalidInput):
    """A data import was refused; nothing was stored."""

    code = "import_failed"


class Conflict(ShipwayError):
    """The operation collides with existing state (a name taken, a concurrent change)."""

    code = "conflict"


class CorruptObject(ShipwayError):
    """A stored blob does not match its recorded sha256 or cannot be read."""

    code = "corrupt_object"


class StoreError(ShipwayError):
    """The metadata database failed (locked for too long, unreachable, schema mismatch)."""

    code = "store"


class SchemaVersionError(StoreError):
    """The project's database schema is newer than this Shipway, or cannot be upgraded."""

    code = "schema_version"


class Cancelled(ShipwayError):
    """Work was cancelled by the user; nothing half-done was kept."""

    code = "cancelled"
    exit_code = 130


class GateBlocked(ShipwayError):
    """A validation gate refused to move an alias; nothing moved.

    ``report`` is the :class:`core.entities.GateReport` that blocked it.
    """

    code = "gate_blocked"
    exit_code = 3

    def __init__(self, message: str, *, report: Any, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.report = report


class PermissionDenied(ShipwayError):
    """The person acting does not hold the role shipway.toml asks for; nothing changed."""

    code = "forbidden"
