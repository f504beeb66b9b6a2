"""Alembic environment: runs on the connection handed in by ghostart (see ``migrate.py``)."""

from __future__ import annotations

from alembic import context

from ghostart.builtin.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run ghostart's migrations through `ghostart migrate` or Store.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
