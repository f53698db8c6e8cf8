"""The scored rows: written chunk by chunk to a temporary Parquet file, then profiled column by
column and recorded as a data set version (blob first, row after, as every import does).

The profile is computed afterwards from the written file (:mod:`core.scoring.profile`). A uniform
sample of the rows (at most ``sample_rows``, chosen by random keys drawn from a fixed
seed in input order, so the same input gives the same sample) is kept for the drift check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from core.data.infer import shipway_type
from core.data.report import ImportReport
from core.entities import DatasetVersion
from core.errors import ShipwayError
from core.project import Project
from core.scoring.coerce import SHOWN_ROWS
from core.scoring.spec import ChunkResult
from core.store.repository import NewVersion

PARQUET_COMPRESSION = "zstd"
SAMPLE_SEED = 20240601


class Sample:
    """A uniform sample of at most ``size`` rows of a stream of tables (bottom-k random keys)."""

    def __init__(self, size: int, columns: list[str]) -> None:
        self.size, self.columns = size, columns
        self._rng = np.random.default_rng(SAMPLE_SEED)
        self._keys = np.empty(0)
        self._rows: pa.Table | None = None

    def add(self, table: pa.Table) -> None:
        keys = self._rng.random(table.num_rows)
        picked = table.select([c for c in self.columns if c in table.column_names])
        if self._rows is not None and len(self._keys) >= self.size:
            below = np.flatnonzero(keys < self._keys.max())
            keys, picked = keys[below], picked.take(pa.array(below))
        if self._rows is not None:
            keys = np.concatenate([self._keys, keys])
            picked = pa.concat_tables([self._rows, picked])
        if len(keys) > self.size:
            keep = np.sort(np.argpartition(keys, self.size - 1)[: self.size])
            keys, picked = keys[keep], picked.take(pa.array(keep))
        self._keys, self._rows = keys, picked.combine_chunks()

    def table(self) -> pa.Table | None:
        return self._rows


class ScoredWriter:
    """Scored chunks → one Parquet file (a row group per chunk), in the order written."""

    def __init__(self, path: Path, sample: Sample) -> None:
        self.path, self.sample = path, sample
        self.rows = 0
        self._found: dict[tuple[str, str], dict[str, Any]] = {}
        self._writer: pq.ParquetWriter | None = None

    def write(self, result: ChunkResult) -> None:
        for problem in result.problems:
            found = self._found.setdefault(
                (problem["column"], problem["problem"]), {**problem, "count": 0, "rows": []}
            )
            found["count"] += problem["count"]
            found["rows"] = (found["rows"] + problem["rows"])[:SHOWN_ROWS]
        if result.table is None:
            raise invalid_values(result.problems)
        table = result.table
        try:
            if self._writer is None:
                self._writer = pq.ParquetWriter(
                    self.path,
                    table.schema,
                    compression=PARQUET_COMPRESSION,
                    use_dictionary=_dictionary_columns(table.schema),
                )
            elif table.schema != self._writer.schema:
                table = _conform(table, self._writer.schema, self.rows)
            self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        except OSError as exc:
            raise _unwritable(self.path, exc) from None
        self.sample.add(table)
        self.rows += table.num_rows

    def problems(self) -> list[dict[str, Any]]:
        """The invalid values met so far, per column and problem (count, first rows)."""
        return list(self._found.values())

    @property
    def invalid(self) -> dict[str, int]:
        return {
            f"{column}: {problem}": found["count"]
            for (column, problem), found in self._found.items()
        }

    def close(self) -> pa.Schema:
        if self._writer is None:
            raise ShipwayError("the input has no rows to score", hint="give an input with rows")
        try:
            self._writer.close()
        except OSError as exc:
            raise _unwritable(self.path, exc) from None
        return self._writer.schema

    def abandon(self) -> None:
        """Close the file after a failure (the caller removes it); errors are secondary."""
        if self._writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                self._writer.close()


def _unwritable(path: Path, exc: OSError) -> ShipwayError:
    """A full disk (or a file-size limit) while writing: the job stops, nothing is kept."""
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
    return ShipwayError(
        f"cannot write the scored rows: {detail}",
        where=str(path.parent),
        hint="free some disk space (or raise the file-size limit) and score again; nothing was "
        "stored",
    )


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Text and booleans: dictionary encoding pays there; for measurements it is tried for
    nothing (a tenth of the writer's time)."""
    return [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_boolean(f.type)]


def _conform(table: pa.Table, schema: pa.Schema, start: int) -> pa.Table:
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
        raise ShipwayError(
            f"the rows from {start} on do not have the types of the rows before: {exc}",
            hint="convert the input's columns to one type each (e.g. import it first)",
        ) from None


def invalid_values(problems: tuple[dict[str, Any], ...]) -> ShipwayError:
    """The error that stops a job on values that do not read as their column's type."""
    from core.errors import InvalidInput
    from core.serving.validation import PROBLEMS

    first = problems[0]
    rows = ", ".join(str(r) for r in first["rows"][:5])
    total = sum(p["count"] for p in problems)
    return InvalidInput(
        f"{total} value(s) do not fit the model's input types; first: column "
        f"{first['column']!r}, row {rows} (0 is the first data row): {PROBLEMS[first['problem']]}",
        where=f"column {first['column']}",
        hint="fix the input, or pass --invalid missing to score such values as missing",
        details=[dict(p) for p in problems],
    )


def record_version(
    project: Project,
    temp: Path,
    schema: pa.Schema,
    rows: int,
    name: str,
    lineage: dict[str, Any],
    profile: dict[str, Any],
    report: ImportReport,
) -> tuple[DatasetVersion, bool]:
    """Move the finished file to its content address, then record the version."""
    blob = project.blobs.commit_temp(temp)
    stable = {k: v for k, v in lineage.items() if k not in ("scored_at", "scored_by")}
    new = NewVersion(
        dataset=name,
        sha256=blob.sha256,
        size_bytes=blob.size_bytes,
        rows=rows,
        columns=len(schema.names),
        source=report.source,
        source_format="scored",
        source_sha256=lineage["input"].get("sha256") or "",
        options_key=hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest(),
        options={"lineage": lineage},
        schema={field.name: shipway_type(field.type) for field in schema},
        profile=profile,
        report=report.to_dict(),
    )
    return project.repo.add_version(new)
