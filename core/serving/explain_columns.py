"""Where a pipeline's transformed columns come from, and the reference rows explanations
measure from (:mod:`core.serving.explain`).

A fitted ColumnTransformer's blocks are read as the engine builds them (numbers imputed and
scaled one to one, text one-hot encoded with infrequent categories grouped and a dropped one
left out), so each transformed column maps to exactly one input column; a transformer whose
outputs cannot be traced that way gives None, and the model is then explained by sampling over
its input columns instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.serving.model import LoadedModel


def _blocks(preprocess: Any, features: list[str]) -> list[tuple[Any, list[str], slice]]:
    blocks = []
    for name, transformer, columns in getattr(preprocess, "transformers_", []):
        block = preprocess.output_indices_.get(name, slice(0, 0))
        if transformer == "drop" or block.stop <= block.start:
            continue
        names = [columns] if isinstance(columns, str) else list(columns)
        names = [features[c] if isinstance(c, int | np.integer) else str(c) for c in names]
        blocks.append((transformer, names, block))
    return blocks


def _last_step(transformer: Any) -> Any:
    steps = getattr(transformer, "steps", None)
    return steps[-1][1] if steps else transformer


def one_hot_sizes(encoder: Any) -> list[int]:
    sizes = [len(c) for c in encoder.categories_]
    infrequent = getattr(encoder, "infrequent_categories_", None)
    drop = getattr(encoder, "drop_idx_", None)
    for i in range(len(sizes)):
        if infrequent is not None and infrequent[i] is not None:
            sizes[i] -= len(infrequent[i]) - 1
        if drop is not None and drop[i] is not None:
            sizes[i] -= 1
    return sizes


def _block_sources(transformer: Any, names: list[str]) -> list[str] | None:
    last = _last_step(transformer)
    if type(last).__name__ == "OneHotEncoder":
        sizes = one_hot_sizes(last)
        if len(sizes) != len(names):
            return None
        return [name for name, size in zip(names, sizes, strict=True) for _ in range(size)]
    return list(names)


def sources(preprocess: Any, features: list[str]) -> np.ndarray | None:
    """The input column (index in ``features``) of every transformed column, or None when
    the transformer's outputs cannot be traced back one to one."""
    try:
        width = len(preprocess.get_feature_names_out())
        out: list[int] = [-1] * width
        for transformer, names, block in _blocks(preprocess, features):
            names_out = _block_sources(transformer, names)
            if names_out is None or len(names_out) != block.stop - block.start:
                return None
            out[block] = [features.index(n) for n in names_out]
    except (AttributeError, ValueError, TypeError, IndexError):
        return None
    return None if -1 in out else np.asarray(out)


def linear_reference(preprocess: Any, width: int) -> np.ndarray | None:
    """The training mean of each transformed column where the pipeline records it."""
    reference = np.zeros(width)
    for transformer, _names, block in _blocks(preprocess, []):
        last = _last_step(transformer)
        kind = type(last).__name__
        if kind == "StandardScaler" and getattr(last, "with_mean", False):
            continue  # centred on the training rows: mean 0
        if kind == "SimpleImputer":
            reference[block] = np.asarray(last.statistics_, dtype=np.float64)
        elif kind == "OneHotEncoder":
            shares = [np.full(s, 1.0 / s) for s in one_hot_sizes(last) if s]
            reference[block] = np.concatenate(shares) if shares else []
        else:
            return None
    return reference


def _numeric_reference(preprocess: Any, features: list[str]) -> dict[str, float]:
    """Training means (scaler) or imputed values (imputer) of numeric inputs, by column."""
    values: dict[str, float] = {}
    for transformer, names, _block in _blocks(preprocess, features) if preprocess else []:
        steps = [s for _, s in getattr(transformer, "steps", [("", transformer)])]
        for step in steps:
            stats = getattr(step, "mean_", None)
            if stats is None and type(step).__name__ == "SimpleImputer":
                stats = getattr(step, "statistics_", None)
            if stats is not None and len(stats) == len(names):
                for name, value in zip(names, stats, strict=True):
                    if isinstance(value, int | float | np.number):
                        values[name] = float(value)
    return values


def reference_row(model: LoadedModel, preprocess: Any) -> pd.DataFrame:
    """One input row to measure from: numbers at their training mean (or imputed value, or
    the middle of the training range), text missing (what training's imputer fills in)."""
    known = _numeric_reference(preprocess, model.features)
    row: dict[str, list[Any]] = {}
    for column in model.inputs:
        if column.type == "string":
            row[column.name] = [None]
        elif column.name in known:
            row[column.name] = [known[column.name]]
        elif column.minimum is not None and column.maximum is not None:
            row[column.name] = [(column.minimum + column.maximum) / 2]
        else:
            row[column.name] = [0.0]
    return pd.DataFrame(row)[model.features]
