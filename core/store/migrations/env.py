"""Alembic environment: run by core.store.migrate with a live connection, never from a shell."""

from alembic import context

from core.store.orm import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable when alembic is run by hand
    raise RuntimeError("run migrations through `shipway db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
