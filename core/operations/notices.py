"""What the service tells people: one :class:`Notice` per event worth a message.

Kinds: ``alert`` (a monitoring trigger fired), ``retrained`` (a retraining job ended, with its
gate verdict), ``deployment_down`` (a kept deployment that cannot be kept up), ``service_failed``
(the service itself hit an error it cannot get past), ``test`` (``shipway notify test``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("alert", "retrained", "deployment_down", "service_failed", "test")


@dataclass(frozen=True)
class Notice:
    kind: str
    project: str
    title: str  # one line: the e-mail subject, the first line of a chat message
    text: str  # a few plain sentences: what happened, where, what to do
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Delivery:
    """How one channel fared: ``attempts`` made, and the last error when it failed."""

    channel: str  # "email" | "webhook" | "desktop"
    ok: bool
    attempts: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
