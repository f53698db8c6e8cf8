"""The Arrow memory pool that import work allocates from.

pyarrow's default pool (mimalloc in the wheels) hands memory back to the system soon after it
is freed and pays for it again, page by page, on the next large allocation. An import does
little else: it reads a file's text, casts it, encodes it, each step into fresh buffers. On the
1,000,000-row benchmark CSV a whole import took 5.3 s of CPU with the default pool and 4.1 s with
jemalloc, whose peak memory was also the lowest (490 MiB against 615 MiB; the system allocator
was as fast but peaked at 960 MiB, its per-thread arenas keeping what the reader freed).

Calls pass this pool explicitly, so nothing outside the import changes. Where pyarrow was built
without jemalloc (its Windows wheels), the default pool is used.

jemalloc keeps freed pages for a while (its "decay" time) before it hands them back. A streamed
import frees the text of each slab as it goes; kept for long, those pages made the peak of the
same import vary between 1.6 and 2.4 times its DataFrame, the faster the run the higher (less
time had passed for them to decay). :data:`DECAY_MS` hands them back within a tenth of a second:
the peak stays at about 1.6 times, for a few percent of CPU at most (pages faulted in again).
Only import work allocates from jemalloc, so the setting changes nothing else.
"""

from __future__ import annotations

import functools

import pyarrow as pa

DECAY_MS = 100  # how long jemalloc keeps freed pages of import work


@functools.cache
def import_pool() -> pa.MemoryPool:
    """The pool for the buffers of an import (the process-wide default stays as it is)."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(DECAY_MS)
    except NotImplementedError:
        return pa.default_memory_pool()
    return pool
