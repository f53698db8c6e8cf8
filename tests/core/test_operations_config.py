"""The [monitor], [retrain], [notify] and [imports] tables: read as written, and every mistake
refused with the key and its line."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from core.operations.config import OperationsConfigError, load_operations_config, parse_duration


def _load(tmp_path: Path, text: str):
    (tmp_path / "shipway.toml").write_text(text, encoding="utf-8")
    return load_operations_config(tmp_path, tomllib.loads(text))


def test_durations() -> None:
    assert [parse_duration(v) for v in ("90s", "5m", "2h", "30d", "1w", 45, "1.5h")] == [
        90, 300, 7200, 2_592_000, 604_800, 45, 5400,
    ]  # fmt: skip
    for bad in ("soon", "5 minutes", "-5m", 0, True, "", "5x"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_a_full_set_of_tables_is_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOOK", "https://hooks.example.org/abc")
    config = _load(
        tmp_path,
        """
[monitor]
every = "10m"
keep = "90d"
[retrain]
on_drift = true
on_metric_drop = { metric = "f1", below = 0.8 }
every = "30d"
on_new_data = "penguins"
promote = "staging"
[notify]
email = { to = ["a@example.org"], host = "smtp.example.org", password_env = "PW" }
webhook = { url_env = "HOOK", retries = 2 }
[imports.penguins]
folder = "incoming"
pattern = "*.csv"
every = "1h"
""",
    )
    assert (config.monitor_every_s, config.keep_s) == (600, 90 * 86400)
    retrain = config.retrain
    assert (
        retrain.on_drift and retrain.on_metric_drop.metric == "f1" and retrain.promote == "staging"
    )
    assert config.notify.email.to == ("a@example.org",) and config.notify.email.port == 587
    assert config.notify.webhook.url == "https://hooks.example.org/abc"
    [schedule] = config.imports
    assert (schedule.dataset, schedule.folder, schedule.every_s) == ("penguins", "incoming", 3600)
    empty = _load(tmp_path, "")
    assert empty.monitor_every_s == 300 and not empty.retrain.active and empty.imports == ()


@pytest.mark.parametrize(
    ("text", "message", "key"),
    [
        ('[monitor]\nevery = "often"\n', "every must be a duration", "every"),
        ('[retrain]\non_drift = "yes"\n', "on_drift must be true or false", "on_drift"),
        ('[retrain]\nstreak = 3\n', "unknown key 'streak'", "streak"),
        ('[retrain]\non_metric_drop = { metric = "f2", below = 0.8 }\n', "unknown metric",
         "on_metric_drop"),
        ('[retrain]\npromote = "prod uction"\n', "promote:", "promote"),
        ('[notify]\nemail = { to = ["a@example.org"] }\n', "SMTP host", "email"),
        ('[notify]\nemail = { to = ["a@b.org"], host = "h", password = "x" }\n',
         "never goes in shipway.toml", "email"),
        ('[notify]\nwebhook = { url_env = "NO_SUCH_VARIABLE_HERE" }\n', "is not set", "webhook"),
        ('[notify]\nwebhook = { url = "ftp://x" }\n', r"http\(s\) url", "webhook"),
        ('[imports.p]\nfolder = "in"\nsql = "SELECT 1"\nurl = "sqlite://"\n', "not both", None),
    ],
)  # fmt: skip
def test_mistakes_name_the_key_and_line(tmp_path: Path, text: str, message: str, key) -> None:
    with pytest.raises(OperationsConfigError, match=message) as raised:
        _load(tmp_path, "# settings\n\n" + text)
    assert "shipway.toml line" in raised.value.where
