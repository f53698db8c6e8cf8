"""Whether an ONNX graph answers as the pipeline it was made from, and the rows that decide it.

Both models predict the same rows through the serving code (:func:`core.serving.scoring.
predict`): the version's data rows and synthetic ones (:func:`synthetic_rows`: each category, an
unseen category, missing values where training had them, numbers at and beyond the training
range). They agree when the predicted labels are equal, every probability is within
:data:`TOLERANCE`, and every regression prediction within :data:`TOLERANCE` relative to its
size (at least 1); otherwise the export is refused (:class:`OnnxRefused`) naming the largest
difference, and nothing is written.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from core.errors import ShipwayError
from core.serving.frames import NUMERIC_TYPES

TOLERANCE = 1e-5
SYNTHETIC_ROWS = 200


class OnnxRefused(ShipwayError, code="onnx_refused"):
    """The pipeline cannot be served as ONNX with the same answers; nothing was written."""


def refused(label: str, reason: str, hint: str | None = None) -> OnnxRefused:
    return OnnxRefused(
        f"{label} cannot be exported as ONNX: {reason}",
        where=label,
        hint=hint or "export it without --format onnx (a joblib bundle serves every model)",
    )


class Mismatch(Exception):
    """The two models disagree: ``str(self)`` says where most."""


# -- the comparison ---------------------------------------------------------------------------


def compare(expected: Any, converted: Any, frame: pd.DataFrame, label: str) -> float:
    """The largest difference between two loaded models' answers to ``frame`` (through the
    serving code); raises :class:`OnnxRefused` saying where they disagree most."""
    try:
        return difference(expected, converted, frame)
    except Mismatch as mismatch:
        raise disagrees(label, str(mismatch)) from None


def difference(expected: Any, converted: Any, frame: pd.DataFrame) -> float:
    from core.serving.scoring import predict
    from core.serving.validation import ModelInput

    model_input = ModelInput(frame=frame, rows=len(frame))
    want, want_proba = predict(expected, model_input)
    got, got_proba = predict(converted, model_input)
    if expected.task == "regression":
        return _regression(np.asarray(want, float), np.asarray(got, float))
    differing = [
        i for i, (a, b) in enumerate(zip(want, got, strict=True)) if json.dumps(a) != json.dumps(b)
    ]
    if differing:
        row = differing[0]
        raise Mismatch(
            f"{len(differing)} of {len(want)} rows get another class "
            f"(row {row}: {got[row]!r} instead of {want[row]!r})"
        )
    if (want_proba is None) != (got_proba is None):
        raise Mismatch("one answers with probabilities and the other without")
    if want_proba is None:
        return 0.0
    a, b = np.asarray(want_proba, float), np.asarray(got_proba, float)
    if a.shape != b.shape:
        raise Mismatch(f"probabilities of shape {b.shape} instead of {a.shape}")
    gap = np.abs(a - b)
    largest = float(np.nanmax(gap)) if gap.size else 0.0
    if largest > TOLERANCE or np.isnan(gap).any():
        row, column = np.unravel_index(int(np.nanargmax(gap)), gap.shape)
        raise Mismatch(
            f"the largest probability difference is {largest:.3g} (row {row}, "
            f"class {expected.classes[column]!r}), over {TOLERANCE:g}"
        )
    return largest


def _regression(want: np.ndarray, got: np.ndarray) -> float:
    gap = np.abs(want - got) / np.maximum(1.0, np.abs(want))
    largest = float(np.nanmax(gap)) if gap.size and not np.isnan(gap).all() else 0.0
    if largest > TOLERANCE or np.isnan(gap).any():
        row = int(np.nanargmax(gap)) if not np.isnan(gap).all() else 0
        raise Mismatch(
            f"the largest difference is {abs(want[row] - got[row]):.4g} (relative "
            f"{largest:.3g}, row {row}: {got[row]!r} instead of {want[row]!r}), "
            f"over {TOLERANCE:g}"
        )
    return largest


def disagrees(label: str, what: str) -> OnnxRefused:
    return refused(
        label,
        f"the converted model disagrees with scikit-learn: {what}",
        hint="serve this model from a joblib bundle (without --format onnx); nothing was written",
    )


# -- the rows compared ------------------------------------------------------------------------


def synthetic_rows(io_schema: dict[str, Any], rows: int = SYNTHETIC_ROWS) -> pd.DataFrame:
    """Model input rows (coerced as serving coerces) that probe the edges: every category, an
    unseen one, missing values where training had them, numbers at, between and beyond the
    training range; drawn with a fixed seed so an export is repeatable."""
    rng = np.random.default_rng(0)
    columns: dict[str, Any] = {}
    for entry in io_schema.get("inputs", []):
        if entry["type"] in NUMERIC_TYPES:
            low, high = float(entry.get("min", 0.0)), float(entry.get("max", 1.0))
            span = (high - low) or 1.0
            pool = [low, high, (low + high) / 2, low - span, high + span, low + span / 3]
            pool += [np.nan] if entry.get("nullable") else []
            columns[entry["name"]] = np.asarray(rng.choice(pool, rows), dtype=np.float64)
        else:
            pool = [*entry.get("categories", []), "a category never seen in training"]
            pool += [None] if entry.get("nullable") else []
            picks = rng.integers(0, len(pool), rows)
            columns[entry["name"]] = pd.Series([pool[i] for i in picks], dtype=object)
    return pd.DataFrame(columns)
