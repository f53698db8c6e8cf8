"""The quick typing of CSV columns gives exactly what the typing rules give.

:mod:`core.data.infer_fast` proves, column by column, that a shortcut reaches the answer of
:func:`core.data.infer.type_column`; where it cannot, it hands over. These tests compare the two
on columns made to trip the shortcut: tokens that parse as numbers, late surprises beyond the
sample, leading zeros, white space, conflicts.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from core.data import infer, infer_fast
from core.data.report import ImportReport
from core.data.text_bytes import LEADING_ZERO_PATTERN, leading_zero_count

DEFAULT_TOKENS = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip


def regex_count(values: pa.ChunkedArray) -> int:
    return pc.sum(pc.match_substring_regex(values, LEADING_ZERO_PATTERN)).as_py() or 0


# -- leading zeros from the first bytes ------------------------------------------------------


def test_leading_zero_count_equals_the_regular_expression_on_random_cells() -> None:
    rng = random.Random(7)
    alphabet = ["0", "1", "9", "+", "-", ".", "x", " ", "\t", "\x0b", "é", "a"]
    for _ in range(2000):
        cells = [
            None if rng.random() < 0.1 else "".join(rng.choices(alphabet, k=rng.randint(0, 4)))
            for _ in range(rng.randint(0, 25))
        ]
        array = pa.array(cells, pa.string())
        if len(array) > 3:
            array = array.slice(rng.randint(0, 3))  # an offset into the buffers
        column = pa.chunked_array([array, array[::-1]], pa.string())
        assert leading_zero_count(column) == regex_count(column), cells


@pytest.mark.parametrize(
    ("cells", "count"),
    [
        (["007", "7", "0", "00", "0.5", "00.5", "-05", "+07", "-0", "+0", "0x1F"], 5),
        ([" 007", "\t012", "12"], 2),  # white space before: the regular expression decides
        (["", "", "0"], 0),
    ],
)
def test_leading_zero_count_of_known_cells(cells: list[str], count: int) -> None:
    column = pa.chunked_array([pa.array(cells)])
    assert leading_zero_count(column) == regex_count(column) == count


def test_leading_zero_count_ignores_what_null_slots_hold() -> None:
    """A null slot may span bytes ("007" here); only valid cells count."""
    data = pa.py_buffer(b"007120")
    offsets = pa.py_buffer(np.array([0, 3, 5, 6], dtype=np.int32).tobytes())
    validity = pa.py_buffer(np.packbits([0, 1, 1], bitorder="little").tobytes())
    array = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, data], null_count=1)
    assert array.to_pylist() == [None, "12", "0"]
    assert leading_zero_count(pa.chunked_array([array])) == 0


# -- the quick path against the rules --------------------------------------------------------


def _column(rng: random.Random, make, rows: int, late: str | None = None) -> list[str]:
    cells = [make(rng, i) for i in range(rows)]
    if late is not None:
        cells[-1] = late
    return cells


def _int(rng, i):
    return str(rng.randint(-500, 50_000))


def _float(rng, i):
    return rng.choice([f"{rng.uniform(-9, 9):.3f}", repr(rng.gauss(0, 1)), "1e5", ".5", "5."])


def _date(rng, i):
    return f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"


def _zoned(rng, i):
    return rng.choice(["2024-03-01T10:00:00Z", "2024-03-02T11:00:00+02:00"])


def _bool(rng, i):
    return rng.choice(["true", "false"])


def _word(rng, i):
    return rng.choice(["red", "green", "blue", "grün"])


def _with(make, cell: str, every: int):
    return lambda rng, i: cell if i % every == every - 1 else make(rng, i)


ROWS = 12_000  # more than the sample's 10,000 cells, so that late cells are unseen by it
CASES = {
    "integers": (_int, None),
    "integers, empty cells": (_with(_int, "", 7), None),
    "integers, NA": (_with(_int, "NA", 50), None),
    "integers, late leading zero": (_int, "007"),
    "integers, late hex": (_int, "0x1F"),
    "integers, late plus": (_int, "+5"),
    "integers, late minus zero": (_int, "-0"),
    "integers, late word": (_int, "x12"),
    "integers, late space": (_int, " 7"),
    "integers, late NA": (_int, "NA"),
    "floats": (_float, None),
    "floats, empty cells": (_with(_float, "", 3), None),
    "floats, NaN tokens": (_with(_float, "NaN", 40), None),
    "floats, late nan": (_float, "nan"),
    "floats, late inf": (_float, "inf"),
    "floats, late IND": (_float, "1.#IND"),
    "floats, late leading zero": (_float, "00.5"),
    "floats, some words": (_with(_float, "n/k", 500), None),
    "floats, many words": (_with(_float, "n/k", 20), None),
    "booleans": (_bool, None),
    "booleans, mixed case": (_with(_bool, "TRUE", 9), None),
    "booleans, late odd case": (_bool, "tRuE"),
    "booleans, empty and NA": (_with(_with(_bool, "", 5), "NA", 13), None),
    "booleans, late word": (_bool, "yes"),
    "dates": (_date, None),
    "dates, empty cells": (_with(_date, "", 10), None),
    "dates, late bad date": (_date, "2024-02-30"),
    "dates, late NULL": (_date, "NULL"),
    "zoned date-times": (_zoned, None),
    "words": (_word, None),
    "words, tokens and empty cells": (_with(_with(_word, "N/A", 11), "", 4), None),
    "words, NA only": (_with(_word, "NA", 3), None),
    "codes": (lambda rng, i: f"{i % 1000:03d}", None),
    "tokens first, values late": (lambda rng, i: "NA" if i < 10_500 else str(i), None),
    "all empty": (lambda rng, i: "", None),
    "all tokens": (lambda rng, i: rng.choice(["NA", "", "null"]), None),
}


def _cells(column: pa.ChunkedArray) -> list:
    """The column's values, NaN as a string (NaN is not equal to itself)."""
    return ["NaN" if isinstance(v, float) and math.isnan(v) else v for v in column.to_pylist()]


def _type_both(cells: list[str], tokens: frozenset[str], decimal: str = "."):
    rules = infer.TypingRules(tokens, decimal, 0.01)
    half = len(cells) // 2
    values = pa.chunked_array([pa.array(cells[:half]), pa.array(cells[half:])], pa.string())
    line_of = lambda index: index + 2  # noqa: E731
    quick_report, rules_report = ImportReport("csv", "x"), ImportReport("csv", "x")
    quick = infer_fast.type_text_column("c", values, rules, quick_report, line_of)
    reference = infer.type_column("c", values, rules, rules_report, line_of)
    return quick, reference, quick_report, rules_report


@pytest.mark.parametrize("tokens", [DEFAULT_TOKENS, frozenset()], ids=["default", "none"])
@pytest.mark.parametrize("case", list(CASES))
def test_quick_typing_equals_the_rules(case: str, tokens: frozenset[str]) -> None:
    make, late = CASES[case]
    cells = _column(random.Random(case), make, ROWS, late)
    quick, reference, quick_report, rules_report = _type_both(cells, tokens)
    assert quick.type == reference.type
    assert _cells(quick) == _cells(reference)
    assert quick_report.problems == rules_report.problems
    assert quick_report.missing_tokens == rules_report.missing_tokens
    assert [list(t) for t in quick_report.missing_tokens.values()] == [
        list(t) for t in rules_report.missing_tokens.values()
    ]  # the tokens in the same order too


def test_decimal_commas_are_left_to_the_rules() -> None:
    cells = ["1,5", "2,25", "", "1.234,5"] * 10
    quick, reference, quick_report, rules_report = _type_both(cells, DEFAULT_TOKENS, ",")
    assert quick.equals(reference) and quick.type == pa.float64()
    assert quick_report.missing_tokens == rules_report.missing_tokens == {"c": {"": 10}}


@pytest.mark.parametrize(
    ("case", "kind"),
    [("integers", pa.int64()), ("floats, empty cells", pa.float64()), ("booleans", pa.bool_()),
     ("dates, empty cells", pa.timestamp("us")), ("words", pa.string()),
     ("codes", pa.string()), ("all empty", pa.string())],
)  # fmt: skip
def test_the_common_columns_take_the_quick_path(case: str, kind: pa.DataType) -> None:
    make, late = CASES[case]
    cells = _column(random.Random(case), make, ROWS, late)
    values = pa.chunked_array([pa.array(cells)])
    values = pc.if_else(pc.equal(values, ""), None, values)
    rules = infer.TypingRules(DEFAULT_TOKENS, ".", 0.01)
    typed = infer_fast.quick_type("c", values, rules, ImportReport("csv", "x"))
    assert typed is not None and typed.type == kind


@pytest.mark.parametrize(
    "case", ["integers, NA", "floats, NaN tokens", "floats, some words", "words, NA only"]
)
def test_columns_the_shortcut_cannot_prove_are_handed_over_untouched(case: str) -> None:
    make, late = CASES[case]
    cells = _column(random.Random(case), make, ROWS, late)
    values = pa.chunked_array([pa.array(cells)])
    values = pc.if_else(pc.equal(values, ""), None, values)
    report = ImportReport("csv", "x")
    rules = infer.TypingRules(DEFAULT_TOKENS, ".", 0.01)
    assert infer_fast.quick_type("c", values, rules, report) is None
    assert report.problems == [] and report.missing_tokens == {}
