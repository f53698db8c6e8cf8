"""The always-on service's tables of shipway.toml as two forms: [monitor] and [retrain] (what it
does and when), and [notify] (who hears of it). Project → Settings shows them as tabs beside
the monitoring rules; docs/operations.md says what each key does.

The forms read plain tables (``ws.project.tables(...)``, as written) and give plain values;
the engine writes them (``ws.project.save_settings(tables=...)``, comments kept) and checks
them as the service reads them, so a mistake (a duration that does not parse, an alias name
that cannot be one) is refused with the key and the line, and nothing is written. A key left
empty or a rule not ticked is removed (``None``), so the service's default holds.

The SMTP password is never a field: shipway.toml refuses a ``password`` key. The form names
the environment variable the service reads it from (``password_env``) and says how to put it
in the system keyring instead. A chat webhook's address is a secret too: it is read from an
environment variable (``url_env``) unless the person chooses to write the address itself.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core import metrics

SECURITY = (("STARTTLS (port 587)", "starttls"), ("TLS from the first byte (port 465)", "ssl"),
            ("None: a relay on a trusted network", "none"))  # fmt: skip
WEBHOOK_SOURCES = (("the environment variable", "url_env"), ("this address", "url"))
DEFAULT_PASSWORD_ENV = "SHIPWAY_SMTP_PASSWORD"
DEFAULT_WEBHOOK_ENV = "SHIPWAY_WEBHOOK_URL"
DEFAULT_EVERY = "5m"  # [monitor] every when the key is absent: not written


def toml_preview(tables: dict[str, dict[str, Any]]) -> str:
    """The tables as the TOML the engine will write (a preview; None keys are left out)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v) if isinstance(v, str) else str(v)

    lines: list[str] = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {value(v)}" for key, v in table.items() if v is not None]
        lines.append("")
    return "\n".join(lines).strip()


def preview_box(lines: int) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setReadOnly(True)
    box.setProperty("mono", True)
    box.setFixedHeight(lines * box.fontMetrics().lineSpacing() + 24)
    return box


def _text(field: QLineEdit) -> str | None:
    return field.text().strip() or None


class ServiceSettings(QWidget):
    """[monitor] every and keep; [retrain] on_drift, on_metric_drop, every, on_new_data,
    promote."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.every = QLineEdit(DEFAULT_EVERY)
        self.every.setToolTip("How often the service evaluates [triggers] over each running "
                              'deployment ([monitor] every: "90s", "5m", "2h", "1d")')  # fmt: skip
        self.keep = QLineEdit()
        self.keep.setPlaceholderText("empty: keep every request")
        self.keep.setToolTip('Prediction log rows older than this are pruned once a day '
                             '([monitor] keep, e.g. "90d")')  # fmt: skip
        self.on_drift = QCheckBox("Retrain when the data drifts (a drift alert)")
        self.use_drop = QCheckBox("Retrain when a live metric falls below")
        self.drop_metric = QComboBox()
        self.drop_metric.addItems([m for m in metrics.ALL_METRICS if m not in ("log_loss",)])
        self.drop_metric.setCurrentText("f1")
        self.drop_below = QDoubleSpinBox(decimals=3, minimum=-1e9, maximum=1e9, value=0.8)
        self.use_every = QCheckBox("Retrain on a schedule, every")
        self.retrain_every = QLineEdit("30d")
        self.on_new_data = QComboBox()
        self.on_new_data.setEditable(True)
        self.on_new_data.setToolTip("Retrain when this data set gets a new version (empty: "
                                    "never) ([retrain] on_new_data)")  # fmt: skip
        self.promote = QLineEdit()
        self.promote.setPlaceholderText("empty: promote nothing (a person does)")
        self.promote.setToolTip("Move this alias to a retrained version when its gates pass; "
                                "a gate that needs an approval always stops it ([retrain] "
                                "promote)")  # fmt: skip
        self.preview = preview_box(9)
        self._layout()
        self._connect()
        self._changed()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Check the triggers every", self.every)
        form.addRow("Keep prediction logs for", self.keep)
        form.addRow(self.on_drift)
        drop = QHBoxLayout()
        drop.addWidget(self.drop_metric)
        drop.addWidget(self.drop_below)
        form.addRow(self.use_drop, drop)
        form.addRow(self.use_every, self.retrain_every)
        form.addRow("Retrain on new data of", self.on_new_data)
        form.addRow("Promote retrained versions to", self.promote)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("In shipway.toml:"))
        layout.addWidget(self.preview)
        layout.addStretch(1)

    def _connect(self) -> None:
        for box in (self.on_drift, self.use_drop, self.use_every):
            box.toggled.connect(self._changed)
        for field in (self.every, self.keep, self.retrain_every, self.promote):
            field.textChanged.connect(self._changed)
        self.drop_metric.currentIndexChanged.connect(self._changed)
        self.drop_below.valueChanged.connect(self._changed)
        self.on_new_data.currentTextChanged.connect(self._changed)

    def set_datasets(self, names: list[str]) -> None:
        current = self.on_new_data.currentText()
        self.on_new_data.clear()
        self.on_new_data.addItems(["", *names])
        self.on_new_data.setCurrentText(current)

    def set_values(self, monitor: dict[str, Any], retrain: dict[str, Any]) -> None:
        """Show the tables as written (plain values)."""
        self.every.setText(str(monitor.get("every", DEFAULT_EVERY)))
        self.keep.setText(str(monitor.get("keep", "") or ""))
        self.on_drift.setChecked(retrain.get("on_drift") is True)
        drop = retrain.get("on_metric_drop")
        self.use_drop.setChecked(isinstance(drop, dict))
        if isinstance(drop, dict):
            self.drop_metric.setCurrentText(str(drop.get("metric", "f1")))
            below = drop.get("below")
            if isinstance(below, int | float) and not isinstance(below, bool):
                self.drop_below.setValue(float(below))
        every = retrain.get("every")
        self.use_every.setChecked(every is not None)
        self.retrain_every.setText(str(every) if every is not None else "30d")
        self.on_new_data.setCurrentText(str(retrain.get("on_new_data") or ""))
        self.promote.setText(str(retrain.get("promote") or ""))
        self._changed()

    def tables(self) -> dict[str, dict[str, Any]]:
        drop = {"metric": self.drop_metric.currentText(), "below": self.drop_below.value()}
        every = self.every.text().strip()
        return {
            "monitor": {
                "every": None if every == DEFAULT_EVERY else _text(self.every),
                "keep": _text(self.keep),
            },
            "retrain": {
                "on_drift": True if self.on_drift.isChecked() else None,
                "on_metric_drop": drop if self.use_drop.isChecked() else None,
                "every": _text(self.retrain_every) if self.use_every.isChecked() else None,
                "on_new_data": self.on_new_data.currentText().strip() or None,
                "promote": _text(self.promote),
            },
        }

    def problem(self) -> str:
        if self.use_every.isChecked() and not self.retrain_every.text().strip():
            return 'Write how often to retrain (e.g. "30d"), or untick the schedule.'
        return ""

    def _changed(self, *_: object) -> None:
        self.drop_metric.setEnabled(self.use_drop.isChecked())
        self.drop_below.setEnabled(self.use_drop.isChecked())
        self.retrain_every.setEnabled(self.use_every.isChecked())
        self.preview.setPlainText(toml_preview(self.tables()))
        self.changed.emit()


class NotifySettingsForm(QWidget):
    """[notify]: e-mail (SMTP), a webhook, and the app's own notifications."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        # a check box above each group (a checkable QGroupBox draws the platform's indicator,
        # nearly invisible on the dark theme; the app's check boxes are drawn from its icons)
        self.email = QCheckBox("Send e-mail")
        self.email_fields = QGroupBox()
        self.to = QLineEdit()
        self.to.setPlaceholderText("team@example.org, ada@example.org")
        self.host = QLineEdit()
        self.host.setPlaceholderText("smtp.example.org")
        self.port = QSpinBox(minimum=1, maximum=65535, value=587)
        self.security = QComboBox()
        for label, value in SECURITY:
            self.security.addItem(label, value)
        self.user = QLineEdit()
        self.user.setPlaceholderText("empty: no login")
        self.password_env = QLineEdit(DEFAULT_PASSWORD_ENV)
        self.sender = QLineEdit()
        self.sender.setPlaceholderText("empty: the user, else shipway@this machine")
        self.password_note = QLabel()
        self.password_note.setWordWrap(True)
        self.password_note.setProperty("muted", True)
        self.webhook = QCheckBox("Post to a webhook (Slack, Teams, Mattermost, your own)")
        self.webhook_fields = QGroupBox()
        self.webhook_source = QComboBox()
        for label, value in WEBHOOK_SOURCES:
            self.webhook_source.addItem(label, value)
        self.webhook_value = QLineEdit(DEFAULT_WEBHOOK_ENV)
        self.webhook_format = QComboBox()
        self.webhook_format.addItems(["json", "slack"])
        self.desktop = QCheckBox("Show notices in this app while it runs")
        self.desktop.setChecked(True)
        self.preview = preview_box(5)
        self._layout()
        self._connect()
        self._changed()

    def _layout(self) -> None:
        mail = QFormLayout(self.email_fields)
        server = QHBoxLayout()
        server.addWidget(self.host, 1)
        server.addWidget(QLabel("port"))
        server.addWidget(self.port)
        mail.addRow("To", self.to)
        mail.addRow("SMTP host", server)
        for label, field in (("Security", self.security), ("User", self.user),
                             ("Password from variable", self.password_env),
                             ("Sender", self.sender)):  # fmt: skip
            mail.addRow(label, field)
        mail.addRow(self.password_note)
        hook = QFormLayout(self.webhook_fields)
        source = QHBoxLayout()
        source.addWidget(self.webhook_source)
        source.addWidget(self.webhook_value, 1)
        hook.addRow("Address from", source)
        hook.addRow("Body", self.webhook_format)
        layout = QVBoxLayout(self)
        for part in (self.email, self.email_fields, self.webhook, self.webhook_fields,
                     self.desktop):  # fmt: skip
            layout.addWidget(part)
        layout.addWidget(QLabel("In shipway.toml:"))
        layout.addWidget(self.preview)
        layout.addStretch(1)

    def _connect(self) -> None:
        for group in (self.email, self.webhook):
            group.toggled.connect(self._changed)
        for field in (self.to, self.host, self.user, self.password_env, self.sender,
                      self.webhook_value):  # fmt: skip
            field.textChanged.connect(self._changed)
        self.port.valueChanged.connect(self._changed)
        self.security.currentIndexChanged.connect(self._security)
        self.webhook_source.currentIndexChanged.connect(self._source)
        self.webhook_format.currentIndexChanged.connect(self._changed)
        self.desktop.toggled.connect(self._changed)

    def _security(self, *_: object) -> None:
        self.port.setValue(465 if self.security.currentData() == "ssl" else 587)
        self._changed()

    def _source(self, *_: object) -> None:
        by_env = self.webhook_source.currentData() == "url_env"
        self.webhook_value.setPlaceholderText(
            DEFAULT_WEBHOOK_ENV if by_env else "https://hooks.example.org/…"
        )
        self._changed()

    def set_values(self, notify: dict[str, Any]) -> None:
        email = notify.get("email")
        self.email.setChecked(isinstance(email, dict))
        if isinstance(email, dict):
            to = email.get("to", [])
            self.to.setText(", ".join(to) if isinstance(to, list) else str(to))
            self.host.setText(str(email.get("host", "")))
            security = "ssl" if email.get("ssl") else (
                "none" if email.get("starttls") is False else "starttls")  # fmt: skip
            self.security.setCurrentIndex(self.security.findData(security))
            self.port.setValue(int(email.get("port", 587)))
            self.user.setText(str(email.get("user", "") or ""))
            self.password_env.setText(str(email.get("password_env", "") or ""))
            self.sender.setText(str(email.get("sender", "") or ""))
        hook = notify.get("webhook")
        self.webhook.setChecked(isinstance(hook, dict))
        if isinstance(hook, dict):
            key = "url" if "url" in hook and "url_env" not in hook else "url_env"
            self.webhook_source.setCurrentIndex(self.webhook_source.findData(key))
            self.webhook_value.setText(str(hook.get(key, "")))
            self.webhook_format.setCurrentText(str(hook.get("format", "json")))
        self.desktop.setChecked(notify.get("desktop", True) is not False)
        self._changed()

    def _email(self) -> dict[str, Any] | None:
        if not self.email.isChecked():
            return None
        security = self.security.currentData()
        mail: dict[str, Any] = {
            "to": [a.strip() for a in self.to.text().replace(";", ",").split(",") if a.strip()],
            "host": self.host.text().strip(),
            "port": self.port.value(),
            "starttls": security == "starttls",
        }
        if security == "ssl":
            mail["ssl"] = True
        for key, field in (("user", self.user), ("password_env", self.password_env),
                           ("sender", self.sender)):  # fmt: skip
            if _text(field):
                mail[key] = _text(field)
        return mail

    def _webhook(self) -> dict[str, Any] | None:
        if not self.webhook.isChecked():
            return None
        hook: dict[str, Any] = {
            self.webhook_source.currentData(): self.webhook_value.text().strip()
        }
        if self.webhook_format.currentText() != "json":
            hook["format"] = self.webhook_format.currentText()
        return hook

    def tables(self) -> dict[str, dict[str, Any]]:
        desktop = None if self.desktop.isChecked() else False  # true is the default
        return {"notify": {"email": self._email(), "webhook": self._webhook(), "desktop": desktop}}

    def problem(self) -> str:
        mail = self._email()
        if mail is not None and (not mail["to"] or not mail["host"]):
            return "E-mail needs at least one address to send to and the SMTP host."
        hook = self._webhook()
        if hook is not None and not next(iter(hook.values())):
            return "Name the environment variable that holds the webhook's address, or write it."
        return ""

    def _changed(self, *_: object) -> None:
        self.email_fields.setEnabled(self.email.isChecked())
        self.webhook_fields.setEnabled(self.webhook.isChecked())
        host = self.host.text().strip() or "HOST"
        user = self.user.text().strip() or "USER"
        variable = self.password_env.text().strip() or DEFAULT_PASSWORD_ENV
        self.password_note.setText(
            "The password is never written to shipway.toml. The service reads it from the "
            f"environment variable {variable}, else from the system keyring: "
            f"keyring set shipway {host}/{user}"
        )
        self.preview.setPlainText(toml_preview(self.tables()))
        self.changed.emit()
