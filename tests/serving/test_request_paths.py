"""The faster paths of a request give what the plain ones gave: the look for values JSON cannot
carry, and the model input built from the checked columns without a DataFrame in between."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from core.serving import body, forms
from core.serving.frames import model_frame
from core.serving.model import load_model
from core.serving.validation import validate
from tests.serving.helpers import FEATURES, ROW


def _bodies() -> list[bytes]:
    rng = random.Random(1)
    pieces = [b"1", b"2", b",", b"e", b"E", b"+", b"\\u", b"d", b"D", b"8", b"a", b"N", b"aN",
              b"Infinity", b" ", b"[", b'"']  # fmt: skip
    found = []
    for _ in range(3000):
        parts = [rng.choice(pieces) for _ in range(rng.randint(0, 60))]
        if rng.random() < 0.4:  # digit runs around the block size and the threshold
            run = b"7" * rng.choice([149, 150, 151, 299, 300, 301, 450])
            parts.insert(rng.randint(0, len(parts)), run)
        found.append(b"".join(parts))
    return found


def test_the_suspect_look_agrees_with_the_one_expression() -> None:
    for data in _bodies():
        assert body._suspect(data) == bool(body._SUSPECT.search(data)), data


@pytest.mark.parametrize("offset", [0, 1, 149, 150, 151, 299])
def test_a_long_integer_anywhere_is_still_refused(offset: int) -> None:
    data = b'{"records": [{"x": ' + b" " * offset + b"9" * 320 + b"}]}"
    with pytest.raises(body.SchemaMismatch) as caught:
        body.parse_json(data, 32)
    assert caught.value.details == [{"field": "records[0].x", "problem": "out_of_range"}]


def test_the_model_input_is_the_frame_model_frame_builds(models) -> None:
    model = load_model(models["v1"])
    rows = [
        dict(ROW),
        {**ROW, "bill_length_mm": None, "island": "Atlantis"},
        {**ROW, "year": "2009"},
    ]
    table = forms.table_from_json({"records": rows}, 100, set(FEATURES))
    checked = validate(model, table)
    # what the checks gave each column, put in a DataFrame and coerced as training does
    columns = {name: table.columns[name] for name in FEATURES}
    plain = pd.DataFrame(
        {
            "island": pd.Series(columns["island"], dtype=object),
            "sex": pd.Series(columns["sex"], dtype=object),
            **{
                name: np.array([np.nan if v is None else float(v) for v in columns[name]])
                for name in FEATURES
                if name not in ("island", "sex")
            },
        },
        index=pd.RangeIndex(len(rows)),
    )
    expected = model_frame(plain, model.schema, model.features)
    pd.testing.assert_frame_equal(checked.frame, expected, check_exact=True)
    assert list(checked.frame.dtypes.astype(str)) == list(expected.dtypes.astype(str))
