"""`shipway notify test` end to end: a real `shipway` process reads [notify] of a real project's
shipway.toml and sends its test notice to a real SMTP server (STARTTLS and a login) and a real
HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.notify_receivers import (
    Mailbox,
    Receiver,
    free_port,
    http_receiver,
    make_certificate,
    server_context,
    smtp_server,
)
from tests.e2e.cli import shipway

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project; the `shipway` processes find no password but the one a test sets."""
    monkeypatch.delenv("SHIPWAY_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    root = tmp_path / "penguins"
    result = shipway(tmp_path, "init", str(root))
    assert result.returncode == 0, result.stderr
    return root


@pytest.fixture
def tls_mailbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server asking for STARTTLS and a login, its certificate trusted by SSL_CERT_FILE."""
    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    mailbox = Mailbox(password="s3cret")
    with smtp_server(mailbox, tls_context=server_context(cert, key), require_starttls=True) as port:
        yield mailbox, port


def add_notify(root: Path, text: str) -> None:
    settings = root / "shipway.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + f"\n[notify]\n{text}\n", "utf-8")


def email_line(port: int) -> str:
    return (f'email = {{ to = ["team@example.org"], host = "127.0.0.1", port = {port}, '
            'starttls = true, user = "ops", password_env = "SHIPWAY_SMTP_PASSWORD" }')  # fmt: skip


def test_json_reports_each_channel(
    project: Path, tls_mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox, port = tls_mailbox
    monkeypatch.setenv("SHIPWAY_SMTP_PASSWORD", "s3cret")
    with http_receiver(Receiver(script=[503])) as receiver:
        add_notify(project, f'{email_line(port)}\nwebhook = {{ url = "{receiver.url}" }}')
        result = shipway(project, "notify", "test", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["deliveries"] == [
        {"channel": "email", "ok": True, "attempts": 1, "error": None},
        {"channel": "webhook", "ok": True, "attempts": 2, "error": None},
    ]
    assert mailbox.logins == [("ops", "s3cret")]
    ((recipients, message, over_tls),) = mailbox.messages
    assert recipients == ["team@example.org"] and over_tls
    assert message["Subject"] == "[Shipway penguins] Test notice"
    body = receiver.bodies[-1]
    assert body["shipway"]["kind"] == "test" and body["shipway"]["project"] == "penguins"
    assert body["text"].startswith("Test notice\n")


def test_a_failing_channel_is_named_and_exits_1(
    project: Path, tls_mailbox: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox, port = tls_mailbox
    monkeypatch.setenv("SHIPWAY_SMTP_PASSWORD", "s3cret")
    with http_receiver(Receiver(script=[404])) as receiver:
        add_notify(project, f'{email_line(port)}\nwebhook = {{ url = "{receiver.url}" }}')
        result = shipway(project, "notify", "test")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "email: ok"
    assert lines[1].startswith("webhook: the webhook answered 404")
    assert result.stderr.strip() == "shipway: error: the test notice failed by webhook"
    assert len(mailbox.messages) == 1 and len(receiver.bodies) == 1


def test_a_missing_password_is_named_and_nothing_is_sent(
    project: Path, tls_mailbox: tuple[Mailbox, int]
) -> None:
    mailbox, port = tls_mailbox
    add_notify(project, email_line(port))
    result = shipway(project, "notify", "test", "--json")
    assert result.returncode == 1
    (delivery,) = json.loads(result.stdout)["deliveries"]
    assert delivery["channel"] == "email" and not delivery["ok"] and delivery["attempts"] == 0
    assert "SHIPWAY_SMTP_PASSWORD" in delivery["error"]
    assert "email" in result.stderr
    assert mailbox.logins == [] and mailbox.messages == []


def test_an_unreachable_mail_server(project: Path) -> None:
    add_notify(project, f'email = {{ to = ["a@example.org"], host = "127.0.0.1", '
                        f"port = {free_port()}, starttls = false }}")  # fmt: skip
    result = shipway(project, "notify", "test")
    assert result.returncode == 1
    assert result.stdout.startswith("email: cannot reach the SMTP server")


def test_no_channel_is_a_clear_error(project: Path) -> None:
    add_notify(project, "desktop = true")
    result = shipway(project, "notify", "test")
    assert result.returncode == 1
    assert "[notify] has no channel to test" in result.stderr
    assert "shipway.toml" in result.stderr and "webhook = {" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_broken_notify_table_names_key_and_line(project: Path) -> None:
    add_notify(project, 'webhook = { url = "ftp://example.org/hook" }')
    lines = (project / "shipway.toml").read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if text.startswith("webhook"))
    result = shipway(project, "notify", "test", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"] == "operations_config"
    assert f"shipway.toml line {line}" in result.stderr
    assert "webhook needs an http(s) url" in result.stderr
