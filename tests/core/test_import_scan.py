"""The one pass over a text file (hash in a thread, facts in this one) against plain Python."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from core.data import sniff


def expected(data: bytes) -> dict:
    """What the scan must find, computed the obvious way."""
    try:
        data.decode("utf-8")
        error = None
    except UnicodeDecodeError as exc:
        error = exc.start
    nul = data.find(b"\x00")
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "newlines": data.count(b"\n"),
        "has_quotes": b'"' in data,
        "utf8_error_offset": error,
        "first_nul_offset": None if nul < 0 else nul,
        "ends_with_newline": data.endswith(b"\n"),
    }


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_the_scan_finds_what_plain_python_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Small chunks put quotes, newlines and multi-byte characters across chunk boundaries."""
    monkeypatch.setattr(sniff, "CHUNK", chunk)
    rng = random.Random(chunk)
    pieces = [b"a", b",", b"\n", b"\r\n", b'"', "é".encode(), "€".encode(), b"7", b"\x00"]
    for trial in range(60):
        data = b"".join(rng.choices(pieces, k=rng.randint(1, 80)))
        if trial % 3 == 0:
            data = data.replace(b"\x00", b"")
        if trial % 5 == 0:
            data += "é".encode()[:1]  # a character cut off at the end
        if trial % 7 == 0:
            data = data.replace(b'"', b"")
        path = tmp_path / f"f{trial}.csv"
        path.write_bytes(data)
        scan = sniff.scan_file(path)
        found = {key: getattr(scan, key) for key in expected(data)}
        assert found == expected(data), data


def test_the_scan_reports_progress_up_to_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sniff, "CHUNK", 10)
    path = tmp_path / "p.csv"
    path.write_bytes(b"x,y\n" * 10)
    seen: list[float] = []
    sniff.scan_file(path, lambda fraction, message: seen.append(fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 4
