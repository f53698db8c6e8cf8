"""Reading a long CSV as a stream: number columns typed slab by slab, never held as text.

Holding a whole file's text costs more memory than its typed table: "-1.3589689620216294" is
19 bytes of text and 4 of offset, against 8 bytes as a float. A file of full-precision floats
held as text took 3.2 times the memory of its DataFrame. So the file is read as a stream of
8 MiB blocks (pyarrow's streaming reader, the same blocks as a whole read), typed in slabs of a
few blocks:

1. the head, the first 10,001 lines, is read first: the header, the decimal mark and each
   column's sample come from it, exactly as the typing rules take them;
2. a column whose sample makes it an integer or float column by the rules' own first test
   (:mod:`core.data.infer_fast`) is *planned*: each slab of it is cast as it arrives (in a
   thread beside the reader when a core is free), and only the numbers are kept;
3. every other column keeps its text, and is typed whole at the end by the rules, as before.
   (So are all columns of a decimal-comma file, whose numbers the rules read with care.)

A planned column keeps the rules' answer only when every slab proves it: every cell casts, no
cell is written with leading zeros, no float is NaN (a NaN cell may be a missing token). The
first slab that does not prove it *demotes* the column: its numbers are dropped, and once the
stream has ended the column is read again as text (one more pass over the file, for those
columns only) and typed by the rules. So the result is always the rules' result; a demotion
costs time, never exactness. A file no longer than its head is typed whole, as text.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from core.data.arrow_pool import import_pool
from core.data.infer import SAMPLE, TypingRules, sample_casts, try_cast
from core.data.infer_fast import rules_sample
from core.data.text_bytes import leading_zero_count
from core.progress import CancelToken

HEAD_ROWS = SAMPLE * 10 + 1  # the header line and the rules' 10,000 sampled cells
SLAB_BATCHES = 1  # batches (8 MiB blocks of the file) typed together, at least...
SLAB_MAX_BATCHES = 16  # ... and at most
_TARGETS = {"integer": pa.int64(), "float": pa.float64()}


def plan_columns(head: list[pa.ChunkedArray], rules: TypingRules) -> list[str | None]:
    """Per column of the head (data rows, as text): "integer", "float" or None (text).

    Only decimal-point files are planned, and only columns whose sample passes the rules' first
    test for the type: all digits, or all castable to float.
    """
    if rules.decimal != ".":
        return [None] * len(head)
    plans: list[str | None] = []
    for column in head:
        sample = rules_sample(column, rules.missing_tokens)
        if not sample:
            plans.append(None)
        elif all(v.strip().lstrip("+-").isdigit() for v in sample):
            plans.append("integer")
        elif sample_casts(sample, pa.float64()):
            plans.append("float")
        else:
            plans.append(None)
    return plans


@dataclass(frozen=True)
class Streamed:
    """What a stream left: per column its text, or its numbers and count of empty cells, or
    neither (``demoted``: the column must be read again as text)."""

    text: list[pa.ChunkedArray | None]
    numbers: dict[int, tuple[pa.ChunkedArray, int]]
    demoted: list[int]
    rows: int


def stream_columns(
    head: pa.Table,
    rest: Iterator[pa.RecordBatch],
    plans: list[str | None],
    progress: Callable[[int], None],
    cancel: CancelToken,
) -> Streamed:
    """Read ``rest`` after ``head`` (both without the header), typing planned columns by slab.

    A thread types each slab while the next is read, unless the machine is busy (see
    :func:`spare_core`): then the reading thread types them itself.
    """
    slabs = _Slabs(plans)
    if not any(plans) or not spare_core():
        for slab in _slabs(head, rest):
            cancel.raise_if_cancelled()
            slabs.add(slab)
            progress(slabs.rows_seen)
        return slabs.finish()
    with ThreadPoolExecutor(1, thread_name_prefix="slabs") as typist:
        pending: deque[Future[None]] = deque()
        for slab in _slabs(head, rest):
            cancel.raise_if_cancelled()
            while pending:  # one slab typed while the next is read; no pile-up
                pending.popleft().result()
            pending.append(typist.submit(slabs.add, slab))
            progress(slabs.rows_seen)
        while pending:
            pending.popleft().result()
    return slabs.finish()


def spare_core() -> bool:
    """Whether a core is likely free for a second thread (load average below the cores).

    On a machine whose cores are all taken, a thread per slab gains nothing and costs hand-offs
    (each waits its turn for a core): a 1,000,000-row import spent a second longer reading.
    """
    loadavg = getattr(os, "getloadavg", None)  # not on Windows
    try:
        load = loadavg()[0] if loadavg else 0.0
    except OSError:
        return True
    return load + 1 <= (os.cpu_count() or 1)


def _slabs(head: pa.Table, rest: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
    """The head, then the rest in slabs of a batch (a few for wide tables, whose every slab
    costs a few calls per column)."""
    yield head
    per_slab = min(SLAB_MAX_BATCHES, max(SLAB_BATCHES, head.num_columns // 16))
    batches: list[pa.RecordBatch] = []
    for batch in rest:
        batches.append(batch)
        if len(batches) >= per_slab:
            yield pa.Table.from_batches(batches, head.schema)
            batches = []
    if batches:
        yield pa.Table.from_batches(batches, head.schema)


class _Slabs:
    """The columns so far: text chunks, or numbers and their count of empty cells."""

    def __init__(self, plans: list[str | None]) -> None:
        self.plans = list(plans)
        self.chunks: list[list[pa.Array]] = [[] for _ in plans]
        self.empties = [0] * len(plans)
        self.rows_seen = 0

    def add(self, slab: pa.Table) -> None:
        for index, plan in enumerate(self.plans):
            column = slab.column(index)
            if plan is None:
                self.chunks[index].extend(column.chunks)
            elif plan != "demoted":
                typed = _type_slab(column, plan)
                if typed is None:  # demoted: the rules will have the text, read again
                    self.plans[index] = "demoted"
                    self.chunks[index] = []
                else:
                    self.chunks[index].extend(typed[0].chunks)
                    self.empties[index] += typed[1]
        self.rows_seen += slab.num_rows

    def finish(self) -> Streamed:
        text: list[pa.ChunkedArray | None] = [None] * len(self.plans)
        numbers: dict[int, tuple[pa.ChunkedArray, int]] = {}
        for index, plan in enumerate(self.plans):
            if plan is None:
                text[index] = pa.chunked_array(self.chunks[index], pa.string())
            elif plan != "demoted":
                typed = pa.chunked_array(self.chunks[index], _TARGETS[plan])
                numbers[index] = (typed, self.empties[index])
        demoted = [index for index, plan in enumerate(self.plans) if plan == "demoted"]
        return Streamed(text, numbers, demoted, self.rows_seen)


def _type_slab(column: pa.ChunkedArray, plan: str) -> tuple[pa.ChunkedArray, int] | None:
    """The slab's numbers and empty cells, or None when the slab does not prove the plan."""
    empty = pc.equal(column, "")
    empties = pc.sum(empty).as_py() or 0
    if empties:
        column = pc.if_else(empty, None, column, memory_pool=import_pool())
    typed = try_cast(column, _TARGETS[plan])
    if typed is None:
        return None
    if plan == "float" and pc.any(pc.is_nan(typed)).as_py():
        return None
    if leading_zero_count(column):
        return None
    return typed, empties
