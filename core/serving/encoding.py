"""Strict JSON out: numpy scalars unwrapped, non-finite numbers as ``null``, never a NaN token.

Light on purpose (the standard library and numpy): the prediction log and its readers use it
without loading the model-side modules.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np


def plain(value: Any) -> Any:
    """A JSON-safe Python value: numpy scalars unwrapped, non-finite floats as ``None``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any) -> str:
    """Strict JSON text (no NaN tokens, ASCII only, so lone surrogates cannot break it)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"), default=_fallback)


def _fallback(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return plain(value)
    return str(value)


def attributes(record: object, names: str) -> dict[str, Any]:
    """Attributes of ``record`` by name, tuples as lists: ``names`` are separated by white
    space, and ``key=attribute`` writes an attribute under another key."""
    named = (name.partition("=") for name in names.split())
    return {key: _listed(getattr(record, attribute or key)) for key, _, attribute in named}


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
