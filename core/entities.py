"""Plain, frozen records that the engine hands out (to the CLI, the desktop, the REST layer).

They hold no database session and no open file: the store converts ORM rows into these inside
its session scope, so callers can keep them as long as they like and pass them across threads.
A record whose ``to_dict`` is its fields derives from ``_Record``, and one with a short form
for lists from ``_Summarized`` (naming the attributes of each form), rather than writing the
methods again. A run and the versions registered from it share their ``Lineage`` fields.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dated(value: Any) -> Any:
    """``value``, or its ISO 8601 form if it is a datetime."""
    return _iso(value) if isinstance(value, datetime) else value


def _picked(record: Any, names: str) -> dict[str, Any]:
    """Some attributes of ``record`` by name, as a ``summary`` or ``to_dict`` writes them.

    ``names`` are separated by white space; ``key=attribute`` writes an attribute under another
    key. Datetimes are written in ISO 8601 and tuples as lists. (The serving modules, which a
    bundle ships alone, have their own: ``core.serving.encoding.attributes``.)
    """
    picked = {}
    for name in names.split():
        key, _, attribute = name.partition("=")
        value = _dated(getattr(record, attribute or key))
        picked[key] = list(value) if isinstance(value, tuple) else value
    return picked


def _every_field(record: Any) -> dict[str, Any]:
    """``asdict(record)`` with its datetimes in ISO 8601."""
    return {name: _dated(value) for name, value in asdict(record).items()}


class _Record:
    """A record whose ``to_dict`` is its fields, its datetimes written in ISO 8601."""

    def to_dict(self) -> dict[str, Any]:
        return _every_field(self)


class _Summarized:
    """A record with a short form for lists (its attributes named in ``SUMMARY``) and a full
    form that adds those named in ``DETAILS``; names as :func:`_picked` takes them."""

    SUMMARY: ClassVar[str]
    DETAILS: ClassVar[str] = ""

    def summary(self) -> dict[str, Any]:
        """The short form used in lists and in the answers of commands that make a record."""
        return _picked(self, self.SUMMARY)

    def to_dict(self) -> dict[str, Any]:
        return self.summary() | _picked(self, self.DETAILS)


@dataclass(frozen=True)
class AuditEntry(_Record):
    """One recorded state change: who did what to which object, and when."""

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
class DatasetVersion(_Summarized):
    """One immutable version of a data set, stored as a Parquet blob.

    ``sha256`` is the hash of that Parquet blob (the version's identity); ``source_sha256`` is
    the hash of the file it was imported from, so re-importing an unchanged file costs a hash.
    ``schema`` maps column name to Shipway type (integer, float, boolean, string, datetime).
    """

    SUMMARY = (
        "dataset version rows columns sha256 size_bytes source format=source_format"
        " parent=parent_version created_at created_by"
    )
    DETAILS = "schema source_sha256 options profile report"

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


@dataclass(frozen=True, kw_only=True)
class Lineage:
    """What a model was trained from and how: a run records it, and each version registered
    from that run keeps a copy (``metrics`` are the test metrics)."""

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

    @property
    def dataset_ref(self) -> str:
        return f"{self.dataset}@{self.dataset_version}"


@dataclass(frozen=True, kw_only=True)
class Run(Lineage, _Summarized):
    """A training run (``kind`` "train") or a search over trial runs (``kind`` "search")."""

    SUMMARY = (
        "run=id parent=parent_id kind status task estimator dataset=dataset_ref target metrics"
        " is_best duration_s created_at created_by error"
    )

    id: int
    parent_id: int | None
    kind: str
    status: str
    params: dict[str, Any]
    validation_metrics: dict[str, Any]
    cv: dict[str, Any]
    curves: dict[str, Any]
    importance: dict[str, Any]
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

    def to_dict(self) -> dict[str, Any]:
        data = _every_field(self)
        return {"run": data.pop("id"), **data, "dataset_ref": self.dataset_ref}


@dataclass(frozen=True, kw_only=True)
class ModelVersion(Lineage, _Summarized):
    """One immutable registered version of a model, with the lineage copied from its run.

    ``aliases`` are the aliases this version holds now; ``trained_by`` is who ran the run,
    ``created_by`` who registered it.
    """

    SUMMARY = (
        "model version aliases run=run_id task estimator dataset=dataset_ref target metrics"
        " model_size description tags created_at created_by trained_by"
    )
    DETAILS = "model_sha256 dataset_sha256 features spec io_schema environment reference_sha256"

    id: int
    model: str
    version: int
    run_id: int
    model_sha256: str
    model_size: int
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
    def features(self) -> list[str]:
        return [entry["name"] for entry in self.io_schema.get("inputs", [])]


@dataclass(frozen=True)
class RegisteredModel(_Record):
    """A named model: its versions and which version holds each alias."""

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
        gates = [result.to_dict() for result in self.results]
        return _picked(self, "model version alias incumbent passed source") | {"gates": gates}


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


@dataclass(frozen=True, kw_only=True)
class DeploymentStart:
    """What starting a REST server records first: the model it serves, where and how."""

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

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def target(self) -> str:
        return f"{self.model}@{self.alias or self.version}"


@dataclass(frozen=True, kw_only=True)
class Deployment(DeploymentStart, _Record):
    """A recorded REST server of a model version, or of whatever version holds an alias.

    ``status`` is what the store recorded ("running" or "stopped"); the live state of the
    process and its answers come from :func:`core.deploy.probe.probe`. ``process_started`` and
    ``process_command`` tell the server process apart from a later process that reuses ``pid``
    (see :mod:`core.deploy.identity`); None in deployments recorded without them.
    """

    status: str
    started_at: datetime
    started_by: str
    stopped_at: datetime | None
    stop_note: str
    process_started: str | None = None
    process_command: tuple[str, ...] | None = None
    keep: bool = False  # kept up by the always-on service

    STALE: ClassVar[str] = "stale: "  # how the stop note of a stale deployment begins

    @property
    def stale(self) -> bool:
        """Recorded as stopped because its process id had come to name another process."""
        return self.status == "stopped" and self.stop_note.startswith(self.STALE)

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | _picked(self, "url target stale")


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
class Job(_Record):
    """A piece of work of the always-on service: ``kind`` "retrain", "import", "check",
    "restart" or "prune"; ``status`` "queued", "running", "done", "failed" or "cancelled"."""

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
