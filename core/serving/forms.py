"""The accepted request shapes, each turned into one column table of raw values.

JSON bodies: ``{"records": [...]}``, MLflow's ``{"dataframe_split": {"columns", "data"}}``,
``{"dataframe_records": [...]}``, ``{"instances": [...]}`` and ``{"inputs": ...}`` (a mapping of
column to values, or a list of records), with no other top-level key; and ``text/csv`` bodies
with a header row. Columns are
matched by name in every form, so their order is free. Values stay as the client sent them; the
schema check (:mod:`core.serving.validation`) judges and coerces them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from core.serving.errors import BadRequest, PayloadTooLarge, SchemaMismatch
from core.serving.missing import DEFAULT_MISSING_TOKENS

FORMS = ("records", "dataframe_records", "dataframe_split", "instances", "inputs")

#: CSV cells holding exactly one of these are missing values (the data import's default
#: tokens), as is an empty cell.
CSV_MISSING = frozenset(DEFAULT_MISSING_TOKENS) | {""}


@dataclass(frozen=True)
class RawTable:
    """The columns a request sent, and the raw values (``None`` for missing) of the wanted ones.

    Only the columns the model reads are materialised, so a body with thousands of unknown keys
    costs no more than reading their names.
    """

    names: tuple[str, ...]
    columns: Mapping[str, list[Any]]
    rows: int
    form: str


def _shown(name: object) -> str:
    text = str(name)
    return text if len(text) <= 100 else text[:97] + "..."


def _from_records(records: Any, form: str, max_rows: int, wanted: Collection[str]) -> RawTable:
    if not isinstance(records, list):
        raise BadRequest(f'"{form}" must be a list of objects (one per row)')
    if not records:
        raise SchemaMismatch(f'"{form}" is empty: send at least one row', [{"problem": "empty"}])
    if len(records) > max_rows:
        raise PayloadTooLarge(f"{len(records):,} rows; the limit is {max_rows:,} per request")
    bad = [i for i, record in enumerate(records) if not isinstance(record, dict)]
    if bad:
        raise BadRequest(
            f'every entry of "{form}" must be an object of column: value (row {bad[0]} is not); '
            "columns are matched by name",
            [{"row": i, "problem": "not_an_object"} for i in bad[:20]],
        )
    names: dict[str, None] = {}
    for record in records:
        for key in record:
            names.setdefault(key, None)
    columns = {name: [record.get(name) for record in records] for name in names if name in wanted}
    return RawTable(tuple(names), columns, len(records), form)


def _from_split(split: Any, max_rows: int, wanted: Collection[str]) -> RawTable:
    if not isinstance(split, dict) or not isinstance(split.get("columns"), list):
        raise BadRequest('"dataframe_split" must be an object with "columns" and "data"')
    names, data = split["columns"], split.get("data")
    others = [key for key in split if key not in ("columns", "data", "index")]
    if others or not isinstance(split.get("index", []), list):
        problems = [{"field": _shown(key), "problem": "unknown_field"} for key in others[:20]]
        raise SchemaMismatch(
            '"dataframe_split" holds "columns", "data" and optionally "index" (a list), '
            "nothing else",
            problems or [{"field": "index", "problem": "not_a_list"}],
        )
    if not all(isinstance(name, str) for name in names):
        raise BadRequest('"dataframe_split.columns" must be a list of column names')
    _no_duplicates(names)
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise BadRequest('"dataframe_split.data" must be a list of rows (lists of values)')
    if not data:
        raise SchemaMismatch('"dataframe_split.data" is empty', [{"problem": "empty"}])
    if len(data) > max_rows:
        raise PayloadTooLarge(f"{len(data):,} rows; the limit is {max_rows:,} per request")
    ragged = [i for i, row in enumerate(data) if len(row) != len(names)]
    if ragged:
        raise SchemaMismatch(
            f"row {ragged[0]} does not have one value per column ({len(names)})",
            [{"row": i, "problem": "wrong_length"} for i in ragged[:20]],
        )
    columns = {name: [row[j] for row in data] for j, name in enumerate(names) if name in wanted}
    return RawTable(tuple(names), columns, len(data), "dataframe_split")


def _from_columns(inputs: dict[str, Any], max_rows: int, wanted: Collection[str]) -> RawTable:
    if not inputs:
        raise SchemaMismatch('"inputs" has no columns', [{"problem": "empty"}])
    lists = [isinstance(v, list) for v in inputs.values()]
    if not any(lists):  # every column a scalar: one row
        columns = {k: [v] for k, v in inputs.items() if k in wanted}
        return RawTable(tuple(inputs), columns, 1, "inputs")
    if not all(lists):
        raise BadRequest('"inputs" columns must all be lists of values, or all single values')
    lengths = {len(v) for v in inputs.values()}
    if len(lengths) > 1:
        raise SchemaMismatch(
            '"inputs" columns have different lengths',
            [{"column": _shown(k), "problem": "wrong_length"} for k in inputs][:50],
        )
    rows = lengths.pop()
    if rows == 0:
        raise SchemaMismatch('"inputs" columns are empty', [{"problem": "empty"}])
    if rows > max_rows:
        raise PayloadTooLarge(f"{rows:,} rows; the limit is {max_rows:,} per request")
    columns = {k: list(v) for k, v in inputs.items() if k in wanted}
    return RawTable(tuple(inputs), columns, rows, "inputs")


def _no_duplicates(names: list[str]) -> None:
    seen: set[str] = set()
    twice = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if twice:
        raise SchemaMismatch(
            "duplicate column names",
            [{"column": _shown(n), "problem": "duplicate"} for n in dict.fromkeys(twice)][:50],
        )


def table_from_json(payload: Any, max_rows: int, wanted: Collection[str]) -> RawTable:
    """The rows of a JSON request body in any accepted form; ``wanted`` columns materialised."""
    if not isinstance(payload, dict):
        raise BadRequest(_expected())
    present = [form for form in FORMS if form in payload]
    if len(present) != 1:
        raise BadRequest(_expected() if not present else f"send one of {', '.join(present)}")
    form = present[0]
    others = [key for key in payload if key != form]
    if others:
        raise SchemaMismatch(
            f"unknown field {_shown(others[0])!r} beside {form!r}: send only the rows",
            [{"field": _shown(key), "problem": "unknown_field"} for key in others[:20]],
        )
    value = payload[form]
    if form == "dataframe_split":
        return _from_split(value, max_rows, wanted)
    if form == "inputs" and isinstance(value, dict):
        return _from_columns(value, max_rows, wanted)
    return _from_records(value, form, max_rows, wanted)


def _expected() -> str:
    return "the body must be a JSON object with one of " + ", ".join(f'"{f}"' for f in FORMS)


def table_from_csv(text: str, max_rows: int, wanted: Collection[str]) -> RawTable:
    """The rows of a CSV body: a header row, then one row per line; missing tokens become None."""
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise BadRequest("the CSV body has no header row")
        _no_duplicates(header)
        rows: list[list[str]] = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise SchemaMismatch(
                    f"CSV row {len(rows)} has {len(row)} fields for {len(header)} columns",
                    [{"row": len(rows), "problem": "wrong_length"}],
                )
            rows.append(row)
            if len(rows) > max_rows:
                raise PayloadTooLarge(f"more than {max_rows:,} rows in one request")
    except csv.Error as exc:
        raise BadRequest(f"malformed CSV: {exc}", code="malformed_csv") from None
    if not rows:
        raise SchemaMismatch("the CSV body has no data rows", [{"problem": "empty"}])
    columns = {
        name: [None if row[j] in CSV_MISSING else row[j] for row in rows]
        for j, name in enumerate(header)
        if name in wanted
    }
    return RawTable(tuple(header), columns, len(rows), "csv")
