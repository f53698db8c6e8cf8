"""Real receivers for notices, on 127.0.0.1: an SMTP server (aiosmtpd) that keeps what it is
sent and checks logins, an HTTP receiver that answers from a script, a port that accepts and
never answers, and a self-signed certificate (made with openssl) for TLS."""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    """A port nobody listens on (closed again at once: connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate for the TLS tests")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


# -- SMTP -----------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server was sent, and the logins it was offered."""

    password: str | None = None  # the one password it accepts (None: no login needed)
    messages: list[tuple[list[str], EmailMessage, bool]] = field(default_factory=list)  # over TLS?
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.messages.append((list(envelope.rcpt_tos), message, tls))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=password == self.password, handled=False)


@contextmanager
def smtp_server(mailbox: Mailbox, **options: Any) -> Iterator[int]:
    """A real SMTP server on 127.0.0.1 delivering into ``mailbox``; yields its port.

    ``options`` go to aiosmtpd (``tls_context`` for STARTTLS, ``ssl_context`` for implicit
    TLS). With ``mailbox.password`` set, a login is required and checked.
    """
    if mailbox.password is not None:
        options |= {"authenticator": mailbox.authenticate, "auth_required": True}
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.ready_timeout = 60.0
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


# -- HTTP -----------------------------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP receiver answering each POST with the next status of ``script`` (then 200)."""

    script: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    bodies: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def answer(self) -> tuple[int, dict[str, str]]:
        step = self.script.pop(0) if self.script else 200
        return step if isinstance(step, tuple) else (step, {})


@contextmanager
def http_receiver(receiver: Receiver, path: str = "/hooks/T0/secret-token") -> Iterator[Receiver]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            receiver.bodies.append(json.loads(self.rfile.read(length)))
            receiver.headers.append(dict(self.headers))
            status, extra = receiver.answer()
            self.send_response(status)
            for name, value in (extra | {"Content-Length": "2"}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=60)
