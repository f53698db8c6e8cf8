"""Notices sent to real receivers on 127.0.0.1: an SMTP server (plain, STARTTLS and implicit
TLS, with logins it checks) and an HTTP receiver that fails on purpose. Backoff waits go to an
injected ``sleep`` that records them, so no test waits on the clock."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ShipwayError
from core.operations.config import EmailSettings, NotifySettings, WebhookSettings
from core.operations.notices import Delivery, Notice
from core.operations.notify import (
    BACKOFF_CAP_S,
    NotifyError,
    backoff_s,
    send,
    send_email,
    send_webhook,
    test_notices,
)
from tests.core.notify_receivers import (
    Mailbox,
    Receiver,
    free_port,
    http_receiver,
    make_certificate,
    server_context,
    silent_port,
    smtp_server,
)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

NOTICE = Notice(
    kind="alert",
    project="pingüins",
    title="Drift on déploiement 3 ✓",
    text="Data set drift in 2 buckets in a row.\nLook at the drift page.",
    detail={"deployment": "3", "buckets": ["2026-01-01T12:00:00Z"], "share": 0.25},
)


class Sleeps(list):
    """A ``sleep`` that waits for nothing and remembers what it was asked."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """The server's TLS, with its certificate trusted the way a private authority is (by
    SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    return server_context(*certificate)


@pytest.fixture
def memory_keyring() -> Iterator[dict]:
    """The system keyring, as an in-memory backend of the real ``keyring`` package."""
    keyring = pytest.importorskip("keyring")
    from keyring.backend import KeyringBackend

    stored: dict[tuple[str, str], str] = {}

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return stored.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            stored[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            stored.pop((service, username), None)

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield stored
    keyring.set_keyring(previous)


@pytest.fixture
def empty_keyring() -> Iterator[None]:
    """No password in the system keyring (whether or not ``keyring`` is installed)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        yield None
        return
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # a machine without a keyring service
    yield None
    keyring.set_keyring(previous)


def email(port: int, **options) -> EmailSettings:
    return EmailSettings(to=("team@example.org", "ops@example.org"), host="127.0.0.1",
                         port=port, **({"starttls": False} | options))  # fmt: skip


def only(settings: EmailSettings | WebhookSettings) -> NotifySettings:
    if isinstance(settings, EmailSettings):
        return NotifySettings(email=settings, desktop=False)
    return NotifySettings(webhook=settings, desktop=False)


# -- e-mail ---------------------------------------------------------------------------------


def test_mail_arrives_with_subject_recipients_and_body() -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        (delivery,) = send(NOTICE, only(email(port)))
    assert delivery == Delivery("email", ok=True, attempts=1)
    ((recipients, message, _tls),) = mailbox.messages
    assert recipients == ["team@example.org", "ops@example.org"]
    assert message["Subject"] == "[Shipway pingüins] Drift on déploiement 3 ✓"
    assert message["To"] == "team@example.org, ops@example.org"
    assert message["From"].startswith("shipway@")
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    body = message.get_content().replace("\r\n", "\n")  # lines end in CRLF on the wire
    assert body.startswith(NOTICE.text + "\n\n")
    assert json.loads(body[len(NOTICE.text) :]) == NOTICE.detail


def test_sender_is_the_one_configured_else_the_user() -> None:
    mailbox = Mailbox(password="pw")
    with smtp_server(mailbox, auth_require_tls=False) as port:
        send(NOTICE, only(email(port, user="ops@example.org", password_env="PW")),
             environ={"PW": "pw"})  # fmt: skip
        send(NOTICE, only(email(port, user="ops", password_env="PW", sender="ml@example.org")),
             environ={"PW": "pw"})  # fmt: skip
    assert [m["From"] for _r, m, _t in mailbox.messages] == ["ops@example.org", "ml@example.org"]


def test_starttls_login_with_the_password_from_the_environment(trusted: ssl.SSLContext) -> None:
    mailbox = Mailbox(password="s3cret")
    with smtp_server(mailbox, tls_context=trusted, require_starttls=True) as port:
        settings = email(port, starttls=True, user="ops", password_env="SMTP_PW")
        (delivery,) = send(NOTICE, only(settings), environ={"SMTP_PW": "s3cret"})
    assert delivery.ok, delivery.error
    assert mailbox.logins == [("ops", "s3cret")]
    ((_recipients, message, over_tls),) = mailbox.messages
    assert over_tls
    assert message["Subject"].startswith("[Shipway pingüins]")


def test_implicit_tls(trusted: ssl.SSLContext) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox, ssl_context=trusted) as port:
        (delivery,) = send(NOTICE, only(email(port, ssl=True)))
    assert delivery.ok, delivery.error
    assert [tls for _r, _m, tls in mailbox.messages] == [True]


def test_password_from_the_system_keyring(memory_keyring: dict) -> None:
    memory_keyring[("shipway", "127.0.0.1/ops")] = "from-keyring"
    mailbox = Mailbox(password="from-keyring")
    with smtp_server(mailbox, auth_require_tls=False) as port:
        (delivery,) = send(NOTICE, only(email(port, user="ops")), environ={})
    assert delivery.ok, delivery.error
    assert mailbox.logins[-1] == ("ops", "from-keyring")
    assert len(mailbox.messages) == 1


def test_the_environment_wins_over_the_keyring(memory_keyring: dict) -> None:
    memory_keyring[("shipway", "127.0.0.1/ops")] = "old"
    mailbox = Mailbox(password="new")
    with smtp_server(mailbox, auth_require_tls=False) as port:
        settings = email(port, user="ops", password_env="SMTP_PW")
        (delivery,) = send(NOTICE, only(settings), environ={"SMTP_PW": "new"})
    assert delivery.ok, delivery.error
    assert mailbox.logins == [("ops", "new")]


def test_a_missing_password_sends_nothing_and_says_what_to_do(empty_keyring: None) -> None:
    mailbox = Mailbox(password="s3cret")
    with smtp_server(mailbox, auth_require_tls=False) as port:
        settings = email(port, user="ops", password_env="SMTP_PW")
        (delivery,) = send(NOTICE, only(settings), environ={"OTHER": "x"})
    assert not delivery.ok and delivery.attempts == 0
    assert "no SMTP password for ops" in delivery.error
    assert "SMTP_PW" in delivery.error and "keyring set shipway 127.0.0.1/ops" in delivery.error
    assert "\n" not in delivery.error
    assert mailbox.logins == [] and mailbox.messages == []


def test_a_refused_login_is_a_clear_error(trusted: ssl.SSLContext) -> None:
    mailbox = Mailbox(password="s3cret")
    with smtp_server(mailbox, tls_context=trusted, require_starttls=True) as port:
        settings = email(port, starttls=True, user="ops", password_env="SMTP_PW")
        (delivery,) = send(NOTICE, only(settings), environ={"SMTP_PW": "wrong"})
    assert not delivery.ok
    assert "refused the login of ops" in delivery.error
    assert f"smtp://127.0.0.1:{port}" in delivery.error
    assert "wrong" not in delivery.error
    assert mailbox.messages == []


def test_an_untrusted_certificate_fails_tls(certificate: tuple[Path, Path]) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox, tls_context=server_context(*certificate)) as port:
        (delivery,) = send(NOTICE, only(email(port, starttls=True)))
    assert not delivery.ok
    assert "TLS with the SMTP server failed" in delivery.error
    assert "SSL_CERT_FILE" in delivery.error
    assert mailbox.messages == []


def test_starttls_asked_of_a_server_without_it() -> None:
    with smtp_server(Mailbox()) as port:
        (delivery,) = send(NOTICE, only(email(port, starttls=True)))
    assert not delivery.ok
    assert "STARTTLS" in delivery.error and "starttls = true" in delivery.error


def test_an_unreachable_host_is_a_failed_delivery() -> None:
    port = free_port()
    (delivery,) = send(NOTICE, only(email(port)))
    assert not delivery.ok and delivery.attempts == 1
    assert delivery.error.startswith("cannot reach the SMTP server")
    assert f"smtp://127.0.0.1:{port}" in delivery.error
    assert "check host and port" in delivery.error


@pytest.mark.timeout(120)
def test_a_server_that_never_answers_fails_within_the_time_limit() -> None:
    with silent_port() as port, pytest.raises(NotifyError) as caught:
        send_email(NOTICE, email(port), None, timeout=0.5)
    assert "did not answer within 0.5 s" in caught.value.one_line()
    assert isinstance(caught.value, ShipwayError)


# -- webhook --------------------------------------------------------------------------------


def test_retried_after_two_failures_and_delivered_on_the_third_try() -> None:
    sleeps = Sleeps()
    with http_receiver(Receiver(script=[500, 503])) as receiver:
        delivery = send_webhook(NOTICE, WebhookSettings(receiver.url, retries=3), sleep=sleeps)
    assert delivery == Delivery("webhook", ok=True, attempts=3)
    assert sleeps == [1.0, 2.0]
    assert len(receiver.bodies) == 3
    body = receiver.bodies[-1]
    assert body == {"text": f"{NOTICE.title}\n{NOTICE.text}", "shipway": NOTICE.to_dict()}
    assert receiver.headers[-1]["Content-Type"].startswith("application/json")


def test_slack_format_sends_text_only() -> None:
    with http_receiver(Receiver()) as receiver:
        settings = WebhookSettings(receiver.url, format="slack")
        delivery = send_webhook(NOTICE, settings, sleep=Sleeps())
    assert delivery.ok
    assert receiver.bodies == [{"text": f"{NOTICE.title}\n{NOTICE.text}"}]


def test_a_receiver_that_always_fails_is_tried_retries_plus_one_times() -> None:
    sleeps = Sleeps()
    with http_receiver(Receiver(script=[500] * 10)) as receiver:
        delivery = send_webhook(NOTICE, WebhookSettings(receiver.url, retries=2), sleep=sleeps)
    assert not delivery.ok and delivery.attempts == 3
    assert len(receiver.bodies) == 3
    assert sleeps == [1.0, 2.0]
    assert "answered 500" in delivery.error and "after 3 attempts" in delivery.error
    assert "secret-token" not in delivery.error  # a chat webhook's path is its secret


def test_a_client_error_is_not_retried() -> None:
    sleeps = Sleeps()
    with http_receiver(Receiver(script=[404, 200])) as receiver:
        delivery = send_webhook(NOTICE, WebhookSettings(receiver.url, retries=3), sleep=sleeps)
    assert not delivery.ok and delivery.attempts == 1
    assert len(receiver.bodies) == 1 and sleeps == []
    assert "answered 404" in delivery.error and "check url in [notify] webhook" in delivery.error


def test_a_redirect_is_not_followed() -> None:
    with http_receiver(Receiver()) as target:
        moved = Receiver(script=[(302, {"Location": target.url})])
        with http_receiver(moved) as receiver:
            delivery = send_webhook(NOTICE, WebhookSettings(receiver.url), sleep=Sleeps())
    assert not delivery.ok and delivery.attempts == 1
    assert "redirect is not followed" in delivery.error
    assert target.bodies == []


def test_too_many_requests_waits_as_the_receiver_asks() -> None:
    sleeps = Sleeps()
    with http_receiver(Receiver(script=[(429, {"Retry-After": "7"})])) as receiver:
        delivery = send_webhook(NOTICE, WebhookSettings(receiver.url), sleep=sleeps)
    assert delivery.ok and delivery.attempts == 2
    assert sleeps == [7.0]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff_s(20) == BACKOFF_CAP_S


def test_an_unreachable_receiver_is_retried() -> None:
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{free_port()}/hook"
    delivery = send_webhook(NOTICE, WebhookSettings(url, retries=2), sleep=sleeps)
    assert not delivery.ok and delivery.attempts == 3
    assert sleeps == [1.0, 2.0]
    assert delivery.error.startswith("cannot reach the webhook")


@pytest.mark.timeout(120)  # a hang fails here, well before the suite's own limit
def test_a_receiver_that_hangs_fails_within_the_time_limits() -> None:
    sleeps = Sleeps()
    with silent_port() as port:
        settings = WebhookSettings(f"http://127.0.0.1:{port}/hook", timeout_s=0.3, retries=1)
        delivery = send_webhook(NOTICE, settings, sleep=sleeps)
    assert not delivery.ok and delivery.attempts == 2
    assert sleeps == [1.0]
    assert "did not answer within 0.3 s" in delivery.error


# -- all channels ---------------------------------------------------------------------------


def test_one_delivery_per_channel_and_a_failure_stops_no_other() -> None:
    with http_receiver(Receiver()) as receiver:
        settings = NotifySettings(
            email=email(free_port()), webhook=WebhookSettings(receiver.url), desktop=True
        )
        deliveries = send(NOTICE, settings, sleep=Sleeps())
    assert [(d.channel, d.ok) for d in deliveries] == [
        ("email", False),
        ("webhook", True),
        ("desktop", True),
    ]
    assert deliveries[2].attempts == 0  # recorded for the app, not sent from here
    assert len(receiver.bodies) == 1


def test_no_channel_sends_nothing() -> None:
    assert send(NOTICE, NotifySettings(desktop=False)) == ()


def test_the_test_notice() -> None:
    notice = test_notices("penguins")
    assert notice.kind == "test" and notice.project == "penguins"
    assert "penguins" in notice.text and notice.detail["sent_at"].endswith("Z")
