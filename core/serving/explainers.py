"""The three ways a fitted pipeline's prediction is split into per-column contributions.

Every method returns, for each row and each of the model's outputs, contributions of the
*transformed* columns (or directly of the input columns, for sampling) and a base value whose
sum is the output exactly:

- :func:`linear`: linear models (``coef_``): coefficient × (transformed value − its reference).
  The reference is the training mean where the pipeline records it: 0 after a StandardScaler
  (which centred the training rows), the imputer's statistic for unscaled numbers, and for a
  one-hot block an equal share of every category (the encoder keeps no counts), so a
  category's contribution is its coefficient against the mean of its column's coefficients.
  The output is the decision function (log-odds for logistic regression) or the prediction.
- :func:`trees`: scikit-learn trees and ensembles through exact path-dependent TreeSHAP
  (:mod:`core.serving.treeshap`); the base is the cover-weighted mean of the trees' leaves.
  Forests explain class probabilities (what they average), boosted models their raw score
  (log-odds for classifiers), regressors their prediction.
- :func:`sampling`: any other model, by Shapley sampling over the input columns against one
  reference row, with a fixed seed and a bounded number of model evaluations. The estimate is
  random but its sum is exact: each permutation's steps telescope from the reference's output
  to the row's, so contributions plus base (the reference's output) equal the output.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.serving import treeshap

SINGLE_TREES = ("DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
                "ExtraTreeRegressor")  # fmt: skip
FORESTS = ("RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
           "ExtraTreesRegressor")  # fmt: skip
BOOSTED = ("GradientBoostingClassifier", "GradientBoostingRegressor")
HIST_BOOSTED = ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor")
SAMPLING_SEED = 0


@dataclass(frozen=True)
class Attribution:
    """Contributions ``(rows, columns, outputs)``, base ``(outputs,)`` or ``(rows, outputs)``,
    and what the outputs are (``probability``, ``decision_function``, ``prediction``)."""

    contributions: np.ndarray
    base: np.ndarray
    output: str
    method: str


# --------------------------------------------------------------------------- linear


def is_linear(final: Any) -> bool:
    module = type(final).__module__
    return module.startswith("sklearn.linear_model") and hasattr(final, "coef_")


def linear(final: Any, X: np.ndarray, reference: np.ndarray, classifier: bool) -> Attribution:
    """Coefficient × (value − reference) per transformed column, every output."""
    coef = np.atleast_2d(np.asarray(final.coef_, dtype=np.float64))  # (outputs, columns)
    intercept = np.atleast_1d(np.asarray(final.intercept_, dtype=np.float64))
    contributions = (X - reference)[:, :, None] * coef.T[None, :, :]
    base = intercept + coef @ reference
    output = "decision_function" if classifier else "prediction"
    return Attribution(contributions, base, output, "linear")


# --------------------------------------------------------------------------- trees


def is_tree_model(final: Any) -> bool:
    name = type(final).__name__
    if name in HIST_BOOSTED:
        return _hist_supported(final)
    return name in SINGLE_TREES + FORESTS + BOOSTED


def _hist_supported(final: Any) -> bool:
    if getattr(final, "_preprocessor", None) is not None:
        return False
    predictors = getattr(final, "_predictors", None) or []
    return all(not p.nodes["is_categorical"].any() for it in predictors for p in it)


def _sklearn_tree(estimator: Any, normalise: bool) -> treeshap.Tree:
    tree = estimator.tree_
    value = np.asarray(tree.value[:, 0, :], dtype=np.float64)
    if normalise:
        totals = value.sum(axis=1, keepdims=True)
        value = value / np.where(totals > 0, totals, 1.0)
    missing = getattr(tree, "missing_go_to_left", None)
    return treeshap.Tree(
        left=tree.children_left,
        right=tree.children_right,
        feature=tree.feature,
        threshold=tree.threshold,
        missing_left=(np.zeros(tree.node_count, bool) if missing is None else missing.astype(bool)),
        cover=np.asarray(tree.weighted_n_node_samples, dtype=np.float64),
        value=value,
    )


def _hist_tree(predictor: Any) -> treeshap.Tree:
    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    return treeshap.Tree(
        left=np.where(leaf, -1, nodes["left"].astype(np.int64)),
        right=np.where(leaf, -1, nodes["right"].astype(np.int64)),
        feature=nodes["feature_idx"].astype(np.int64),
        threshold=nodes["num_threshold"].astype(np.float64),
        missing_left=nodes["missing_go_to_left"].astype(bool),
        cover=nodes["count"].astype(np.float64),
        value=nodes["value"].astype(np.float64)[:, None],
    )


@dataclass(frozen=True)
class TreeModel:
    """A tree model ready to explain: its compiled paths, the constant its trees' sum is
    added to, and what its output is."""

    paths: treeshap.Paths
    init: np.ndarray
    output: str
    float32: bool  # scikit-learn's own trees compare float32 values


def _trees_and_scales(final: Any) -> tuple[list[treeshap.Tree], list[float], np.ndarray, str]:
    """Every tree with its outputs in place, their scales, the constant and the output kind."""
    name = type(final).__name__
    classifier = name.endswith("Classifier")
    if name in SINGLE_TREES + FORESTS:
        estimators = [final] if name in SINGLE_TREES else list(final.estimators_)
        trees = [_sklearn_tree(e, normalise=classifier) for e in estimators]
        kind = "probability" if classifier else "prediction"
        return trees, [1.0 / len(trees)] * len(trees), np.zeros(trees[0].value.shape[1]), kind
    kind = "decision_function" if classifier else "prediction"
    if name in BOOSTED:
        stages = np.asarray(final.estimators_)
        grid = [[_sklearn_tree(e, False) for e in stage] for stage in stages]
        init = np.asarray(final._raw_predict_init(np.zeros((1, final.n_features_in_))))[0]
        scale = float(final.learning_rate)
    else:
        grid = [[_hist_tree(p) for p in stage] for stage in final._predictors]
        init = np.asarray(final._baseline_prediction, dtype=np.float64).ravel()
        scale = 1.0
        if name.endswith("Regressor") and getattr(final, "loss", "") in ("poisson", "gamma"):
            kind = "log_prediction"
    outputs = len(grid[0])
    trees = [_in_column(tree, k, outputs) for stage in grid for k, tree in enumerate(stage)]
    return trees, [scale] * len(trees), np.asarray(init, dtype=np.float64), kind


def _in_column(tree: treeshap.Tree, k: int, outputs: int) -> treeshap.Tree:
    """A one-output tree of a model with ``outputs`` outputs, its values in column ``k``."""
    if outputs == 1:
        return tree
    value = np.zeros((len(tree.value), outputs))
    value[:, k] = tree.value[:, 0]
    return replace(tree, value=value)


def tree_model(final: Any, n_features: int, max_cost: int) -> TreeModel | None:
    """The model's compiled paths, or None when they would cost more than ``max_cost``."""
    trees, scales, init, kind = _trees_and_scales(final)
    paths = treeshap.compile_paths(trees, scales, n_features)
    if paths.cost > max_cost:
        return None
    return TreeModel(paths, init, kind, type(final).__name__ not in HIST_BOOSTED)


def trees(model: TreeModel, X: np.ndarray) -> Attribution:
    """Exact path-dependent TreeSHAP of every output of a tree model."""
    if model.float32:
        X = np.asarray(X, dtype=np.float32)
    contributions = treeshap.shap_values(model.paths, np.asarray(X, dtype=np.float64))
    base = model.init + model.paths.expected
    return Attribution(contributions, base, model.output, "tree_path")


# --------------------------------------------------------------------------- sampling


def sampling(
    output: Any, frame: pd.DataFrame, reference: pd.DataFrame, permutations: int
) -> Attribution:
    """Shapley sampling over the input columns: ``permutations`` orders (antithetic pairs).

    ``output(frame)`` gives the explained outputs ``(rows, outputs)``. For each row, every
    order of the columns switches them one by one from the reference row's value to the row's;
    a column's contribution is the mean change of the output when it is switched.
    """
    columns = list(frame.columns)
    m = len(columns)
    orders = _orders(m, permutations)
    # steps[p, s] = the columns switched to the row after s steps of order p
    taken = np.zeros((len(orders), m + 1, m), dtype=bool)
    for p, order in enumerate(orders):
        for step, column in enumerate(order):
            taken[p, step + 1 :, column] = True
    masks = taken.reshape(-1, m)
    values = []
    for i in range(len(frame)):
        row = frame.iloc[[i] * len(masks)].reset_index(drop=True)
        base = reference.iloc[[0] * len(masks)].reset_index(drop=True)
        mixed = row.where(pd.DataFrame(masks, columns=columns), base)
        values.append(np.asarray(output(mixed), dtype=np.float64))
    return _sampled(values, orders, len(frame), m)


def _orders(m: int, permutations: int) -> list[np.ndarray]:
    rng = np.random.default_rng(SAMPLING_SEED)
    orders: list[np.ndarray] = []
    while len(orders) < max(2, permutations):
        order = rng.permutation(m)
        orders.extend([order, order[::-1]])
    return orders


def _sampled(values: list[np.ndarray], orders: list[np.ndarray], rows: int, m: int) -> Attribution:
    outputs = values[0].shape[1]
    contributions = np.zeros((rows, m, outputs))
    base = np.zeros((rows, outputs))
    for i, out in enumerate(values):
        steps = out.reshape(len(orders), m + 1, outputs)
        gains = np.diff(steps, axis=1)  # (orders, m, outputs): the change at each step
        for p, order in enumerate(orders):
            contributions[i, order, :] += gains[p]
        contributions[i] /= len(orders)
        base[i] = steps[:, 0, :].mean(axis=0)
    return Attribution(contributions, base, "", "sampling")
