"""Signing bundle manifests with the project's key (HMAC-SHA256).

The key is 32 random bytes, created on the first export in ``keys/bundle.key`` of the project
(readable by its owner only; ``keys/`` holds a .gitignore so it is not committed with the
project's settings). Anyone holding the key can verify and sign, so a team that shares a
project shares its key. A bundle names the key by ``key_id`` (the first 16 hex digits of the
key's sha256), which tells "signed by another project" from "signature broken".
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

ALGORITHM = "HMAC-SHA256"
KEY_DIR = "keys"
KEY_FILE = "bundle.key"


def key_path(root: Path) -> Path:
    return root / KEY_DIR / KEY_FILE


def load_key(root: Path) -> bytes | None:
    try:
        return bytes.fromhex(key_path(root).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def ensure_key(root: Path) -> bytes:
    """The project's key, created (owner-only, never committed) when there is none yet."""
    key = load_key(root)
    if key is not None:
        return key
    folder = root / KEY_DIR
    folder.mkdir(exist_ok=True)
    (folder / ".gitignore").write_text("*\n", encoding="ascii")
    key = secrets.token_bytes(32)
    path = key_path(root)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def sign(key: bytes, manifest: bytes) -> dict[str, str]:
    return {
        "algorithm": ALGORITHM,
        "key_id": key_id(key),
        "signature": hmac.new(key, manifest, hashlib.sha256).hexdigest(),
    }


def check(key: bytes | None, manifest: bytes, signature: dict | None) -> tuple[str, str | None]:
    """("unsigned" | "this project" | "another project", problem or None)."""
    if signature is None:
        return "unsigned", None
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        return "unsigned", "signature.json is not an HMAC-SHA256 signature"
    if key is None or signature.get("key_id") != key_id(key):
        return "another project", None
    expected = hmac.new(key, manifest, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("signature", ""))):
        return "this project", "the signature does not match manifest.json (it was changed)"
    return "this project", None
