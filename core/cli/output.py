"""Printing for the CLI: one JSON document with --json, aligned text otherwise.

A command whose answer is one document or one line ends with :func:`reply`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any


def _clean(value: Any) -> Any:
    """JSON never holds NaN or Infinity tokens: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def emit_json(document: Any) -> None:
    sys.stdout.write(json.dumps(_clean(document), indent=2, default=str, allow_nan=False) + "\n")


def reply(args: argparse.Namespace, document: Any, text: str) -> int:
    """Print ``document`` as JSON under ``--json``, else ``text``; the command's exit code, 0."""
    if args.json:
        emit_json(document)
    else:
        print(text)
    return 0


def answer(args: argparse.Namespace, result: Any, text: Callable[[Any], str]) -> int:
    """Print ``result.to_dict()`` as JSON under ``--json``, else ``text(result)``; exit code 0."""
    if args.json:
        emit_json(result.to_dict())
    else:
        print(text(result))
    return 0


def listing(
    args: argparse.Namespace,
    key: str,
    items: Sequence[Any],
    row: Callable[[Any], Sequence[Any]],
    headers: Sequence[str],
    empty: str,
) -> int:
    """Print ``{key: [item.to_dict(), ...]}`` under ``--json``; else ``empty`` when there is no
    item, or a table of one ``row(item)`` an item under ``headers``. The command's exit code, 0."""
    if args.json:
        emit_json({key: [item.to_dict() for item in items]})
    elif not items:
        print(empty)
    else:
        print(table([row(item) for item in items], headers))
    return 0


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


class TerminalProgress:
    """Progress on stderr, only when stderr is a terminal; throttled to ten updates a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._last = 0.0

    def __call__(self, fraction: float | None, message: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and fraction not in (0.0, 1.0):
            return
        self._last = now
        percent = "" if fraction is None else f"{fraction * 100:5.1f}% "
        sys.stderr.write(f"\r\x1b[K{percent}{message[:70]}")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
