"""Long CSV files are read as a stream: number columns typed slab by slab, never held as text.

The stream must give exactly what typing the whole text gives (the same Parquet bytes, schema,
report and profile), also when a late cell breaks a column's plan. Small blocks make a few
thousand rows span many batches and slabs.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import pytest

from core.data import csv_source, csv_stream
from core.services import ImportOptions, Workspace

ROWS = 14_000  # more than the head (10,001 lines), so that the rest is streamed
HEADER = "x,n,gaps,order_date,colour,when,flag"


def row(rng: random.Random, i: int) -> list[str]:
    return [
        repr(rng.gauss(0, 1)),
        str(rng.randint(-50, 5000)),
        "" if i % 9 == 0 else f"{rng.uniform(0, 9):.3f}",
        f"2012{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
        rng.choice(["red", "green", "blue"]),
        f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
        rng.choice(["true", "false"]),
    ]


LATE = {  # column index, late cell, how many rows end with it, whether it breaks the plan
    "clean": None,
    "a word among floats": (0, "n/k", 1, True),
    "many words among floats": (0, "n/k", 400, True),
    "a NaN among floats": (0, "NaN", 1, True),
    "nan among floats": (0, "nan", 1, True),
    "a leading zero among integers": (1, "007", 1, True),
    "a token among integers": (1, "NA", 1, True),
    "a float among integers": (1, "2.5", 1, True),
    "an impossible YYYYMMDD": (3, "20120230", 1, False),
    "an empty cell among integers": (1, "", 1, False),
    "white space before a float": (2, " 1.5", 1, None),  # either way: the result is the same
}


def write(path: Path, case: str, ragged: bool = False) -> Path:
    rng = random.Random(case)
    rows = [row(rng, i) for i in range(ROWS)]
    late = LATE[case]
    if late is not None:
        column, cell, count, _ = late
        for index in range(ROWS - count, ROWS):
            rows[index][column] = cell
    lines = [HEADER] + [",".join(cells) for cells in rows]
    if ragged:
        lines.insert(12_000, "1,2,3")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_source, "BLOCK_SIZE", 64 * 1024)


def observed(monkeypatch: pytest.MonkeyPatch) -> list[csv_stream.Streamed]:
    """What each stream left (typed numbers, text, demoted columns), for the assertions."""
    seen: list[csv_stream.Streamed] = []
    original = csv_stream.stream_columns

    def watching(*args: Any, **kwargs: Any) -> csv_stream.Streamed:
        streamed = original(*args, **kwargs)
        seen.append(streamed)
        return streamed

    monkeypatch.setattr(csv_stream, "stream_columns", watching)
    return seen


def both_ways(
    workspace: Workspace, path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any
) -> tuple[Any, Any]:
    streamed = workspace.data.import_file(path, ImportOptions(name="streamed", **options))
    with monkeypatch.context() as patch:
        patch.setattr(csv_stream, "HEAD_ROWS", 10**12)  # the head is the whole file: no plans
        whole = workspace.data.import_file(path, ImportOptions(name="whole", **options))
    return streamed, whole


@pytest.mark.parametrize("typist", [True, False], ids=["typist thread", "reading thread"])
@pytest.mark.parametrize("case", list(LATE))
def test_a_streamed_import_equals_typing_the_whole_text(
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    small_blocks: None,
    case: str,
    typist: bool,
) -> None:
    monkeypatch.setattr(csv_stream, "spare_core", lambda: typist)
    path = write(tmp_path / "long.csv", case)
    seen = observed(monkeypatch)
    streamed, whole = both_ways(workspace, path, monkeypatch)
    assert streamed.version.sha256 == whole.version.sha256  # the same Parquet bytes
    assert streamed.version.schema == whole.version.schema
    assert streamed.version.report == whole.version.report
    assert streamed.version.profile == whole.version.profile
    first = seen[0]
    late = LATE[case]
    if late is None or late[3] is not None:
        broken = {late[0]} if late is not None and late[3] else set()
        assert set(first.demoted) == broken
        assert set(first.numbers) == {0, 1, 2, 3} - broken  # typed while streaming
    assert all(first.text[index] is None for index in first.numbers)


def test_the_stream_types_yyyymmdd_and_counts_empty_cells(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    path = write(tmp_path / "long.csv", "clean")
    seen = observed(monkeypatch)
    version = workspace.data.import_file(path).version
    assert len(seen[0].numbers) == 4
    assert version.schema == {
        "x": "float", "n": "integer", "gaps": "float", "order_date": "datetime",
        "colour": "string", "when": "datetime", "flag": "boolean",
    }  # fmt: skip
    assert version.report["missing_tokens"] == {"gaps": {"": len(range(0, ROWS, 9))}}


def test_skipped_ragged_rows_in_a_stream(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    path = write(tmp_path / "ragged.csv", "a word among floats", ragged=True)
    streamed, whole = both_ways(workspace, path, monkeypatch, bad_rows="skip")
    assert streamed.version.sha256 == whole.version.sha256
    assert streamed.version.report == whole.version.report
    [problem] = [p for p in streamed.version.report["problems"] if p["kind"] == "ragged_rows"]
    assert problem["lines"] == [12_001]


def test_reads_stay_a_few_blocks_ahead_of_the_batches_taken(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_blocks: None
) -> None:
    """Every read that would run further ahead waits for a batch to be taken, and one always is
    (no read has to give up waiting, however long it may wait)."""
    monkeypatch.setattr(csv_source, "READ_WAIT", 600.0)
    files: list[csv_source.PacedFile] = []
    ahead: list[int] = []
    lock = threading.Lock()
    read = csv_source.PacedFile.read

    def counting(self: csv_source.PacedFile, size: int = -1) -> Any:
        data = read(self, size)
        with lock:
            ahead.append(self._reads - self._taken)
            if self not in files:
                files.append(self)
        return data

    monkeypatch.setattr(csv_source.PacedFile, "read", counting)
    workspace.data.import_file(write(tmp_path / "long.csv", "clean"))
    assert len(ahead) > 10 and max(ahead) <= csv_source.READ_AHEAD
    assert [paced.overruns for paced in files] == [0]


def test_long_rows_across_blocks(workspace: Workspace, tmp_path: Path, small_blocks: None) -> None:
    """Rows that straddle the blocks the reader reads ahead."""
    path = write(tmp_path / "long.csv", "clean")
    lines = path.read_text().splitlines()
    notes = ["word " * (7_000 + i % 7) if i % 1000 == 999 else "short" for i in range(ROWS)]
    lines = [lines[0] + ",note"] + [
        f"{line},{note}" for line, note in zip(lines[1:], notes, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    version = workspace.data.import_file(path).version
    assert version.rows == ROWS and version.schema["note"] == "string"
    assert version.profile["note"]["length"]["max"] == max(map(len, notes))
