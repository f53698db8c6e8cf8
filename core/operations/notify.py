"""Telling people: one :class:`~core.operations.notices.Notice` sent to each channel of
``[notify]`` (e-mail over SMTP, a webhook), standard library only.

Design decisions:

- :func:`send` never raises for a channel that fails: each channel gives one
  :class:`~core.operations.notices.Delivery` (its attempts and a one-line error), so a broken
  mail server never keeps the webhook (or the service) from going on.
- ``desktop`` is not sent from here: the app shows notices from the audit trail. When
  ``desktop = true`` the channel's Delivery is ``ok`` with 0 attempts, recorded for the app.
- E-mail: one attempt, a time limit of :data:`SMTP_TIMEOUT_S` on every network step, STARTTLS
  (``starttls = true``, port 587) or implicit TLS (``ssl = true``, port 465) with the system's
  certificate authorities (a private one: point ``SSL_CERT_FILE`` at it). The password comes
  from the environment variable ``password_env`` names, else from the system keyring
  (``keyring`` key ``shipway`` / ``<host>/<user>``, when the ``keyring`` package is installed),
  never from shipway.toml; it is looked up before connecting, so a missing one sends nothing.
- Webhook: a JSON POST with a Slack-compatible ``text``; ``timeout_s`` bounds each network step
  of a try. Connection errors, timeouts, 429 and 5xx answers are retried ``retries`` times with
  exponential backoff (1 s, 2 s, 4 s … capped at :data:`BACKOFF_CAP_S`, longer when a 429 says
  ``Retry-After``); any other answer is final (a wrong URL will not heal), and so is a
  redirect, which is never followed (a POST turned into a GET would lose the notice). Errors
  show the URL's scheme and host only: a chat webhook's path is its secret.
"""

from __future__ import annotations

import contextlib
import json
import os
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from http.client import HTTPException
from urllib.parse import urlsplit

from core import __version__
from core.errors import ShipwayError
from core.operations.config import EmailSettings, NotifySettings, WebhookSettings
from core.operations.notices import Delivery, Notice
from core.times import iso_seconds, utcnow

SMTP_TIMEOUT_S = 20.0
BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0
KEYRING_SERVICE = "shipway"

Sleep = Callable[[float], None]


class NotifyError(ShipwayError, code="notify"):
    """A notice could not be delivered through one channel."""


def send(
    notice: Notice,
    settings: NotifySettings,
    *,
    environ: Mapping[str, str] = os.environ,
    sleep: Sleep = time.sleep,
) -> tuple[Delivery, ...]:
    """Send ``notice`` to every channel of ``settings``: one Delivery per channel, never raises.

    ``sleep`` waits between webhook tries (tests pass one that does not wait on the clock).
    """
    deliveries = []
    if settings.email is not None:
        deliveries.append(_deliver_email(notice, settings.email, environ))
    if settings.webhook is not None:
        deliveries.append(send_webhook(notice, settings.webhook, sleep=sleep))
    if settings.desktop:
        deliveries.append(Delivery("desktop", ok=True, attempts=0))  # recorded for the app
    return tuple(deliveries)


def test_notices(project_name: str) -> Notice:
    """The notice ``shipway notify test`` sends."""
    host = socket.gethostname()
    return Notice(
        kind="test",
        project=project_name,
        title="Test notice",
        text=f"This is a test notice of Shipway project {project_name!r}, sent from {host}. "
        "If you read it, this channel works; nothing needs doing.",
        detail={"sent_at": iso_seconds(utcnow()), "host": host},
    )


test_notices.__test__ = False  # type: ignore[attr-defined]  # a name pytest must not collect


# -- e-mail ---------------------------------------------------------------------------------


def _deliver_email(notice: Notice, settings: EmailSettings, environ: Mapping[str, str]) -> Delivery:
    try:
        password = smtp_password(settings, environ) if settings.user else None
    except NotifyError as error:
        return Delivery("email", ok=False, attempts=0, error=error.one_line())
    try:
        send_email(notice, settings, password)
    except NotifyError as error:
        return Delivery("email", ok=False, attempts=1, error=error.one_line())
    return Delivery("email", ok=True, attempts=1)


def smtp_password(settings: EmailSettings, environ: Mapping[str, str]) -> str:
    """The SMTP password: ``$password_env``, else the system keyring; never shipway.toml."""
    if settings.password_env and environ.get(settings.password_env):
        return environ[settings.password_env]
    stored = _keyring_password(settings.host, settings.user or "")
    if stored:
        return stored
    account = f"{settings.host}/{settings.user}"
    keyring_step = f"or store it with `keyring set {KEYRING_SERVICE} {account}`"
    hint = (
        f"set the environment variable {settings.password_env} for Shipway, {keyring_step}"
        if settings.password_env
        else f'name an environment variable with password_env = "…", {keyring_step}'
    )
    raise NotifyError(f"no SMTP password for {settings.user}", where=f"[notify] email {account}",
                      hint=hint)  # fmt: skip


def _keyring_password(host: str, user: str) -> str | None:
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, f"{host}/{user}")
    except Exception:  # no usable keyring backend (a headless machine): as if nothing stored
        return None


def email_message(notice: Notice, settings: EmailSettings) -> EmailMessage:
    """Plain UTF-8 text: the notice's text, then its detail as indented JSON."""
    message = EmailMessage()
    message["Subject"] = f"[Shipway {notice.project}] {notice.title}"
    message["From"] = settings.sender or settings.user or f"shipway@{socket.gethostname()}"
    message["To"] = ", ".join(settings.to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="shipway")
    body = notice.text.rstrip() + "\n"
    if notice.detail:
        detail = json.dumps(notice.detail, indent=2, ensure_ascii=False, default=str)
        body += f"\n{detail}\n"
    message.set_content(body, charset="utf-8")
    return message


def send_email(
    notice: Notice,
    settings: EmailSettings,
    password: str | None,
    *,
    timeout: float = SMTP_TIMEOUT_S,
) -> None:
    """Send one e-mail; raise :class:`NotifyError` saying what failed, where, what to do."""
    message = email_message(notice, settings)
    try:
        client = _smtp_client(settings, timeout)
        try:
            if settings.user:
                client.login(settings.user, password or "")
            client.send_message(message)
            _quit(client)
        finally:
            client.close()
    except (smtplib.SMTPException, OSError) as error:
        raise _smtp_error(error, settings, timeout) from None


def _smtp_client(settings: EmailSettings, timeout: float) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.ssl:
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    try:
        if settings.starttls:
            client.starttls(context=context)
    except BaseException:
        client.close()
        raise
    return client


def _quit(client: smtplib.SMTP) -> None:
    # the message was accepted: a server that hangs up early changes nothing
    with contextlib.suppress(smtplib.SMTPException, OSError):
        client.quit()


def _smtp_error(error: Exception, settings: EmailSettings, timeout: float) -> NotifyError:
    at = f"smtp://{settings.host}:{settings.port}"
    tls_hint = (
        "check port and TLS in [notify] email (587 with starttls = true, 465 with ssl = true); "
        "a private certificate authority goes in SSL_CERT_FILE"
    )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return NotifyError(f"the SMTP server refused the login of {settings.user}: "
                           f"{_reply(error)}", where=at, hint="check the password (its "
                           "environment variable or keyring entry) and the user")  # fmt: skip
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return NotifyError(f"the SMTP server cannot do what [notify] email asks: {error}",
                           where=at, hint=tls_hint)  # fmt: skip
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(sorted(error.recipients))
        return NotifyError(f"the SMTP server refused the recipients {refused}", where=at,
                           hint="check to = [...] in [notify] email")  # fmt: skip
    if isinstance(error, smtplib.SMTPResponseException):
        return NotifyError(f"the SMTP server answered {_reply(error)}", where=at,
                           hint="check sender, user and to in [notify] email")  # fmt: skip
    if isinstance(error, ssl.SSLError | ssl.CertificateError):
        return NotifyError(f"TLS with the SMTP server failed: {error}", where=at, hint=tls_hint)
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        return NotifyError(f"the SMTP server did not answer within {timeout:g} s", where=at,
                           hint="check host and port in [notify] email")  # fmt: skip
    return NotifyError(f"cannot reach the SMTP server: {error}", where=at,
                       hint="check host and port in [notify] email and that the server "
                       "is up")  # fmt: skip


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{error.smtp_code} {' '.join(text.split())}"


# -- webhook --------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx answer is then raised as an HTTPError: a final failure


def webhook_body(notice: Notice, fmt: str) -> dict:
    """Slack-compatible: ``text``; with format "json" also Shipway's whole notice."""
    body: dict = {"text": f"{notice.title}\n{notice.text}"}
    if fmt == "json":
        body["shipway"] = notice.to_dict()
    return body


def send_webhook(
    notice: Notice, settings: WebhookSettings, *, sleep: Sleep = time.sleep
) -> Delivery:
    """POST ``notice``, retrying what may heal; the Delivery tells how it went."""
    data = json.dumps(webhook_body(notice, settings.format), default=str).encode("utf-8")
    for attempt in range(1, settings.retries + 2):
        failure = _post(settings, data)
        if failure is None:
            return Delivery("webhook", ok=True, attempts=attempt)
        if not failure.retry or attempt > settings.retries:
            break
        sleep(max(backoff_s(attempt), failure.wait_s))
    tries = f" (after {attempt} attempts)" if attempt > 1 else ""
    error = NotifyError(failure.message + tries, where=_shown(settings.url), hint=failure.hint)
    return Delivery("webhook", ok=False, attempts=attempt, error=error.one_line())


def backoff_s(attempt: int) -> float:
    """The wait after failed try number ``attempt`` (1, 2, 3 …): 1 s, 2 s, 4 s … capped."""
    return min(BACKOFF_START_S * 2 ** (attempt - 1), BACKOFF_CAP_S)


@dataclass(frozen=True)
class _Failure:
    message: str
    hint: str
    retry: bool
    wait_s: float = 0.0


def _post(settings: WebhookSettings, data: bytes) -> _Failure | None:
    """One try: None when delivered, else what failed and whether another try may heal it."""
    request = urllib.request.Request(settings.url, data=data, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"Shipway/{__version__}",
    })  # fmt: skip
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=settings.timeout_s) as answer:
            answer.read()
        return None
    except urllib.error.HTTPError as answer:
        answer.close()
        return _answer_failure(answer.code, answer.reason, answer.headers.get("Retry-After"))
    except (OSError, HTTPException) as failed:
        reason = failed.reason if isinstance(failed, urllib.error.URLError) else failed
        hint = "check url in [notify] webhook and that the receiver is up"
        if isinstance(reason, TimeoutError):
            message = f"the webhook did not answer within {settings.timeout_s:g} s"
            return _Failure(message, hint + ", or raise timeout_s", retry=True)
        message = f"cannot reach the webhook: {str(reason) or type(reason).__name__}"
        return _Failure(message, hint, not isinstance(reason, ssl.SSLCertVerificationError))


def _answer_failure(code: int, reason: str, retry_after: str | None) -> _Failure:
    message = f"the webhook answered {code} {reason}"
    if code == 429:
        return _Failure(message, "the receiver limits requests", True, _retry_after(retry_after))
    if code >= 500:
        return _Failure(message, "the receiver failed: check it", retry=True)
    if 300 <= code < 400:
        hint = "a redirect is not followed: put the address it points to in [notify] webhook url"
        return _Failure(message, hint, retry=False)
    return _Failure(message, "check url in [notify] webhook", retry=False)


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 0), 0.0), BACKOFF_CAP_S)
    except ValueError:
        return 0.0  # an HTTP date: the backoff's own wait will do


def _shown(url: str) -> str:
    """``scheme://host[:port]``: enough to tell which receiver, not its secret path."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
