"""The statistics of champion against challenger, and the challenger_wins rule as written."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score

from core.monitoring import challenger_stats as cs
from core.registry.gate_config import ChallengerWinsRule, GateConfigError, load_gates


def test_fast_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 3, 300), rng.integers(0, 3, 300)
    macro = cs.metric_function("f1", 3, None)
    assert macro(t, p) == pytest.approx(f1_score(t, p, average="macro"))
    binary_t, binary_p = t % 2, p % 2
    assert cs.metric_function("f1", 2, 1)(binary_t, binary_p) == pytest.approx(
        f1_score(binary_t, binary_p)
    )
    assert cs.metric_function("recall", 2, 1)(binary_t, binary_p) == pytest.approx(
        recall_score(binary_t, binary_p)
    )
    assert cs.metric_function("accuracy", 3, None)(t, p) == pytest.approx(accuracy_score(t, p))
    assert cs.metric_function("balanced_accuracy", 3, None)(t, p) == pytest.approx(
        balanced_accuracy_score(t, p)
    )


def test_mcnemar_counts_only_the_rows_where_one_side_is_right() -> None:
    t = np.zeros(40, dtype=np.int64)
    champion = np.array([0] * 20 + [1] * 20)
    challenger = np.array([0] * 30 + [1] * 10)  # right on 10 more rows, never worse
    f = cs.metric_function("accuracy", 2, None)
    test = cs.paired_test("accuracy", f, t, champion, challenger, 0.95)
    assert test.name == "mcnemar_exact"
    assert test.p_value == pytest.approx(2 * 0.5**10)
    assert test.difference == pytest.approx(0.25)


def test_two_proportions_and_wilson() -> None:
    f = cs.metric_function("accuracy", 2, None)
    ones = np.ones(100, dtype=np.int64)
    champion = (ones, np.array([1] * 80 + [0] * 20))
    challenger = (ones, np.array([1] * 90 + [0] * 10))
    test = cs.unpaired_test("accuracy", f, champion, challenger, 0.95)
    assert test.name == "two_proportion_z" and test.p_value == pytest.approx(0.0477, abs=5e-4)
    low, high = cs.wilson(90, 100, 0.95)
    assert low == pytest.approx(0.8256, abs=1e-3) and high == pytest.approx(0.9448, abs=1e-3)


def test_bootstrap_sees_no_difference_between_equals() -> None:
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, 200)
    p = rng.integers(0, 3, 200)
    f = cs.metric_function("f1", 3, None)
    test = cs.paired_test("f1", f, t, p, p.copy(), 0.95)
    assert test.name == "paired_bootstrap" and test.difference == 0 and test.p_value == 1.0


def _gates(tmp_path, text: str):
    (tmp_path / "shipway.toml").write_text(text, encoding="utf-8")
    return load_gates(tmp_path, tomllib.loads(text), "production")


def test_the_rule_as_written(tmp_path) -> None:
    rule = _gates(tmp_path, '[gates.production]\nchallenger_wins = { metric = "f1", '
                  "min_rows = 200, confidence = 0.9 }\n").challenger_wins  # fmt: skip
    assert rule == ChallengerWinsRule("f1", 200, 0.9)
    for wrong, said in (
        ("{ min_rows = 0 }", "min_rows"),
        ("{ confidence = 1.5 }", "confidence"),
        ("{ rows = 3 }", "takes metric"),
        ('{ metric = "f2" }', "unknown metric"),
    ):
        with pytest.raises(GateConfigError, match=said) as caught:
            _gates(tmp_path, f"[gates.production]\nchallenger_wins = {wrong}\n")
        assert "shipway.toml line" in caught.value.where
