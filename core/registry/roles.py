"""Roles for small teams, in shipway.toml::

    [roles]
    promote = { production = ["ann", "bob"] }   # who may move these aliases (promote, force,
                                                # rollback); an alias not listed: anyone
    approve = ["carol", "dave"]                 # who may approve versions; absent: anyone

A person is the name Shipway records in the audit trail ($SHIPWAY_USER or the OS user). The
engine enforces the roles, so the CLI and the app behave alike; a refusal is itself recorded
(``access.denied``). Approval never comes from the trainer, whatever the roles say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.config import SETTINGS_FILE
from core.errors import PermissionDenied, ProjectError


@dataclass(frozen=True)
class Roles:
    promote: dict[str, tuple[str, ...]] = field(default_factory=dict)
    approve: tuple[str, ...] | None = None

    def may_move(self, user: str, alias: str) -> bool:
        allowed = self.promote.get(alias)
        return allowed is None or user in allowed

    def may_approve(self, user: str) -> bool:
        return self.approve is None or user in self.approve


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ProjectError(
            f"[roles] {key} must be a list of names",
            where=f"{SETTINGS_FILE} [roles]",
            hint='write e.g. approve = ["carol", "dave"]',
        )
    return tuple(v.strip() for v in value)


ROLE_KEYS = frozenset({"promote", "approve"})


def load_roles(raw: dict[str, Any]) -> Roles:
    table = raw.get("roles", {})
    if not isinstance(table, dict):
        raise ProjectError("[roles] must be a table", where=SETTINGS_FILE, hint="write [roles]")
    unknown = set(table) - ROLE_KEYS
    if unknown:
        raise ProjectError(
            f"unknown keys in [roles]: {', '.join(sorted(unknown))}",
            where=f"{SETTINGS_FILE} [roles]",
            hint="use promote = { ALIAS = [names] } and approve = [names]",
        )
    promote = table.get("promote", {})
    if not isinstance(promote, dict):
        raise ProjectError(
            "[roles] promote must be a table of alias = [names]",
            where=f"{SETTINGS_FILE} [roles]",
            hint='write promote = { production = ["ann"] }',
        )
    approve = table.get("approve")
    return Roles(
        promote={alias: _names(names, f"promote.{alias}") for alias, names in promote.items()},
        approve=None if approve is None else _names(approve, "approve"),
    )


def denied(user: str, what: str, allowed: tuple[str, ...]) -> PermissionDenied:
    return PermissionDenied(
        f"{user} may not {what}",
        where=f"{SETTINGS_FILE} [roles]",
        hint=f"allowed: {', '.join(allowed)}; ask one of them, or change [roles]",
    )
