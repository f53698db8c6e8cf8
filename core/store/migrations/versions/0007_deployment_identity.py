"""Deployments: who the server process is (start time and command line), so that a process id
reused by another program is never signalled.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-16
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("process_started", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("process_command", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("process_command")
        batch.drop_column("process_started")
