"""The [drift] and [triggers] tables of shipway.toml: defaults, every key, mistakes by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_settings
from core.monitoring.config import (
    DriftConfig,
    MetricRule,
    MonitoringConfigError,
    TriggerConfig,
    load_drift_config,
    load_trigger_config,
)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "shipway.toml").write_text('[project]\nname = "p"\n' + text, encoding="utf-8")
    return tmp_path


def drift(tmp_path: Path, text: str) -> DriftConfig:
    root = write(tmp_path, text)
    return load_drift_config(root, load_settings(root).raw)


def triggers(tmp_path: Path, text: str) -> TriggerConfig:
    root = write(tmp_path, text)
    return load_trigger_config(root, load_settings(root).raw)


def test_defaults_are_the_design_documents(tmp_path: Path) -> None:
    config = drift(tmp_path, "")
    assert (config.small_sample_rows, config.p_value, config.distance) == (1000, 0.05, 0.1)
    assert (config.psi_warning, config.psi_drift, config.drift_share) == (0.1, 0.2, 0.5)
    assert not triggers(tmp_path, "").active


def test_every_key_is_read(tmp_path: Path) -> None:
    config = drift(
        tmp_path,
        "[drift]\nsmall_sample_rows = 500\np_value = 0.01\ndistance = 0.2\npsi_warning = 0.15\n"
        "psi_drift = 0.3\ndrift_share = 0.3\nmissing_share_change = 0.05\nwindow = 500\n"
        "bucket_seconds = 60\nfeedback_window_s = 0\n",
    )
    assert config.small_sample_rows == 500 and config.p_value == 0.01 and config.window == 500
    assert config.source.startswith("shipway.toml [drift] (line 3)")
    assert config.key() != DriftConfig().key()
    assert DriftConfig(window=5).key() == DriftConfig().key()  # the window changes no result
    rules = triggers(
        tmp_path,
        '[triggers]\ndrift_buckets = 3\nlive_metrics = { f1 = ">= 0.8", rmse = 12 }\n'
        "min_feedback = 10\nretrain = true\n",
    )
    assert rules.drift_buckets == 3 and rules.min_feedback == 10 and rules.retrain
    assert rules.live_metrics == (MetricRule("f1", ">=", 0.8), MetricRule("rmse", "<=", 12.0))
    assert not rules.live_metrics[0].holds(0.79) and rules.live_metrics[1].holds(11.0)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[drift]\npvalue = 0.05\n", 4, "unknown key 'pvalue'"),
        ("[drift]\n\np_value = 2\n", 5, "p_value must be a number"),
        ("[drift]\nwindow = 10.5\n", 4, "whole number"),
        ("[drift]\ndistance = true\n", 4, "distance must be"),
        ("[drift]\npsi_warning = 0.3\npsi_drift = 0.2\n", 5, "psi_drift"),
        ("[triggers]\nretrain = 1\n", 4, "retrain must be true or false"),
        ("[triggers]\nlive_metrics = { f2 = 0.8 }\n", 4, "unknown metric 'f2'"),
        ('[triggers]\nlive_metrics = { f1 = "about 0.8" }\n', 4, "not a comparison"),
        ("[triggers]\ndrift_buckets = -1\n", 4, "drift_buckets"),
        ("[drift.p_value]\nx = 1\n", None, "p_value must be a number"),
    ],
)
def test_mistakes_name_their_line(tmp_path: Path, text: str, line: int | None, words: str) -> None:
    root = write(tmp_path, text)
    raw = load_settings(root).raw
    with pytest.raises(MonitoringConfigError) as caught:
        load_drift_config(root, raw)
        load_trigger_config(root, raw)
    assert words in caught.value.message
    assert caught.value.where == (f"shipway.toml line {line}" if line else "shipway.toml")
