"""Request ids that any worker of a deployment can recognise without asking the others.

Feedback (``POST /feedback``) names the prediction it is about by its request id, and the
worker process that receives the feedback is often not the one that answered: the answering
worker knows the id in memory, and the prediction log learns it up to a quarter of a second
later. So an id carries its own proof: 32 hex characters, the time it was issued (milliseconds
since 1970, 11 hex), 13 hex of randomness, and the first 8 hex of an HMAC-SHA256 of those two
under a key that every worker of one server shares (the supervisor creates it and hands it to
its workers through :data:`KEY_VARIABLE`; a server of one process makes its own). A worker
can then tell, from the id alone, that one of its siblings issued it and when, and so tell
"not logged yet" from "never issued". The ids look like the uuid4 hex they replace.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass

KEY_VARIABLE = "SHIPWAY_REQUEST_KEY"
KEY_BYTES = 32
_ID = re.compile(r"[0-9a-f]{32}")


def key_from_environment() -> bytes | None:
    """The shared key a supervisor handed down, or ``None`` (then the app makes its own)."""
    text = os.environ.get(KEY_VARIABLE, "")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        return None
    return key if len(key) == KEY_BYTES else None


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass(frozen=True)
class IssuedId:
    """What an id says of itself once its signature has been checked."""

    request_id: str
    issued_ms: int

    def age_seconds(self, now: float | None = None) -> float:
        now_ms = (time.time() if now is None else now) * 1000
        return max(0.0, (now_ms - self.issued_ms) / 1000)


class RequestIds:
    """Issues signed request ids and checks ids sent back (thread-safe, no state but the key)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else new_key()

    def issue(self, now: float | None = None) -> str:
        stamp = int((time.time() if now is None else now) * 1000)
        body = f"{stamp:011x}"[-11:] + secrets.token_hex(7)[:13]
        return body + self._mac(body)

    def check(self, request_id: object) -> IssuedId | None:
        """The id's issue time when this server (any of its workers) issued it, else ``None``."""
        if not isinstance(request_id, str) or not _ID.fullmatch(request_id):
            return None
        body, mac = request_id[:24], request_id[24:]
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        return IssuedId(request_id, int(body[:11], 16))

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode("ascii"), hashlib.sha256).hexdigest()[:8]
