"""What a column is for: identifiers (never features by default) and the likely target.

An **identifier** names a row rather than describing it: a model that learns from it learns
nothing that carries over to new rows, its drift never settles in monitoring, and it slows
training. A column is one when every row has a value, every value is distinct (the profile's
counts say so, at no extra cost), the table has at least :data:`MIN_ROWS` rows, and one of:

- integers that are the row numbers, ``0..n-1`` or ``1..n`` in order;
- integers that are consecutive in another order, or start elsewhere (a running id);
- integers in a column named like an id (``id``, ``customer_id``, ``OrderId``, ``key``, ``no``);
- text that is UUIDs, or codes and hashes: one word of letters, digits and ``-_.:/#``, holding
  a digit, at least 6 characters long (judged on the first 1,000 values; all of them must fit);
- text in a column named like an id;
- dates or times, one row per value: a date used as a key (a daily series). A date column with
  repeated dates is not an identifier.

Floats and booleans never are: measurements are often all distinct, and mean something.

The **suggested target** is a column named ``target``, ``label``, ``class``, ``outcome`` or ``y``
(in that order of preference, any case; the first four also as a suffix: ``churn_label``),
else the last column; never an identifier nor a date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pyarrow as pa

MIN_ROWS = 3
SAMPLE = 1000
_UUID = re.compile(
    r"^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$"
)
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.:/#]{5,}$")
_DIGIT = re.compile(r"\d")
_ID_WORDS = frozenset(["id", "ids", "key", "uuid", "guid", "no", "nr", "num", "idx", "index"])
TARGET_WORDS = ("target", "label", "class", "outcome", "y")
_SUFFIX_WORDS = ("target", "label", "class", "outcome")


def identifier_columns(table: pa.Table, profile: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Identifier columns of ``table``, by name, each with its reason in plain words."""
    rows = table.num_rows
    found: dict[str, str] = {}
    if rows < MIN_ROWS:
        return found
    for name in table.column_names:
        stats = profile.get(name, {})
        if stats.get("missing", 1) != 0 or stats.get("distinct") != rows:
            continue
        reason = _reason(name, stats, table.column(name))
        if reason is not None:
            found[name] = f"every value is distinct ({reason})"
    return found


def _reason(name: str, stats: Mapping[str, Any], column: pa.ChunkedArray) -> str | None:
    kind = stats.get("type")
    if kind == "integer":
        return _integer_reason(name, stats, column)
    if kind == "datetime":
        return "one row per date: a date used as a key"
    if kind == "string":
        return _text_reason(name, column)
    return None


def _integer_reason(name: str, stats: Mapping[str, Any], column: pa.ChunkedArray) -> str | None:
    rows = len(column)
    low, high = stats.get("min"), stats.get("max")
    if low is not None and high is not None and high - low == rows - 1:  # n distinct in n places
        values = column.to_numpy()
        if low in (0, 1) and bool(np.all(np.diff(values) == 1)):
            return "a row number"
        return "consecutive whole numbers: a running id"
    if named_like_id(name):
        return "a whole-number key"
    return None


def _text_reason(name: str, column: pa.ChunkedArray) -> str | None:
    head = [value for value in column.slice(0, SAMPLE).to_pylist() if value is not None]
    if head and all(_UUID.match(value) for value in head):
        return "UUIDs"
    if head and all(_CODE.match(value) and _DIGIT.search(value) for value in head):
        return f"codes like {head[0]!r}"
    if named_like_id(name):
        return "an id"
    return None


def named_like_id(name: str) -> bool:
    """``id``, ``customer_id``, ``OrderId``, ``row no``, ``key``: a name that says "identifier"."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    words = re.findall(r"[a-z]+", spaced.lower())
    return bool(words) and words[-1] in _ID_WORDS


def suggest_target(
    columns: Iterable[str], types: Mapping[str, str], identifiers: Mapping[str, str]
) -> str | None:
    """The column a model most likely predicts (see the module docstring), or ``None``."""
    usable = [c for c in columns if c not in identifiers and types.get(c) != "datetime"]
    for word in TARGET_WORDS:
        for name in usable:
            if _names_word(name, word):
                return name
    return usable[-1] if usable else None


def _names_word(name: str, word: str) -> bool:
    lowered = name.strip().lower()
    if lowered == word:
        return True
    return word in _SUFFIX_WORDS and lowered.endswith((f"_{word}", f"-{word}", f" {word}"))
