"""Model references: ``M`` (newest version), ``M@3``, ``M@latest`` or ``M@ALIAS``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import UsageError

_REF = re.compile(r"^(?P<name>[^@\s]+)(@(?P<at>[^@\s]+))?$")


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: int | None = None
    alias: str | None = None


def parse_model_ref(text: str) -> ModelRef:
    match = _REF.match(text.strip())
    if not match:
        raise UsageError(
            f"{text!r} is not a model reference",
            hint="write MODEL, MODEL@VERSION or MODEL@ALIAS, e.g. penguins@2 or "
            "penguins@production",
        )
    name, at = match.group("name"), match.group("at")
    if at is None or at == "latest":
        return ModelRef(name)
    if at.isdigit():
        return ModelRef(name, version=int(at))
    return ModelRef(name, alias=at)
