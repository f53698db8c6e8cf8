"""YAML text of plain data (dicts, lists, strings, numbers, booleans, None), block style.

The hand-off files (Kubernetes manifests, Prometheus rules, CI pipelines) are written with this
rather than a YAML library: the engine needs none, and the output is fixed by the data alone.
Every string is double-quoted the JSON way (a JSON string is a valid YAML double-quoted scalar),
so no value can turn into a number, a boolean or a null by accident (``"1"``, ``"on"``,
``"no"``); a string of several lines (a script) is a literal block (``|``) when its text allows
one; keys are left bare when they are plain words.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_RESERVED = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"})


def dump(value: Any, comment: str = "") -> str:
    """The YAML document of ``value``, with ``comment`` lines (``# ...``) on top."""
    head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return head + "\n".join(_lines(value, 0)) + "\n"


def dump_all(documents: list[Any], comment: str = "") -> str:
    """Several documents separated by ``---``."""
    parts = [dump(document) for document in documents]
    head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    return head + "---\n".join(parts)


def _key(key: str) -> str:
    text = str(key)
    if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(str(value))


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            if _blockable(item):
                lines.append(f"{pad}{_key(key)}: |{'' if item.endswith(chr(10)) else '-'}")
                lines += [
                    f"{pad}  {line}" if line else "" for line in item.rstrip("\n").split("\n")
                ]
            elif isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_key(key)}:")
                lines += _lines(item, indent + (2 if isinstance(item, dict) else 0))
            else:
                lines.append(f"{pad}{_key(key)}: {_inline(item)}")
        return lines
    if isinstance(value, list):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if isinstance(item, dict | list) and item:
                inner = _lines(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {_inline(item)}")
        return lines
    return [pad + _scalar(value)]


def _blockable(value: Any) -> bool:
    """A string of several lines that a literal block keeps exactly as it is."""
    if not isinstance(value, str) or "\n" not in value.rstrip("\n"):
        return False
    text = value[:-1] if value.endswith("\n") else value
    lines = text.split("\n")
    return (
        not value.endswith("\n\n")
        and not lines[0].startswith((" ", "#"))
        and all(line == line.rstrip() and line.isprintable() for line in lines)
    )


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)
