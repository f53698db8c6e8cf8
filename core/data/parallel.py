"""Column work on all cores: pyarrow and numpy release the GIL, so threads are enough.

Typing and profiling treat columns independently; :func:`in_order` runs them in a few threads
and hands the results back in column order, so reports and progress come out exactly as they
would from a plain loop. Small tables (and wide ones of few rows) stay in one thread, where the
cost of handing work around would exceed the work.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from core.progress import CancelToken

T = TypeVar("T")
R = TypeVar("R")

MIN_ROWS = 50_000  # below this many rows a column is typed or profiled in a millisecond or two
MAX_WORKERS = 4


def workers_for(rows: int) -> int:
    """How many threads work on columns of ``rows`` cells: 1 for small tables."""
    if rows < MIN_ROWS:
        return 1
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def in_order(
    work: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    cancel: CancelToken | None = None,
) -> Iterator[R]:
    """``work(item)`` for every item, in the items' order, ``workers`` at a time.

    At most two items per worker are in flight, so that results (typed columns, row codes)
    do not pile up in memory. A cancel, or an error in any item, stops the rest: items not yet
    started are dropped, running ones finish first, and the error is raised here. A caller
    that may stop early closes the iterator (``contextlib.closing``) to stop it as well.
    """
    if workers <= 1:
        for item in items:
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield work(item)
        return
    source = iter(items)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="columns")
    pending: deque[Future[R]] = deque()
    try:
        for item in source:
            pending.append(pool.submit(work, item))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.popleft().result()
            if cancel is not None:
                cancel.raise_if_cancelled()
            for item in source:
                pending.append(pool.submit(work, item))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
