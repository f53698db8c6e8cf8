"""orjson's parse of a request body is taken only where it is the standard library's, value and
type alike; every other body, and every error, takes the standard path."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.serving import body, fastjson


def same(a: object, b: object) -> bool:
    """Equal values of the same types all the way down (1 is not 1.0, -0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (a == b and math.copysign(1, a) == math.copysign(1, b)) or (a != a and b != b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def standard(data: bytes) -> object:
    return json.loads(data.decode("utf-8"))


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(VALUES, st.sampled_from([None, 2, "\t"]))
def test_any_value_parses_to_the_standard_librarys_value(value, indent) -> None:
    data = json.dumps(value, ensure_ascii=False, indent=indent).encode("utf-8")
    fast = fastjson.parse(data, 32)
    if fast is not None:
        assert same(fast, standard(data)), data
    assert same(body.parse_json(data, 32), standard(data))


@settings(max_examples=2000, deadline=None)
@given(
    st.integers(min_value=1, max_value=40).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    ),
    st.text("0123456789", max_size=30),
    st.sampled_from(["", "e5", "e-7", "E+300", "e-320", "e308"]),
)
def test_number_text_is_read_to_the_same_bits(whole, fraction, exponent) -> None:
    literal = (whole.lstrip("0") or "0") + (f".{fraction}" if fraction else "") + exponent
    data = f"[{literal}, -{literal}]".encode()
    fast = fastjson.parse(data, 32)
    expected = standard(data)
    if fast is not None:
        assert same(fast, expected), literal


@pytest.mark.parametrize(
    "literal",
    ["999999999999999999", "-999999999999999999", "123456789012345678.5", "1234567890123456789e2"],
)
def test_integers_up_to_18_digits_and_long_fractions_take_the_fast_path(literal) -> None:
    data = f'{{"x": [{literal}, 0.0001234567890123456789012]}}'.encode()
    assert same(fastjson.parse(data, 32), standard(data))


@pytest.mark.parametrize(
    "literal",
    ["9223372036854775807", "18446744073709551616", "-9223372036854775809", "-" + "7" * 40],
)
def test_an_integer_of_19_digits_or_more_takes_the_standard_path(literal) -> None:
    data = f'{{"x": [{literal}]}}'.encode()
    assert fastjson.parse(data, 32) is None  # orjson reads some of these as floats
    value = body.parse_json(data, 32)
    assert type(value["x"][0]) is int and value["x"][0] == int(literal)


@pytest.mark.parametrize(
    "data",
    [
        b'{"x": NaN}',
        b'{"x": Infinity}',
        b'{"x": 1e400}',
        b'{"x": "\\ud800"}',
        b'{"x": "a\\"b"}',
        b"\xef\xbb\xbf{}",
        b'{"x": "\xff"}',
        b'{"x": [1,]}',
        b"null",
        b"",
    ],
)
def test_what_orjson_refuses_or_escapes_go_the_standard_way(data) -> None:
    assert fastjson.parse(data, 32) is None


def test_the_standard_path_still_words_the_refusals() -> None:
    with pytest.raises(body.SchemaMismatch) as caught:
        body.parse_json(b'{"records": [{"x": NaN}]}', 32)
    assert caught.value.details == [{"field": "records[0].x", "problem": "not_finite"}]
    with pytest.raises(body.BadRequest, match="malformed JSON"):
        body.parse_json(b'{"x": [1,]}', 32)


def test_brackets_inside_text_are_not_nesting() -> None:
    data = b'{"x": "[[[[[[[[{{{{{{{{", "y": "]]]]]]]]]]]]]]]]", "z": [[1]]}'
    assert fastjson._depth_outside_strings(data) == 3
    assert same(fastjson.parse(data, 3), standard(data))


def test_a_body_nested_past_the_limit_is_refused_as_before() -> None:
    data = b"[" * 40 + b"1" + b"]" * 40
    assert fastjson.parse(data, 32) is None
    with pytest.raises(body.BadRequest, match="nested 40 levels deep"):
        body.parse_json(data, 32)


def test_a_hundred_row_body_takes_the_fast_path() -> None:
    rows = np.random.default_rng(1).normal(size=(100, 20)).round(5).tolist()
    data = json.dumps({"dataframe_split": {"columns": list("abcdefghijklmnopqrst"),
                                           "data": rows}}).encode()  # fmt: skip
    fast = fastjson.parse(data, 32)
    assert fast is not None and same(fast, standard(data))
