"""A request of plain numbers is checked in one block: the same model input, the same warnings
and the same refusals as the column-by-column checks give it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.serving import validation
from core.serving.errors import SchemaMismatch
from core.serving.forms import RawTable
from core.serving.model import InputColumn, LoadedModel

INPUTS = (
    InputColumn("count", "integer", False, minimum=0.0, maximum=40.0),
    InputColumn("length", "float", True, minimum=-2.5, maximum=2.5),
    InputColumn("free", "float", False),  # no training range: no warning, a wide limit
    InputColumn("upper", "float", False, minimum=None, maximum=9.0),
)
MODEL = LoadedModel(
    name="lane", version=1, run=None, task="regression", inputs=INPUTS, output={}, metrics={},
    sha256="0" * 64, created=None, directory=".", pipeline=None,
)  # fmt: skip
VALUES = (
    st.integers(min_value=-100, max_value=100)
    | st.floats(min_value=-60, max_value=60)
    | st.sampled_from([1e30, -1e33, 10**400, 0, -0.0, 2.5, -2.5, 40])
)
ODD = st.sampled_from([None, True, "3.5", "x", float("nan"), float("inf"), [1]])


def answer(table: RawTable, lane: bool, monkeypatch) -> object:
    """The model input's frame and notes, or the refusal's details, by one path."""
    with monkeypatch.context() as patched:
        if not lane:
            patched.setattr(validation, "_plain_numbers", lambda model, table: None)
        try:
            checked = validation.validate(MODEL, table)
        except SchemaMismatch as refused:
            return "refused", refused.details
    return checked.frame, checked.warnings, checked.rows, checked.ignored_columns


@settings(max_examples=400, deadline=None)
@given(
    st.integers(min_value=1, max_value=30).flatmap(
        lambda rows: st.lists(
            st.lists(VALUES, min_size=rows, max_size=rows), min_size=4, max_size=4
        )
    ),
    st.one_of(st.none(), st.tuples(st.integers(0, 3), st.integers(0, 29), ODD)),
)
def test_both_paths_give_the_same_answer(columns, odd) -> None:
    if odd is not None and odd[1] < len(columns[0]):
        columns[odd[0]][odd[1]] = odd[2]
    table = RawTable(
        ("count", "length", "free", "upper", "extra"),
        {column.name: values for column, values in zip(INPUTS, columns, strict=True)},
        len(columns[0]),
        "dataframe_split",
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = answer(table, True, monkeypatch), answer(table, False, monkeypatch)
    refused = [isinstance(answered[0], str) for answered in (fast, slow)]
    assert refused[0] == refused[1], (fast, slow)
    if refused[0]:
        assert fast == slow
        return
    assert fast[0].equals(slow[0]) and list(fast[0].columns) == list(slow[0].columns)
    assert fast[0].dtypes.tolist() == slow[0].dtypes.tolist()
    assert fast[1:] == slow[1:]


def test_a_plain_request_takes_the_block() -> None:
    table = RawTable(("count", "length", "free", "upper"),
                     {"count": [1, 50], "length": [0.5, 3.0], "free": [1e9, -4], "upper": [0, 10]},
                     2, "records")  # fmt: skip
    frame, notes = validation._plain_numbers(MODEL, table)
    assert frame.to_numpy().tolist() == [[1, 0.5, 1e9, 0], [50, 3.0, -4, 10]]
    assert [(n["column"], n["rows"]) for n in notes] == [("count", [1]), ("length", [1])]
