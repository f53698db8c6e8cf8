"""A run spec: everything that determines a training run's result, as one frozen value.

Same spec + same data version + same environment → the same metrics (``shipway runs
reproduce`` checks it). Specs are stored as JSON with the run and rebuilt with
:meth:`RunSpec.from_dict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

TASKS = ("classification", "regression")
SPLITS = ("train_test", "train_val_test", "time")
DEFAULT_ESTIMATOR = "random_forest"


@dataclass(frozen=True)
class Preprocessing:
    """How the ColumnTransformer in front of the estimator treats the columns."""

    numeric_impute: str = "median"  # "median" | "mean" | "most_frequent"
    scale: bool = True
    one_hot: bool = True
    rare_min_frequency: float = 0.01  # categories rarer than this share are grouped as "rare"
    max_categories: int = 50
    infinite: str = "error"  # "error" | "missing"


@dataclass(frozen=True)
class Split:
    kind: str = "train_test"
    test_size: float = 0.2
    validation_size: float = 0.15  # only for train_val_test (70/15/15 by default)
    stratify: bool = True  # classification only
    time_column: str | None = None  # the "time" split: train on the past, test on the latest


@dataclass(frozen=True)
class RunSpec:
    dataset: str
    dataset_version: int
    target: str
    features: tuple[str, ...]
    task: str
    estimator: str
    params: dict[str, Any] = field(default_factory=dict)
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    split: Split = field(default_factory=Split)
    cv_folds: int = 0
    seed: int = 42
    backtest: int = 0  # walk-forward windows over time (the "time" split only)
    threshold: dict[str, float] | None = None  # binary classifiers: how to pick the threshold

    @property
    def dataset_ref(self) -> str:
        return f"{self.dataset}@{self.dataset_version}"

    def with_params(self, params: dict[str, Any]) -> RunSpec:
        return replace(self, params=dict(params))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls(
            dataset=data["dataset"],
            dataset_version=int(data["dataset_version"]),
            target=data["target"],
            features=tuple(data["features"]),
            task=data["task"],
            estimator=data["estimator"],
            params=dict(data.get("params", {})),
            preprocessing=Preprocessing(**data.get("preprocessing", {})),
            split=Split(**data.get("split", {})),
            cv_folds=int(data.get("cv_folds", 0)),
            seed=int(data.get("seed", 42)),
            backtest=int(data.get("backtest", 0)),
            threshold=dict(data["threshold"]) if data.get("threshold") else None,
        )


@dataclass(frozen=True)
class TrainRequest:
    """What a person asks for; :func:`build_spec` turns it into a validated RunSpec."""

    data: str
    target: str
    task: str | None = None
    estimator: str = DEFAULT_ESTIMATOR
    params: Sequence[str] | dict[str, Any] = field(default_factory=dict)
    features: Sequence[str] | None = None
    test_size: float = 0.2
    split: str = "train_test"
    cv_folds: int = 0
    seed: int = 42
    inf_as_missing: bool = False
    time_column: str | None = None
    backtest: int = 0
    #: ``{"min_precision": 0.9}``, ``{"min_recall": 0.8}``, ``{"cost_fp": 1, "cost_fn": 5}``, or
    #: the same as text (``"min_precision=0.9"``); None: shipway.toml's [evaluation] threshold
    threshold: str | dict[str, float] | None = None
