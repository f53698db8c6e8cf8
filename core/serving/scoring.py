"""The framework-free scoring core: body bytes → validated rows → predictions → JSON answer.

The flask app is a thin shell around :func:`score`; a test, a benchmark or another server can
call it directly (the shape MLflow's scoring server has). Output never holds NaN or Infinity:
such a number becomes ``null`` and :func:`dumps` refuses anything else non-standard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.serving import body, contract, explain, forests, forms
from core.serving.encoding import plain
from core.serving.errors import PredictionFailed
from core.serving.model import LoadedModel
from core.serving.settings import ServingConfig
from core.serving.validation import ModelInput, validate


@dataclass(frozen=True)
class Scored:
    """One answered prediction request."""

    answer: dict[str, Any]
    model_input: ModelInput = field(repr=False)
    predictions: list[Any] = field(repr=False)
    probabilities: list[list[float | None]] | None = field(repr=False, default=None)


def parse_request(
    model: LoadedModel, data: bytes, content_type: str | None, config: ServingConfig
) -> ModelInput:
    """The model input of a request body, or the ServingError that answers it."""
    return _parse(model, data, content_type, config)[0]


def _parse(
    model: LoadedModel, data: bytes, content_type: str | None, config: ServingConfig
) -> tuple[ModelInput, bool]:
    """The model input, and whether the body asked for explanations (:mod:`.explain`)."""
    kind = body.body_kind(content_type)
    wanted, explained = set(model.features), False
    if kind == "csv":
        table = forms.table_from_csv(body.decode(data), config.max_rows, wanted)
    else:
        payload, explained = explain.take_flag(body.parse_json(data, config.max_depth))
        table = forms.table_from_json(payload, config.max_rows, wanted)
    return validate(model, table, config.extra_columns), explained


#: Classifiers whose own ``predict`` is the class of the highest ``predict_proba`` (scikit-learn
#: computes it that way), so one call gives both; for the others (e.g. SVC, whose probabilities
#: come from a separate calibration) both are called.
ARGMAX_OF_PROBA = frozenset(
    {
        "DecisionTreeClassifier",
        "ExtraTreeClassifier",
        "RandomForestClassifier",
        "ExtraTreesClassifier",
        "GradientBoostingClassifier",
        "HistGradientBoostingClassifier",
    }
)


def _raw_predict(pipeline: Any, frame: Any, want_proba: bool) -> tuple[Any, Any]:
    """``predict`` and, when wanted and available, ``predict_proba`` of ``pipeline``.

    For a Pipeline the preprocessing runs once and both calls go to the final estimator: the
    same results as ``pipeline.predict`` and ``pipeline.predict_proba``, at half the cost
    (the ColumnTransformer dominates a small request). For :data:`ARGMAX_OF_PROBA` models the
    prediction is taken from the probabilities, as scikit-learn's own ``predict`` does: a forest
    is walked once instead of twice, and without scikit-learn's per-tree overhead
    (:mod:`core.serving.forests`).
    """
    both = getattr(pipeline, "predict_both", None)
    if both is not None:  # an ONNX model (core.serving.onnx_model): one run gives both
        return both(frame, want_proba)
    steps = getattr(pipeline, "steps", None)
    if steps is not None and len(steps) > 1 and hasattr(pipeline, "__getitem__"):
        from core.serving import fastprep  # imports scikit-learn: not for an ONNX server

        features, final = fastprep.transform(pipeline[:-1], frame), pipeline[-1]
    else:
        features, final = frame, pipeline
    if not want_proba or not hasattr(final, "predict_proba"):
        return forests.predict(final, features), None
    proba = forests.predict_proba(final, features)
    if type(final).__name__ in ARGMAX_OF_PROBA:
        return np.asarray(final.classes_).take(np.argmax(proba, axis=1), axis=0), proba
    return final.predict(features), proba


def predict(model: LoadedModel, model_input: ModelInput) -> tuple[list, list | None]:
    """Predictions (and class probabilities when the model has them) as plain lists."""
    try:
        predicted, proba = _raw_predict(
            model.pipeline, model_input.frame, model.task == "classification"
        )
    except Exception as exc:  # any failure inside the model is the model's, not the request's
        raise PredictionFailed(
            f"the model failed to predict ({type(exc).__name__}); the server is still up"
        ) from exc
    if proba is not None and model.threshold is not None:
        predicted = thresholded(model.pipeline, np.asarray(proba), model.threshold)
    predictions = plain_list(np.asarray(predicted))
    probabilities = None if proba is None else plain_list(np.asarray(proba))
    return predictions, probabilities


def thresholded(pipeline: Any, proba: np.ndarray, threshold: float) -> np.ndarray:
    """Labels of a binary classifier at its stored threshold: the positive class (the second
    of its classes) where that class's probability is at least ``threshold``."""
    classes = np.asarray(pipeline.classes_)
    return np.where(proba[:, 1] >= threshold, classes[1], classes[0])


def plain_list(values: np.ndarray) -> list:
    """``values`` as nested lists of JSON-safe Python values (:func:`plain` of each).

    ``tolist`` already gives Python numbers, booleans and text for arrays of those: only
    non-finite floats (which become ``None``) and object arrays (which may hold numpy scalars)
    need a look at every value.
    """
    kind = values.dtype.kind
    if kind in "biuU" or (kind == "f" and bool(np.isfinite(values).all())):
        return values.tolist()
    if values.ndim > 1:
        return [plain_list(row) for row in values]
    listed = values.tolist()
    if kind == "O" and all(type(v) is str for v in listed):  # class labels: text as it is
        return listed
    return [plain(v) for v in listed]


def score(
    model: LoadedModel,
    data: bytes,
    content_type: str | None,
    config: ServingConfig,
    request_id: str,
) -> Scored:
    """Answer one prediction request; raises a ServingError for any client or model problem."""
    model_input, explained = _parse(model, data, content_type, config)
    broken = contract.enforce(model, model_input, config.contract)
    predictions, probabilities = predict(model, model_input)
    answer: dict[str, Any] = {"predictions": predictions}
    if probabilities is not None:
        answer["probabilities"] = probabilities
    if model.task == "classification":
        classes = model.classes or list(getattr(model.pipeline, "classes_", []))
        answer["classes"] = [plain(c) for c in classes]
    answer.update(
        model=model.name,
        version=model.version,
        request_id=request_id,
        warnings=[*model_input.warnings, *broken],
        ignored_columns=list(model_input.ignored_columns),
    )
    if explained:
        answer["explanations"] = explain.explain(model, model_input, predictions)
    return Scored(answer, model_input, predictions, probabilities)
