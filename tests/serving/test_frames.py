"""Model frames: what training, serving and batch scoring give a pipeline, built one way."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.serving import frames
from core.serving.frames import columns_frame, model_frame

SCHEMA = {
    "length": "float",
    "island": "string",
    "count": "integer",
    "flag": "boolean",
    "seen": "datetime",
    "code": "string",
}
FEATURES = ["length", "island", "count", "flag", "seen", "code"]


def _raw(index: pd.Index | None = None) -> pd.DataFrame:
    raw = pd.DataFrame(
        {
            "length": [39.1, None, 1e300],
            "island": ["Biscoe", None, "Dream"],
            "count": [3, 4, None],
            "flag": [True, "false", None],
            "seen": ["1970-01-02T00:00:00Z", "not a date", None],
            "code": pd.Series([7, "A1", None], dtype=object),  # mixed: numbers become text
            "ignored": [1, 2, 3],
        }
    )
    return raw if index is None else raw.set_axis(index)


def _expect_values(frame: pd.DataFrame) -> None:
    assert frame.columns.tolist() == FEATURES
    kinds = ["float64", "object", "float64", "float64", "float64", "object"]
    assert [str(dtype) for dtype in frame.dtypes] == kinds
    assert frame["length"].tolist()[::2] == [39.1, 1e300] and np.isnan(frame["length"].iloc[1])
    assert frame["island"].tolist() == ["Biscoe", None, "Dream"]
    assert frame["count"].tolist()[:2] == [3.0, 4.0] and np.isnan(frame["count"].iloc[2])
    assert frame["flag"].tolist()[:2] == [1.0, 0.0] and np.isnan(frame["flag"].iloc[2])
    assert frame["seen"].iloc[0] == 86_400.0 and frame["seen"].iloc[1:].isna().all()
    assert frame["code"].tolist() == ["7", "A1", None]
    assert all(type(v) is str for v in frame["island"].dropna())


def test_each_type_is_coerced_the_one_way() -> None:
    _expect_values(model_frame(_raw(), SCHEMA, FEATURES))


def test_the_frame_keeps_the_rows_index_and_plain_names() -> None:
    index = pd.Index([10, 10, 30])  # a repeated label too: nothing is aligned on it
    frame = model_frame(_raw(index), SCHEMA, FEATURES)
    _expect_values(frame)
    assert frame.index.tolist() == [10, 10, 30]
    # names as Python strings: pandas' Arrow-backed string type is inferred for nothing
    assert frame.columns.dtype == object


def test_pandas_string_and_category_columns_become_object_text() -> None:
    raw = _raw()
    raw["island"] = raw["island"].astype("string")
    raw["code"] = pd.Series(["x", None, "y"]).astype("category")
    frame = model_frame(raw, SCHEMA, FEATURES)
    assert frame["island"].tolist() == ["Biscoe", None, "Dream"]
    assert frame["code"].tolist() == ["x", None, "y"]
    assert frame["island"].dtype == object and frame["code"].dtype == object


def test_arrays_apart_give_the_same_frame_as_a_dataframe() -> None:
    raw = _raw()
    columns = {name: raw[name].to_numpy() for name in FEATURES}
    columns["length"] = raw["length"].to_numpy(dtype=np.float64)
    together = model_frame(raw, SCHEMA, FEATURES)
    apart = columns_frame(columns, pd.RangeIndex(3), SCHEMA, FEATURES)
    pd.testing.assert_frame_equal(apart, together)


@pytest.mark.parametrize("rows", [0, 1, 100])
def test_the_public_way_builds_the_same_frame(rows: int) -> None:
    raw = pd.concat([_raw()] * 40, ignore_index=True).head(rows)
    fast = model_frame(raw, SCHEMA, FEATURES)
    parts = [
        fast[name] if fast[name].dtype == object else fast[name].to_numpy() for name in FEATURES
    ]
    public = frames.frame_of_parts(parts, pd.Index(FEATURES, dtype=object), raw.index)
    pd.testing.assert_frame_equal(public, fast)


def test_an_input_array_is_not_written_through() -> None:
    numbers = np.array([1.0, 2.0])
    texts = np.array(["a", None], dtype=object)
    frame = columns_frame(
        {"n": numbers, "t": texts}, pd.RangeIndex(2), {"n": "float", "t": "string"}, ["n", "t"]
    )
    frame.iloc[0, 0] = 99.0
    frame.iloc[0, 1] = "z"
    assert numbers.tolist() == [1.0, 2.0] and texts.tolist() == ["a", None]
