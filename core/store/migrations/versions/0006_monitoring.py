"""Monitoring: alerts recorded when a drift or live-metric trigger fires.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deployment", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("bucket_seconds", sa.Integer(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("retrain_status", sa.String(length=20), nullable=True),
        sa.Column("retrain_run", sa.Integer(), nullable=True),
        sa.Column("retrain_version", sa.Integer(), nullable=True),
        sa.Column("gates_passed", sa.Boolean(), nullable=True),
        sa.Column("retrain_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "model",
            "version",
            "deployment",
            "kind",
            "bucket_seconds",
            "bucket_start",
            name="uq_monitoring_alerts_streak",
        ),
    )


def downgrade() -> None:
    op.drop_table("monitoring_alerts")
