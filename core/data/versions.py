"""Reading a stored version back: always through the blob's hash check.

pyarrow's Parquet module (and the file systems it loads, about 4 MB) is imported when a
version is first read, so a process that never reads one (the always-on service watching
deployments) does not carry it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from core.entities import DatasetVersion
from core.errors import UsageError
from core.project import Project

if TYPE_CHECKING:
    import pyarrow as pa

_REF = re.compile(r"^(?P<name>[^@]+?)(?:@(?P<version>\d+|latest))?$")


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``name`` or ``name@3`` or ``name@latest`` → (name, number or None for the newest)."""
    match = _REF.match(ref.strip())
    if not match:
        raise UsageError(
            f"{ref!r} is not a data set reference",
            hint="write NAME or NAME@VERSION, e.g. penguins@2",
        )
    version = match.group("version")
    return match.group("name"), None if version in (None, "latest") else int(version)


def resolve(project: Project, ref: str) -> DatasetVersion:
    name, number = parse_ref(ref)
    return project.repo.get_version(name, number)


def load_table(project: Project, version: DatasetVersion) -> pa.Table:
    """The version's data, after verifying that its blob still matches its sha256."""
    from core.data.parquet_bytes import read_parquet_bytes

    return read_parquet_bytes(project.blobs.read_verified(version.sha256))
