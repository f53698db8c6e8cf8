"""The engine's front door for the desktop and the CLI: plain Python in, frozen records out.

Nothing here hands out SQLAlchemy objects, open files or sockets. Long operations accept
``progress`` and ``cancel`` so that ``desktop/tasks.py`` can run them off the GUI thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.bundles.service import BundlesMixin
from core.config import DEFAULT_MISSING_TOKENS
from core.data import importer, versions
from core.data.diff import diff_tables
from core.data.export import export_table
from core.data.importer import ImportOptions, ImportOutcome
from core.deploy.service import DeploymentsMixin
from core.entities import AuditEntry, Dataset, DatasetVersion, ProjectInfo, Run
from core.errors import UsageError
from core.experiments.executors import DaskExecutor, Executor, LocalExecutor
from core.experiments.spec import RunSpec, TrainRequest
from core.monitoring.service import MonitoringMixin
from core.progress import CancelToken, ProgressFn, no_progress
from core.project import Project, find_project_root
from core.registry.service import Promotion, RegistryMixin
from core.store import migrate

__all__ = [
    "DEFAULT_MISSING_TOKENS",
    "ImportOptions",
    "ImportOutcome",
    "Promotion",
    "TrainRequest",
    "Workspace",
    "find_project_root",
]


class ExperimentsMixin:
    """Training, searching, reproducing and comparing runs (mixed into Workspace).

    scikit-learn is imported only when a method needs it, so a command that starts a worker
    process first does not wait for those imports in the calling process.
    """

    _project: Project

    def settings_executor_kind(self) -> str:
        return self._project.settings.executor.kind

    def use_executor(self, executor: Executor) -> None:
        """Run on an executor made (and perhaps warmed) by the caller; close() shuts it down."""
        self.shutdown_executor()
        self._executor = executor

    def executor(self, kind: str | None = None, address: str | None = None) -> Executor:
        """The executor runs go to (created on first use, shut down by close())."""
        cached = getattr(self, "_executor", None)
        if cached is not None and kind is None and address is None:
            return cached
        settings = self._project.settings.executor
        kind = kind or settings.kind
        if kind == "dask":
            made: Executor = DaskExecutor(address or settings.address)
        elif kind == "local":
            made = LocalExecutor(workers=settings.workers)
        else:
            raise UsageError(f"unknown executor {kind!r}", hint="use local or dask")
        if cached is not None:
            cached.shutdown()
        self._executor = made
        return made

    def prepare_run(self, request: TrainRequest) -> tuple[RunSpec, DatasetVersion]:
        """Validate a request against the data; raises InvalidInput naming the problem."""
        from core.experiments import runs

        return runs.build_spec(self._project, request)

    def train(
        self,
        request: TrainRequest,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> Run:
        from core.experiments import runs

        spec, version = self.prepare_run(request)
        return runs.train(self._project, spec, version, self.executor(), progress, cancel)

    def search(
        self,
        request: TrainRequest,
        method: str,
        trials: int,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> Run:
        from core.experiments import runs

        spec, version = self.prepare_run(request)
        return runs.search(
            self._project, spec, version, self.executor(), method, trials, progress, cancel
        )

    def runs(
        self, sort: str | None = None, parent: int | None = None, all_runs: bool = False
    ) -> list[Run]:
        from core.experiments.compare import sort_runs

        found = self._project.runs.list(parent_id=parent, include_children=all_runs)
        return sort_runs(found, sort)

    def run(self, run_id: int) -> Run:
        return self._project.runs.get(run_id)

    def verify_model(self, run: Run) -> str | None:
        """None when the run's model blob is intact, else what is wrong with it."""
        if run.model_sha256 is None:
            return "this run has no model"
        return self._project.blobs.verify(run.model_sha256)

    def compare_runs(self, run_ids: list[int]) -> dict[str, Any]:
        from core.experiments.compare import compare_runs

        return compare_runs(self._project, run_ids)

    def reproduce_run(
        self, run_id: int, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
    ) -> dict[str, Any]:
        from core.experiments.compare import reproduce

        return reproduce(self._project, run_id, self.executor(), progress, cancel)

    def primary_metric(self, task: str) -> str:
        from core.experiments.runs import primary_metric

        return primary_metric(self._project, task)

    def export_runs(self, target: Path | str, sort: str | None = None) -> Path:
        from core.experiments.export import export_runs_csv

        return export_runs_csv(self.runs(sort=sort, all_runs=True), Path(target))

    @staticmethod
    def catalog(task: str | None = None) -> list[dict[str, Any]]:
        from core.experiments.catalog import catalog_json

        return catalog_json(task)

    def shutdown_executor(self) -> None:
        cached = getattr(self, "_executor", None)
        if cached is not None:
            cached.shutdown()
            self._executor = None


class Workspace(ExperimentsMixin, RegistryMixin, DeploymentsMixin, BundlesMixin, MonitoringMixin):
    """One open project and everything a user can do with it."""

    def __init__(self, project: Project) -> None:
        self._project = project

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def create(
        cls, folder: Path | str, name: str | None = None, db_url: str | None = None
    ) -> Workspace:
        return cls(Project.init(Path(folder), name=name, db_url=db_url))

    @classmethod
    def open(cls, folder: Path | str, *, upgrade: str = "auto") -> Workspace:
        """Open a project; ``upgrade`` is "auto", "refuse" or "defer" (see Project.open)."""
        return cls(Project.open(Path(folder), upgrade=upgrade))

    def close(self) -> None:
        self.shutdown_executor()
        self._project.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def root(self) -> Path:
        return self._project.root

    def info(self) -> ProjectInfo:
        settings = self._project.settings
        return ProjectInfo(
            name=settings.name,
            path=str(self._project.root),
            db_url=self._project.database.url,
            schema_revision=self._project.schema_revision,
            task=settings.task,
            target=settings.target,
            primary_metric=settings.primary_metric,
        )

    def upgrade_database(self) -> dict[str, Any]:
        current = self._project.schema_revision
        if current == migrate.head_revision():
            return {"from": current, "to": current, "upgraded": False, "backup": None}
        backup = self._project.upgrade_schema(current)
        return {"from": current, "to": migrate.head_revision(), "upgraded": True, "backup": backup}

    # -- data --------------------------------------------------------------------------------

    def import_file(
        self,
        path: Path | str,
        options: ImportOptions = ImportOptions(),
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> ImportOutcome:
        return importer.import_file(self._project, Path(path), options, progress, cancel)

    def import_sql(
        self,
        query: str,
        url: str,
        name: str,
        options: ImportOptions = ImportOptions(),
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> ImportOutcome:
        return importer.import_sql(self._project, query, url, name, options, progress, cancel)

    def datasets(self) -> list[Dataset]:
        return self._project.repo.list_datasets()

    def dataset_versions(self, name: str) -> list[DatasetVersion]:
        return self._project.repo.list_versions(name)

    def dataset_version(self, ref: str) -> DatasetVersion:
        return versions.resolve(self._project, ref)

    def verify_dataset(self, version: DatasetVersion) -> str | None:
        """None when the version's blob is intact, else what is wrong with it."""
        return self._project.blobs.verify(version.sha256)

    def read_dataset(self, ref: str) -> Any:
        """The version's rows as a pandas DataFrame (after the blob's hash check)."""
        version = versions.resolve(self._project, ref)
        return versions.load_table(self._project, version).to_pandas()

    def diff_datasets(self, ref_a: str, ref_b: str) -> dict[str, Any]:
        va = versions.resolve(self._project, ref_a)
        vb = versions.resolve(self._project, ref_b)
        ta = versions.load_table(self._project, va)
        tb = versions.load_table(self._project, vb)
        return diff_tables(va, ta, vb, tb)

    def export_dataset(self, ref: str, target: Path | str, fmt: str | None = None) -> Path:
        version = versions.resolve(self._project, ref)
        table = versions.load_table(self._project, version)
        path = export_table(table, Path(target), fmt)
        self._project.repo.record_event(
            "dataset.export", "dataset_version", version.ref, path=str(path)
        )
        return path

    # -- audit -------------------------------------------------------------------------------

    def audit(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        return self._project.repo.audit_entries(limit=limit, action=action)

    def last_change(self) -> int:
        """The id of the newest audit entry: a cursor for :meth:`changes_since`."""
        return self._project.repo.last_audit_id()

    def changes_since(self, cursor: int) -> list[AuditEntry]:
        """Every state change recorded after ``cursor``, by anyone (the app polls this to
        refresh when teammates import, train, register or move aliases)."""
        return self._project.repo.audit_since(cursor)

    def warnings(self) -> list[str]:
        """What the person opening this project should know (e.g. SQLite on a network share)."""
        return list(self._project.warnings)

    # -- helpers for the desktop's wizard and tables ---------------------------------------------

    @staticmethod
    def preview_file(
        path: Path | str, options: ImportOptions = ImportOptions(), rows: int = 50
    ) -> dict[str, Any]:
        """What importing ``path`` with ``options`` would read, from its head; stores nothing.

        Text files are read from their first :data:`PREVIEW_BYTES` (cut at a line end) by the
        importer's own sniffing, parsing and typing, so the preview shows the detected encoding,
        delimiter, decimal mark and column types an import would use. Other formats are read
        whole. The answer holds ``format``, ``detected``, ``columns``, ``types``, ``rows`` (the
        first ``rows`` rows as text), ``sample_rows`` (rows read), ``profile`` and ``problems``.
        """
        from core.data.infer import TypingRules, shipway_type
        from core.data.profile import profile_table
        from core.data.readers import read_excel, read_jsonl, read_parquet
        from core.data.report import ImportReport

        source = importer.check_source(Path(path))
        fmt = importer.detect_format(source, options.format)
        tokens = frozenset(options.missing_tokens or DEFAULT_MISSING_TOKENS)
        report = ImportReport(format=fmt, source=str(source))
        rules = TypingRules(tokens, options.decimal or ".", 0.01)
        if fmt in ("csv", "tsv"):
            table = _preview_text(source, fmt, options, tokens, report)
        elif fmt == "parquet":
            table = read_parquet(source, report)
        elif fmt == "excel":
            table = read_excel(source, options.sheet, rules, report)
        else:
            table = read_jsonl(source, options.encoding or "utf-8-sig", rules, report)
        shown = table.slice(0, rows).to_pylist()
        return {
            "format": fmt,
            "detected": dict(report.detected),
            "columns": list(table.column_names),
            "types": {f.name: shipway_type(f.type) for f in table.schema},
            "rows": [[None if v is None else str(v) for v in row.values()] for row in shown],
            "sample_rows": table.num_rows,
            "profile": profile_table(table),
            "problems": list(report.problems),
        }

    @staticmethod
    def suggest_task(column_type: str, stats: dict[str, Any]) -> str:
        """The task a target column suggests (the rule training uses when no task is given)."""
        from core.experiments.validation import infer_task

        return infer_task(column_type, stats)

    def save_settings(
        self,
        project: dict[str, Any] | None = None,
        gates: dict[str, dict[str, Any]] | None = None,
    ) -> ProjectInfo:
        """Write [project] keys (task, target, primary_metric) and [gates.ALIAS] tables.

        The gates are checked as promotion would read them; a mistake raises GateConfigError
        naming the line and puts the previous file back.
        """
        from core.config import SETTINGS_FILE, load_settings, update_settings
        from core.registry.gate_config import load_gates

        path = self.root / SETTINGS_FILE
        before = path.read_text(encoding="utf-8")
        update_settings(self.root, project, gates)
        try:
            settings = load_settings(self.root)
            for alias in gates or {}:
                load_gates(self.root, settings.raw, alias)
        except BaseException:
            path.write_text(before, encoding="utf-8")
            raise
        self._project.settings = settings
        return self.info()

    @staticmethod
    def export_table_csv(columns: dict[str, list[Any]], target: Path | str) -> Path:
        """Write columns of plain values as CSV, formula-like text cells neutralised."""
        import pyarrow as pa

        return export_table(pa.table(columns), Path(target), "csv")

    # -- helpers for the desktop's models, deployments and monitoring pages ----------------------

    def current_user(self) -> str:
        """The name this workspace records in the audit trail (``$SHIPWAY_USER`` or the OS's)."""
        return self._project.user

    def reload_settings(self) -> ProjectInfo:
        """Read shipway.toml again, so edits made in an editor count (gates, drift, triggers)
        without reopening the project; a mistake raises and keeps the settings in force."""
        from core.config import load_settings

        self._project.settings = load_settings(self.root)
        return self.info()

    def deployment_requests(
        self, deployment_id: str, *, since: Any = None, last: int | None = None
    ) -> Any:
        """The deployment's logged requests as a DataFrame, one row per request, oldest first
        (see :func:`core.serving.logreader.requests_frame`)."""
        from core.serving.logreader import requests_frame

        folder = self.deployment_folder(self.deployment(deployment_id))
        return requests_frame(folder, since=since, last=last)

    def deployment_log(self, deployment_id: str, max_bytes: int = 64 * 1024) -> str:
        """The end of the deployment's server.log (its process output when there is no log)."""
        folder = self.deployment_folder(self.deployment(deployment_id))
        for name in ("server.log", "server.out"):
            path = folder / name
            size = path.stat().st_size if path.is_file() else 0
            if size:
                start = max(0, size - max_bytes)
                with open(path, "rb") as handle:
                    handle.seek(start)
                    text = handle.read().decode("utf-8", "replace")
                return text if start == 0 else text.split("\n", 1)[-1]  # from a whole line
        return ""

    def retrain_request(self, ref: str) -> TrainRequest:
        """The version's spec as a request on the newest version of its data set (what a
        drift trigger's retraining trains)."""
        from core.monitoring.triggers import retrain_request

        return retrain_request(self.model_version(ref))


PREVIEW_BYTES = 512 * 1024


def _preview_text(
    source: Path, fmt: str, options: ImportOptions, tokens: frozenset[str], report: Any
) -> Any:
    """Parse the head of a text file through the importer's CSV reader (bad rows skipped)."""
    import tempfile

    from core.data.csv_reader import CsvOptions, read_csv
    from core.data.sniff import decide_encoding, scan_file
    from core.errors import ShipwayError

    with tempfile.TemporaryDirectory(prefix="shipway-preview-") as folder:
        head = Path(folder) / source.name
        with open(source, "rb") as handle:
            data = handle.read(PREVIEW_BYTES)
        if len(data) == PREVIEW_BYTES and b"\n" in data:
            data = data[: data.rindex(b"\n") + 1]
        head.write_bytes(data)
        try:
            scan = scan_file(head)
            encoding = decide_encoding(head, scan, options.encoding)
            delimiter = options.delimiter or ("\t" if fmt == "tsv" else None)
            csv_options = CsvOptions(delimiter, options.decimal, "skip", tokens, 0.01)
            return read_csv(head, scan, encoding, csv_options, report, no_progress, CancelToken())
        except ShipwayError as exc:  # name the user's file, not the temporary copy
            exc.message = exc.message.replace(str(head), str(source))
            exc.where = exc.where and exc.where.replace(str(head), str(source))
            exc.args = (exc.message,)
            raise
