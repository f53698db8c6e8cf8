"""From request bytes to a Python value: content type, size cap, encoding, JSON depth.

Nothing here trusts the client: the body is read with a cap whether or not a Content-Length was
sent, the nesting depth is measured on the bytes before the JSON parser (which recurses) ever
sees them, and every failure is a :class:`~core.serving.errors.ServingError` with a status.
"""

from __future__ import annotations

import json
import math
import re
from typing import IO, Any

import numpy as np

from core.serving import fastjson
from core.serving.errors import BadRequest, PayloadTooLarge, SchemaMismatch, UnsupportedMediaType

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


class _NotCarried(float):
    """NaN or Infinity as the JSON parser met it: a token strict JSON cannot carry."""


def _constant(token: str) -> float:
    return _NotCarried(token)


#: Cheap looks at the raw bytes that say whether the parsed value needs a walk for values that
#: JSON cannot carry: a lone surrogate escape, an integer too long for a double, an exponent
#: that overflows one. Most bodies match none, and skip the walk.
_SUSPECT = re.compile(rb"\\u[dD][89a-fA-F]|[0-9]{300}|[eE][+]?[0-9]{3}|NaN|Infinity")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_BIG_EXPONENT = re.compile(rb"[eE][+]?[0-9]{3}")
_LONG_DIGITS = re.compile(rb"[0-9]{300}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _suspect(data: bytes) -> bool:
    """Whether ``data`` may hold a value JSON cannot carry (``_SUSPECT``, found faster).

    One regular expression of five branches tried at every byte cost 0.45 ms on a 100-row
    body, a tenth of the request's own work; the same questions asked one by one, substring
    searches first and long digit runs through a numpy look at aligned blocks, cost 0.1 ms.
    """
    if b"NaN" in data or b"Infinity" in data:
        return True
    if b"\\u" in data and _SURROGATE_ESCAPE.search(data):
        return True
    if _BIG_EXPONENT.search(data):
        return True
    return fastjson.may_hold_digit_run(data, 300) and _LONG_DIGITS.search(data) is not None


def parse_json(data: bytes, max_depth: int) -> Any:
    """The JSON value of ``data``; malformed, too deep or non-UTF-8 input is a 400.

    Values that JSON cannot carry are a 422 naming the first place that holds one: NaN and
    Infinity tokens, numbers beyond a double's range (``1e400``, an integer of 400 digits) and
    lone UTF-16 surrogates (``"\\ud800"``) in a string or a key. Nothing downstream, the model
    and the prediction log included, ever sees them. Most bodies are parsed by orjson to the
    same value (:mod:`core.serving.fastjson`); the others, and every error, take this path.
    """
    fast = fastjson.parse(data, max_depth)
    if fast is not None:
        return fast
    text = decode(data)
    depth = nesting_depth(data)
    if depth > max_depth:
        raise BadRequest(
            f"the JSON is nested {depth} levels deep; the limit is {max_depth}",
            code="too_deeply_nested",
        )
    try:
        value = json.loads(text, parse_constant=_constant)
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
    if _suspect(data):
        _refuse_uncarried(value)
    return value


_PROBLEMS = {
    "not_finite": "NaN or Infinity, which JSON cannot carry; send null for a missing value",
    "out_of_range": "a number beyond the range of a double (about 1.8e308)",
    "lone_surrogate": "text with a lone UTF-16 surrogate, which is not a character",
}


def _refuse_uncarried(value: Any) -> None:
    found = _first_uncarried(value)
    if found is None:
        return
    where, problem = found
    raise SchemaMismatch(f"{where}: {_PROBLEMS[problem]}", [{"field": where, "problem": problem}])


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, float):
        if math.isfinite(value):
            return None
        return "not_finite" if isinstance(value, _NotCarried) else "out_of_range"
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            float(value)
        except OverflowError:
            return "out_of_range"
        return None
    if isinstance(value, str) and _SURROGATE.search(value):
        return "lone_surrogate"
    return None


def _first_uncarried(value: Any) -> tuple[str, str] | None:
    """(path, problem) of the first value JSON cannot carry, walking without recursion."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                if _SURROGATE.search(key):
                    return f"a key of {where or 'the body'}", "lone_surrogate"
                children.append((f"{where}.{_shown_key(key)}" if where else _shown_key(key), child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child) for i, child in reversed(list(enumerate(item))))
        else:
            problem = _scalar_problem(item)
            if problem is not None:
                return where or "the body", problem
    return None


def _shown_key(key: str) -> str:
    return key if len(key) <= 60 else key[:57] + "..."
