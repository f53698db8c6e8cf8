"""Column profiles and duplicate rows, computed the quick way, against their definitions.

Text is profiled from one dictionary encoding (counts from its indices), datetimes from a sort,
duplicate rows from row codes folded column by column with a shortcut for columns of distinct
values. Each is compared here with the plain definition on tables made to be awkward.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from contextlib import closing
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from core.data import parallel, profile, table_checks, text_bytes
from core.data.report import ImportReport
from core.errors import Cancelled
from core.progress import CancelToken


def categorical_by_definition(column: pa.ChunkedArray) -> dict[str, Any]:
    """Distinct count, top 20 (ties: first seen first) and lengths, via ``pc.value_counts``."""
    counts = pc.value_counts(column.drop_null())
    values, tallies = counts.field("values"), counts.field("counts").to_numpy()
    order = np.argsort(-tallies, kind="stable")[: profile.TOP_CATEGORIES]
    out: dict[str, Any] = {
        "distinct": len(counts),
        "top": [{"value": values[int(i)].as_py(), "count": int(tallies[i])} for i in order],
    }
    if pa.types.is_string(column.type) and len(column) - column.null_count:
        lengths = pc.utf8_length(column)
        out["length"] = {"min": pc.min(lengths).as_py(), "max": pc.max(lengths).as_py()}
    return out


def chunked(values: list[Any], kind: pa.DataType) -> pa.ChunkedArray:
    third = len(values) // 3
    parts = [values[:third], values[third : 2 * third], values[2 * third :]]
    return pa.chunked_array([pa.array(part, kind) for part in parts], kind)


TEXT_COLUMNS = {
    "ties and nulls": ["b", None, "a", "b", "a", "c", None, "d", "c"] * 5,
    "many values, some repeated": [f"v{i % 37}" if i % 5 else f"u{i}" for i in range(500)],
    "unicode lengths": ["é", "€uro", "", "𝄞", "ab", None, "é"],
    "all missing": [None, None, None],
    "distinct ids of one width": [f"id-{i:06x}" for i in range(3000)],
    "ids of one width, one repeated late": [f"id-{i:06x}" for i in range(2999)] + ["id-000007"],
    "distinct non-ASCII ids": [f"é{i:03d}€" for i in range(900)],
    "distinct ids of several widths": [f"id-{i}" for i in range(3000)],
    "one value": ["x"] * 9,
}


@pytest.mark.parametrize("case", list(TEXT_COLUMNS))
def test_text_profiles_equal_the_value_counts_definition(case: str) -> None:
    column = chunked(TEXT_COLUMNS[case], pa.string())
    stats = profile.profile_column(column)
    expected = categorical_by_definition(column)
    assert {key: stats.get(key) for key in expected} == expected
    assert ("length" in stats) == ("length" in expected)


def test_id_columns_are_proved_distinct_without_hashing() -> None:
    ids = chunked(TEXT_COLUMNS["distinct ids of one width"], pa.string())
    assert text_bytes.all_distinct(ids)
    assert text_bytes.all_distinct(chunked(TEXT_COLUMNS["distinct non-ASCII ids"], pa.string()))
    assert profile.profile_and_encoding(ids)[1] is None  # no dictionary encoding made
    for case in ("ids of one width, one repeated late", "distinct ids of several widths"):
        assert not text_bytes.all_distinct(chunked(TEXT_COLUMNS[case], pa.string()))
    assert not text_bytes.all_distinct(pa.chunked_array([pa.array(["ab", None, "cd"])]))
    cells = TEXT_COLUMNS["distinct ids of one width"]
    first = pa.array(["id-zzzzzz", *cells[:1500]]).slice(1)  # an offset into the buffers
    assert text_bytes.all_distinct(pa.chunked_array([first, pa.array(cells[1500:])]))
    again = pa.chunked_array([first, pa.array(cells[1499:])])  # one cell in both chunks
    assert not text_bytes.all_distinct(again)


def test_boolean_profiles_equal_the_value_counts_definition() -> None:
    column = chunked([True, None, False, False, True, False, None], pa.bool_())
    stats = profile.profile_column(column)
    assert {key: stats[key] for key in ("distinct", "top")} == categorical_by_definition(column)


@pytest.mark.parametrize("zone", [None, "UTC"])
def test_datetime_distinct_counts_equal_count_distinct(zone: str | None) -> None:
    start = dt.datetime(2024, 1, 1)
    values = [start + dt.timedelta(hours=h % 50) if h % 7 else None for h in range(400)]
    column = chunked(values, pa.timestamp("us", tz=zone))
    stats = profile.profile_column(column)
    assert stats["distinct"] == pc.count_distinct(column, mode="only_valid").as_py()
    assert stats["min"] == pc.min(column).as_py().isoformat()
    assert profile.profile_column(chunked([None, None], pa.timestamp("us")))["distinct"] == 0


# -- duplicate rows ----------------------------------------------------------------------------


def duplicates_by_definition(table: pa.Table) -> list[int]:
    """1-based rows equal to an earlier row: NaN and missing floats count as one value, 0.0 and
    -0.0 as two (cells are compared by their bits, as they are stored)."""
    frame = table.to_pandas(types_mapper=pd.ArrowDtype).astype(object)
    frame = frame.map(
        lambda v: (
            "<missing>"
            if v is None or v is pd.NA or v != v
            else (repr(v) if isinstance(v, float) else v)
        )
    )
    keys = [tuple(row) for row in frame.itertuples(index=False)]
    seen: set[tuple] = set()
    found = []
    for number, key in enumerate(keys, start=1):
        if key in seen:
            found.append(number)
        seen.add(key)
    return found


def duplicate_rows(table: pa.Table) -> list[int]:
    report = ImportReport("csv", "x")
    rows = table_checks.RowHasher(table.num_rows)
    stats = profile.profile_table(table, rows=rows)
    table_checks.check_table(table, stats, report, rows)
    [found] = [p for p in report.problems if p["kind"] == "duplicate_rows"] or [{"rows": []}]
    return found["rows"]


BIG = 2**60
TABLES = {
    "mixed with duplicates": {
        "n": pa.array([1, 2, 1, None, None, 2**53 + 1, 2**53]),
        "x": pa.array([0.5, float("nan"), 0.5, None, float("nan"), 1.0, 1.0]),
        "s": pa.array(["a", "b", "a", None, None, "c", "c"]),
        "b": pa.array([True, None, True, False, False, None, None]),
    },
    "big integers with gaps": {
        "n": pa.array([BIG, BIG + 1, None, BIG + 1, BIG]),
        "s": pa.array(["a", "a", "a", "a", "b"]),
    },
    "a column of distinct ids": {
        "id": pa.array(["r1", "r2", "r3", "r4"]),
        "s": pa.array(["a", "a", "a", "a"]),
    },
    "zero and missing": {
        "n": pa.array([0, None, 0, None]),
        "t": pa.array([0, None, None, 0], pa.timestamp("us")),
        "s": pa.array(["a", "a", "a", "a"]),
    },
    "signed zeros": {"x": pa.array([0.0, -0.0, 0.0]), "s": pa.array(["a", "a", "a"])},
    "timestamps": {
        "t": pa.array([dt.datetime(2024, 1, 1), None, dt.datetime(2024, 1, 1), None]),
        "s": pa.array(["a", "a", "a", "a"]),
    },
}


@pytest.mark.parametrize("case", list(TABLES))
def test_duplicate_rows_equal_the_definition(case: str) -> None:
    table = pa.table(TABLES[case])
    assert duplicate_rows(table) == duplicates_by_definition(table)[:20]


def test_a_column_of_distinct_values_proves_rows_distinct() -> None:
    table = pa.table({"s": ["a", "a", "a"], "id": ["x", "y", "z"], "n": [1, 1, 1]})
    rows = table_checks.RowHasher(table.num_rows)
    profile.profile_table(table, rows=rows)
    assert rows.distinct_rows and not rows.duplicated().any()
    assert not table_checks.proves_distinct_rows({"type": "float", "distinct": 3, "count": 3,
                                                  "missing": 1})  # fmt: skip


# -- on all cores -------------------------------------------------------------------------------


def test_profiles_on_several_threads_equal_those_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    rows = 3000
    table = pa.table(
        {
            "n": rng.integers(0, 50, rows),
            "x": pa.array(rng.normal(size=rows), mask=rng.random(rows) < 0.1),
            "s": pa.array([f"k{v}" for v in rng.integers(0, 40, rows)]),
            "b": rng.random(rows) < 0.3,
            "t": pa.array(rng.integers(0, 10**6, rows) * 10**6, pa.timestamp("us")),
        }
    )
    table = pa.concat_tables([table, table.slice(0, 10)])  # ten duplicate rows

    def run() -> tuple[dict, list]:
        report = ImportReport("csv", "x")
        rows = table_checks.RowHasher(table.num_rows)
        stats = profile.profile_table(table, rows=rows)
        table_checks.check_table(table, stats, report, rows)
        return stats, report.problems

    monkeypatch.setattr(parallel, "MIN_ROWS", 10**9)
    alone = run()
    monkeypatch.setattr(parallel, "MIN_ROWS", 0)
    monkeypatch.setattr(parallel, "MAX_WORKERS", 3)
    assert parallel.workers_for(table.num_rows) > 1 or parallel.workers_for(1) == 1
    together = run()
    assert together == alone
    assert [p["count"] for p in alone[1] if p["kind"] == "duplicate_rows"] == [10]


def test_in_order_keeps_the_order_and_raises_the_first_error() -> None:
    def slow(item: int) -> int:
        time.sleep(0.002 * (item % 3))
        if item == 7:
            raise ValueError("seven")
        return item * 2

    assert list(parallel.in_order(slow, range(7), 3)) == [i * 2 for i in range(7)]
    results = []
    with pytest.raises(ValueError, match="seven"):
        for value in parallel.in_order(slow, range(20), 3):
            results.append(value)
    assert results == [i * 2 for i in range(7)]


def test_in_order_stops_when_cancelled() -> None:
    cancel = CancelToken()
    started: list[int] = []
    lock = threading.Lock()

    def work(item: int) -> int:
        with lock:
            started.append(item)
        return item

    with pytest.raises(Cancelled):
        for value in parallel.in_order(work, range(1000), 2, cancel):
            if value == 3:
                cancel.cancel()
    assert len(started) < 20  # at most a few items in flight when the cancel came


def test_closing_in_order_early_stops_its_threads() -> None:
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        time.sleep(0.005)
        return item

    results = parallel.in_order(work, range(100), 2)
    with closing(results):
        for value in results:
            if value == 1:
                break
    assert len(started) < 10
    assert not [t for t in threading.enumerate() if t.name.startswith("columns")]
