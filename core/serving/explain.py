"""Explanations of predictions: ``"explain": true`` in a ``POST /predict`` JSON body.

The answer then holds ``explanations``: the method, the explained output and per row the
class it speaks of (classifiers), the base value, the output's value and one contribution per
input column, with ``base + sum(contributions) == value`` (to rounding). Contributions of the
transformed columns are summed back to the input column they come from (a text column's
one-hot columns to that column). How each model family is explained, and what its base is,
is in :mod:`core.serving.explainers`; docs/serving.md has the table.

An explanation costs more than a prediction, so a request is bounded (:func:`max_rows`): at
most :data:`MAX_ROWS` rows, fewer where a row costs more. TreeSHAP does about leaves × (path
width + 1)² array elements of work per row and at most :data:`TREE_MAX_WORK` per request; a
model whose trees cost more than :data:`TREE_MAX_COST` per row is sampled instead, and
sampling evaluates the model at most :data:`SAMPLING_MAX_EVALUATIONS` times per request. A
request past its bound, a flag that is not a boolean, or a model with no number to explain is
a 422 ``not_explainable`` naming why (CSV bodies cannot ask). Explaining never changes the
predictions, nor the prediction log (which keeps predictions and probabilities only). How a
model is explained is worked out on its first explained request and kept (:func:`plan_for`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.serving import explainers
from core.serving.encoding import plain
from core.serving.errors import ServingError
from core.serving.explain_columns import linear_reference, reference_row, sources
from core.serving.model import LoadedModel
from core.serving.validation import ModelInput

FLAG = "explain"
MAX_ROWS = 100
TREE_MAX_COST = 2_000_000
TREE_MAX_WORK = 20_000_000
SAMPLING_MAX_EVALUATIONS = 40_000
SAMPLING_PERMUTATIONS = 32
_PLANS: OrderedDict[tuple[str, str], Plan] = OrderedDict()
_PLANS_LOCK = threading.Lock()


class NotExplainable(ServingError, status=422, code="not_explainable"):
    """An explanation that cannot be given: the request or the model is past what it allows."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message, [{"field": FLAG, "problem": problem}])


def take_flag(payload: Any) -> tuple[Any, bool]:
    """The body without ``explain``, and whether it asked for explanations."""
    if not isinstance(payload, dict) or FLAG not in payload:
        return payload, False
    value = payload[FLAG]
    if not isinstance(value, bool):
        raise NotExplainable('"explain" must be true or false', "not_a_boolean")
    return {k: v for k, v in payload.items() if k != FLAG}, value


@dataclass(frozen=True)
class Plan:
    """How one loaded model is explained (worked out once per model)."""

    method: str  # "linear", "tree_path" or "sampling"
    sources: np.ndarray | None  # transformed column → input column index
    reference: np.ndarray | None  # linear: the transformed reference row
    reference_row: pd.DataFrame | None  # sampling: the input reference row
    trees: explainers.TreeModel | None = None  # tree_path: the compiled paths


def plan_for(model: LoadedModel) -> Plan:
    key = (model.directory, model.sha256)
    with _PLANS_LOCK:
        plan = _PLANS.get(key)
    if plan is None:
        plan = _make_plan(model)
        with _PLANS_LOCK:
            _PLANS[key] = plan
            while len(_PLANS) > 8:
                _PLANS.popitem(last=False)
    return plan


def _split(pipeline: Any) -> tuple[Any, Any]:
    steps = getattr(pipeline, "steps", None)
    if steps is not None and len(steps) > 1:
        return pipeline[:-1], pipeline[-1]
    return None, pipeline


def _make_plan(model: LoadedModel) -> Plan:
    prefix, final = _split(model.pipeline)
    preprocess = prefix[-1] if prefix is not None and len(prefix) == 1 else None
    columns = sources(preprocess, model.features) if preprocess is not None else None
    if prefix is None:
        columns = np.arange(len(model.features))
    if columns is not None and explainers.is_tree_model(final):
        trees = explainers.tree_model(final, len(columns), TREE_MAX_COST)
        if trees is not None:
            return Plan("tree_path", columns, None, None, trees)
    if columns is not None and explainers.is_linear(final) and preprocess is not None:
        reference = linear_reference(preprocess, len(columns))
        if reference is not None:
            return Plan("linear", columns, reference, None)
    return Plan("sampling", None, None, reference_row(model, preprocess))


# --------------------------------------------------------------------------- the answer


def explain(model: LoadedModel, model_input: ModelInput, predictions: list[Any]) -> dict[str, Any]:
    """The ``explanations`` of an answer: one entry per row, for the predicted class."""
    plan, rows = plan_for(model), model_input.rows
    limit = max_rows(model)
    if rows > limit:
        raise NotExplainable(
            f"explanations of this model ({plan.method}) are given for at most {limit} rows "
            f"per request ({rows} sent): split the request",
            "too_many_rows",
        )
    try:
        attribution = _attribute(model, plan, model_input.frame)
    except NotExplainable:
        raise
    except Exception as exc:  # the model's failure, said as such, never a 500 for a question
        raise NotExplainable(
            f"this model could not be explained ({type(exc).__name__}: {exc})"[:300],
            "model_failed",
        ) from exc
    return _answer(model, attribution, predictions)


def _attribute(model: LoadedModel, plan: Plan, frame: pd.DataFrame) -> explainers.Attribution:
    prefix, final = _split(model.pipeline)
    classifier = model.task == "classification"
    if plan.method == "sampling":
        return _sampled(model, plan, frame)
    X = np.asarray(prefix.transform(frame) if prefix is not None else frame, dtype=np.float64)
    if plan.method == "linear":
        attribution = explainers.linear(final, X, plan.reference, classifier)
    else:
        attribution = explainers.trees(plan.trees, X)
    assert plan.sources is not None
    spread = np.zeros((len(plan.sources), len(model.features)))
    spread[np.arange(len(plan.sources)), plan.sources] = 1.0
    grouped = np.einsum("rto,tc->rco", attribution.contributions, spread)
    return explainers.Attribution(grouped, attribution.base, attribution.output, plan.method)


def _sampled(model: LoadedModel, plan: Plan, frame: pd.DataFrame) -> explainers.Attribution:
    pipeline, permutations = model.pipeline, SAMPLING_PERMUTATIONS
    if model.task == "regression":
        output, kind = (lambda f: np.asarray(pipeline.predict(f))[:, None]), "prediction"
    elif hasattr(pipeline, "predict_proba"):
        output, kind = pipeline.predict_proba, "probability"
    elif hasattr(pipeline, "decision_function"):
        output, kind = pipeline.decision_function, "decision_function"
    else:
        raise NotExplainable(
            "this classifier gives neither probabilities nor a decision function, so there is "
            "no number to explain",
            "unsupported_model",
        )
    assert plan.reference_row is not None
    reference = plan.reference_row.astype(frame.dtypes.to_dict(), errors="ignore")
    attribution = explainers.sampling(
        lambda f: np.atleast_2d(np.asarray(output(f)).T).T, frame, reference, permutations
    )
    return explainers.Attribution(attribution.contributions, attribution.base, kind, "sampling")


def _output_index(model: LoadedModel, outputs: int, predicted: Any) -> tuple[int, float, Any]:
    """Which output explains a row, its sign (a binary score speaks for the second class)
    and the class it speaks of."""
    if model.task != "classification":
        return 0, 1.0, None
    classes = [plain(c) for c in getattr(model.pipeline, "classes_", model.classes or [])]
    k = classes.index(predicted) if predicted in classes else 0
    if outputs == 1 and len(classes) == 2:
        return 0, (1.0 if k == 1 else -1.0), predicted
    return k, 1.0, predicted


def _answer(
    model: LoadedModel, attribution: explainers.Attribution, predictions: list[Any]
) -> dict[str, Any]:
    contributions, base = attribution.contributions, attribution.base
    rows = []
    for i, predicted in enumerate(predictions):
        k, sign, label = _output_index(model, contributions.shape[2], predicted)
        row_base = sign * float(base[i, k] if base.ndim == 2 else base[k])
        values = sign * contributions[i, :, k]
        entry: dict[str, Any] = {
            "base": plain(row_base),
            "value": plain(row_base + float(values.sum())),
            "contributions": {
                c: plain(float(v)) for c, v in zip(model.features, values, strict=True)
            },
        }
        if label is not None:
            entry = {"class": label, **entry}
        rows.append(entry)
    return {"method": attribution.method, "output": attribution.output, "rows": rows}


# --------------------------------------------------------------------------- the document


def max_rows(model: LoadedModel) -> int:
    """The most rows one explained request of ``model`` may hold: :data:`MAX_ROWS`, or fewer
    where each row costs more (big tree paths, sampling over many columns)."""
    plan = plan_for(model)
    if plan.method == "tree_path" and plan.trees is not None:
        most = TREE_MAX_WORK // max(1, plan.trees.paths.cost)
    elif plan.method == "sampling":
        most = SAMPLING_MAX_EVALUATIONS // (SAMPLING_PERMUTATIONS * (len(model.features) + 1))
    else:
        most = MAX_ROWS
    return max(1, min(MAX_ROWS, most))


def request_forms(forms: list[dict[str, Any]], model: LoadedModel) -> list[dict[str, Any]]:
    """The request forms of ``/predict`` once more, with ``explain`` and its row bound."""
    limit = max_rows(model)
    flag = {
        "type": "boolean",
        "description": f"true: add per-column contributions of each row (at most {limit} rows)",
    }
    explained = []
    for form in forms:
        properties = dict(form["properties"])
        for key, value in properties.items():
            if value.get("type") == "array":
                properties[key] = {**value, "maxItems": min(value.get("maxItems", limit), limit)}
        explained.append(
            {
                **form,
                "properties": {**properties, FLAG: flag},
                "required": [*form["required"], FLAG],
            }
        )
    return explained


_NUMBER = {"type": "number", "nullable": True}
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "with explain: the method, the explained output, and per row the class it "
    "speaks of, base + sum(contributions) = value",
    "properties": {
        "method": {"type": "string", "enum": ["linear", "tree_path", "sampling"]},
        "output": {"type": "string"},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "class": {},
                    "base": _NUMBER,
                    "value": _NUMBER,
                    "contributions": {"type": "object", "additionalProperties": _NUMBER},
                },
                "required": ["base", "value", "contributions"],
            },
        },
    },
    "required": ["method", "output", "rows"],
}
