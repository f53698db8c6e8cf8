"""ORM tables. Schema changes ship as Alembic migrations in ``migrations/versions``; a test
checks that the migrations and these classes agree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false


class Base(DeclarativeBase):
    pass


class _IntId:
    """An integer surrogate key, the first column of its table."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-1)


class _Lineage:
    """What a model is trained from and how: a run's, copied into each version registered from
    it (placed after the table's own columns)."""

    task: Mapped[str] = mapped_column(String(20))
    estimator: Mapped[str] = mapped_column(String(50))
    dataset_version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id"))
    dataset_sha256: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict] = mapped_column(JSON)


class _Created:
    """Who created the row and when: the last two columns of its table."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))


class _Updated:
    """Who last changed the row and when: the last two columns of its table."""

    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(200))


class _Signed:
    """When a recorded act happened and who did it: the last two columns of its table."""

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user: Mapped[str] = mapped_column(String(200))


class AuditEventRow(_IntId, Base):
    __tablename__ = "audit_events"

    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_ref: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class BlobRow(Base):
    """A blob in objects/, inserted only after its file is durably in place."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DatasetRow(_IntId, _Created, Base):
    __tablename__ = "datasets"

    name: Mapped[str] = mapped_column(String(200), unique=True)


class DatasetVersionRow(_IntId, _Created, Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "number", name="uq_dataset_versions_number"),
        Index("ix_dataset_versions_source", "dataset_id", "source_sha256", "options_key"),
        Index("ix_dataset_versions_sha256", "dataset_id", "sha256"),
    )

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    source_format: Mapped[str] = mapped_column(String(20))
    source_sha256: Mapped[str] = mapped_column(String(64))
    options_key: Mapped[str] = mapped_column(String(64))
    options: Mapped[dict] = mapped_column(JSON)
    schema: Mapped[dict] = mapped_column(JSON)
    profile: Mapped[dict] = mapped_column(JSON)
    report: Mapped[dict] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="RESTRICT"), nullable=True
    )


class RunRow(_IntId, _Lineage, Base):
    """A training run (or a search: the parent of its trial runs)."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_parent", "parent_id"), Index("ix_runs_status", "status"))

    parent_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # "train" | "search"
    status: Mapped[str] = mapped_column(String(20))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    validation_metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    cv: Mapped[dict] = mapped_column(JSON, default=dict)
    curves: Mapped[dict] = mapped_column(JSON, default=dict)
    importance: Mapped[dict] = mapped_column(JSON, default=dict)
    io_schema: Mapped[dict] = mapped_column(JSON, default=dict)
    environment: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[list] = mapped_column(JSON, default=list)
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    model_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), nullable=True)
    model_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    log: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_best: Mapped[bool] = mapped_column(Boolean, default=False)
    reproduces_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    executor: Mapped[str] = mapped_column(String(20))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))


class RegisteredModelRow(_IntId, _Created, Base):
    """A named model: a line of immutable versions, each registered from a finished run."""

    __tablename__ = "registered_models"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class ModelVersionRow(_IntId, _Lineage, _Created, Base):
    """One registered version; what it was made of is copied from its run and never changes."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "number", name="uq_model_versions_number"),)

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="RESTRICT"))
    number: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="RESTRICT"))
    model_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"))
    model_size: Mapped[int] = mapped_column(BigInteger)
    metrics: Mapped[dict] = mapped_column(JSON)
    io_schema: Mapped[dict] = mapped_column(JSON)
    environment: Mapped[dict] = mapped_column(JSON)
    reference_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict] = mapped_column(JSON, default=dict)
    trained_by: Mapped[str] = mapped_column(String(200))


class ModelAliasRow(_IntId, _Updated, Base):
    """Which version holds an alias now; the unique key keeps it to one version at a time."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias", name="uq_model_aliases_alias"),)

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="RESTRICT"))
    alias: Mapped[str] = mapped_column(String(50))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="RESTRICT"))


class AliasMoveRow(_IntId, _Signed, Base):
    """Every move of an alias: promotions (gated or forced) and rollbacks."""

    __tablename__ = "alias_moves"
    __table_args__ = (Index("ix_alias_moves_alias", "model_id", "alias"),)

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="RESTRICT"))
    alias: Mapped[str] = mapped_column(String(50))
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # "promote" | "force" | "rollback"
    reason: Mapped[str] = mapped_column(Text, default="")
    gates: Mapped[list] = mapped_column(JSON, default=list)
    rolled_back: Mapped[bool] = mapped_column(Boolean, default=False)


class ApprovalRow(_IntId, Base):
    """A person's approval of a version (never the person who trained it)."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("version_id", "approver", name="uq_approvals_approver"),)

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="RESTRICT"))
    approver: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class GateEvaluationRow(_IntId, _Signed, Base):
    """The outcome of evaluating an alias's gates on a version (kept for cards and bundles)."""

    __tablename__ = "gate_evaluations"
    __table_args__ = (Index("ix_gate_evaluations_version", "version_id"),)

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="RESTRICT"))
    alias: Mapped[str] = mapped_column(String(50))
    passed: Mapped[bool] = mapped_column(Boolean)
    results: Mapped[list] = mapped_column(JSON)
    incumbent_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DeploymentRow(Base):
    """A model served by a local REST server process (``shipway deploy`` or ``serve``)."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_model", "model", "alias"),)

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    alias: Mapped[str | None] = mapped_column(String(50), nullable=True)  # None: a fixed version
    version: Mapped[int] = mapped_column(Integer)  # the version it was last told to serve
    kind: Mapped[str] = mapped_column(String(20))  # "background" | "foreground"
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    pid: Mapped[int] = mapped_column(Integer)
    machine: Mapped[str] = mapped_column(String(255))
    token: Mapped[bool] = mapped_column(Boolean, default=False)
    folder: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # "running" | "stopped"
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_by: Mapped[str] = mapped_column(String(200))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    stop_note: Mapped[str] = mapped_column(Text, default="")
    # who the server process is (core.serving.processes.ProcessIdentity); None in rows recorded
    # before 0007 or on systems that do not tell
    process_started: Mapped[str | None] = mapped_column(String(100), nullable=True)
    process_command: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # kept up by the always-on service: restarted when it dies, brought back after a reboot
    keep: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MonitoringAlertRow(_IntId, Base):
    """A monitoring trigger that fired: once per streak of buckets (the unique key), with the
    retraining it started."""

    __tablename__ = "monitoring_alerts"
    __table_args__ = (
        UniqueConstraint(
            "model",
            "version",
            "deployment",
            "kind",
            "bucket_seconds",
            "bucket_start",
            name="uq_monitoring_alerts_streak",
        ),
    )

    model: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    deployment: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(20))  # "drift" | "metric"
    bucket_seconds: Mapped[int] = mapped_column(Integer)
    bucket_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the streak's first
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    retrain_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    retrain_run: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retrain_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gates_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    retrain_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class JobRow(_IntId, Base):
    """A piece of work the always-on service did or does (retraining, import, check, restart),
    visible to everyone through ``shipway jobs`` and the app's jobs bar."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status", "status"),)

    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20))  # queued | running | done | failed | cancelled
    fraction: Mapped[float | None] = mapped_column(Float, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ScheduleMarkRow(Base):
    """When a schedule of the service last ran (so a missed one runs once, not once per period)."""

    __tablename__ = "schedule_marks"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class ModelContractRow(_IntId, _Updated, Base):
    """The data contract of a version: inferred at registration, edited by people since."""

    __tablename__ = "model_contracts"
    __table_args__ = (UniqueConstraint("version_id", name="uq_model_contracts_version"),)

    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="RESTRICT"))
    contract: Mapped[dict] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(20))  # "inferred" | "edited"
