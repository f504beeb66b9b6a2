"""The SQLAlchemy store: SQLite embedded, and the base the Postgres adapter builds on."""

from ghostart.builtin.sql.store import SQLStore

__all__ = ["SQLStore"]
