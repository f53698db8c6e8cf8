"""From request bytes to a Python value: content type, size cap, encoding, JSON depth.

Nothing here trusts the client: the body is read with a cap whether or not a Content-Length was
sent, the nesting depth is measured on the bytes before the JSON parser (which recurses) ever
sees them, and every failure is a :class:`~core.serving.errors.ServingError` with a status.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

import numpy as np

from core.serving.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_CHUNK = 1 << 16


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """``("application/json", {"charset": "utf-8"})`` from a Content-Type header value."""
    if not content_type:
        return "", {}
    main, *params = content_type.split(";")
    options = {}
    for param in params:
        key, _, value = param.partition("=")
        options[key.strip().lower()] = value.strip().strip('"').lower()
    return main.strip().lower(), options


def body_kind(content_type: str | None, allow_csv: bool = True) -> str:
    """``"json"`` or ``"csv"``, or :class:`UnsupportedMediaType` (415) for anything else."""
    kind, options = media_type(content_type)
    charset = options.get("charset", "utf-8")
    accepted = "application/json" + (" or text/csv" if allow_csv else "")
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"only UTF-8 bodies are read (charset {charset} given)")
    if kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json")):
        return "json"
    if allow_csv and kind in CSV_TYPES:
        return "csv"
    shown = kind or "none"
    raise UnsupportedMediaType(f"content type {shown[:100]} is not accepted; send {accepted}")


def read_capped(stream: IO[bytes], content_length: int | None, limit: int) -> bytes:
    """The whole body, refusing (413) past ``limit`` bytes even without a Content-Length."""
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(_too_large(limit))
    parts: list[bytes] = []
    size = 0
    while True:
        block = stream.read(min(_CHUNK, limit + 1 - size))
        if not block:
            break
        parts.append(block)
        size += len(block)
        if size > limit:
            raise PayloadTooLarge(_too_large(limit))
    return b"".join(parts)


def _too_large(limit: int) -> str:
    return f"the body is larger than the limit of {limit:,} bytes"


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped); other bytes are a 400 naming the offset, not the bytes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"the body is not valid UTF-8 (first bad byte at offset {exc.start})",
            code="bad_encoding",
        ) from None


def nesting_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting outside strings, measured without recursion."""
    if data.count(b"[") + data.count(b"{") == 0:
        return 0
    skeleton = _STRING.sub(b'""', data)
    codes = np.frombuffer(skeleton, dtype=np.uint8)
    opens = (codes == ord("[")) | (codes == ord("{"))
    closes = (codes == ord("]")) | (codes == ord("}"))
    steps = opens.astype(np.int32) - closes.astype(np.int32)
    return int(np.cumsum(steps).max(initial=0))


def _constant(token: str) -> float:
    return float(token)  # NaN, Infinity, -Infinity: judged later, per column and nullability


def parse_json(data: bytes, max_depth: int) -> Any:
    """The JSON value of ``data``; malformed, too deep or non-UTF-8 input is a 400."""
    text = decode(data)
    depth = nesting_depth(data)
    if depth > max_depth:
        raise BadRequest(
            f"the JSON is nested {depth} levels deep; the limit is {max_depth}",
            code="too_deeply_nested",
        )
    try:
        return json.loads(text, parse_constant=_constant)
    except RecursionError:
        raise BadRequest(
            f"the JSON is nested deeper than the limit of {max_depth}", code="too_deeply_nested"
        ) from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            code="malformed_json",
        ) from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise BadRequest(f"malformed JSON: {str(exc)[:200]}", code="malformed_json") from None
