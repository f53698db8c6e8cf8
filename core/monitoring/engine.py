"""Comparing current data with a version's reference statistics, feature by feature.

The test is chosen per column as Evidently 0.7 chooses it (``_get_default_stattest``), from the
number of non-missing reference values ``n`` and of distinct values in reference and current
together ``k``:

=====================  ==============================  =====================================
                       n <= small_sample_rows (1000)   n > small_sample_rows
=====================  ==============================  =====================================
numeric, k > 5         ``ks`` (p < p_value)            ``wasserstein`` normed (>= distance)
numeric, k <= 5        ``chisquare`` (k > 2) / ``z``   ``jensenshannon`` (>= distance)
categorical            ``chisquare`` (k > 2) / ``z``   ``jensenshannon`` (>= distance)
=====================  ==============================  =====================================

``chisquare`` is the two-sample test of homogeneity, not Evidently's goodness of fit against the
reference shares (a deliberate difference: :func:`core.monitoring.stats.chi_square`). PSI is
computed for every column beside the test (``psi_warning``, ``psi_drift``). Missing
values (and infinities) are left out of the tests, as Evidently drops them; the change of the
missing share and the categories the reference never had are reported separately. The dataset
drifts when at least ``drift_share`` of the tested features drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.monitoring.columns import categorical_drift, numeric_drift
from core.monitoring.config import DriftConfig
from core.monitoring.reference import ColumnReference, NumericReference, Reference
from core.monitoring.results import DriftReport, FeatureDrift, LiveMetrics
from core.progress import CancelToken


@dataclass(frozen=True)
class Current:
    """Current data: feature columns (coerced as serving does), prediction and actual values."""

    frame: pd.DataFrame
    source: str
    prediction: Any = None
    actual: Any = None
    problems: tuple[str, ...] = ()

    @property
    def rows(self) -> int:
        return len(self.frame)


def compare(
    reference: Reference,
    current: Current,
    config: DriftConfig,
    *,
    model: str = "",
    version: int = 0,
    live: LiveMetrics | None = None,
    cancel: CancelToken | None = None,
) -> DriftReport:
    """The drift of ``current`` against ``reference``, every feature, prediction and target."""
    results, problems = [], list(current.problems)
    for ref in reference.features:
        if cancel is not None:
            cancel.raise_if_cancelled()
        if ref.name in current.frame.columns:
            results.append(column_drift(ref, current.frame[ref.name], config))
        else:
            results.append(_absent(ref, current.rows))
            problems.append(f"{ref.name}: not in the current data")
    tested = [result for result in results if result.status == "tested"]
    drifted = sum(result.drifted for result in tested)
    share = drifted / len(tested) if tested else 0.0
    return DriftReport(
        model=model,
        version=version,
        source=current.source,
        reference_rows=reference.rows,
        current_rows=current.rows,
        dataset_drift=bool(tested) and share >= config.drift_share,
        drift_share=share,
        drifted_features=drifted,
        tested_features=len(tested),
        features=tuple(results),
        prediction=_optional(reference.prediction, current.prediction, config, "prediction"),
        target=_optional(reference.target, current.actual, config, "target"),
        live=live,
        problems=tuple(problems),
        thresholds=config.thresholds(),
    )


def column_drift(
    ref: ColumnReference, values: Any, config: DriftConfig, role: str = "feature"
) -> FeatureDrift:
    """The drift of one column of current values against its reference."""
    if isinstance(ref, NumericReference):
        return numeric_drift(ref, _floats(values), config, role)
    return categorical_drift(ref, values, config, role)


def _optional(
    ref: ColumnReference | None, values: Any, config: DriftConfig, role: str
) -> FeatureDrift | None:
    if ref is None or values is None:
        return None
    return column_drift(ref, values, config, role)


def _floats(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series) and values.dtype == np.float64:
        return values.to_numpy()
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def _absent(ref: ColumnReference, rows: int) -> FeatureDrift:
    return FeatureDrift(
        name=ref.name,
        kind=ref.kind,
        status="missing_column",
        reference_rows=ref.rows,
        current_rows=rows,
        reference_values=ref.count,
        missing_share_reference=ref.missing / ref.rows if ref.rows else 0.0,
        note="the current data has no such column; not tested",
    )
