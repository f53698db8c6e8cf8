"""The drift engine on generated data: no false alarms, the right feature flagged, odd windows
answered plainly, and every number equal to scipy's (or a plain reference computation)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from core.errors import CorruptObject
from core.monitoring import codec
from core.monitoring.config import DriftConfig
from core.monitoring.engine import Current, compare
from core.monitoring.reference import build_reference, numeric_reference

COLOURS = ["red", "green", "blue", "amber", "violet"]
KINDS = {
    "normal": "numeric",
    "skewed": "numeric",
    "uniform": "numeric",
    "counts": "numeric",
    "flag": "numeric",
    "colour": "categorical",
    "size": "categorical",
    "code": "categorical",
}
CLASSES = ["a", "b", "c"]
CONFIG = DriftConfig()


def sample(rng: np.random.Generator, n: int, classes=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "normal": rng.normal(10, 2, n),
            "skewed": rng.lognormal(0, 0.6, n),
            "uniform": rng.uniform(0, 100, n),
            "counts": rng.poisson(30, n).astype(float),
            "flag": (rng.random(n) < 0.3).astype(float),
            "colour": rng.choice(COLOURS, n, p=[0.4, 0.25, 0.15, 0.12, 0.08]).astype(object),
            "size": rng.choice(["S", "M", "L"], n, p=[0.5, 0.3, 0.2]).astype(object),
            "code": rng.choice([f"c{i:02d}" for i in range(30)], n).astype(object),
            "prediction": rng.choice(CLASSES, n, p=list(classes)).astype(object),
        }
    )


def reference_of(frame: pd.DataFrame):
    return build_reference(frame, KINDS, prediction=frame["prediction"], classes=tuple(CLASSES))


def check(reference, frame: pd.DataFrame, config: DriftConfig = CONFIG):
    features = frame.drop(columns="prediction", errors="ignore")
    prediction = frame.get("prediction")
    report = compare(reference, Current(features, "test", prediction), config)
    json.dumps(report.to_dict(), allow_nan=False)  # never a NaN or infinity
    return report


# -- no false alarms ---------------------------------------------------------------------------


def test_two_samples_of_one_distribution_flag_nothing_across_20_seeds() -> None:
    """Large references (> 1000 values: normed Wasserstein and Jensen-Shannon)."""
    for seed in range(20):
        rng = np.random.default_rng(seed)
        report = check(reference_of(sample(rng, 5000)), sample(rng, 5000))
        assert report.drifted == [], (seed, report.drifted)
        assert not report.dataset_drift and not report.prediction.drifted
        assert all(f.psi_level == "ok" for f in report.features), seed
        assert {f.test for f in report.features} == {"wasserstein", "jensenshannon"}


def test_small_samples_flag_at_about_the_tests_nominal_rate() -> None:
    """Small references (KS, chi-square, z at p < 0.05) flag a same-distribution sample about
    5% of the time by construction; over 20 seeds x 8 features the rate stays near that."""
    flags = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        report = check(reference_of(sample(rng, 800)), sample(rng, 400))
        assert {f.test for f in report.features} == {"ks", "z", "chisquare"}
        flags += len(report.drifted)
    assert flags / (20 * len(KINDS)) <= 0.08


# -- real changes, on the right feature only ---------------------------------------------------


def mean_shift(frame: pd.DataFrame, rng) -> str:
    frame["normal"] += 0.5 * 2.0  # half a standard deviation
    return "normal"


def variance_change(frame: pd.DataFrame, rng) -> str:
    frame["normal"] = 10 + (frame["normal"] - 10) * 1.5
    return "normal"


def new_category(frame: pd.DataFrame, rng) -> str:
    frame.loc[rng.random(len(frame)) < 0.2, "colour"] = "magenta"
    return "colour"


SHIFTS = [mean_shift, variance_change, new_category]


@pytest.mark.parametrize("shift", SHIFTS, ids=lambda f: f.__name__)
def test_a_change_is_flagged_on_its_feature_only(shift) -> None:
    rng = np.random.default_rng(7)
    reference = reference_of(sample(rng, 5000))
    current = sample(rng, 3000)
    name = shift(current, rng)
    report = check(reference, current)
    assert report.drifted == [name]
    assert not report.prediction.drifted
    changed = report.feature(name)
    assert changed.psi_level in ("warning", "drift")
    assert changed.psi == max(f.psi for f in report.features)


@pytest.mark.parametrize("shift", SHIFTS, ids=lambda f: f.__name__)
def test_small_samples_flag_the_changed_feature_first(shift) -> None:
    rng = np.random.default_rng(11)
    reference = reference_of(sample(rng, 800))
    current = sample(rng, 500)
    name = shift(current, rng)
    report = check(reference, current)
    changed = report.feature(name)
    assert changed.drifted and changed.test in ("ks", "chisquare")
    assert changed.p_value == min(f.p_value for f in report.features)


def test_a_shifted_class_mix_drifts_the_prediction_only() -> None:
    rng = np.random.default_rng(3)
    reference = reference_of(sample(rng, 5000))
    report = check(reference, sample(rng, 3000, classes=(0.2, 0.3, 0.5)))
    assert report.drifted == []
    assert report.prediction.drifted and report.prediction.test == "jensenshannon"
    assert report.prediction.psi_level == "drift"


def test_the_new_category_is_reported_with_its_share() -> None:
    rng = np.random.default_rng(5)
    reference = reference_of(sample(rng, 5000))
    current = sample(rng, 2000)
    new_category(current, rng)
    colour = check(reference, current).feature("colour")
    assert colour.unseen[0][0] == "magenta" and colour.unseen_categories == 1
    assert colour.unseen_share == pytest.approx(0.2, abs=0.03)
    assert "magenta" in colour.histogram.labels


# -- odd windows ---------------------------------------------------------------------------------


def test_constant_columns_compare_plainly() -> None:
    reference = build_reference(
        pd.DataFrame({"x": np.full(2000, 3.0), "c": ["a"] * 2000}),
        {"x": "numeric", "c": "categorical"},
    )
    same = check(reference, pd.DataFrame({"x": np.full(50, 3.0), "c": ["a"] * 50}))
    assert same.drifted == [] and all(f.status == "tested" for f in same.features)
    assert same.feature("x").score == 0.0 and same.feature("x").psi == 0.0
    moved = check(reference, pd.DataFrame({"x": np.full(50, 4.0), "c": ["b"] * 50}))
    assert moved.drifted == ["x", "c"]
    small = build_reference(pd.DataFrame({"x": np.full(300, 3.0)}), {"x": "numeric"})
    assert check(small, pd.DataFrame({"x": np.full(40, 3.0)})).feature("x").p_value == 1.0


def test_a_window_with_too_few_values_is_not_tested() -> None:
    """A handful of rows says nothing: such a feature is reported untested, never drifted."""
    reference = build_reference(pd.DataFrame({"x": np.arange(300.0)}), {"x": "numeric"})
    report = check(reference, pd.DataFrame({"x": [5000.0, 6000.0, 7000.0]}))
    feature = report.feature("x")
    assert feature.status == "too_few_values" and not feature.drifted
    assert "fewer than the 30" in feature.note and report.drifted == []
    assert not report.dataset_drift


def test_an_all_missing_window_says_so() -> None:
    rng = np.random.default_rng(1)
    reference = reference_of(sample(rng, 3000))
    empty = pd.DataFrame({name: [None] * 40 for name in KINDS}).astype(
        {name: float for name, kind in KINDS.items() if kind == "numeric"}
    )
    report = check(reference, empty)
    assert {f.status for f in report.features} == {"no_current_values"}
    assert all(f.missing_share_current == 1.0 and f.missing_share_changed for f in report.features)
    assert not report.dataset_drift and report.tested_features == 0 and report.drift_share == 0.0


def test_a_window_of_one_row_is_tested_when_the_minimum_allows() -> None:
    rng = np.random.default_rng(2)
    one = replace(CONFIG, min_current_values=1)
    report = check(reference_of(sample(rng, 3000)), sample(rng, 1), one)
    assert {f.status for f in report.features} == {"tested"}
    assert all(f.score is not None and f.psi is not None for f in report.features)
    small = check(reference_of(sample(rng, 500)), sample(rng, 1), one)
    assert all(0.0 <= f.p_value <= 1.0 for f in small.features)


def test_an_empty_window_and_a_column_missing_from_the_current_data() -> None:
    rng = np.random.default_rng(4)
    reference = reference_of(sample(rng, 3000))
    report = check(reference, sample(rng, 500).drop(columns=["normal", "colour"]))
    assert report.feature("normal").status == "missing_column"
    assert report.feature("colour").status == "missing_column"
    assert report.tested_features == len(KINDS) - 2
    assert "normal: not in the current data" in report.problems
    nothing = check(reference, sample(rng, 0))
    assert {f.status for f in nothing.features} == {"no_current_values"}
    assert all(f.missing_share_current is None for f in nothing.features)


def test_a_feature_without_training_values_is_not_tested() -> None:
    reference = build_reference(pd.DataFrame({"x": [np.nan] * 100}), {"x": "numeric"})
    assert check(reference, pd.DataFrame({"x": [1.0, 2.0]})).features[0].status == (
        "no_reference_values"
    )


# -- the numbers ---------------------------------------------------------------------------------


def finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def with_gaps(rng, n: int, shift: float = 0.0) -> np.ndarray:
    values = rng.normal(shift, 1.0, n)
    values[rng.random(n) < 0.05] = np.nan
    values[:2] = [np.inf, -np.inf]  # infinities are missing values, as Evidently drops them
    return values


def test_ks_agrees_with_scipy() -> None:
    rng = np.random.default_rng(8)
    ref, cur = with_gaps(rng, 900), with_gaps(rng, 700, 0.15)
    reference = build_reference(pd.DataFrame({"x": ref}), {"x": "numeric"})
    result = check(reference, pd.DataFrame({"x": cur})).features[0]
    expected = stats.ks_2samp(finite(ref), finite(cur))
    assert result.test == "ks"
    assert abs(result.statistic - expected.statistic) < 1e-9
    assert abs(result.p_value - expected.pvalue) < 1e-9


def test_normed_wasserstein_agrees_with_scipy() -> None:
    """Evidently's norm: the distance over max(np.std(reference), 0.001)."""
    rng = np.random.default_rng(9)
    for n_ref, n_cur in ((5000, 3000), (1200, 9999), (8000, 1)):
        ref = with_gaps(rng, n_ref)
        cur = with_gaps(rng, n_cur, 0.3) if n_cur > 1 else np.array([0.7])
        reference = build_reference(pd.DataFrame({"x": ref}), {"x": "numeric"})
        one = replace(CONFIG, min_current_values=1)
        result = check(reference, pd.DataFrame({"x": cur}), one).features[0]
        distance = stats.wasserstein_distance(finite(ref), finite(cur))
        assert result.test == "wasserstein"
        assert abs(result.score - distance / max(np.std(finite(ref)), 0.001)) < 1e-9


def test_a_sampled_reference_stays_within_its_stated_error() -> None:
    rng = np.random.default_rng(10)
    ref, cur = rng.lognormal(0, 1, 200_000), rng.lognormal(0.1, 1, 50_000)
    column = numeric_reference("x", ref)
    assert column.sample.size == 10_000 and not column.full_sample
    result = check(build_reference(pd.DataFrame({"x": ref}), {"x": "numeric"}),
                   pd.DataFrame({"x": cur})).features[0]  # fmt: skip
    exact = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert abs(result.score - exact) <= column.sample_error + 1e-9
    assert column.sample_error < 0.01


def category_counts(ref, cur):
    keys = sorted(set(ref) | set(cur))
    r = np.array([list(ref).count(k) for k in keys], dtype=float)
    c = np.array([list(cur).count(k) for k in keys], dtype=float)
    return keys, r, c


def test_jensen_shannon_and_chi_square_agree_with_scipy() -> None:
    """Chi-square: the two-sample test of homogeneity (see core.monitoring.stats)."""
    rng = np.random.default_rng(12)
    options = ["x", "y", "z", "w"]
    ref = list(rng.choice(options, 4000, p=[0.4, 0.3, 0.2, 0.1]))
    cur = list(rng.choice(options, 1500, p=[0.3, 0.3, 0.2, 0.2]))
    _, r, c = category_counts(ref, cur)
    large = build_reference(pd.DataFrame({"c": ref}), {"c": "categorical"})
    result = check(large, pd.DataFrame({"c": cur})).features[0]
    assert result.test == "jensenshannon"
    assert abs(result.score - jensenshannon(r / r.sum(), c / c.sum())) < 1e-9
    small = build_reference(pd.DataFrame({"c": ref[:600]}), {"c": "categorical"})
    result = check(small, pd.DataFrame({"c": cur})).features[0]
    _, r, c = category_counts(ref[:600], cur)
    expected = stats.chi2_contingency(np.vstack((r, c)), correction=False)
    assert result.test == "chisquare"
    assert abs(result.statistic - expected.statistic) < 1e-9
    assert abs(result.p_value - expected.pvalue) < 1e-9


def test_z_test_agrees_with_evidentlys_formula() -> None:
    rng = np.random.default_rng(13)
    ref, cur = (rng.random(700) < 0.3).astype(float), (rng.random(300) < 0.38).astype(float)
    reference = build_reference(pd.DataFrame({"f": ref}), {"f": "numeric"})
    result = check(reference, pd.DataFrame({"f": cur})).features[0]
    p1, p2 = ref.mean(), cur.mean()  # share of rows that are not the first (sorted) key, 0.0
    pooled = (p1 * ref.size + p2 * cur.size) / (ref.size + cur.size)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / ref.size + 1 / cur.size))
    assert result.test == "z"
    assert abs(result.statistic - z) < 1e-9
    assert abs(result.p_value - 2 * (1 - stats.norm.cdf(abs(z)))) < 1e-9


def reference_psi(r: np.ndarray, c: np.ndarray) -> float:
    """PSI written out plainly: shares, Evidently's zero filling, the sum."""
    shares = []
    for counts in (r, c):
        p = counts / counts.sum()
        smallest = p[p > 0].min()
        p = np.where(p == 0, smallest / 1e6 if smallest <= 0.0001 else 0.0001, p)
        shares.append(p)
    return float(sum((a - b) * np.log(a / b) for a, b in zip(*shares, strict=True)))


def test_psi_agrees_with_a_reference_computation() -> None:
    rng = np.random.default_rng(14)
    ref, cur = with_gaps(rng, 6000), with_gaps(rng, 2000, 0.4)
    reference = build_reference(pd.DataFrame({"x": ref}), {"x": "numeric"})
    result = check(reference, pd.DataFrame({"x": cur})).features[0]
    edges = np.unique(np.quantile(finite(ref), np.arange(1, 10) / 10))
    bins = np.concatenate(([-np.inf], edges, [np.inf]))
    r, c = np.histogram(finite(ref), bins)[0], np.histogram(finite(cur), bins)[0]
    assert abs(result.psi - reference_psi(r, c)) < 1e-9
    cats_ref = list(rng.choice(["p", "q", "r"], 3000, p=[0.6, 0.3, 0.1]))
    cats_cur = list(rng.choice(["p", "q", "r", "s"], 800, p=[0.4, 0.3, 0.2, 0.1]))
    reference = build_reference(pd.DataFrame({"c": cats_ref}), {"c": "categorical"})
    result = check(reference, pd.DataFrame({"c": cats_cur})).features[0]
    _, r, c = category_counts(cats_ref, cats_cur)
    assert abs(result.psi - reference_psi(r, c)) < 1e-9


# -- the blob ------------------------------------------------------------------------------------


def test_the_reference_blob_round_trips_byte_for_byte() -> None:
    rng = np.random.default_rng(15)
    frame = sample(rng, 20_000)
    reference = reference_of(frame)
    data = codec.encode(reference)
    assert codec.encode(reference_of(frame)) == data  # same statistics, same bytes, same sha256
    current = sample(rng, 1000)
    assert check(codec.decode(data), current).to_dict() == check(reference, current).to_dict()
    with pytest.raises(CorruptObject):
        codec.decode(data[:100])
