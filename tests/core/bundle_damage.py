"""Damaging a real zip archive at the byte level, the way a broken copy or a forger would.

Each function takes the bytes of a good archive and the name of one entry, and returns new
bytes with that entry's local header, central directory record or data changed.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

LOCAL = struct.Struct("<4s2B4HL2L2H")  # the local file header
CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # a central directory record
#: Field positions in the two headers.
LOCAL_FIELDS = {"method": 4, "crc": 7, "compressed": 8, "size": 9}
CENTRAL_FIELDS = {"method": 6, "crc": 9, "compressed": 10, "size": 11}


def _central_offset(data: bytes, name: str) -> int:
    """Where the central directory record of ``name`` starts."""
    position = data.rfind(b"PK\x05\x06")
    start = struct.unpack("<L", data[position + 16 : position + 20])[0]
    while data[start : start + 4] == b"PK\x01\x02":
        fields = CENTRAL.unpack_from(data, start)
        if data[start + CENTRAL.size : start + CENTRAL.size + fields[12]] == name.encode():
            return start
        start += CENTRAL.size + fields[12] + fields[13] + fields[14]
    raise KeyError(name)


def _local_offset(data: bytes, name: str) -> int:
    return CENTRAL.unpack_from(data, _central_offset(data, name))[18]


def _set(data: bytes, offset: int, layout: struct.Struct, index: int, value: int) -> bytes:
    fields = list(layout.unpack_from(data, offset))
    fields[index] = value
    return data[:offset] + layout.pack(*fields) + data[offset + layout.size :]


def set_field(data: bytes, name: str, field: str, value: int, where: str = "both") -> bytes:
    """Set ``field`` of ``name`` in its local header, its central record, or both."""
    if where in ("both", "central"):
        data = _set(data, _central_offset(data, name), CENTRAL, CENTRAL_FIELDS[field], value)
    if where in ("both", "local"):
        data = _set(data, _local_offset(data, name), LOCAL, LOCAL_FIELDS[field], value)
    return data


def info(data: bytes, name: str) -> tuple[int, ...]:
    """The central directory record of ``name``, as unpacked fields."""
    return CENTRAL.unpack_from(data, _central_offset(data, name))


def bad_crc(data: bytes, name: str) -> bytes:
    """Both headers record a CRC-32 the data does not have."""
    return set_field(data, name, "crc", info(data, name)[9] ^ 0xFFFF)


def sizes_too_big(data: bytes, name: str) -> bytes:
    """Both headers say the entry unpacks to more bytes than it does."""
    return set_field(data, name, "size", info(data, name)[11] + 10)


def sizes_too_small(data: bytes, name: str) -> bytes:
    """Both headers say the entry unpacks to fewer bytes than it does."""
    return set_field(data, name, "size", info(data, name)[11] - 10)


def local_size_differs(data: bytes, name: str) -> bytes:
    """The local header's sizes disagree with the central directory's."""
    data = set_field(data, name, "size", info(data, name)[11] + 10, where="local")
    return set_field(data, name, "compressed", info(data, name)[10] + 10, where="local")


def corrupt_deflate(data: bytes, name: str) -> bytes:
    """The compressed data starts with a block of the reserved type 3."""
    start = _local_offset(data, name)
    fields = LOCAL.unpack_from(data, start)
    body = start + LOCAL.size + fields[10] + fields[11]
    return data[:body] + b"\xff\xff\xff\xff" + data[body + 4 :]


def unknown_method(data: bytes, name: str) -> bytes:
    """Both headers name compression method 99, which no reader knows."""
    return set_field(data, name, "method", 99)


def local_name_differs(data: bytes, name: str) -> bytes:
    """The local header names another file than the central directory (same length)."""
    start = _local_offset(data, name)
    at = start + LOCAL.size
    other = name[:-1] + ("x" if name[-1] != "x" else "y")
    return data[:at] + other.encode() + data[at + len(name) :]


def truncated(data: bytes, name: str) -> bytes:
    """The archive is cut short in the middle of ``name``'s data (no central directory)."""
    return data[: _local_offset(data, name) + LOCAL.size + len(name) + 10]


DAMAGE: dict[str, Callable[[bytes, str], bytes]] = {
    "bad CRC": bad_crc,
    "sizes too big": sizes_too_big,
    "sizes too small": sizes_too_small,
    "local size differs": local_size_differs,
    "corrupt deflate": corrupt_deflate,
    "unknown method": unknown_method,
    "local name differs": local_name_differs,
    "truncated": truncated,
}
