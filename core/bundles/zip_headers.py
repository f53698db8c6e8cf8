"""The local file header of a zip entry, checked against its central directory record.

A zip names each entry twice: in the central directory at the end (what :mod:`zipfile` lists)
and in a local header just before the entry's data (what a streaming reader such as ``unzip -``
or a browser's download scanner sees). An archive whose two headers disagree shows one file to
one reader and another file to the next, so a bundle whose headers differ in name, compression
method, CRC-32 or sizes is refused, as is an entry whose data runs past the end of the archive.
"""

from __future__ import annotations

import struct
import zipfile
from typing import BinaryIO

LOCAL = struct.Struct("<4s2B4HL2L2H")
LOCAL_SIGNATURE = b"PK\x03\x04"
DATA_DESCRIPTOR = 0x08  # crc and sizes follow the data; the local header holds zeros
UTF8_NAME = 0x800
ZIP64_MARK = 0xFFFFFFFF  # the real size is in a ZIP64 extra field


def raw_name(info: zipfile.ZipInfo) -> bytes | None:
    """The central directory's name as the bytes it was decoded from (None if it cannot be)."""
    try:
        return info.orig_filename.encode("utf-8" if info.flag_bits & UTF8_NAME else "cp437")
    except UnicodeEncodeError:
        return None


def local_problem(raw: BinaryIO, info: zipfile.ZipInfo, archive_size: int) -> str | None:
    """Why the local header of ``info`` disagrees with its central record (None if it agrees)."""
    raw.seek(info.header_offset)
    header = raw.read(LOCAL.size)
    if len(header) != LOCAL.size or header[:4] != LOCAL_SIGNATURE:
        return "an entry has no local header where the central directory says"
    fields = LOCAL.unpack(header)
    flags, method, crc, compressed, size, name_length, extra_length = (
        fields[3], fields[4], fields[7], fields[8], fields[9], fields[10], fields[11]
    )  # fmt: skip
    name = raw.read(name_length)
    if name != raw_name(info):
        return f"the local header names {name.decode('utf-8', 'replace')!r}, not the entry"
    if method != info.compress_type:
        return "the local and central headers give different compression methods"
    if not flags & DATA_DESCRIPTOR and _differ((crc, compressed, size), info):
        return "the local and central headers give different sizes or CRC-32"
    end = info.header_offset + LOCAL.size + name_length + extra_length + info.compress_size
    if end > archive_size:
        return "an entry's data runs past the end of the archive"
    return None


def _differ(local: tuple[int, int, int], info: zipfile.ZipInfo) -> bool:
    central = (info.CRC, info.compress_size, info.file_size)
    return any(
        mine != theirs and not (index and mine == ZIP64_MARK)
        for index, (mine, theirs) in enumerate(zip(local, central, strict=True))
    )
