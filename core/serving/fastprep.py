"""A pipeline's preprocessing without scikit-learn's per-call overhead, checked bit for bit.

Every Shipway pipeline starts with a ColumnTransformer whose numeric part is a SimpleImputer
and, by default, a StandardScaler. Their arithmetic on a request of a hundred rows takes a few
microseconds; scikit-learn's transform around it (input validation, tags, feature-name checks,
a joblib dispatch per part, output wrapping) took about 2.5 ms, as long as the trees of a
100-tree forest on one row. A :class:`Plan` does the same operations on the same float64
values in the same order (fill the missing cells with the imputer's statistics, subtract the
scaler's ``mean_``, divide by its ``scale_``, stack the parts in the transformer's order), so
its output is the one scikit-learn gives, bit for bit. The other parts (the categorical one's
imputer and one-hot encoder) are called as the ColumnTransformer calls them, on the same
columns.

Only what is recognised exactly takes this path: a fitted ColumnTransformer (not a subclass)
with dense output and scikit-learn's default output container, whose parts are either plain
numeric pipelines as above or transformers used as they are. Anything else, and any frame
whose numeric columns are not float64, goes through scikit-learn itself. And a plan proves
itself before it is used: the first rows of the first frame it meets, and those rows with every
numeric cell missing, are transformed both ways and must agree byte for byte; if they do not,
the pipeline keeps scikit-learn's transform for good.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class _Numeric:
    """Impute, then optionally centre and scale, float64 columns."""

    columns: tuple[str, ...]
    fill: np.ndarray
    mean: np.ndarray | None
    scale: np.ndarray | None

    def apply(self, frame: pd.DataFrame, look: _Look) -> np.ndarray:
        values = look.floats(frame, self.columns)
        values = np.where(np.isnan(values), self.fill, values)
        if self.mean is not None:
            values -= self.mean
        if self.scale is not None:
            values /= self.scale
        return values


@dataclass(frozen=True)
class _Delegated:
    """A part used as the ColumnTransformer uses it: its own transform on its columns."""

    columns: Any
    transformer: Any

    def apply(self, frame: pd.DataFrame, look: _Look) -> Any:
        return self.transformer.transform(frame[self.columns])


class _Look:
    """One frame's column names and types, read once (pandas' own selection of 20 columns by
    name took 0.2-0.3 ms; the whole float block, when the frame is only that, 2 µs)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.names = frame.columns.tolist()
        self.dtypes = frame.dtypes.tolist()
        self.all_floats = all(dtype == np.float64 for dtype in self.dtypes)

    def are_floats(self, columns: tuple[str, ...]) -> bool:
        where = dict(zip(self.names, self.dtypes, strict=True))
        return all(where.get(name) == np.float64 for name in columns)

    def floats(self, frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
        if not self.all_floats:
            return frame[list(columns)].to_numpy(dtype=np.float64)
        whole = frame.to_numpy()
        if list(columns) == self.names:
            return whole
        return whole[:, [self.names.index(name) for name in columns]]


@dataclass(frozen=True)
class Plan:
    """The parts of one fitted ColumnTransformer, in its output order."""

    parts: tuple[_Numeric | _Delegated, ...]

    def numeric_columns(self) -> list[str]:
        return [c for part in self.parts if isinstance(part, _Numeric) for c in part.columns]

    def transform(self, frame: pd.DataFrame) -> np.ndarray | None:
        """The output, or None when ``frame`` is not what the plan was made for (its numeric
        columns not all float64, or scikit-learn set to give another container)."""
        look = _Look(frame)
        if not look.are_floats(tuple(self.numeric_columns())):
            return None
        if sklearn.get_config()["transform_output"] != "default":
            return None
        outputs = [part.apply(frame, look) for part in self.parts]
        if any(not isinstance(out, np.ndarray) for out in outputs):
            raise TypeError("a part did not give a dense array")
        return np.hstack(outputs)


def _numeric_part(transformer: Any, columns: Any) -> _Numeric | None:
    """A :class:`_Numeric` for ``Pipeline([SimpleImputer, StandardScaler?])``, else None."""
    if type(transformer) is not Pipeline or not isinstance(columns, list):
        return None
    steps = [step for _, step in transformer.steps]
    imputer, rest = steps[0], steps[1:]
    if type(imputer) is not SimpleImputer or imputer.add_indicator:
        return None
    if not (isinstance(imputer.missing_values, float) and math.isnan(imputer.missing_values)):
        return None
    fill = getattr(imputer, "statistics_", None)
    if not isinstance(fill, np.ndarray) or fill.dtype != np.float64 or np.isnan(fill).any():
        return None  # a column without statistics is dropped or filled: leave that to sklearn
    mean = scale = None
    if rest:
        scaler = rest[0]
        if len(rest) > 1 or type(scaler) is not StandardScaler:
            return None
        mean = np.asarray(scaler.mean_, dtype=np.float64) if scaler.with_mean else None
        scale = np.asarray(scaler.scale_, dtype=np.float64) if scaler.with_std else None
    if len(fill) != len(columns):
        return None
    return _Numeric(tuple(columns), fill, mean, scale)


def compile_plan(preprocess: Any) -> Plan | None:
    """The plan of a fitted preprocessing step (a ColumnTransformer, or a Pipeline of one)."""
    preprocess = _inner(preprocess)
    if preprocess is None or not hasattr(preprocess, "transformers_"):
        return None
    if getattr(preprocess, "sparse_output_", True):
        return None
    if getattr(preprocess, "_sklearn_output_config", {}).get("transform", "default") != "default":
        return None
    parts: list[_Numeric | _Delegated] = []
    for _, transformer, columns in preprocess.transformers_:
        if isinstance(transformer, str):
            if transformer == "drop":
                continue
            return None  # "passthrough": its output is the input's, left to scikit-learn
        if _empty(columns):
            continue
        parts.append(_numeric_part(transformer, columns) or _Delegated(columns, transformer))
    return Plan(tuple(parts)) if parts else None


def _empty(columns: Any) -> bool:
    try:
        return len(columns) == 0
    except TypeError:
        return False


#: The proof looks at this many rows of the first frame (the operations are row by row, and a
#: batch job's first chunk has 50,000).
PROOF_ROWS = 256


def _proves_itself(plan: Plan, sklearn_transform: Any, frame: pd.DataFrame) -> bool:
    """Whether the plan gives scikit-learn's bytes on ``frame`` and on it with no numbers."""
    frame = frame.iloc[:PROOF_ROWS]
    holes = frame.copy()
    holes[plan.numeric_columns()] = np.nan
    for probe in (frame, holes):
        try:
            own, theirs = plan.transform(probe), np.asarray(sklearn_transform(probe))
        except Exception:
            return False
        if own is None or own.dtype != theirs.dtype or own.shape != theirs.shape:
            return False
        if own.tobytes() != np.ascontiguousarray(theirs).tobytes():
            return False
    return True


_PLANS: weakref.WeakKeyDictionary[Any, Plan | None] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_UNSEEN = object()


def transform(preprocess: Any, frame: pd.DataFrame) -> Any:
    """``preprocess.transform(frame)``, through its plan once the plan has proved itself.

    Plans are kept per fitted ColumnTransformer (``pipeline[:-1]`` is a new Pipeline at every
    call, the transformer inside it is the model's own), for as long as the model lives.
    """
    inner = _inner(preprocess)
    plan = _PLANS.get(inner, _UNSEEN) if inner is not None else None
    if plan is _UNSEEN:
        plan = _first_use(inner, frame)
    out = plan.transform(frame) if plan is not None else None
    return out if out is not None else preprocess.transform(frame)


def _inner(preprocess: Any) -> Any:
    """The ColumnTransformer a preprocessing step is, or is the only step of; else None."""
    if type(preprocess) is Pipeline and len(preprocess.steps) == 1:
        preprocess = preprocess.steps[0][1]
    return preprocess if type(preprocess) is ColumnTransformer else None


def _first_use(transformer: ColumnTransformer, frame: pd.DataFrame) -> Plan | None:
    with _LOCK:
        known = _PLANS.get(transformer, _UNSEEN)
        if known is not _UNSEEN:
            return known
        plan = compile_plan(transformer)
        if plan is not None and not _proves_itself(plan, transformer.transform, frame):
            plan = None
        _PLANS[transformer] = plan
        return plan
