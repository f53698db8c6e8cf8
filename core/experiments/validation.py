"""Checks of a run spec against the data, before any work is recorded as a finished run.

:func:`check_spec` uses only the version's schema and profile (cheap, in the calling process);
:func:`check_training_data` looks at the rows (in the worker, after loading them). Both raise
:class:`~core.errors.InvalidInput` with what is wrong, where, and what to do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.entities import DatasetVersion
from core.errors import InvalidInput
from core.experiments.spec import SPLITS, TASKS, RunSpec

if TYPE_CHECKING:  # the row checks run in the worker; the caller's checks need no pandas
    import pandas as pd

MAX_CLASSES_FOR_INTEGER_TARGET = 20


def infer_task(target_type: str, stats: Mapping[str, Any]) -> str:
    """Classification for text, booleans and integers with few values; regression otherwise."""
    if target_type in ("string", "boolean"):
        return "classification"
    if target_type == "integer" and stats.get("distinct", 0) <= MAX_CLASSES_FOR_INTEGER_TARGET:
        return "classification"
    return "regression"


def default_features(version: DatasetVersion, target: str) -> tuple[str, ...]:
    """Every column but the target, columns with no values and identifier columns.

    Identifiers (row numbers, UUIDs, codes, a date used as a key: the import report's
    ``identifiers``) name rows rather than describe them; a user may still choose them.
    """
    identifiers = version.report.get("identifiers", {})
    return tuple(
        name
        for name in version.schema
        if name != target
        and name not in identifiers
        and version.profile.get(name, {}).get("count", 1) > 0
    )


def left_out_notes(version: DatasetVersion, spec: RunSpec) -> list[str]:
    """The run's notes on identifier columns the default features left out, and why.

    Empty when the features were chosen otherwise (they are not the defaults).
    """
    if tuple(spec.features) != default_features(version, spec.target):
        return []
    identifiers = version.report.get("identifiers", {})
    return [
        f"column {name!r} was left out of the features: {reason}, so it identifies rows "
        "rather than describing them (choose it in the features to use it)"
        for name, reason in identifiers.items()
        if name != spec.target and name in version.schema
    ]


def check_spec(spec: RunSpec, version: DatasetVersion) -> None:
    where = version.ref
    columns = version.schema
    if spec.target not in columns:
        raise InvalidInput(
            f"no column named {spec.target!r} to predict",
            where=where,
            hint=f"choose --target among: {', '.join(list(columns)[:30])}",
        )
    missing = [name for name in spec.features if name not in columns]
    if missing:
        raise InvalidInput(
            f"feature columns not in the data: {', '.join(map(repr, missing))}",
            where=where,
            hint="check the spelling in --features; `shipway data show` lists the columns",
        )
    if spec.target in spec.features:
        raise InvalidInput(
            f"the target {spec.target!r} is also listed as a feature",
            where=where,
            hint="remove it from --features: a model may not see the answer",
        )
    if not spec.features:
        raise InvalidInput("no feature columns to learn from", where=where, hint="set --features")
    _check_options(spec, where)
    _check_target(spec, version)
    for name in spec.features:
        if version.profile.get(name, {}).get("count", 1) == 0:
            raise InvalidInput(
                f"feature {name!r} has no values at all",
                where=f"{where} column {name!r}",
                hint="leave it out of --features",
            )
    _check_infinite_profile(spec, version)
    if spec.task == "classification":
        _check_class_sizes_profile(spec, version)


def _check_infinite_profile(spec: RunSpec, version: DatasetVersion) -> None:
    counts = {
        name: version.profile.get(name, {}).get("infinite", 0)
        for name in spec.features
        if version.profile.get(name, {}).get("infinite", 0)
    }
    _refuse_infinite(spec, counts, version.ref)


def _refuse_infinite(spec: RunSpec, counts: dict[str, int], where: str) -> None:
    """Refuse columns with infinite values (``counts``, per column) unless the spec treats
    them as missing."""
    if counts and spec.preprocessing.infinite != "missing":
        listed = ", ".join(f"{name!r} ({count})" for name, count in counts.items())
        raise InvalidInput(
            f"infinite values in {listed}",
            where=where,
            hint="pass --inf-as-missing to treat them as missing values, or fix the data",
        )


def _check_class_sizes_profile(spec: RunSpec, version: DatasetVersion) -> None:
    stats = version.profile.get(spec.target, {})
    top = stats.get("top")
    if not top or stats.get("distinct", 0) > len(top):
        return  # counts of every class are not in the profile: the worker checks the rows
    counts = {str(item["value"]): int(item["count"]) for item in top}
    _require_class_sizes(spec, counts)


def _require_class_sizes(spec: RunSpec, counts: Mapping[str, int]) -> None:
    smallest_class = min(counts, key=lambda name: counts[name])
    smallest = counts[smallest_class]
    train_share = 1 - spec.split.test_size
    needed = 2 + (math.ceil(spec.cv_folds / train_share) if spec.cv_folds else 0)
    if spec.split.stratify and smallest < needed:
        folds = f" and {spec.cv_folds} cross-validation folds" if spec.cv_folds else ""
        raise InvalidInput(
            f"class {smallest_class!r} of {spec.target!r} has {smallest} rows, too few for a "
            f"stratified split{folds} (needs at least {needed})",
            where=spec.dataset_ref,
            hint="use fewer --cv folds, remove that class, or import more rows of it",
        )


def _check_options(spec: RunSpec, where: str) -> None:
    if spec.task not in TASKS:
        raise InvalidInput(f"unknown task {spec.task!r}", hint="use classification or regression")
    if spec.split.kind not in SPLITS:
        raise InvalidInput(f"unknown split {spec.split.kind!r}", hint=f"use one of {SPLITS}")
    if not 0.05 <= spec.split.test_size <= 0.5:
        raise InvalidInput(
            f"test size {spec.split.test_size} is outside 0.05–0.5", hint="e.g. --test-size 0.2"
        )
    if spec.cv_folds == 1 or spec.cv_folds < 0 or spec.cv_folds > 20:
        raise InvalidInput(f"--cv {spec.cv_folds} is not usable", hint="use 0 (none) or 2–20")


def _check_target(spec: RunSpec, version: DatasetVersion) -> None:
    kind = version.schema[spec.target]
    stats = version.profile.get(spec.target, {})
    where = f"{version.ref} column {spec.target!r}"
    if stats.get("count", 1) == 0:
        raise InvalidInput(
            f"the target {spec.target!r} has no values, so no rows are left to learn from",
            where=where,
            hint="choose another target, or import data that fills it",
        )
    if spec.task == "regression" and kind not in ("integer", "float"):
        raise InvalidInput(
            f"the target {spec.target!r} is {kind}, and regression needs numbers",
            where=where,
            hint="use --task classification, or choose a numeric target",
        )
    if spec.task == "classification" and kind == "float":
        raise InvalidInput(
            f"the target {spec.target!r} holds decimal numbers, and classification needs classes",
            where=where,
            hint="use --task regression, or choose a target with classes",
        )
    if spec.task == "classification" and stats.get("distinct", 2) < 2:
        raise InvalidInput(
            f"the target {spec.target!r} has a single class, so there is nothing to tell apart",
            where=where,
            hint="import data holding at least two classes, or choose another target",
        )


def check_training_data(spec: RunSpec, X: pd.DataFrame, y: pd.Series) -> None:
    """Checks that need the rows (run inside the worker)."""
    if len(y) == 0:
        raise InvalidInput(
            f"no rows are left after dropping those with a missing {spec.target!r}",
            where=spec.dataset_ref,
            hint="fill the target, or choose another one",
        )
    _check_infinite(spec, X)
    if spec.task == "classification":
        _check_classes(spec, y)


def _check_infinite(spec: RunSpec, X: pd.DataFrame) -> None:
    import numpy as np

    numeric = X.select_dtypes(include="number")
    infinite = {
        name: int(np.isinf(values).sum())
        for name, values in numeric.items()
        if np.isinf(values).any()
    }
    _refuse_infinite(spec, infinite, spec.dataset_ref)


def _check_classes(spec: RunSpec, y: pd.Series) -> None:
    counts = y.value_counts()
    if len(counts) < 2:
        raise InvalidInput(
            f"the target {spec.target!r} has a single class after dropping missing values",
            where=spec.dataset_ref,
            hint="import data holding at least two classes",
        )
    _require_class_sizes(spec, {str(k): int(v) for k, v in counts.items()})
