"""Who may talk to the server: Host and Origin checks (DNS rebinding) and the bearer token.

A web page on another site can make a browser send requests to ``127.0.0.1`` through a DNS name
it controls; such requests carry that name in ``Host`` (and the page's ``Origin``). Accepting
only the loopback names at the server's own port (plus configured names) stops them. The token
is compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

from core.serving.errors import Forbidden, Unauthorized

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
OPEN_ROUTES = frozenset({"/health", "/ping"})  # liveness probes (/ping: MLflow's)


def _normal(host: str, default_port: int) -> str | None:
    """``name:port`` in lower case (the port made explicit), or None when malformed."""
    host = host.strip().lower()
    if not host or any(c in host for c in "/\\@ \t"):
        return None
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return None
        name, rest = host[: end + 1], host[end + 1 :]
    else:
        name, colon, port_text = host.partition(":")
        rest = colon + port_text
    if not rest:
        return f"{name}:{default_port}"
    if not rest.startswith(":") or not rest[1:].isdigit():
        return None
    return f"{name}:{int(rest[1:])}"


def allowed_hosts(port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The Host values accepted at ``port``: the loopback names, plus ``extra`` ones."""
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    for host in extra:
        normal = _normal(host, port)
        if normal:
            hosts.add(normal)
    return frozenset(hosts)


def check_host(host: str | None, origin: str | None, allowed: frozenset[str]) -> None:
    """Raise :class:`Forbidden` (403) for a foreign or missing Host, or a foreign Origin."""
    if not host or _normal(host, 80) not in allowed:
        raise Forbidden(
            "the Host header does not name this server; requests through other names are "
            "refused (DNS rebinding protection)",
            [{"header": "Host", "problem": "foreign" if host else "missing"}],
        )
    if origin is None:
        return
    parts = urlsplit(origin.strip())
    default = 443 if parts.scheme == "https" else 80
    if parts.scheme not in ("http", "https") or _normal(parts.netloc, default) not in allowed:
        raise Forbidden(
            "the Origin header names another site; cross-site requests are refused",
            [{"header": "Origin", "problem": "foreign"}],
        )


def check_token(expected: str | None, authorization: str | None, route: str) -> None:
    """Raise :class:`Unauthorized` (401) unless the bearer token matches (or none is needed)."""
    if expected is None or route in OPEN_ROUTES:
        return
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized(
            "this server needs a token: send Authorization: Bearer <token>",
            [{"header": "Authorization", "problem": "missing"}],
        )
    if not hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8")):
        raise Unauthorized(
            "the token is wrong", [{"header": "Authorization", "problem": "wrong_token"}]
        )
