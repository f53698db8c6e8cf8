"""The data floor's service: importing, reading, comparing and exporting data set versions.

Reached as ``workspace.data``. Every read goes through the blob's hash check
(:mod:`core.data.versions`); imports follow the order of work in :mod:`core.data.importer`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from core.data import importer, versions
from core.data.diff import DatasetDiff, diff_tables
from core.data.export import export_table
from core.data.importer import ImportJob, ImportOptions, ImportOutcome
from core.data.preview import FilePreview, preview_file
from core.entities import Dataset, DatasetVersion
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project


class DataService:
    """Data set versions of one project."""

    def __init__(self, project: Project) -> None:
        self._project = project

    def import_file(
        self,
        path: Path | str,
        options: ImportOptions = ImportOptions(),
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> ImportOutcome:
        """Import a file as a new version of a data set (:mod:`core.data.importer`)."""
        return importer.import_file(self._job(options, progress, cancel), Path(path))

    def import_sql(
        self,
        query: str,
        url: str,
        name: str,
        options: ImportOptions = ImportOptions(),
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> ImportOutcome:
        """Import the result of ``query`` on the database at ``url`` as a version of ``name``."""
        return importer.import_sql(self._job(options, progress, cancel), query, url, name)

    def _job(
        self, options: ImportOptions, progress: ProgressFn, cancel: CancelToken | None
    ) -> ImportJob:
        return ImportJob(self._project, options, progress, cancel or CancelToken())

    def preview_file(
        self, path: Path | str, options: ImportOptions = ImportOptions(), rows: int = 50
    ) -> FilePreview:
        """What importing ``path`` with ``options`` would read, from its head; stores nothing."""
        return preview_file(Path(path), options, rows, self._project.settings.data)

    def datasets(self) -> list[Dataset]:
        return self._project.repo.list_datasets()

    def versions(self, name: str) -> list[DatasetVersion]:
        return self._project.repo.list_versions(name)

    def version(self, ref: str) -> DatasetVersion:
        """``NAME``, ``NAME@3`` or ``NAME@latest`` → the version it names."""
        return versions.resolve(self._project, ref)

    def verify(self, version: DatasetVersion) -> str | None:
        """None when the version's blob is intact, else what is wrong with it."""
        return self._project.blobs.verify(version.sha256)

    def table(self, ref: str) -> pa.Table:
        """The version's rows (after the blob's hash check)."""
        return versions.load_table(self._project, versions.resolve(self._project, ref))

    def read(self, ref: str) -> Any:
        """The version's rows as a pandas DataFrame (after the blob's hash check)."""
        return self.table(ref).to_pandas()

    def diff(self, ref_a: str, ref_b: str) -> DatasetDiff:
        va, vb = versions.resolve(self._project, ref_a), versions.resolve(self._project, ref_b)
        ta, tb = versions.load_table(self._project, va), versions.load_table(self._project, vb)
        return diff_tables(va, ta, vb, tb)

    def export(self, ref: str, target: Path | str, fmt: str | None = None) -> Path:
        version = versions.resolve(self._project, ref)
        path = export_table(versions.load_table(self._project, version), Path(target), fmt)
        self._project.repo.record_event(
            "dataset.export", "dataset_version", version.ref, path=str(path)
        )
        return path

    @staticmethod
    def export_table_csv(columns: dict[str, list[Any]], target: Path | str) -> Path:
        """Write columns of plain values as CSV, formula-like text cells neutralised."""
        return export_table(pa.table(columns), Path(target), "csv")
