"""One error hierarchy for the whole engine.

Every error Shipway raises on purpose is a :class:`ShipwayError`. It carries a stable ``code``
(used in JSON output and REST answers), a human message that says *what* went wrong, ``where``
(a file, line, column, object) and ``hint`` (what to do about it). The CLI prints the three on one
line and exits with :attr:`ShipwayError.exit_code`; the desktop shows the same text in a dialog.
(The REST server has its own small hierarchy, :mod:`core.serving.errors`, with HTTP statuses:
it runs inside exported bundles without the rest of the engine.)

A subclass names its code in its class line, ``class NotFound(ShipwayError, code="not_found")``
(and ``exit_code=`` where the CLI's status is not 1), rather than repeating the attributes.
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

    def __init_subclass__(
        cls, *, code: str | None = None, exit_code: int | None = None, **kwargs: Any
    ) -> None:
        """``class X(ShipwayError, code="x")`` names the code (``exit_code`` the CLI status)."""
        super().__init_subclass__(**kwargs)
        cls.code = code or cls.code
        cls.exit_code = exit_code or cls.exit_code

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
        told = ("message", "where", "hint", "details")
        return {"error": self.code} | {name: getattr(self, name) for name in told}

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.one_line()


class UsageError(ShipwayError, code="usage", exit_code=2):
    """The command was called wrongly (bad reference syntax, conflicting options)."""


class NotFound(ShipwayError, code="not_found"):
    """A project, file, data set, version or other object does not exist."""


class ProjectError(ShipwayError, code="project"):
    """The project folder or its settings are missing or unusable."""


class InvalidInput(ShipwayError, code="invalid_input"):
    """Input data cannot be used as it is (a file that cannot be imported, a bad value)."""


class ImportFailed(InvalidInput, code="import_failed"):
    """A data import was refused; nothing was stored."""


class Conflict(ShipwayError, code="conflict"):
    """The operation collides with existing state (a name taken, a concurrent change)."""


class CorruptObject(ShipwayError, code="corrupt_object"):
    """A stored blob does not match its recorded sha256 or cannot be read."""


class StoreError(ShipwayError, code="store"):
    """The metadata database failed (locked for too long, unreachable, schema mismatch)."""


class SchemaVersionError(StoreError, code="schema_version"):
    """The project's database schema is newer than this Shipway, or cannot be upgraded."""


class Cancelled(ShipwayError, code="cancelled", exit_code=130):
    """Work was cancelled by the user; nothing half-done was kept."""


class GateBlocked(ShipwayError, code="gate_blocked", exit_code=3):
    """A validation gate refused to move an alias; nothing moved.

    ``report`` is the :class:`core.entities.GateReport` that blocked it.
    """

    def __init__(self, message: str, *, report: Any, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.report = report


class PermissionDenied(ShipwayError, code="forbidden"):
    """The person acting does not hold the role shipway.toml asks for; nothing changed."""
