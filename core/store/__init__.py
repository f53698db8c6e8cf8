"""Metadata store (SQLAlchemy 2 ORM, Alembic migrations) and content-addressed blob store."""
