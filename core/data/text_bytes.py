"""Questions about the bytes of every string in an Arrow column, answered with numpy.

A regular expression costs pyarrow a call into RE2 per cell (20-50 ms per million cells), and
hashing text a lookup per cell in a growing table (200 ms for a million distinct UUIDs). Where a
question only needs the first few bytes of each cell, or cells of one width, the column's
offsets and data buffers answer it in a few vectorised steps instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

LEADING_ZERO_PATTERN = r"^\s*[+-]?0\d"
_ZERO, _PLUS, _MINUS = ord("0"), ord("+"), ord("-")
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_SPACE = np.zeros(256, dtype=bool)  # RE2's \s: tab, newline, form feed, carriage return, space
_SPACE[[9, 10, 12, 13, 32]] = True
_MIX = np.uint64(0x9E3779B97F4A7C15)


def leading_zero_count(values: pa.ChunkedArray | pa.Array) -> int:
    """How many cells match :data:`LEADING_ZERO_PATTERN` ("007", "-05", "00"; not "0", "0.5").

    Exactly the count ``pc.match_substring_regex(values, LEADING_ZERO_PATTERN)`` gives; a column
    where some cell starts with white space (which the pattern may skip, any amount of it) is
    handed to that regular expression.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    if not pa.types.is_string(values.type):
        return _regex_count(values)
    total = 0
    for chunk in chunks:
        count = _chunk_leading_zeros(chunk)
        if count is None:
            return _regex_count(values)
        total += count
    return total


def _regex_count(values: pa.ChunkedArray | pa.Array) -> int:
    return pc.sum(pc.match_substring_regex(values, LEADING_ZERO_PATTERN)).as_py() or 0


def _chunk_leading_zeros(chunk: pa.StringArray) -> int | None:
    """The count for one array, or ``None`` when a cell starts with white space."""
    size = len(chunk)
    _, offset_buffer, data_buffer = chunk.buffers()
    if size == 0 or data_buffer is None or data_buffer.size == 0:
        return 0
    offsets = np.frombuffer(offset_buffer, np.int32, size + 1, chunk.offset * 4)
    data = np.frombuffer(data_buffer, np.uint8)
    starts = offsets[:-1]
    lengths = np.diff(offsets)
    first = data.take(starts, mode="clip")  # "clip": an empty last cell points past the data
    first[lengths == 0] = 0  # empty cells (and, usually, null slots) have no first byte
    if chunk.null_count:
        first[~_validity(chunk)] = 0
    if _SPACE[first].any():
        return None
    zero = first == _ZERO
    sign = (first == _PLUS) | (first == _MINUS)
    has_sign = bool(sign.any())
    if not (has_sign or zero.any()):
        return 0
    second = data.take(starts + 1, mode="clip")
    found = zero & (lengths >= 2) & _DIGIT[second]
    if has_sign:
        third = data.take(starts + 2, mode="clip")
        found |= sign & (lengths >= 3) & (second == _ZERO) & _DIGIT[third]
    return int(np.count_nonzero(found))


def _validity(chunk: pa.Array) -> np.ndarray:
    """The validity bitmap of ``chunk`` as booleans."""
    bits = np.frombuffer(chunk.buffers()[0], np.uint8)
    return np.unpackbits(bits, bitorder="little")[chunk.offset : chunk.offset + len(chunk)].astype(
        bool
    )


def all_distinct(values: pa.ChunkedArray) -> bool:
    """True when the cells are proved pairwise different: an id column, without hashing text.

    Only columns without nulls whose cells all have one byte width (UUIDs, fixed-format keys)
    and whose first thousand cells differ are tried: each cell's bytes are folded into a 64-bit
    number and the numbers sorted. Different numbers prove different cells; equal numbers (a
    repeat, or a rare collision) only mean "not proved", and the caller hashes the text.
    """
    if values.null_count or not pa.types.is_string(values.type) or len(values) < 2:
        return False
    head = values.slice(0, 1000).to_pylist()
    if len(set(head)) < len(head):
        return False
    width = len(head[0].encode())
    folded = []
    for chunk in values.chunks:
        cells = _fixed_width_cells(chunk, width)
        if cells is None:
            return False
        folded.append(_fold_cells(cells))
    numbers = np.sort(np.concatenate(folded))
    return not bool(np.any(numbers[1:] == numbers[:-1]))


def _fixed_width_cells(chunk: pa.StringArray, width: int) -> np.ndarray | None:
    """The chunk's bytes as one row of ``width`` bytes per cell, if every cell has that width."""
    size = len(chunk)
    offsets = np.frombuffer(chunk.buffers()[1], np.int32, size + 1, chunk.offset * 4)
    if size == 0:
        return np.zeros((0, width), dtype=np.uint8)
    if width == 0 or offsets[-1] - offsets[0] != size * width:
        return None
    if np.any(np.diff(offsets) != width):
        return None
    data = np.frombuffer(chunk.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(size, width)


def _fold_cells(cells: np.ndarray) -> np.ndarray:
    """A uint64 per row of bytes; equal rows give equal numbers (the converse is likely)."""
    rows, width = cells.shape
    whole = width // 8 * 8
    words = [cells[:, start : start + 8].view(np.uint64)[:, 0] for start in range(0, whole, 8)]
    if whole < width:  # the last bytes, padded to a word
        tail = np.zeros((rows, 8), dtype=np.uint8)
        tail[:, : width - whole] = cells[:, whole:]
        words.append(tail.view(np.uint64)[:, 0])
    folded = np.zeros(rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for word in words:
            folded ^= word
            folded *= _MIX
            folded ^= folded >> np.uint64(31)
    return folded
