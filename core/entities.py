"""Plain, frozen records that the engine hands out (to the CLI, the desktop, the REST layer).

They hold no database session and no open file: the store converts ORM rows into these inside
its session scope, so callers can keep them as long as they like and pass them across threads.
A record whose ``to_dict`` is its fields derives from ``_Record`` and names its datetime fields
in ``DATED`` (written in ISO 8601) rather than writing the method again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dated(record: Any, *names: str) -> dict[str, Any]:
    """``asdict(record)`` with its datetimes ``names`` in ISO 8601 (None stays None)."""
    data = asdict(record)
    for name in names:
        data[name] = _iso(getattr(record, name))
    return data


def _fields(record: Any, *names: str) -> dict[str, Any]:
    """Some attributes of ``record`` by name: what a ``to_dict`` adds to a ``summary``."""
    return {name: getattr(record, name) for name in names}


class _Record:
    """A record whose ``to_dict`` is its fields, with the datetimes named in ``DATED`` in ISO
    8601: a class names its datetime fields instead of writing ``to_dict``."""

    DATED: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        return _dated(self, *self.DATED)


@dataclass(frozen=True)
class AuditEntry(_Record):
    """One recorded state change: who did what to which object, and when."""

    DATED = ("at",)

    id: int
    at: datetime
    user: str
    action: str
    object_type: str
    object_ref: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset(_Record):
    """A named data set: a line of immutable versions."""

    DATED = ("created_at", "updated_at")

    id: int
    name: str
    created_at: datetime
    created_by: str
    latest_version: int
    versions: int
    latest_rows: int
    latest_columns: int
    updated_at: datetime


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a data set, stored as a Parquet blob.

    ``sha256`` is the hash of that Parquet blob (the version's identity); ``source_sha256`` is
    the hash of the file it was imported from, so re-importing an unchanged file costs a hash.
    ``schema`` maps column name to Shipway type (integer, float, boolean, string, datetime).
    """

    id: int
    dataset: str
    version: int
    sha256: str
    size_bytes: int
    rows: int
    columns: int
    schema: dict[str, str]
    source: str
    source_format: str
    source_sha256: str
    options: dict[str, Any]
    parent_version: int | None
    created_at: datetime
    created_by: str
    profile: dict[str, Any]
    report: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.dataset}@{self.version}"

    def summary(self) -> dict[str, Any]:
        """The short form used in lists and in import answers."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "rows": self.rows,
            "columns": self.columns,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "source": self.source,
            "format": self.source_format,
            "parent": self.parent_version,
            "created_at": _iso(self.created_at),
            "created_by": self.created_by,
        }

    def to_dict(self) -> dict[str, Any]:
        details = ("schema", "source_sha256", "options", "profile", "report")
        return self.summary() | _fields(self, *details)


@dataclass(frozen=True)
class ProjectInfo(_Record):
    """What the header of the app and ``shipway`` commands show about a project."""

    name: str
    path: str
    db_url: str
    schema_revision: str | None
    task: str
    target: str
    primary_metric: str


RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled")


@dataclass(frozen=True)
class Run(_Record):
    """A training run (``kind`` "train") or a search over trial runs (``kind`` "search")."""

    DATED = ("created_at", "started_at", "finished_at")

    id: int
    parent_id: int | None
    kind: str
    status: str
    task: str
    estimator: str
    dataset: str
    dataset_version: int
    dataset_sha256: str
    target: str
    spec: dict[str, Any]
    params: dict[str, Any]
    metrics: dict[str, Any]
    validation_metrics: dict[str, Any]
    cv: dict[str, Any]
    curves: dict[str, Any]
    importance: dict[str, Any]
    io_schema: dict[str, Any]
    environment: dict[str, Any]
    notes: list[str]
    timings: dict[str, Any]
    model_sha256: str | None
    model_size: int | None
    duration_s: float | None
    error: str | None
    traceback: str | None
    log: str | None
    is_best: bool
    reproduces_id: int | None
    executor: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    def summary(self) -> dict[str, Any]:
        return {
            "run": self.id,
            "parent": self.parent_id,
            "kind": self.kind,
            "status": self.status,
            "task": self.task,
            "estimator": self.estimator,
            "dataset": f"{self.dataset}@{self.dataset_version}",
            "target": self.target,
            "metrics": self.metrics,
            "is_best": self.is_best,
            "duration_s": self.duration_s,
            "created_at": _iso(self.created_at),
            "created_by": self.created_by,
            "error": self.error,
        }

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["run"] = data.pop("id")
        data["dataset_ref"] = f"{self.dataset}@{self.dataset_version}"
        return data


@dataclass(frozen=True)
class ModelVersion:
    """One immutable registered version of a model, with the lineage copied from its run.

    ``aliases`` are the aliases this version holds now; ``trained_by`` is who ran the run,
    ``created_by`` who registered it.
    """

    id: int
    model: str
    version: int
    run_id: int
    model_sha256: str
    model_size: int
    task: str
    estimator: str
    dataset: str
    dataset_version: int
    dataset_sha256: str
    target: str
    spec: dict[str, Any]
    metrics: dict[str, Any]
    io_schema: dict[str, Any]
    environment: dict[str, Any]
    reference_sha256: str | None
    description: str
    tags: dict[str, str]
    aliases: tuple[str, ...]
    trained_by: str
    created_at: datetime
    created_by: str

    @property
    def ref(self) -> str:
        return f"{self.model}@{self.version}"

    @property
    def dataset_ref(self) -> str:
        return f"{self.dataset}@{self.dataset_version}"

    @property
    def features(self) -> list[str]:
        return [entry["name"] for entry in self.io_schema.get("inputs", [])]

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "aliases": list(self.aliases),
            "run": self.run_id,
            "task": self.task,
            "estimator": self.estimator,
            "dataset": self.dataset_ref,
            "target": self.target,
            "metrics": self.metrics,
            "model_size": self.model_size,
            "description": self.description,
            "tags": self.tags,
            "created_at": _iso(self.created_at),
            "created_by": self.created_by,
            "trained_by": self.trained_by,
        }

    def to_dict(self) -> dict[str, Any]:
        details = ("model_sha256", "dataset_sha256", "features", "spec", "io_schema",
                   "environment", "reference_sha256")  # fmt: skip
        return self.summary() | _fields(self, *details)


@dataclass(frozen=True)
class RegisteredModel(_Record):
    """A named model: its versions and which version holds each alias."""

    DATED = ("created_at",)

    id: int
    name: str
    description: str
    created_at: datetime
    created_by: str
    latest_version: int
    versions: int
    aliases: dict[str, int]


@dataclass(frozen=True)
class AliasMove(_Record):
    """One recorded move of an alias: ``kind`` is "promote", "force" or "rollback"."""

    DATED = ("at",)

    id: int
    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    kind: str
    reason: str
    gates: list[dict[str, Any]]
    rolled_back: bool
    at: datetime
    user: str


@dataclass(frozen=True)
class Approval(_Record):
    """A person's sign-off on a model version."""

    DATED = ("at",)

    id: int
    model: str
    version: int
    approver: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class GateResult(_Record):
    """One rule's verdict: what was measured, against what, and a sentence saying so."""

    rule: str
    passed: bool
    message: str
    value: Any = None
    threshold: Any = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateReport:
    """Every rule guarding ``alias``, evaluated on one version against the current holder."""

    model: str
    version: int
    alias: str
    incumbent: int | None
    results: tuple[GateResult, ...]
    source: str

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    @property
    def failures(self) -> list[GateResult]:
        return [result for result in self.results if not result.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "alias": self.alias,
            "incumbent": self.incumbent,
            "passed": self.passed,
            "source": self.source,
            "gates": [result.to_dict() for result in self.results],
        }


@dataclass(frozen=True)
class Deployment(_Record):
    """A recorded REST server of a model version, or of whatever version holds an alias.

    ``status`` is what the store recorded ("running" or "stopped"); the live state of the
    process and its answers come from :func:`core.deploy.probe.probe`. ``process_started`` and
    ``process_command`` tell the server process apart from a later process that reuses ``pid``
    (see :mod:`core.deploy.identity`); None in deployments recorded without them.
    """

    id: str
    model: str
    alias: str | None
    version: int
    kind: str
    host: str
    port: int
    pid: int
    machine: str
    token: bool
    folder: str
    status: str
    started_at: datetime
    started_by: str
    stopped_at: datetime | None
    stop_note: str
    process_started: str | None = None
    process_command: tuple[str, ...] | None = None
    keep: bool = False  # kept up by the always-on service

    DATED = ("started_at", "stopped_at")
    STALE: ClassVar[str] = "stale: "  # how the stop note of a stale deployment begins

    @property
    def stale(self) -> bool:
        """Recorded as stopped because its process id had come to name another process."""
        return self.status == "stopped" and self.stop_note.startswith(self.STALE)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def target(self) -> str:
        return f"{self.model}@{self.alias or self.version}"

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | _fields(self, "url", "target", "stale")


@dataclass(frozen=True)
class Alert(_Record):
    """A trigger that fired: recorded once per streak, with the retraining it started."""

    id: int
    model: str
    version: int
    deployment: str
    kind: str
    bucket_seconds: int
    bucket_start: str
    message: str
    detail: dict[str, Any]
    created_at: str
    created_by: str
    retrain_status: str | None = None
    retrain_run: int | None = None
    retrain_version: int | None = None
    gates_passed: bool | None = None
    retrain_error: str | None = None


@dataclass(frozen=True)
class GateEvaluation:
    """One stored evaluation of the gates guarding ``alias`` on a version."""

    alias: str
    passed: bool
    gates: tuple[dict[str, Any], ...]  # one per rule: rule, value, threshold, passed, message
    incumbent: int | None
    at: str  # ISO 8601, UTC
    user: str

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gates": list(self.gates)}


@dataclass(frozen=True)
class Job(_Record):
    """A piece of work of the always-on service: ``kind`` "retrain", "import", "check",
    "restart" or "prune"; ``status`` "queued", "running", "done", "failed" or "cancelled"."""

    DATED = ("created_at", "started_at", "finished_at")

    id: int
    kind: str
    title: str
    target: str
    status: str
    fraction: float | None
    message: str
    detail: dict[str, Any]
    error: str | None
    cancel_requested: bool
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    host: str | None
    pid: int | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")
