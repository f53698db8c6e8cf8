"""The ``[monitor]``, ``[retrain]``, ``[notify]`` and ``[imports.NAME]`` tables of shipway.toml:
what the always-on service does, and when.

::

    [monitor]
    every = "5m"          # evaluate [triggers] over each running deployment this often
    keep = "90d"          # prediction log rows older than this are pruned (empty: keep all)

    [retrain]             # what starts a retraining job (train, register, evaluate gates)
    on_drift = true       # a drift alert ([triggers] drift_buckets in a row)
    on_metric_drop = { metric = "f1", below = 0.8 }   # a live metric below this
    every = "30d"         # and this often in any case
    on_new_data = "penguins"   # a new version of this data set
    promote = "staging"   # optional: move this alias when its gates pass (never past approval)

    [notify]
    email = { to = ["team@example.org"], host = "smtp.example.org", port = 587,
              starttls = true, user = "shipway", password_env = "SHIPWAY_SMTP_PASSWORD" }
    webhook = { url_env = "SHIPWAY_WEBHOOK_URL", timeout_s = 10, retries = 3 }  # or url = "…"
    desktop = true

    [imports.penguins]    # a new version of data set "penguins" …
    folder = "incoming"   # … from the newest file in this folder (relative to the project)
    every = "1h"
    # or: sql = "SELECT …", url = "postgresql+psycopg://…"

Durations are ``"90s"``, ``"5m"``, ``"2h"``, ``"30d"`` (or a number of seconds). Secrets never
live here: an SMTP password comes from the environment variable ``password_env`` names, or
from the system keyring (``keyring`` key ``shipway/<host>/<user>``). Mistakes raise
:class:`OperationsConfigError` naming the key and the line.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ProjectError
from core.metrics import ALL_METRICS
from core.settings_rules import settings_text, table_error

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

MONITOR_KEYS = frozenset({"every", "keep"})
RETRAIN_KEYS = frozenset({"on_drift", "on_metric_drop", "every", "on_new_data", "promote"})
NOTIFY_KEYS = frozenset({"email", "webhook", "desktop"})
IMPORT_KEYS = frozenset({"folder", "pattern", "sql", "url", "every"})
EMAIL_KEYS = frozenset({"to", "host", "port", "starttls", "ssl", "user", "password_env", "sender"})
WEBHOOK_KEYS = frozenset({"url", "url_env", "timeout_s", "retries", "format"})


class OperationsConfigError(ProjectError, code="operations_config"):
    """A table of the service's settings cannot be used as written."""


@dataclass(frozen=True)
class MetricDrop:
    metric: str
    below: float


@dataclass(frozen=True)
class RetrainPolicy:
    on_drift: bool = False
    on_metric_drop: MetricDrop | None = None
    every_s: float | None = None
    on_new_data: str | None = None
    promote: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.on_drift or self.on_metric_drop or self.every_s or self.on_new_data)


@dataclass(frozen=True)
class EmailSettings:
    to: tuple[str, ...]
    host: str
    port: int = 587
    starttls: bool = True
    ssl: bool = False
    user: str | None = None
    password_env: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    timeout_s: float = 10.0
    retries: int = 3
    format: str = "json"  # "json" (Shipway's document, with a Slack-compatible "text") or "slack"


@dataclass(frozen=True)
class NotifySettings:
    email: EmailSettings | None = None
    webhook: WebhookSettings | None = None
    desktop: bool = True


@dataclass(frozen=True)
class ImportSchedule:
    dataset: str
    every_s: float
    folder: str | None = None
    pattern: str = "*"
    sql: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class OperationsConfig:
    """Everything the service reads from shipway.toml."""

    monitor_every_s: float = 300.0
    keep_s: float | None = None
    retrain: RetrainPolicy = RetrainPolicy()
    notify: NotifySettings = NotifySettings()
    imports: tuple[ImportSchedule, ...] = field(default_factory=tuple)


def parse_duration(value: Any) -> float:
    """Seconds of ``"90s"``, ``"5m"``, ``"2h"``, ``"30d"``, ``"1w"`` or a positive number."""
    if isinstance(value, bool):
        raise ValueError("not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError("not a duration")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if not seconds > 0:
        raise ValueError("not a positive duration")
    return seconds


def load_operations_config(
    root: Path, raw: dict[str, Any], *, environment: bool = True
) -> OperationsConfig:
    """The service's settings of the project at ``root`` (``raw``: its parsed shipway.toml).

    ``environment=False`` checks the tables without reading secrets from this process's
    environment (the app saving settings for a service that has its own): a ``url_env`` that
    is not set here is then no mistake."""
    text = settings_text(root)
    monitor = _table(raw, "monitor", text, MONITOR_KEYS)
    retrain = _table(raw, "retrain", text, RETRAIN_KEYS)
    notify = _table(raw, "notify", text, NOTIFY_KEYS)
    keep = monitor.get("keep")
    return OperationsConfig(
        monitor_every_s=_duration(monitor.get("every", "5m"), text, "monitor", "every"),
        keep_s=None if keep in (None, "") else _duration(keep, text, "monitor", "keep"),
        retrain=_retrain(retrain, text),
        notify=_notify(notify, text, environment),
        imports=_imports(raw, text),
    )


def _retrain(table: dict[str, Any], text: str) -> RetrainPolicy:
    every = table.get("every")
    data = table.get("on_new_data")
    promote = table.get("promote")
    for key, value in (("on_new_data", data), ("promote", promote)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _error(f"{key} must be a name, not {value!r}", text, "retrain", key)
    if promote is not None:
        from core.errors import ShipwayError
        from core.store.model_repository import check_alias

        try:
            check_alias(promote)
        except ShipwayError as error:
            raise _error(f"promote: {error.message}", text, "retrain", "promote") from None
    return RetrainPolicy(
        on_drift=_bool(table.get("on_drift", False), text, "retrain", "on_drift"),
        on_metric_drop=_metric_drop(table.get("on_metric_drop"), text),
        every_s=None if every is None else _duration(every, text, "retrain", "every"),
        on_new_data=data,
        promote=promote,
    )


def _metric_drop(value: Any, text: str) -> MetricDrop | None:
    if value is None:
        return None
    hint = 'write on_metric_drop = { metric = "f1", below = 0.8 }'
    if not isinstance(value, dict) or set(value) != {"metric", "below"}:
        raise _error("on_metric_drop needs metric and below", text, "retrain", "on_metric_drop",
                     hint)  # fmt: skip
    metric, below = value["metric"], value["below"]
    if metric not in ALL_METRICS:
        raise _error(f"unknown metric {metric!r} in on_metric_drop", text, "retrain",
                     "on_metric_drop", f"known metrics: {', '.join(ALL_METRICS)}")  # fmt: skip
    if isinstance(below, bool) or not isinstance(below, int | float):
        raise _error(f"below must be a number, not {below!r}", text, "retrain", "on_metric_drop",
                     hint)  # fmt: skip
    return MetricDrop(metric, float(below))


def _notify(table: dict[str, Any], text: str, environment: bool = True) -> NotifySettings:
    email = table.get("email")
    webhook = table.get("webhook")
    return NotifySettings(
        email=None if email is None else _email(email, text),
        webhook=None if webhook is None else _webhook(webhook, text, environment),
        desktop=_bool(table.get("desktop", True), text, "notify", "desktop"),
    )


def _email(value: Any, text: str) -> EmailSettings:
    if isinstance(value, dict) and "password" in value:
        hint = 'name an environment variable: password_env = "SHIPWAY_SMTP_PASSWORD"'
        raise _error("a password never goes in shipway.toml", text, "notify", "email", hint)
    _check_keys(value, EMAIL_KEYS, text, "notify", "email")
    to = value.get("to")
    if isinstance(to, str):
        to = [to]
    if not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise _error("email needs to = [addresses]", text, "notify", "email",
                     'write to = ["team@example.org"]')  # fmt: skip
    if not isinstance(value.get("host"), str) or not value["host"]:
        raise _error("email needs the SMTP host", text, "notify", "email",
                     'write host = "smtp.example.org"')  # fmt: skip
    port = value.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise _error(f"port must be a port number, not {port!r}", text, "notify", "email")
    return EmailSettings(
        to=tuple(to),
        host=value["host"],
        port=port,
        starttls=_bool(value.get("starttls", True), text, "notify", "email"),
        ssl=_bool(value.get("ssl", False), text, "notify", "email"),
        user=value.get("user"),
        password_env=value.get("password_env"),
        sender=value.get("sender"),
    )


def _webhook(value: Any, text: str, environment: bool = True) -> WebhookSettings:
    _check_keys(value, WEBHOOK_KEYS, text, "notify", "webhook")
    url = value.get("url")
    if "url_env" in value and not environment:
        if not isinstance(value["url_env"], str) or not value["url_env"].strip():
            raise _error("url_env must name an environment variable", text, "notify", "webhook")
        url = "https://set-in-the-environment"
    elif "url_env" in value:  # a chat webhook's URL is a secret: from the environment
        url = os.environ.get(str(value["url_env"]), "")
        if not url:
            raise _error(f"the environment variable {value['url_env']} (url_env) is not set",
                         text, "notify", "webhook",
                         f"set {value['url_env']} in the service's environment")  # fmt: skip
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise _error("webhook needs an http(s) url", text, "notify", "webhook")
    timeout = value.get("timeout_s", 10.0)
    retries = value.get("retries", 3)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise _error(f"timeout_s must be a positive number, not {timeout!r}", text, "notify",
                     "webhook")  # fmt: skip
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise _error(f"retries must be 0 to 10, not {retries!r}", text, "notify", "webhook")
    fmt = value.get("format", "json")
    if fmt not in ("json", "slack"):
        raise _error(f"format must be json or slack, not {fmt!r}", text, "notify", "webhook")
    return WebhookSettings(url, float(timeout), retries, fmt)


def _imports(raw: dict[str, Any], text: str) -> tuple[ImportSchedule, ...]:
    imports = raw.get("imports", {})
    if not isinstance(imports, dict):
        raise _error("[imports] holds one table per data set", text, "imports", None)
    found = []
    for name, value in imports.items():
        table = f"imports.{name}"
        _check_keys(value, IMPORT_KEYS, text, table, None)
        if ("folder" in value) == ("sql" in value):
            raise _error("give folder or sql (with url), not both or neither", text, table, None)
        if "sql" in value and not isinstance(value.get("url"), str):
            raise _error("sql needs the database url", text, table, "sql")
        found.append(
            ImportSchedule(
                dataset=name,
                every_s=_duration(value.get("every", "1h"), text, table, "every"),
                folder=value.get("folder"),
                pattern=str(value.get("pattern", "*")),
                sql=value.get("sql"),
                url=value.get("url"),
            )
        )
    return tuple(found)


# -- checks that name the line --------------------------------------------------------------


def _table(raw: dict[str, Any], name: str, text: str, known: frozenset[str]) -> dict[str, Any]:
    value = raw.get(name, {})
    _check_keys(value, known, text, name, None)
    return value


def _check_keys(value: Any, known: frozenset[str], text: str, table: str, key: str | None) -> None:
    shown = f"{key} in [{table}]" if key else f"[{table}]"
    if not isinstance(value, dict):
        raise _error(f"{shown} must be a table", text, table, key)
    for name in value:
        if name not in known:
            raise _error(f"unknown key {name!r} in {shown}", text, table, name,
                         f"known keys: {', '.join(sorted(known))}")  # fmt: skip


def _duration(value: Any, text: str, table: str, key: str) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise _error(f"{key} must be a duration, not {value!r}", text, table, key,
                     'write e.g. "90s", "5m", "2h" or "30d"') from None  # fmt: skip


def _bool(value: Any, text: str, table: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _error(f"{key} must be true or false, not {value!r}", text, table, key)
    return value


_error = functools.partial(table_error, OperationsConfigError)
