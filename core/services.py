"""The engine's front door for the desktop and the CLI: plain Python in, frozen records out.

:class:`Workspace` is a composition root: opening a project builds one plain service per
domain, each given its collaborators, and the cross-floor flows on top of them:

    ws.data         data set versions            (core.data.service)
    ws.runs         runs, searches, executor     (core.experiments.service)
    ws.registry     model versions, gates        (core.registry.service)
    ws.deployments  local REST servers           (core.deploy.service)
    ws.monitoring   drift, traffic, alerts       (core.monitoring.service)
    ws.bundles      export, verify, serve        (core.bundles.service)
    ws.scoring      batch predictions as versions (core.scoring.service)
    ws.lifecycle    register, promote, rollback, check triggers  (core.lifecycle)
    ws.jobs         the always-on service's jobs (core.operations.jobs)
    ws.service      whether the service runs; start, install it (core.operations.control)
    ws.project      settings, audit trail, schema

Nothing here hands out SQLAlchemy objects, open files or sockets. Long operations accept
``progress`` and ``cancel`` so that ``desktop/tasks.py`` can run them off the GUI thread.
docs/architecture.md draws the floors.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.deploy.challenger import ChallengerConfig, ChallengerInfo
from core.deploy.probe import LiveState
from core.deploy.service import SERVING_KEYS, DeploymentsService, Swap
from core.entities import AuditEntry, ProjectInfo
from core.experiments.catalog import EstimatorSpec, ParamSpec
from core.experiments.compare import Reproduction, RunComparison
from core.experiments.handles import TrainingRun
from core.experiments.service import RunsService
from core.experiments.spec import TrainRequest
from core.lifecycle import Lifecycle, Retraining, TriggerCheck
from core.monitoring.results import DriftReport, DriftSeries
from core.monitoring.service import MonitoringService, ReferenceSummary
from core.operations.jobs import JobsService
from core.project import Project, find_project_root
from core.registry.service import Promotion, RegistryService
from core.store import migrate

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from core.bundles.service import BundlesService, ExportedBundle
    from core.data.diff import DatasetDiff
    from core.data.importer import ImportOptions, ImportOutcome
    from core.data.preview import FilePreview
    from core.data.service import DataService
    from core.monitoring.traffic import TrafficSeries
    from core.operations.control import ServiceControl
    from core.scoring.service import ScoreRequest, ScoringResult, ScoringService

# Records whose modules a process may never need, imported when first asked for: the data
# importers and pyarrow's CSV and Parquet readers, bundles, batch scoring, the service
# installer, pandas' traffic series. The always-on service, which watches deployments and
# never imports a file itself, then stays smaller (docs/operations.md, "What it costs").
LAZY_RECORDS = {
    "BundlesService": "core.bundles.service",
    "ExportedBundle": "core.bundles.service",
    "DatasetDiff": "core.data.diff",
    "ImportOptions": "core.data.importer",
    "ImportOutcome": "core.data.importer",
    "FilePreview": "core.data.preview",
    "DataService": "core.data.service",
    "ScoreRequest": "core.scoring.service",
    "ScoringResult": "core.scoring.service",
    "ScoringService": "core.scoring.service",
    "ServiceControl": "core.operations.control",
    "TrafficSeries": "core.monitoring.traffic",
}

__all__ = [  # the records the services hand out, for the desktop's annotations
    "ChallengerConfig",
    "ChallengerInfo",
    "DatasetDiff",
    "DriftReport",
    "DriftSeries",
    "EstimatorSpec",
    "ExportedBundle",
    "FilePreview",
    "ImportOptions",
    "ImportOutcome",
    "LiveState",
    "ParamSpec",
    "Promotion",
    "ReferenceSummary",
    "Reproduction",
    "Retraining",
    "RunComparison",
    "ScoreRequest",
    "ScoringResult",
    "Swap",
    "TrafficSeries",
    "TrainRequest",
    "TrainingRun",
    "TriggerCheck",
    "Workspace",
    "catalog",
    "export_table_csv",
    "find_project_root",
    "preview_file",
    "suggest_target",
    "suggest_task",
]


OPERATION_TABLES = frozenset({"monitor", "retrain", "notify", "imports"})


def _plain(value: Any) -> Any:
    """A parsed TOML value as plain dicts, lists and scalars."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class SchemaUpgrade:
    """What ``shipway db upgrade`` did: from and to which revision, and the backup it took."""

    revision_from: str | None
    revision_to: str | None
    upgraded: bool
    backup: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.revision_from, "to": self.revision_to, "upgraded": self.upgraded,
                "backup": self.backup}  # fmt: skip


class ProjectService:
    """The project itself: its settings, its audit trail, its database schema."""

    def __init__(self, project: Project) -> None:
        self._project = project

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

    def user(self) -> str:
        """The name this workspace records in the audit trail (``$SHIPWAY_USER`` or the OS's)."""
        return self._project.user

    def warnings(self) -> list[str]:
        """What the person opening this project should know: SQLite on a network share, keys
        of shipway.toml that nothing reads (a typo, or a key in the wrong table)."""
        return [*self._project.warnings, *self.settings_warnings()]

    def settings_warnings(self) -> list[str]:
        """Unknown or misplaced tables and keys of shipway.toml, naming the key and line."""
        from core.config import KNOWN_KEYS, load_settings, settings_warnings
        from core.experiments.thresholds import EVALUATION_KEYS
        from core.monitoring.config import DRIFT_KEYS, TRIGGER_KEYS
        from core.operations import config as operations
        from core.registry.gate_config import RULES
        from core.registry.roles import ROLE_KEYS
        from core.settings_rules import settings_text

        known = {
            **KNOWN_KEYS,
            "drift": DRIFT_KEYS,
            "triggers": frozenset(TRIGGER_KEYS),
            "gates": frozenset(RULES),
            "roles": ROLE_KEYS,
            "serving": SERVING_KEYS,
            "monitor": operations.MONITOR_KEYS,
            "retrain": operations.RETRAIN_KEYS,
            "notify": operations.NOTIFY_KEYS,
            "imports": operations.IMPORT_KEYS,
            "evaluation": EVALUATION_KEYS,
        }
        root = self._project.root
        return settings_warnings(load_settings(root).raw, settings_text(root), known)

    def upgrade_database(self) -> SchemaUpgrade:
        current = self._project.schema_revision
        head = migrate.head_revision()
        if current == head:
            return SchemaUpgrade(current, current, False, None)
        backup = self._project.upgrade_schema(current)
        return SchemaUpgrade(current, head, True, None if backup is None else str(backup))

    # -- settings ----------------------------------------------------------------------------

    def save_settings(
        self,
        project: dict[str, Any] | None = None,
        gates: dict[str, dict[str, Any]] | None = None,
        tables: dict[str, dict[str, Any]] | None = None,
    ) -> ProjectInfo:
        """Write [project] keys (task, target, primary_metric), [gates.ALIAS] tables and keys of
        other tables (``tables``, e.g. ``{"triggers": {"drift_buckets": 3}}``; None removes one).

        Everything written is checked as its reader would read it; a mistake raises (naming the
        line) and puts the previous file back. Comments are kept.
        """
        from core.config import SETTINGS_FILE, load_settings, update_settings
        from core.monitoring.config import load_drift_config, load_trigger_config
        from core.registry.gate_config import load_gates

        root = self._project.root
        path = root / SETTINGS_FILE
        before = path.read_text(encoding="utf-8")
        update_settings(root, project, gates, tables)
        try:
            settings = load_settings(root)
            for alias in gates or {}:
                load_gates(root, settings.raw, alias)
            if "drift" in (tables or {}):
                load_drift_config(root, settings.raw)
            if "triggers" in (tables or {}):
                load_trigger_config(root, settings.raw)
            if OPERATION_TABLES & set(tables or {}):
                from core.operations.config import load_operations_config

                load_operations_config(root, settings.raw, environment=False)
        except BaseException:
            path.write_text(before, encoding="utf-8")
            raise
        self._project.settings = settings
        return self.info()

    def tables(self, *names: str) -> dict[str, dict[str, Any]]:
        """The named tables of shipway.toml as written now (plain values; a missing table is
        empty), e.g. ``tables("monitor", "retrain", "notify")`` for a form that edits them."""
        from core.config import load_settings

        raw = load_settings(self._project.root).raw
        return {name: _plain(raw.get(name, {})) for name in names}

    def reload_settings(self) -> ProjectInfo:
        """Read shipway.toml again, so edits made in an editor count (gates, data options)
        without reopening the project; a mistake raises and keeps the settings in force."""
        from core.config import load_settings

        self._project.settings = load_settings(self._project.root)
        return self.info()

    # -- audit trail -------------------------------------------------------------------------

    def record(self, action: str, object_type: str, ref: str, **detail: Any) -> None:
        """An audit row for an act that changes no table of its own (a notice sent, settings
        refused by the always-on service)."""
        self._project.repo.record_event(action, object_type, ref, **detail)

    def audit(self, limit: int = 200, action: str | None = None) -> list[AuditEntry]:
        return self._project.repo.audit_entries(limit=limit, action=action)

    def last_change(self) -> int:
        """The id of the newest audit entry: a cursor for :meth:`changes_since`."""
        return self._project.repo.last_audit_id()

    def changes_since(self, cursor: int) -> list[AuditEntry]:
        """Every state change recorded after ``cursor``, by anyone (the app polls this to
        refresh when teammates import, train, register or move aliases)."""
        return self._project.repo.audit_since(cursor)


class Workspace:
    """One open project: its domain services and the flows between them."""

    def __init__(self, project: Project) -> None:
        self._project = project
        self.project = ProjectService(project)
        self.runs = RunsService(project)
        self.registry = RegistryService(project)
        self.deployments = DeploymentsService(project, self.registry)
        self.monitoring = MonitoringService(project, self.registry, self.deployments)
        self.registry.live_evidence = self.monitoring.challenger_comparisons
        self.lifecycle = Lifecycle(
            project, self.runs, self.registry, self.deployments, self.monitoring
        )
        self.jobs = JobsService(project)
        self._building = threading.RLock()
        self._built: dict[str, Any] = {}

    def _once(self, name: str, build: Any) -> Any:
        """The service ``name``, built on first use (one instance, whichever thread asks)."""
        with self._building:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    @property
    def data(self) -> DataService:
        from core.data.service import DataService

        return self._once("data", lambda: DataService(self._project))

    @property
    def bundles(self) -> BundlesService:
        from core.bundles.service import BundlesService

        return self._once("bundles", lambda: BundlesService(self._project, self.registry))

    @property
    def scoring(self) -> ScoringService:
        from core.scoring.service import ScoringService

        return self._once("scoring", lambda: ScoringService(self._project, self.registry))

    @property
    def service(self) -> ServiceControl:
        from core.operations.control import ServiceControl

        return self._once("service", lambda: ServiceControl(self._project.root))

    @classmethod
    def create(
        cls, folder: Path | str, name: str | None = None, db_url: str | None = None
    ) -> Workspace:
        return cls(Project.init(Path(folder), name=name, db_url=db_url))

    @classmethod
    def open(cls, folder: Path | str, *, upgrade: str = "auto") -> Workspace:
        """Open a project; ``upgrade`` is "auto", "refuse" or "defer" (see Project.open)."""
        return cls(Project.open(Path(folder), upgrade=upgrade))

    @property
    def root(self) -> Path:
        return self._project.root

    def close(self) -> None:
        self.runs.close()
        self._project.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- what needs no open project (the new-project wizard, the catalog) ------------------------


def preview_file(
    path: Path | str, options: ImportOptions | None = None, rows: int = 50
) -> FilePreview:
    """What importing ``path`` would read, with the default ``[data]`` limits (no project yet).
    An open project's ``ws.data.preview_file`` applies its own limits."""
    from core.data.importer import ImportOptions
    from core.data.preview import preview_file as preview

    return preview(Path(path), options or ImportOptions(), rows)


def suggest_target(
    columns: Iterable[str], types: Mapping[str, str], identifiers: Mapping[str, str]
) -> str | None:
    """The column a model most likely predicts (core.data.column_roles), or ``None``."""
    from core.data.column_roles import suggest_target as suggest

    return suggest(columns, types, identifiers)


def suggest_task(column_type: str, stats: dict[str, Any]) -> str:
    """The task a target column suggests (the rule training uses when no task is given)."""
    return RunsService.suggest_task(column_type, stats)


def catalog(task: str | None = None) -> tuple[Any, ...]:
    """Every estimator Shipway trains (or those for ``task``), as frozen records."""
    return RunsService.catalog(task)


def export_table_csv(columns: dict[str, list[Any]], target: Path | str) -> Path:
    """Write columns of plain values as CSV, formula-like text cells neutralised."""
    from core.data.service import DataService

    return DataService.export_table_csv(columns, target)


def __getattr__(name: str) -> Any:
    """The records of :data:`LAZY_RECORDS`, imported when first asked for."""
    if name in LAZY_RECORDS:
        import importlib

        return getattr(importlib.import_module(LAZY_RECORDS[name]), name)
    raise AttributeError(f"module 'core.services' has no attribute {name!r}")
