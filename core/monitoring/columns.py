"""The drift of one column: the test Evidently would choose, PSI, missing shares, unseen
categories and the histograms to plot (see :mod:`core.monitoring.engine` for the rules)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from core.monitoring import stats
from core.monitoring.config import DriftConfig
from core.monitoring.reference import (
    CategoricalReference,
    ColumnReference,
    NumericReference,
    bin_counts,
    category_counts,
)
from core.monitoring.results import FeatureDrift, Histogram, finite

TEST_NAMES = {
    "ks": "K-S p_value",
    "chisquare": "chi-square p_value",
    "z": "Z-test p_value",
    "wasserstein": "Wasserstein distance (normed)",
    "jensenshannon": "Jensen-Shannon distance",
}
LOW_CARDINALITY = 5  # Evidently: at most 5 distinct values -> tested by their counts
PLOT_BINS = 20
PLOT_CATEGORIES = 20
SHOWN_UNSEEN = 10
OTHER = "(other)"


def _base(ref: ColumnReference, role: str, rows: int, count: int, config: DriftConfig):
    ref_missing = ref.missing / ref.rows if ref.rows else 0.0
    cur_missing = (rows - count) / rows if rows else None
    changed = cur_missing is not None and (
        abs(cur_missing - ref_missing) >= config.missing_share_change
    )
    return FeatureDrift(
        name=ref.name,
        kind=ref.kind,
        role=role,
        reference_rows=ref.rows,
        current_rows=rows,
        reference_values=ref.count,
        current_values=count,
        missing_share_reference=ref_missing,
        missing_share_current=cur_missing,
        missing_share_changed=bool(changed),
    )


def _untestable(
    base: FeatureDrift, ref: ColumnReference, config: DriftConfig
) -> FeatureDrift | None:
    if ref.count == 0:
        return replace(
            base,
            status="no_reference_values",
            note="the training rows hold no value of this column; not tested",
        )
    if base.current_values == 0:
        note = "the current data holds no value of this column (all missing); not tested"
        return replace(base, status="no_current_values", note=note)
    if base.current_values < config.min_current_values:
        note = (
            f"only {base.current_values} current value(s), fewer than the "
            f"{config.min_current_values} a test needs to mean anything; not tested"
        )
        return replace(base, status="too_few_values", note=note)
    return None


# -- numbers ----------------------------------------------------------------------------------


def numeric_drift(
    ref: NumericReference, array: np.ndarray, config: DriftConfig, role: str = "feature"
) -> FeatureDrift:
    """The drift of float64 current values (NaN and infinities: missing)."""
    current = np.sort(array[np.isfinite(array)])
    base = _base(ref, role, array.size, current.size, config)
    skipped = _untestable(base, ref, config)
    if skipped is not None:
        return skipped
    small = ref.count <= config.small_sample_rows
    table = _value_table(ref, current)
    if table is not None:
        test = ("chisquare" if len(table[0]) > 2 else "z") if small else "jensenshannon"
        outcome = _count_test(test, table[1], table[2], config)
    elif small:
        statistic, p_value = stats.ks(ref.sample, current)
        outcome = _p_outcome("ks", statistic, p_value, config)
    else:
        distance = stats.wasserstein_normed(stats.wasserstein_sorted(ref.sample, current), ref.std)
        outcome = _d_outcome("wasserstein", distance, config)
    level = _psi(_numeric_psi(ref, current), config)
    summary = {
        "reference_mean": finite(ref.mean),
        "reference_std": finite(ref.std),
        "current_mean": finite(current.mean()),
        "current_std": finite(current.std()),
    }
    note = ""
    if outcome["test"] == "wasserstein" and not ref.full_sample:
        note = (
            f"reference sample of {ref.sample.size:,} order statistics (distance within "
            f"{ref.sample_error:.2g} of the full column's)"
        )
    return replace(
        base,
        **outcome,
        **level,
        summary=summary,
        note=note,
        histogram=_numeric_histogram(ref, current),
    )


def _value_table(ref: NumericReference, current: np.ndarray):
    """Keys and counts when reference and current together hold at most 5 distinct values."""
    if ref.values is None:
        return None
    changes = np.flatnonzero(current[1:] != current[:-1])
    if changes.size + 1 > LOW_CARDINALITY:
        return None
    seen = current[np.concatenate(([0], changes + 1))]
    keys = np.union1d(ref.values, seen)
    if keys.size > LOW_CARDINALITY:
        return None
    ref_counts = np.zeros(keys.size, dtype=np.int64)
    ref_counts[np.searchsorted(keys, ref.values)] = ref.value_counts
    cur_counts = _counts_at(current, keys)
    return keys, ref_counts, cur_counts


def _counts_at(ordered: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return np.searchsorted(ordered, keys, "right") - np.searchsorted(ordered, keys, "left")


def _numeric_psi(ref: NumericReference, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantile bins; or, for at most 20 distinct reference values, the values plus a bin for
    every other value."""
    if ref.values is None:
        return ref.psi_counts, bin_counts(current, ref.psi_edges)
    counts = _counts_at(current, ref.values)
    other = current.size - int(counts.sum())
    if other == 0:
        return ref.value_counts, counts
    return np.append(ref.value_counts, 0), np.append(counts, other)


def _numeric_histogram(ref: NumericReference, current: np.ndarray) -> Histogram:
    low = min(ref.minimum, float(current[0]))
    high = max(ref.maximum, float(current[-1]))
    edges = np.linspace(low, high if high > low else low + 1.0, PLOT_BINS + 1)

    def shares(ordered: np.ndarray) -> tuple[float, ...]:
        cuts = np.searchsorted(ordered, edges, side="left")
        cuts[-1] = np.searchsorted(ordered, edges[-1], side="right")
        return tuple((np.diff(cuts) / ordered.size).tolist())

    return Histogram("bins", shares(ref.sample), shares(current), edges=tuple(edges.tolist()))


# -- categories -------------------------------------------------------------------------------


def categorical_drift(
    ref: CategoricalReference, values: Any, config: DriftConfig, role: str = "feature"
) -> FeatureDrift:
    """The drift of current values compared by their text (None/NaN: missing)."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    tallies = category_counts(series)
    base = _base(ref, role, len(series), sum(tallies.values()), config)
    skipped = _untestable(base, ref, config)
    if skipped is not None:
        return skipped
    labels, ref_counts, cur_counts, unseen = _category_table(ref, tallies)
    small = ref.count <= config.small_sample_rows
    if small and len(labels) <= 2:
        order = np.argsort(np.array(labels, dtype=object).astype(str), kind="stable")
        outcome = _count_test("z", ref_counts[order], cur_counts[order], config)
    else:
        outcome = _count_test(
            "chisquare" if small else "jensenshannon", ref_counts, cur_counts, config
        )
    level = _psi((ref_counts, cur_counts), config)
    shown = tuple(sorted(unseen.items(), key=lambda item: (-item[1], item[0]))[:SHOWN_UNSEEN])
    return replace(
        base,
        **outcome,
        **level,
        unseen=shown,
        unseen_categories=len(unseen),
        unseen_share=sum(unseen.values()) / base.current_values,
        histogram=_category_histogram(labels, ref_counts, cur_counts),
        note=_category_note(ref, unseen),
    )


def _category_table(ref: CategoricalReference, tallies: dict[str, int]):
    """Labels (the reference's, "(other)" if it pooled some, then the unseen ones) and counts."""
    index = {category: i for i, category in enumerate(ref.categories)}
    labels = list(ref.categories) + ([OTHER] if ref.other else [])
    known = np.zeros(len(labels), dtype=np.int64)
    unseen: dict[str, int] = {}
    for key, count in tallies.items():
        position = index.get(key)
        if position is not None:
            known[position] += count
        elif ref.other:
            known[-1] += count  # it may be one of the pooled categories: not called unseen
        else:
            unseen[key] = count
    new = sorted(unseen, key=lambda key: (-unseen[key], key))
    ref_counts = np.concatenate((ref.counts, [ref.other] if ref.other else [], np.zeros(len(new))))
    cur_counts = np.concatenate((known, [unseen[key] for key in new]))
    return labels + new, ref_counts.astype(np.int64), cur_counts.astype(np.int64), unseen


def _category_note(ref: CategoricalReference, unseen: dict[str, int]) -> str:
    notes = []
    if unseen:
        notes.append(
            f"{len(unseen)} categor{'y' if len(unseen) == 1 else 'ies'} not in the reference"
        )
    if ref.other:
        notes.append(f"the reference pooled {ref.other:,} values of rare categories as {OTHER}")
    return "; ".join(notes)


def _category_histogram(labels: list[str], ref: np.ndarray, cur: np.ndarray) -> Histogram:
    r, c = ref / max(ref.sum(), 1), cur / max(cur.sum(), 1)
    order = np.argsort(-(r + c), kind="stable")
    top, rest = order[:PLOT_CATEGORIES], order[PLOT_CATEGORIES:]
    names = [labels[i] for i in top]
    ref_shares, cur_shares = r[top].tolist(), c[top].tolist()
    if rest.size:
        names.append(OTHER)
        ref_shares.append(float(r[rest].sum()))
        cur_shares.append(float(c[rest].sum()))
    return Histogram("categories", tuple(ref_shares), tuple(cur_shares), labels=tuple(names))


# -- outcomes ---------------------------------------------------------------------------------


def _count_test(test: str, ref: np.ndarray, cur: np.ndarray, config: DriftConfig) -> dict:
    if test == "jensenshannon":
        return _d_outcome(test, stats.jensenshannon(ref, cur), config)
    statistic, p_value = (stats.chi_square if test == "chisquare" else stats.z_test)(ref, cur)
    return _p_outcome(test, statistic, p_value, config)


def _p_outcome(test: str, statistic: float, p_value: float, config: DriftConfig) -> dict:
    return {
        "test": test,
        "test_name": TEST_NAMES[test],
        "statistic": finite(statistic),
        "p_value": p_value,
        "score": p_value,
        "threshold": config.p_value,
        "rule": f"p < {config.p_value:g}",
        "drifted": bool(p_value < config.p_value),
    }


def _d_outcome(test: str, distance: float, config: DriftConfig) -> dict:
    return {
        "test": test,
        "test_name": TEST_NAMES[test],
        "statistic": distance,
        "distance": distance,
        "score": distance,
        "threshold": config.distance,
        "rule": f"distance >= {config.distance:g}",
        "drifted": bool(distance >= config.distance),
    }


def _psi(counts: tuple[np.ndarray, np.ndarray], config: DriftConfig) -> dict:
    value = stats.psi(*counts)
    level = (
        "drift"
        if value >= config.psi_drift
        else ("warning" if value >= config.psi_warning else "ok")
    )
    return {"psi": finite(value), "psi_level": level}
